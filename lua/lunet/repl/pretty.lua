-- placeholder: replaced by the real pretty printer
local M = {}
function M.format(v) return tostring(v) end
function M.duration(s) return string.format("%.3f s", s) end
return M
