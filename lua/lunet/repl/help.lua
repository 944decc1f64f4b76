-- placeholder
local M = {}
function M.help(x) print("help for", x) end
function M.help_for_text(text, env) print("help for", text) end
return M
