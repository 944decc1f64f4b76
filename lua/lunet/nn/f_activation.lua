-- nn.F activations, built from tensor ops (autograd differentiates them).
local core = require "lunet.core"
local args = require "lunet.nn.args"

return function(F)
  local SQRT1_2, SQRT_2_PI = math.sqrt(0.5), math.sqrt(2 / math.pi)

  function F.relu(x) args.tensor("relu", "input", x); return x:relu() end
  function F.sigmoid(x) args.tensor("sigmoid", "input", x); return x:sigmoid() end
  function F.tanh(x) args.tensor("tanh", "input", x); return x:tanh() end

  --- leaky_relu(x [, negative_slope = 0.01])
  function F.leaky_relu(x, slope)
    args.tensor("leaky_relu", "input", x)
    slope = slope == nil and 0.01 or args.number("leaky_relu", "negative_slope", slope)
    return core.where(x:gt(0), x, x * slope)
  end

  --- elu(x [, alpha = 1]): x for x > 0, alpha (e^x - 1) otherwise
  function F.elu(x, alpha)
    args.tensor("elu", "input", x)
    alpha = alpha == nil and 1 or args.number("elu", "alpha", alpha)
    -- expm1 of min(x, 0): the unused branch must not overflow, or its
    -- gradient (0 * inf) would be NaN
    return core.where(x:gt(0), x, x:clamp(nil, 0):expm1() * alpha)
  end

  --- gelu(x [, {approximate = "none" | "tanh"}]): x Phi(x), exactly with
  -- erf, or with PyTorch's tanh approximation
  function F.gelu(x, opts)
    args.tensor("gelu", "input", x)
    opts = args.opts("gelu", opts, args.set("approximate"))
    local approx = opts.approximate or "none"
    if approx == "none" then return x * ((x * SQRT1_2):erf() + 1) * 0.5 end
    if approx == "tanh" then return x * ((x + x * x * x * 0.044715) * SQRT_2_PI):tanh():add(1) * 0.5 end
    error("gelu: approximate must be \"none\" or \"tanh\", got " .. tostring(approx), 2)
  end

  local function dim_required(fname, x, dim)
    args.tensor(fname, "input", x, 3)
    if math.type(dim) ~= "integer" then
      error(fname .. ": dim is required and must be an integer (e.g. " .. fname .. "(x, -1) for the last), got " .. tostring(dim), 3)
    end
  end

  --- softmax(x, dim), log_softmax(x, dim)
  function F.softmax(x, dim) dim_required("softmax", x, dim); return x:softmax(dim) end
  function F.log_softmax(x, dim) dim_required("log_softmax", x, dim); return x:log_softmax(dim) end
end
