-- lunet.nn.init: in-place weight initialisation with PyTorch's formulas
-- (fans, gains, bounds). Each function fills its tensor without recording a
-- graph and returns it. Random draws come from lunet's seeded generator.
local core = require "lunet.core"

local init = {}

local function check(fname, t)
  if not core.is_tensor(t) then error("nn.init." .. fname .. ": expected a tensor, got " .. type(t), 3) end
  return t
end

local function nograd(f, ...) return core.no_grad(f, ...) end

--- calculate_gain(nonlinearity [, param]): the gain that keeps the variance
-- of activations, as PyTorch's table
function init.calculate_gain(nonlinearity, param)
  local linear = {linear = true, conv1d = true, conv2d = true, conv3d = true, conv_transpose1d = true,
                  conv_transpose2d = true, conv_transpose3d = true, sigmoid = true}
  if linear[nonlinearity] then return 1 end
  if nonlinearity == "tanh" then return 5 / 3 end
  if nonlinearity == "relu" then return math.sqrt(2) end
  if nonlinearity == "selu" then return 3 / 4 end
  if nonlinearity == "leaky_relu" then
    local slope = param == nil and 0.01 or param
    if type(slope) ~= "number" then error("nn.init.calculate_gain: negative slope must be a number, got " .. type(slope), 2) end
    return math.sqrt(2 / (1 + slope * slope))
  end
  error("nn.init.calculate_gain: unknown nonlinearity '" .. tostring(nonlinearity) .. "'", 2)
end

--- fans(t) -> fan_in, fan_out: dim 2 and dim 1 times the receptive field
-- (the product of the dims after the second), as PyTorch
function init.fans(t)
  check("fans", t)
  local shape = t:shape()
  if #shape < 2 then
    error("nn.init: fan in and fan out need a tensor with at least 2 dimensions, got shape "
          .. (#shape == 0 and "scalar" or table.concat(shape, "x")), 3)
  end
  local receptive = 1
  for d = 3, #shape do receptive = receptive * shape[d] end
  return shape[2] * receptive, shape[1] * receptive
end

local function fan(t, mode)
  local fan_in, fan_out = init.fans(t)
  if mode == nil or mode == "fan_in" then return fan_in end
  if mode == "fan_out" then return fan_out end
  error("nn.init: mode must be 'fan_in' or 'fan_out', got '" .. tostring(mode) .. "'", 3)
end

--- uniform_(t [, a = 0 [, b = 1]]), normal_(t [, mean = 0 [, std = 1]])
function init.uniform_(t, a, b) check("uniform_", t); return nograd(function() return t:uniform_(a or 0, b or 1) end) end
function init.normal_(t, mean, std) check("normal_", t); return nograd(function() return t:normal_(mean or 0, std or 1) end) end

--- constant_(t, value), zeros_(t), ones_(t)
function init.constant_(t, v)
  check("constant_", t)
  if type(v) ~= "number" then error("nn.init.constant_: value must be a number, got " .. type(v), 2) end
  return nograd(function() return t:fill_(v) end)
end
function init.zeros_(t) check("zeros_", t); return nograd(function() return t:zero_() end) end
function init.ones_(t) check("ones_", t); return nograd(function() return t:fill_(1) end) end

--- xavier_uniform_(t [, gain = 1]): U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))
function init.xavier_uniform_(t, gain)
  check("xavier_uniform_", t)
  if t:numel() == 0 then return t end -- no fan to speak of
  local fan_in, fan_out = init.fans(t)
  local a = (gain or 1) * math.sqrt(6 / (fan_in + fan_out))
  return nograd(function() return t:uniform_(-a, a) end)
end

--- xavier_normal_(t [, gain = 1]): N(0, std), std = gain * sqrt(2 / (fan_in + fan_out))
function init.xavier_normal_(t, gain)
  check("xavier_normal_", t)
  if t:numel() == 0 then return t end -- no fan to speak of
  local fan_in, fan_out = init.fans(t)
  return nograd(function() return t:normal_(0, (gain or 1) * math.sqrt(2 / (fan_in + fan_out))) end)
end

--- kaiming_uniform_(t [, a = 0 [, mode = "fan_in" [, nonlinearity = "leaky_relu"]]]):
-- U(-b, b), b = gain * sqrt(3 / fan)
function init.kaiming_uniform_(t, a, mode, nonlinearity)
  check("kaiming_uniform_", t)
  if t:numel() == 0 then return t end -- no fan to speak of
  local bound = init.calculate_gain(nonlinearity or "leaky_relu", a or 0) * math.sqrt(3 / fan(t, mode))
  return nograd(function() return t:uniform_(-bound, bound) end)
end

--- kaiming_normal_(t [, a = 0 [, mode = "fan_in" [, nonlinearity = "leaky_relu"]]]):
-- N(0, std), std = gain / sqrt(fan)
function init.kaiming_normal_(t, a, mode, nonlinearity)
  check("kaiming_normal_", t)
  if t:numel() == 0 then return t end -- no fan to speak of
  local std = init.calculate_gain(nonlinearity or "leaky_relu", a or 0) / math.sqrt(fan(t, mode))
  return nograd(function() return t:normal_(0, std) end)
end

return init
