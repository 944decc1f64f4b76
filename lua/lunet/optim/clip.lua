-- lunet.optim.clip_grad_norm / clip_grad_value: gradient clipping in place,
-- as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
local core = require "lunet.core"
local C = core._optim

local clip = {}

-- the gradients of params (a tensor or an array of tensors) that have one
local function grads_of(params, fname)
  if core.is_tensor(params) then params = {params} end
  if type(params) ~= "table" then
    error(fname .. ": params must be a tensor or an array of tensors, got " .. type(params), 0)
  end
  local grads = {}
  for i, p in ipairs(params) do
    if not core.is_tensor(p) then error(string.format("%s: parameter %d is a %s, not a tensor", fname, i, type(p)), 0) end
    local g = p.grad
    if g ~= nil then grads[#grads + 1] = g end
  end
  return grads
end

-- Scales the gradients so that their norm, taken over all of them as one
-- vector, is at most max_norm: each is multiplied by max_norm / (norm + 1e-6)
-- when that is below 1. Returns the norm before clipping (a number).
-- opts.norm_type: p of the p-norm (default 2; math.huge for the max norm);
-- opts.error_if_nonfinite: raise when the norm is NaN or infinite.
function clip.clip_grad_norm(params, max_norm, opts)
  local F = "clip_grad_norm"
  if type(max_norm) ~= "number" or max_norm ~= max_norm then
    error(F .. ": max_norm must be a number, got " .. tostring(max_norm), 0)
  end
  opts = opts or {}
  if type(opts) ~= "table" then error(F .. ": options must be a table {norm_type = ..., error_if_nonfinite = ...}", 0) end
  for k in pairs(opts) do
    if k ~= "norm_type" and k ~= "error_if_nonfinite" then error(F .. ": unknown option '" .. tostring(k) .. "'", 0) end
  end
  local q = opts.norm_type == nil and 2 or opts.norm_type
  if type(q) ~= "number" or not (q > 0) then
    error(F .. ": norm_type must be a number > 0 (math.huge for the max norm), got " .. tostring(q), 0)
  end
  local grads = grads_of(params, F)
  if #grads == 0 then return 0.0 end
  local total
  if q == math.huge then
    total = 0.0
    for _, g in ipairs(grads) do
      local m = C.pnorm_sum(g, q)
      if m > total or m ~= m then total = m end
      if total ~= total then break end
    end
  else
    local sum = 0.0
    for _, g in ipairs(grads) do sum = sum + C.pnorm_sum(g, q) end
    total = sum ^ (1 / q)
  end
  if opts.error_if_nonfinite and (total ~= total or total == math.huge) then
    error(string.format("%s: the total norm of order %s of the gradients is %s, so they cannot be clipped "
      .. "(without error_if_nonfinite they are scaled by it anyway)", F, tostring(q), tostring(total)), 0)
  end
  local coef = max_norm / (total + 1e-6)
  if coef < 1 or coef ~= coef then -- a NaN norm makes NaN gradients, as in PyTorch
    for _, g in ipairs(grads) do g:mul_(coef) end
  end
  return total
end

-- Clamps every gradient element into [-clip_value, clip_value].
function clip.clip_grad_value(params, clip_value)
  local F = "clip_grad_value"
  if type(clip_value) ~= "number" or not (clip_value >= 0) then
    error(F .. ": clip_value must be a number >= 0, got " .. tostring(clip_value), 0)
  end
  for _, g in ipairs(grads_of(params, F)) do g:clamp_(-clip_value, clip_value) end
end

return clip
