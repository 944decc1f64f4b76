-- tests/fills.lua -- the deterministic fills of tests/fixtures/nn_reference.py
-- (rnn_reference.py imports them), so the specs rebuild in float64 the inputs
-- and parameters PyTorch saw. Element i (0-based, row-major) of
--   input k:      0.8 * sin(0.37 * i + 0.5 * k)
--   parameter j:  0.5 * sin(0.7 * i + 1.3 * j)   (j: 1-based, in parameters() order)
local M = {}

local function numel(shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return n
end

local function sinfill(shape, a, b, s)
  local v = {}
  for i = 0, numel(shape) - 1 do v[i + 1] = s * math.sin(a * i + b) end
  return lunet.tensor(v, {dtype = "float64"}):view(shape)
end

function M.input_fill(shape, k) return sinfill(shape, 0.37, 0.5 * (k or 1), 0.8) end
function M.param_fill(shape, j) return sinfill(shape, 0.7, 1.3 * j, 0.5) end

-- every parameter of m, in order, filled in place; returns m
function M.fill_params(m)
  lunet.no_grad(function()
    for j, p in ipairs(m:parameters()) do p:copy_(M.param_fill(p:shape(), j)) end
  end)
  return m
end

return M
