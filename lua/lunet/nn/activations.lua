-- Activation layers, each a thin module over its nn.F function.
local args = require "lunet.nn.args"

return function(nn)
  local F = nn.F

  local function simple(name, f)
    local cls = nn.Module:extend(name)
    function cls:forward(x) return f(x) end
    nn[name] = cls
  end

  simple("ReLU", F.relu)
  simple("Sigmoid", F.sigmoid)
  simple("Tanh", F.tanh)

  local function number_opt(cls, name, v, default)
    if v == nil then return default end
    if type(v) ~= "number" then error(string.format("%s: %s must be a number, got %s", cls, name, tostring(v)), 4) end
    return v
  end

  --- LeakyReLU([negative_slope = 0.01])
  local LeakyReLU = nn.Module:extend("LeakyReLU")
  nn.LeakyReLU = LeakyReLU
  function LeakyReLU:init(slope) self.negative_slope = number_opt("LeakyReLU", "negative_slope", slope, 0.01) end
  function LeakyReLU:forward(x) return F.leaky_relu(x, self.negative_slope) end
  function LeakyReLU:extra_repr() return "negative_slope=" .. self.negative_slope end

  --- ELU([alpha = 1])
  local ELU = nn.Module:extend("ELU")
  nn.ELU = ELU
  function ELU:init(alpha) self.alpha = number_opt("ELU", "alpha", alpha, 1.0) end
  function ELU:forward(x) return F.elu(x, self.alpha) end
  function ELU:extra_repr() return "alpha=" .. self.alpha end

  --- GELU([{approximate = "none" | "tanh"}])
  local GELU = nn.Module:extend("GELU")
  nn.GELU = GELU
  function GELU:init(opts)
    local o = args.layer_opts("GELU", opts, args.set("approximate"))
    self.approximate = o.approximate or "none"
    if self.approximate ~= "none" and self.approximate ~= "tanh" then
      error('GELU: approximate must be "none" or "tanh", got ' .. tostring(self.approximate), 3)
    end
  end
  function GELU:forward(x) return F.gelu(x, {approximate = self.approximate}) end
  function GELU:extra_repr() return 'approximate="' .. self.approximate .. '"' end

  -- Softmax(dim), LogSoftmax(dim): dim is required (PyTorch's implicit choice misleads)
  local function with_dim(name, f)
    local cls = nn.Module:extend(name)
    function cls:init(dim)
      if math.type(dim) ~= "integer" then
        error(string.format("%s: dim is required and must be an integer (e.g. nn.%s(-1) for the last), got %s",
                            name, name, tostring(dim)), 3)
      end
      self.dim = dim
    end
    function cls:forward(x) return f(x, self.dim) end
    function cls:extra_repr() return "dim=" .. self.dim end
    nn[name] = cls
  end

  with_dim("Softmax", F.softmax)
  with_dim("LogSoftmax", F.log_softmax)
end
