-- The differentiable C kernels of require("lunet.core")._nn, looked up when
-- first called so that this file loads even in a build without them.
local core = require "lunet.core"

return function(fname, name)
  local k = core._nn and core._nn[name]
  if not k then
    error(fname .. ": this build of lunet has no C kernel '" .. name .. "' (src/l_nn.c)", 3)
  end
  return k
end
