-- lunet.autograd: differentiable functions written in Lua, and gradient checking.
local lunet_core = require "lunet.core"

local autograd = {}

-- also lunet.detect_anomaly / lunet.is_anomaly_enabled (see docs/autograd.md)
autograd.detect_anomaly = lunet_core.detect_anomaly
autograd.is_anomaly_enabled = lunet_core.is_anomaly_enabled

-- the 1-based multi-index of flat position j in a tensor of this shape
local function unflatten(j, shape)
  local idx = {}
  for d = #shape, 1, -1 do
    idx[d] = (j - 1) % shape[d] + 1
    j = (j - 1) // shape[d] + 1
  end
  return idx
end

local function get(t, idx) return #idx == 0 and t:item() or t[idx] end
local function set(t, idx, v) if #idx == 0 then t:fill_(v) else t[idx] = v end end

-- f(inputs) reduced to one number with fixed random weights, so one backward
-- checks the whole vector-Jacobian product
local function scalarize(fn, args, weights)
  local out = fn(table.unpack(args, 1, args.n))
  if not lunet_core.is_tensor(out) then error("gradcheck: fn must return a tensor, got " .. type(out), 3) end
  weights[1] = weights[1] or lunet_core.randn(out:shape(), {dtype = "float64"})
  return (out:double() * weights[1]):sum()
end

--- gradcheck(fn, inputs [, {eps = 1e-6, atol = 1e-5, rtol = 1e-3}])
-- inputs is a list of arguments for fn; the float64 tensors among them that
-- require grad are checked: analytic gradients from backward() against
-- central finite differences. Returns true, or raises naming the input, the
-- element and both values.
function autograd.gradcheck(fn, inputs, opts)
  opts = opts or {}
  local eps, atol, rtol = opts.eps or 1e-6, opts.atol or 1e-5, opts.rtol or 1e-3
  local args = {n = #inputs, table.unpack(inputs)}
  local checked = {}
  for i = 1, args.n do
    local x = args[i]
    if lunet_core.is_tensor(x) and x.requires_grad then
      if x:dtype() ~= "float64" then
        error(string.format("gradcheck: input %d is %s; finite differences need float64", i, x:dtype()), 2)
      end
      checked[#checked + 1] = i
    end
  end
  if #checked == 0 then error("gradcheck: no input is a tensor that requires grad", 2) end
  local weights = {}
  for _, i in ipairs(checked) do args[i].grad = nil end
  scalarize(fn, args, weights):backward()
  for _, i in ipairs(checked) do
    local x = args[i]
    local analytic = x.grad and x.grad:clone() or lunet_core.zeros_like(x)
    local shape = x:shape()
    for j = 1, x:numel() do
      local idx = unflatten(j, shape)
      local numeric = lunet_core.no_grad(function()
        local v = get(x, idx)
        set(x, idx, v + eps)
        local fp = scalarize(fn, args, weights):item()
        set(x, idx, v - eps)
        local fm = scalarize(fn, args, weights):item()
        set(x, idx, v)
        return (fp - fm) / (2 * eps)
      end)
      local a = get(analytic, idx)
      if not (math.abs(a - numeric) <= atol + rtol * math.abs(numeric)) then
        error(string.format("gradcheck: input %d, element {%s}: analytic %.8g, numeric %.8g",
                            i, table.concat(idx, ", "), a, numeric), 2)
      end
    end
  end
  return true
end

--- Function{forward = f, backward = g [, name = "MyOp"]}
-- A differentiable function written in Lua. forward(ctx, ...) runs without
-- recording and returns one tensor; backward(ctx, grad) returns one gradient
-- (or nil) per argument of forward, in order. ctx:save_for_backward(...)
-- keeps tensors (detached) and ctx.saved_tensors gives them back; any other
-- field of ctx may hold plain values.
local Context = {}
Context.__index = Context

function Context:save_for_backward(...)
  local saved = table.pack(...)
  for i = 1, saved.n do
    if lunet_core.is_tensor(saved[i]) then saved[i] = saved[i]:detach() end
  end
  self.saved_tensors = saved
end

function autograd.Function(def)
  if type(def) ~= "table" or type(def.forward) ~= "function" or type(def.backward) ~= "function" then
    error("Function: expected a table with forward and backward functions", 2)
  end
  local name = def.name or "FunctionBackward"
  return setmetatable({}, {
    __name = "lunet.autograd.Function",
    __call = function(_, ...)
      local args = table.pack(...)
      local ctx = setmetatable({}, Context)
      local out = lunet_core.no_grad(def.forward, ctx, ...)
      if not lunet_core.is_tensor(out) then
        error(name .. ": forward must return a tensor, got " .. type(out), 2)
      end
      local inputs = {}
      for i = 1, args.n do inputs[i] = args[i] == nil and false or args[i] end
      return lunet_core._record_function(out, inputs, function(g) return def.backward(ctx, g) end, name)
    end,
  })
end

return autograd
