-- lunet: tensors on OpenBLAS, from Lua. `require "lunet"` returns this table
-- and creates no globals; the lunet program makes it the global `lunet`.
local core = require "lunet.core"

local lunet = {}
for k, v in pairs(core) do
  if k:sub(1, 1) ~= "_" then lunet[k] = v end
end

require "lunet.tensor"(core.Tensor, core._metatable)
lunet.read_idx = nil -- reached as lunet.data.idx
lunet.data = require "lunet.data"
lunet.autograd = require "lunet.autograd"
lunet.gradcheck = lunet.autograd.gradcheck
lunet.nn = require "lunet.nn"
lunet.optim = require "lunet.optim"
lunet.runs = require "lunet.runs"
lunet.image = require "lunet.image"
lunet.train = require "lunet.train"

-- functional forms of the methods: lunet.exp(x), lunet.matmul(a, b), ...
-- (in-place methods, ending in "_", stay methods only)
for name, fn in pairs(core.Tensor) do
  if lunet[name] == nil and name:sub(-1) ~= "_" then lunet[name] = fn end
end

return lunet
