-- Elementwise math: operators, methods, broadcasting, dtype rules, unary ops,
-- clamp/where/masked_fill, and non-contiguous inputs. Every expected value is
-- computed here in plain Lua from the inputs' totable(), never by lunet.

-- ---- plain-Lua reference helpers ---------------------------------------------
local R = require "tests.reference"
local flat, build = R.flat, R.build

-- element of (values, shape) at idx of a broadcast shape (aligned on the right)
local function at(values, shape, idx)
  local off, stride, lead = 0, 1, #idx - #shape
  for d = #shape, 1, -1 do
    local i = shape[d] == 1 and 1 or idx[d + lead]
    off = off + (i - 1) * stride
    stride = stride * shape[d]
  end
  return values[off + 1]
end

local function broadcast_shape(s1, s2)
  local n, out = math.max(#s1, #s2), {}
  for d = 1, n do
    local x, y = s1[d - (n - #s1)] or 1, s2[d - (n - #s2)] or 1
    assert(x == y or x == 1 or y == 1, "reference: shapes do not broadcast")
    out[d] = x == 1 and y or x
  end
  return out
end

-- f applied elementwise with NumPy broadcasting; a and b are tensors or numbers
local function ref2(a, b, f)
  local va, sa = flat(a)
  local vb, sb = flat(b)
  local shape = broadcast_shape(sa, sb)
  return build(shape, function(idx) return f(at(va, sa, idx), at(vb, sb, idx)) end), shape
end

local function ref1(a, f)
  local va, sa = flat(a)
  return build(sa, function(idx) return f(at(va, sa, idx)) end)
end

local function bool(c) return c and 1 or 0 end
local function floormod(x, y) return x % y end  -- Lua's % floors, as PyTorch's remainder
local function ipow(b, e) local r = 1; for _ = 1, e do r = r * b end; return r end
local function tanh(x)
  if x > 20 then return 1 elseif x < -20 then return -1 end
  local e = math.exp(2 * x)
  return (e - 1) / (e + 1)
end
local function sigmoid(x) return 1 / (1 + math.exp(-x)) end
local function round_even(x)
  local f = math.floor(x)
  local d = x - f
  if d > 0.5 then return f + 1 elseif d < 0.5 then return f end
  return f % 2 == 0 and f or f + 1
end
local function sign(x) if x ~= x then return x end return x > 0 and 1 or (x < 0 and -1 or 0) end
local function nan_max(x, y) if x ~= x or y ~= y then return 0 / 0 end return math.max(x, y) end
local function nan_min(x, y) if x ~= x or y ~= y then return 0 / 0 end return math.min(x, y) end

-- float reference ops, by method name (operands must be in each op's domain)
local float_ops = {
  add = function(x, y) return x + y end,
  sub = function(x, y) return x - y end,
  mul = function(x, y) return x * y end,
  div = function(x, y) return x / y end,
  pow = function(x, y) return x ^ y end,
  remainder = floormod,
  maximum = nan_max,
  minimum = nan_min,
  atan2 = function(x, y) return math.atan(x, y) end,
  eq = function(x, y) return bool(x == y) end,
  ne = function(x, y) return bool(x ~= y) end,
  lt = function(x, y) return bool(x < y) end,
  le = function(x, y) return bool(x <= y) end,
  gt = function(x, y) return bool(x > y) end,
  ge = function(x, y) return bool(x >= y) end,
}
local compare = {eq = true, ne = true, lt = true, le = true, gt = true, ge = true}
local binary_names = {"add", "sub", "mul", "div", "pow", "remainder", "maximum", "minimum",
                      "atan2", "eq", "ne", "lt", "le", "gt", "ge"}

-- unary reference ops and an input generator in each op's domain
local unary_ops = {
  neg = {function(x) return -x end},
  exp = {math.exp},
  log = {math.log, "positive"},
  sqrt = {math.sqrt, "positive"},
  abs = {math.abs},
  tanh = {tanh},
  sigmoid = {sigmoid},
  relu = {function(x) return x > 0 and x or 0 end},
  sin = {math.sin},
  cos = {math.cos},
  log1p = {function(x) return math.log(1 + x) end, "above-1"},
  expm1 = {function(x) return math.exp(x) - 1 end},
  floor = {math.floor},
  ceil = {math.ceil},
  round = {round_even},
  sign = {sign},
  rsqrt = {function(x) return 1 / math.sqrt(x) end, "positive"},
  reciprocal = {function(x) return 1 / x end, "nonzero"},
  square = {function(x) return x * x end},
}
local unary_names = {"neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "sin", "cos",
                     "log1p", "expm1", "floor", "ceil", "round", "sign", "rsqrt", "reciprocal", "square"}

local function domain_input(kind, shape, opts)
  local x = lunet.randn(shape, opts) * 2
  if kind == "positive" then return lunet.rand(shape, opts) * 3 + 0.1 end
  if kind == "above-1" then return lunet.rand(shape, opts) * 3 - 0.9 end
  if kind == "nonzero" then return x:sign() * (x:abs() + 0.25) end
  return x
end

-- views of shape (4, 5) over different layouts, made from gen(shape) tensors
local function views(gen)
  return {
    transposed = gen{5, 4}:t(),
    narrowed = gen{4, 9}:narrow(2, 3, 5),
    strided = gen{8, 15}[{{1, -1, 2}, {1, -1, 3}}],
    expanded_rows = gen{1, 5}:expand(4, 5),
    expanded_cols = gen{4, 1}:expand(4, 5),
    permuted = gen{5, 2, 2}:permute(2, 3, 1):reshape(4, 5), -- a copy: contiguous control
  }
end
local view_names = {"transposed", "narrowed", "strided", "expanded_rows", "expanded_cols", "permuted"}

lunet.manual_seed(1234)

-- =============================================================================
describe("binary operators", function()
  it("+ - * / ^ % match plain Lua for float32 tensors of the same shape", function()
    local a, b = lunet.rand(3, 4) + 0.5, lunet.randn(3, 4)
    T.values(a + b, ref2(a, b, float_ops.add), 1e-6, "float32")
    T.values(a - b, ref2(a, b, float_ops.sub), 1e-6, "float32")
    T.values(a * b, ref2(a, b, float_ops.mul), 1e-6, "float32")
    T.values(a / b, ref2(a, b, float_ops.div), 1e-5, "float32")
    T.values(a ^ b, ref2(a, b, float_ops.pow), 1e-5, "float32")
    T.values(b % a, ref2(b, a, floormod), 1e-5, "float32")
    T.values(-b, ref1(b, function(x) return -x end), 0, "float32")
  end)

  it("accepts a number on either side", function()
    local x = lunet.rand(2, 3) + 0.5
    T.values(x + 2, ref2(x, 2, float_ops.add), 1e-6, "float32")
    T.values(2 + x, ref2(2, x, float_ops.add), 1e-6, "float32")
    T.values(x - 2, ref2(x, 2, float_ops.sub), 1e-6, "float32")
    T.values(2 - x, ref2(2, x, float_ops.sub), 1e-6, "float32")
    T.values(3 * x, ref2(3, x, float_ops.mul), 1e-6, "float32")
    T.values(x / 2, ref2(x, 2, float_ops.div), 1e-6, "float32")
    T.values(2 / x, ref2(2, x, float_ops.div), 1e-6, "float32")
    T.values(x ^ 2, ref2(x, 2, float_ops.pow), 1e-6, "float32")
    T.values(2 ^ x, ref2(2, x, float_ops.pow), 1e-6, "float32")
    T.values(x ^ 0.5, ref2(x, 0.5, float_ops.pow), 1e-6, "float32")
    T.values(x % 0.3, ref2(x, 0.3, floormod), 1e-5, "float32")
    T.values(1.7 % x, ref2(1.7, x, floormod), 1e-5, "float32")
    T.values(2.5 - x, ref2(2.5, x, float_ops.sub), 1e-6, "float32")
  end)

  it("gives every method the same values as its operator and as plain Lua", function()
    local a, b = lunet.rand(3, 4) + 0.5, lunet.randn(3, 4)
    b[{1, 1}] = a[{1, 1}] -- one equal pair for eq/le/ge
    for _, name in ipairs(binary_names) do
      local got = a[name](a, b)
      T.values(got, ref2(a, b, float_ops[name]), 1e-5, compare[name] and "int64" or "float32")
      local gotn = a[name](a, 0.75)
      T.values(gotn, ref2(a, 0.75, float_ops[name]), 1e-5, compare[name] and "int64" or "float32")
    end
    T.values(a:add(b), (a + b):totable(), 0)
    T.values(a:remainder(b), (a % b):totable(), 0)
    T.values(a:pow(b), (a ^ b):totable(), 0)
  end)

  it("computes float64 at float64 precision", function()
    local a = lunet.rand(2, 3, {dtype = "float64"}) + 0.5
    local b = lunet.randn(2, 3, {dtype = "float64"})
    for _, name in ipairs{"add", "sub", "mul", "div", "pow", "remainder", "atan2"} do
      T.values(a[name](a, b), ref2(a, b, float_ops[name]), 1e-13, "float64")
    end
    T.values(1 / a, ref2(1, a, float_ops.div), 1e-15, "float64")
  end)

  it("keeps int64 arithmetic exact, with Lua's floored % and integer ^", function()
    local a = lunet.tensor{{7, -7, 7, -7, 0}, {123456789, -3, 40, 9, 1}}
    local b = lunet.tensor{{3, 3, -3, -3, 5}, {1000, 2, -7, 3, 2}}
    T.values(a + b, ref2(a, b, float_ops.add), 0, "int64")
    T.values(a - b, ref2(a, b, float_ops.sub), 0, "int64")
    T.values(a * b, ref2(a, b, float_ops.mul), 0, "int64")
    T.values(a % b, ref2(a, b, floormod), 0, "int64")
    T.values(a % b, {{1, 2, -2, -1, 0}, {789, 1, -2, 0, 1}}, 0, "int64")
    T.values(a % 4, ref2(a, 4, floormod), 0, "int64")
    T.values(100 % b, ref2(100, b, floormod), 0, "int64")
    T.values(a ^ 3, ref2(a, 3, ipow), 0, "int64")
    T.values(a:pow(lunet.tensor{{0, 1, 2, 3, 4}}), {{1, -7, 49, -343, 0}, {1, -3, 1600, 729, 1}}, 0, "int64")
    T.values(2 ^ lunet.tensor{0, 10, 62}, {1, 1024, 1 << 62}, 0, "int64")
    T.values(a:maximum(b), ref2(a, b, math.max), 0, "int64")
    T.values(a:minimum(b), ref2(a, b, math.min), 0, "int64")
    T.values(-a, ref1(a, function(x) return -x end), 0, "int64")
    T.values(5 - a, ref2(5, a, float_ops.sub), 0, "int64")
  end)

  it("keeps int64 values beyond 2^53 exact beside integer numbers", function()
    local big = lunet.tensor{1 << 53, (1 << 62) + 1}
    T.values(big + 1, {(1 << 53) + 1, (1 << 62) + 2}, 0, "int64")
    T.values(1 + big, {(1 << 53) + 1, (1 << 62) + 2}, 0, "int64")
    T.values(lunet.tensor{0} + 9007199254740993, {9007199254740993}, 0, "int64")
    T.values(big - 9007199254740993, {-1, (1 << 62) + 1 - 9007199254740993}, 0, "int64")
    T.values(big:eq((1 << 53) + 1), {0, 0}, 0, "int64")
    T.values(big % 9007199254740993, {1 << 53, ((1 << 62) + 1) % 9007199254740993}, 0, "int64")
    T.values(big:clone():add_(1), {(1 << 53) + 1, (1 << 62) + 2}, 0, "int64")
    T.values(big:clone():sub_(9007199254740993), {-1, (1 << 62) + 1 - 9007199254740993}, 0, "int64")
  end)

  it("divides floats by zero to inf and nan, as IEEE says", function()
    local x = lunet.tensor{1.0, -1.0, 0.0}
    T.values(x / 0, {math.huge, -math.huge, 0 / 0}, 0)
    T.values(lunet.tensor{1, -1, 0} / lunet.tensor{0, 0, 0}, {math.huge, -math.huge, 0 / 0}, 0, "float32")
  end)

  it("propagates NaN through maximum and minimum from either side", function()
    local nan = 0 / 0
    local a, b = lunet.tensor{nan, 1.0, 2.0, nan}, lunet.tensor{1.0, nan, 1.0, nan}
    T.values(a:maximum(b), {nan, nan, 2.0, nan}, 0)
    T.values(a:minimum(b), {nan, nan, 1.0, nan}, 0)
    T.values(b:maximum(a), {nan, nan, 2.0, nan}, 0)
    T.values(b:minimum(a), {nan, nan, 1.0, nan}, 0)
  end)

  it("compares to int64 masks of 0 and 1, tensors and numbers, NaN never equal", function()
    local nan = 0 / 0
    local a = lunet.tensor{1.0, 2.0, 3.0, nan}
    local b = lunet.tensor{2.0, 2.0, 2.0, nan}
    T.values(a:eq(b), {0, 1, 0, 0}, 0, "int64")
    T.values(a:ne(b), {1, 0, 1, 1}, 0, "int64")
    T.values(a:lt(b), {1, 0, 0, 0}, 0, "int64")
    T.values(a:le(b), {1, 1, 0, 0}, 0, "int64")
    T.values(a:gt(b), {0, 0, 1, 0}, 0, "int64")
    T.values(a:ge(b), {0, 1, 1, 0}, 0, "int64")
    T.values(a:ge(2), {0, 1, 1, 0}, 0, "int64")
    T.values(a:lt(2.5), {1, 1, 0, 0}, 0, "int64")
    local i = lunet.tensor{1, 2, 3}
    T.values(i:eq(2), {0, 1, 0}, 0, "int64")
    T.values(i:gt(1.5), {0, 1, 1}, 0, "int64")
    T.values(i:le(lunet.tensor{3.0, 1.5, 3.0}), {1, 0, 1}, 0, "int64")
  end)

  it("writes in place with the _ forms and returns self", function()
    local a0, b = lunet.rand(3, 4) + 0.5, lunet.randn(3, 4)
    for _, name in ipairs{"add", "sub", "mul", "div", "pow", "remainder"} do
      local a = a0:clone()
      local r = a[name .. "_"](a, b)
      T.truthy(rawequal(r, a), name .. "_ returns self")
      T.values(a, ref2(a0, b, float_ops[name]), 1e-5, "float32")
      a = a0:clone()
      a[name .. "_"](a, 1.5)
      T.values(a, ref2(a0, 1.5, float_ops[name]), 1e-5, "float32")
      a = a0:clone()
      a[name .. "_"](a, lunet.tensor{1.0, 2.0, 3.0, 4.0}) -- broadcasts over rows
      T.values(a, ref2(a0, lunet.tensor{1.0, 2.0, 3.0, 4.0}, float_ops[name]), 1e-5, "float32")
    end
    local i = lunet.tensor{7, -7, 9}
    i:add_(3):mul_(2):remainder_(5):sub_(lunet.tensor{1, 1, 1})
    T.values(i, {((7 + 3) * 2) % 5 - 1, ((-7 + 3) * 2) % 5 - 1, ((9 + 3) * 2) % 5 - 1}, 0, "int64")
    i:pow_(2)
    T.values(i, {1, 1, 9}, 0, "int64")
  end)

  it("writes in place through a view into its base", function()
    local base = lunet.zeros(3, 4)
    base:t():add_(lunet.tensor{1.0, 2.0, 3.0}) -- (4, 3) view, the row broadcasts
    T.values(base, {{1, 1, 1, 1}, {2, 2, 2, 2}, {3, 3, 3, 3}}, 0)
    base:narrow(2, 2, 2):mul_(10)
    T.values(base, {{1, 10, 10, 1}, {2, 20, 20, 2}, {3, 30, 30, 3}}, 0)
    base[{{1, -1, 2}, {}}]:sub_(1)
    T.values(base, {{0, 9, 9, 0}, {2, 20, 20, 2}, {2, 29, 29, 2}}, 0)
  end)

  it("reads the old values when the other operand overlaps self", function()
    local x = lunet.tensor{{1, 2}, {3, 4}}
    x:add_(x:t())
    T.values(x, {{2, 5}, {5, 8}}, 0, "int64")
    local y = lunet.arange(1, 7, {dtype = "float32"})
    y:narrow(1, 2, 5):sub_(y:narrow(1, 1, 5)) -- y[i] -= y[i-1], all old values
    T.values(y, {1, 1, 1, 1, 1, 1}, 0)
    local z = lunet.tensor{{1.0, 2.0}, {3.0, 4.0}}
    z:mul_(z)
    T.values(z, {{1, 4}, {9, 16}}, 0)
    local r = lunet.tensor{{1, 2}, {3, 4}, {5, 6}}
    r:sub_(r[1]) -- row 1 broadcasts over r, row 1 included
    T.values(r, {{0, 0}, {2, 2}, {4, 4}}, 0, "int64")
    local m = lunet.tensor{{0, 1}, {1, 0}}
    m:masked_fill_(m:t(), 0) -- m[2][1] is masked by the old m[1][2], not the new 0
    T.values(m, {{0, 0}, {0, 0}}, 0, "int64")
  end)

  it("refuses to write in place into an expanded tensor", function()
    local e = lunet.zeros(1, 3):expand(4, 3)
    T.errors(function() e:add_(1) end, "add_: cannot write in place into an expanded tensor")
    T.errors(function() e:mul_(lunet.ones(4, 3)) end, "mul_:")
    T.errors(function() e:exp_() end, "exp_:")
    T.errors(function() e:clamp_(0, 1) end, "clamp_:")
    T.errors(function() e:masked_fill_(lunet.ones(4, 3):gt(0), 1) end, "masked_fill_:")
  end)
end)

-- =============================================================================
describe("broadcasting", function()
  local function check(sa, sb, want_shape)
    local a, b = lunet.randn(sa), lunet.randn(sb)
    for _, name in ipairs{"add", "sub", "mul", "maximum", "atan2", "lt", "eq"} do
      local got = a[name](a, b)
      T.shape(got, want_shape)
      T.values(got, ref2(a, b, float_ops[name]), 1e-5)
      local rev = b[name](b, a)
      T.shape(rev, want_shape)
      T.values(rev, ref2(b, a, float_ops[name]), 1e-5)
    end
    T.values(a + b, ref2(a, b, float_ops.add), 1e-6)
    T.values(a * b, ref2(a, b, float_ops.mul), 1e-6)
  end

  it("(3,1) with (1,4) gives (3,4)", function() check({3, 1}, {1, 4}, {3, 4}) end)
  it("(4) with (2,3,4) gives (2,3,4)", function() check({4}, {2, 3, 4}, {2, 3, 4}) end)
  it("(2,1,3) with (4,1) gives (2,4,3)", function() check({2, 1, 3}, {4, 1}, {2, 4, 3}) end)
  it("(5,1,1,2) with (3,1) gives (5,1,3,2)", function() check({5, 1, 1, 2}, {3, 1}, {5, 1, 3, 2}) end)
  it("0-dim with n-d gives the n-d shape", function()
    check({}, {2, 3}, {2, 3})
    local s = lunet.tensor(2.5)
    local x = lunet.tensor{{1.0, 2.0}, {3.0, 4.0}}
    T.values(s * x, {{2.5, 5}, {7.5, 10}}, 0)
    T.values(x - s, {{-1.5, -0.5}, {0.5, 1.5}}, 0)
    T.shape(s + lunet.tensor(1.0), {})
    T.values(s + lunet.tensor(1.0), 3.5, 0)
    x:add_(s)
    T.values(x, {{3.5, 4.5}, {5.5, 6.5}}, 0)
  end)

  it("handles size-0 dimensions", function()
    T.shape(lunet.zeros(0, 3) + lunet.zeros(1, 3), {0, 3})
    T.shape(lunet.zeros(2, 0) * lunet.zeros(2, 1), {2, 0})
    T.shape(lunet.zeros(0) + 1, {0})
    T.shape(lunet.zeros(0) + lunet.tensor(1.0), {0})
    T.shape(lunet.zeros(3, 0, 2):lt(lunet.zeros(1, 2)), {3, 0, 2})
    T.shape(lunet.zeros(0, 3):exp(), {0, 3})
    T.values(lunet.zeros(0, 3) + lunet.zeros(1, 3), {}, 0)
    T.errors(function() return lunet.zeros(0, 3) + lunet.zeros(2, 3) end, "shapes 0x3 and 2x3 cannot be broadcast")
  end)

  it("names both shapes when they cannot be broadcast", function()
    T.errors(function() return lunet.zeros(2, 3) + lunet.zeros(4, 3) end, "add: shapes 2x3 and 4x3 cannot be broadcast")
    T.errors(function() return lunet.zeros(3) * lunet.zeros(4) end, "mul: shapes 3 and 4 cannot be broadcast")
    T.errors(function() return lunet.zeros(2, 3, 4):lt(lunet.zeros(3, 5)) end, "lt: shapes 2x3x4 and 3x5 cannot be broadcast")
    T.errors(function() return lunet.zeros(2, 3):maximum(lunet.zeros(3, 2)) end, "maximum: shapes 2x3 and 3x2")
  end)

  it("raises when an in-place op would have to grow self", function()
    T.errors(function() lunet.zeros(3):add_(lunet.zeros(2, 3)) end, "add_: cannot broadcast shape 2x3 to 3 in place")
    T.errors(function() lunet.zeros(1, 3):mul_(lunet.zeros(2, 3)) end, "mul_: cannot broadcast shape 2x3 to 1x3 in place")
    T.errors(function() lunet.zeros(2, 1):sub_(lunet.zeros(2, 3)) end, "sub_: cannot broadcast shape 2x3 to 2x1 in place")
    local x = lunet.zeros(2, 3)
    x:add_(lunet.ones(1, 3)) -- the other way round is fine
    T.values(x, {{1, 1, 1}, {1, 1, 1}}, 0)
  end)
end)

-- =============================================================================
describe("dtype rules", function()
  local i, f = lunet.tensor{1, 2, 3}, lunet.tensor{0.5, 1.5, 2.5}
  local d = lunet.tensor({0.25, 0.5, 0.75}, {dtype = "float64"})

  it("keeps int64 with int64 and with integer numbers", function()
    T.values(i + i, {2, 4, 6}, 0, "int64")
    T.values(i * 3, {3, 6, 9}, 0, "int64")
    T.values(10 - i, {9, 8, 7}, 0, "int64")
    T.values(i % 2, {1, 0, 1}, 0, "int64")
    T.values(i ^ 2, {1, 4, 9}, 0, "int64")
  end)

  it("divides int64 by int64 into float32", function()
    T.values(i / lunet.tensor{2, 4, 2}, {0.5, 0.5, 1.5}, 0, "float32")
    T.values(i / 2, {0.5, 1, 1.5}, 0, "float32")
    T.values(3 / i, {3, 1.5, 1}, 1e-7, "float32")
    T.values(i:atan2(lunet.tensor{1, 1, 1}), ref2(i, 1, float_ops.atan2), 1e-6, "float32")
  end)

  it("promotes int64 with a fraction to float32", function()
    T.values(i + 1.5, {2.5, 3.5, 4.5}, 0, "float32")
    T.values(1.5 * i, {1.5, 3, 4.5}, 0, "float32")
    T.values(i ^ 0.5, ref2(i, 0.5, float_ops.pow), 1e-6, "float32")
    T.values(i % 1.5, {1, 0.5, 0}, 0, "float32")
    T.values(i + f, {1.5, 3.5, 5.5}, 0, "float32")
    T.values(f - i, {-0.5, -0.5, -0.5}, 0, "float32")
  end)

  it("promotes float32 with float64 to float64, either way round", function()
    T.values(f + d, {0.75, 2, 3.25}, 0, "float64")
    T.values(d * f, {0.125, 0.75, 1.875}, 0, "float64")
    T.values(d + i, {1.25, 2.5, 3.75}, 0, "float64")
    T.values(d + 1, {1.25, 1.5, 1.75}, 0, "float64")
    T.values(d + 0.1, ref2(d, 0.1, float_ops.add), 1e-15, "float64")
    T.values(f + 0.1, ref2(f, 0.1, float_ops.add), 1e-6, "float32")
    T.values(d:lt(f), {1, 1, 1}, 0, "int64")
  end)

  it("refuses in-place ops whose result is a float in an int64 tensor", function()
    T.errors(function() i:clone():add_(1.5) end, "add_: result of add is float32, which cannot be stored in place in an int64 tensor")
    T.errors(function() i:clone():add_(f) end, "add_: result of add is float32")
    T.errors(function() i:clone():mul_(d) end, "mul_: result of mul is float64")
    T.errors(function() i:clone():div_(2) end, "div_: result of div is float32")
    local x = i:clone()
    pcall(function() x:add_(1.5) end)
    T.values(x, {1, 2, 3}, 0, "int64") -- left untouched
  end)

  it("stores a float64 operand in place into a float32 tensor, as PyTorch does", function()
    local x = f:clone()
    x:add_(d)
    T.values(x, {0.75, 2, 3.25}, 0, "float32")
    x:mul_(lunet.tensor({2.0}, {dtype = "float64"}))
    T.values(x, {1.5, 4, 6.5}, 0, "float32")
    local y = d:clone()
    y:add_(f):sub_(i)
    T.values(y, {-0.25, 0, 0.25}, 0, "float64")
  end)

  it("raises on integer remainder by zero instead of crashing", function()
    T.errors(function() return i % 0 end, "remainder: integer remainder by zero")
    T.errors(function() return i % lunet.tensor{1, 0, 1} end, "remainder: integer remainder by zero")
    T.errors(function() return 5 % lunet.tensor{1, 0} end, "remainder: integer remainder by zero")
    T.errors(function() return i:remainder(0) end, "remainder: integer remainder by zero")
    T.errors(function() i:clone():remainder_(lunet.tensor{0, 0, 0}) end, "remainder_: integer remainder by zero")
    local big = lunet.zeros(100000, {dtype = "int64"}) + 7
    T.errors(function() return big % (big - 7) end, "remainder: integer remainder by zero")
    -- the float forms give NaN instead
    T.values(f % 0, {0 / 0, 0 / 0, 0 / 0}, 0)
    -- INT64_MIN % -1 traps in C; it is 0
    T.values(lunet.tensor{math.mininteger, 7} % -1, {0, 0}, 0, "int64")
  end)
end)

-- =============================================================================
describe("unary ops", function()
  it("match plain Lua on float32 and float64", function()
    for _, dt in ipairs{"float32", "float64"} do
      for _, name in ipairs(unary_names) do
        local f, kind = unary_ops[name][1], unary_ops[name][2]
        local x = domain_input(kind, {3, 5}, {dtype = dt})
        local got = x[name](x)
        T.values(got, ref1(x, f), dt == "float32" and 2e-6 or 1e-12, dt)
      end
    end
  end)

  it("is neg for unary minus", function()
    local x = lunet.randn(2, 3)
    T.values(-x, x:neg():totable(), 0, "float32")
    T.values(-lunet.tensor{1, -2}, {-1, 2}, 0, "int64")
  end)

  it("keeps int64 for integer-valued ops and gives float32 for the rest", function()
    local x = lunet.tensor{-3, -1, 0, 2, 5}
    local int_ops = {neg = true, abs = true, relu = true, sign = true, square = true,
                     floor = true, ceil = true, round = true}
    for _, name in ipairs(unary_names) do
      local f, kind = unary_ops[name][1], unary_ops[name][2]
      local input = x
      if kind == "positive" then input = lunet.tensor{1, 2, 4, 9, 100}
      elseif kind == "nonzero" then input = lunet.tensor{-3, -1, 1, 2, 5}
      elseif kind == "above-1" then input = lunet.tensor{0, 1, 2, 5, 10} end
      local got = input[name](input)
      T.values(got, ref1(input, f), 1e-6, int_ops[name] and "int64" or "float32")
    end
  end)

  it("keeps sigmoid and tanh finite for large inputs", function()
    for _, dt in ipairs{"float32", "float64"} do
      local x = lunet.tensor({-1000, -100, -20, 0, 20, 100, 1000}, {dtype = dt})
      T.values(x:sigmoid(), ref1(x, sigmoid), 1e-7, dt)
      T.values(x:tanh(), {-1, -1, -1, 0, 1, 1, 1}, 1e-7, dt)
    end
  end)

  it("rounds half to even, floors and ceils negative numbers", function()
    local x = lunet.tensor{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, -2.6}
    T.values(x:round(), {-2, -2, 0, 0, 2, 2, 2, -3}, 0)
    T.values(x:floor(), {-3, -2, -1, 0, 1, 2, 2, -3}, 0)
    T.values(x:ceil(), {-2, -1, 0, 1, 2, 3, 3, -2}, 0)
  end)

  it("handles signs, zeros and NaN", function()
    local nan = 0 / 0
    local x = lunet.tensor{-2.0, 0.0, 3.0, nan, -math.huge}
    T.values(x:sign(), {-1, 0, 1, nan, -1}, 0)
    T.values(x:relu(), {0, 0, 3, nan, 0}, 0)
    T.values(x:abs(), {2, 0, 3, nan, math.huge}, 0)
    T.values(lunet.tensor{0.0, -0.0}:reciprocal(), {math.huge, -math.huge}, 0)
    T.values(lunet.tensor{-1.0, 0.0}:log(), {nan, -math.huge}, 0)
    T.values(lunet.tensor{-1.0}:sqrt(), {nan}, 0)
    T.values(lunet.tensor{1e-10}:log1p(), {1e-10}, 1e-15)
    T.values(lunet.tensor({1e-10}, {dtype = "float64"}):expm1(), {1.00000000005e-10}, 1e-15)
  end)

  it("has in-place forms that return self", function()
    for _, name in ipairs(unary_names) do
      local f, kind = unary_ops[name][1], unary_ops[name][2]
      local x0 = domain_input(kind, {2, 3})
      local x = x0:clone()
      local r = x[name .. "_"](x)
      T.truthy(rawequal(r, x), name .. "_ returns self")
      T.values(x, ref1(x0, f), 2e-6, "float32")
    end
    local i = lunet.tensor{-2, 3}
    i:abs_():neg_():square_()
    T.values(i, {4, 9}, 0, "int64")
  end)

  it("refuses in-place float results in an int64 tensor", function()
    local i = lunet.tensor{1, 2}
    T.errors(function() i:exp_() end, "exp_: result of exp is float32, which cannot be stored in place in an int64 tensor")
    T.errors(function() i:sqrt_() end, "sqrt_:")
    T.errors(function() i:sigmoid_() end, "sigmoid_:")
    T.values(i, {1, 2}, 0, "int64")
  end)
end)

-- =============================================================================
describe("clamp", function()
  local x = lunet.tensor{-3.0, -0.5, 0.0, 0.5, 3.0}
  it("clamps with a min only, a max only, or both", function()
    T.values(x:clamp(-1), {-1, -0.5, 0, 0.5, 3}, 0, "float32")
    T.values(x:clamp(nil, 1), {-3, -0.5, 0, 0.5, 1}, 0, "float32")
    T.values(x:clamp(-1, 1), {-1, -0.5, 0, 0.5, 1}, 0, "float32")
    T.values(x:clamp(0.25, 0.25), {0.25, 0.25, 0.25, 0.25, 0.25}, 0)
    T.values(x, {-3, -0.5, 0, 0.5, 3}, 0) -- not modified
  end)

  it("takes a table {min =, max =}", function()
    T.values(x:clamp{min = 0}, {0, 0, 0, 0.5, 3}, 0)
    T.values(x:clamp{max = 0}, {-3, -0.5, 0, 0, 0}, 0)
    T.values(x:clamp{min = -0.5, max = 0.5}, {-0.5, -0.5, 0, 0.5, 0.5}, 0)
  end)

  it("has an in-place form that returns self", function()
    local y = x:clone()
    T.truthy(rawequal(y:clamp_(-1, 1), y), "clamp_ returns self")
    T.values(y, {-1, -0.5, 0, 0.5, 1}, 0)
    y:clamp_{min = 0}
    T.values(y, {0, 0, 0, 0.5, 1}, 0)
  end)

  it("keeps int64 and NaN, and rejects min > max", function()
    local i = lunet.tensor{-5, 0, 5}
    T.values(i:clamp(-2, 2), {-2, 0, 2}, 0, "int64")
    T.values(i:clone():clamp_(0), {0, 0, 5}, 0, "int64")
    T.values(lunet.tensor{0 / 0, 2.0}:clamp(0, 1), {0 / 0, 1}, 0)
    T.errors(function() return x:clamp(1, -1) end, "clamp: min (1) must not exceed max (-1)")
  end)

  it("matches plain Lua on random float64 values", function()
    local r = lunet.randn(4, 6, {dtype = "float64"})
    T.values(r:clamp(-0.3, 0.7), ref1(r, function(v) return math.min(math.max(v, -0.3), 0.7) end), 0, "float64")
  end)
end)

-- =============================================================================
describe("where and masked_fill", function()
  it("picks from a where cond is non-zero, else from b", function()
    local cond = lunet.tensor{{1, 0, 1}, {0, 0, 1}}
    local a, b = lunet.randn(2, 3), lunet.randn(2, 3)
    local va, vb = flat(a), flat(b)
    local want = build({2, 3}, function(ix)
      local k = (ix[1] - 1) * 3 + ix[2]
      return cond[{ix[1], ix[2]}] ~= 0 and va[k] or vb[k]
    end)
    T.values(lunet.where(cond, a, b), want, 0, "float32")
    T.values(a:where(cond, b), want, 0, "float32")
    T.values(lunet.where(a:gt(0), a, 0), ref1(a, function(v) return v > 0 and v or 0 end), 0, "float32")
  end)

  it("treats any non-zero float as true, NaN included", function()
    local cond = lunet.tensor{0.0, 2.5, -1.0, 0 / 0}
    T.values(lunet.where(cond, 1, 0), {0, 1, 1, 1}, 0, "int64")
  end)

  it("takes numbers and broadcasts cond, a and b", function()
    local cond = lunet.tensor{{1}, {0}, {1}}       -- (3, 1)
    local a = lunet.tensor{{10.0, 20.0, 30.0, 40.0}} -- (1, 4)
    local got = lunet.where(cond, a, -1)
    T.shape(got, {3, 4})
    T.values(got, {{10, 20, 30, 40}, {-1, -1, -1, -1}, {10, 20, 30, 40}}, 0, "float32")
    T.values(lunet.where(cond, 1, 2), {{1}, {2}, {1}}, 0, "int64")
    T.values(lunet.where(cond, 1, 0.5), {{1}, {0.5}, {1}}, 0, "float32")
    T.values(lunet.where(lunet.tensor{1, 0}, lunet.tensor{{1}, {2}}, lunet.tensor{7, 8}), {{1, 8}, {2, 8}}, 0, "int64")
    T.errors(function() return lunet.where(lunet.tensor{1, 0, 1}, lunet.zeros(2), 0) end, "where:")
  end)

  it("promotes the dtypes of a and b", function()
    local cond = lunet.tensor{1, 0}
    T.values(lunet.where(cond, lunet.tensor{1, 2}, lunet.tensor{0.5, 0.5}), {1, 0.5}, 0, "float32")
    T.values(lunet.where(cond, lunet.tensor({1.5, 2}, {dtype = "float64"}), lunet.tensor{0.5, 0.5}), {1.5, 0.5}, 0, "float64")
  end)

  it("fills where a mask is set, in place or into a copy", function()
    local x = lunet.tensor{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}
    local mask = x:gt(2.5)
    local y = x:masked_fill(mask, -1)
    T.values(y, {{1, 2, -1}, {-1, -1, -1}}, 0, "float32")
    T.values(x, {{1, 2, 3}, {4, 5, 6}}, 0) -- the copy form leaves x alone
    T.truthy(rawequal(x:masked_fill_(mask, 0), x), "masked_fill_ returns self")
    T.values(x, {{1, 2, 0}, {0, 0, 0}}, 0)
  end)

  it("broadcasts the mask and accepts float masks", function()
    local x = lunet.zeros(3, 4)
    x:masked_fill_(lunet.tensor{{1, 0, 0, 1}}, 7)
    T.values(x, {{7, 0, 0, 7}, {7, 0, 0, 7}, {7, 0, 0, 7}}, 0)
    x:masked_fill_(lunet.tensor{{0.0}, {0.5}, {0.0}}, -math.huge)
    T.values(x, {{7, 0, 0, 7}, {-math.huge, -math.huge, -math.huge, -math.huge}, {7, 0, 0, 7}}, 0)
    local i = lunet.tensor{1, 2, 3}
    T.values(i:masked_fill(lunet.tensor{0, 1, 0}, 9), {1, 9, 3}, 0, "int64")
    T.errors(function() x:masked_fill_(lunet.tensor{1, 0}, 1) end, "masked_fill_: mask of shape 2 cannot be broadcast to shape 3x4")
    T.errors(function() return x:masked_fill(lunet.ones(2, 3, 4), 1) end, "masked_fill:")
  end)
end)

-- =============================================================================
describe("non-contiguous inputs", function()
  lunet.manual_seed(99)
  local vs = views(function(s) return lunet.rand(s) + 0.5 end)      -- positive values
  local ws = views(function(s) return lunet.randn(s) end)
  local is = views(function(s) return lunet.randint(-9, 10, s) end)

  it("are really non-contiguous where they should be", function()
    for _, n in ipairs{"transposed", "narrowed", "strided", "expanded_rows", "expanded_cols"} do
      T.truthy(not vs[n]:is_contiguous(), n .. " view is non-contiguous")
      T.shape(vs[n], {4, 5})
    end
  end)

  it("give every binary op the same values as contiguous copies", function()
    for _, na in ipairs(view_names) do
      for _, nb in ipairs(view_names) do
        local a, b = vs[na], ws[nb]
        local ca, cb = a:contiguous(), b:contiguous()
        for _, name in ipairs(binary_names) do
          local got = a[name](a, b)
          T.values(got, ca[name](ca, cb):totable(), 0)
          T.values(got, ref2(ca, cb, float_ops[name]), 1e-5)
        end
        local ia, ib = is[na], is[nb]
        for _, name in ipairs{"add", "sub", "mul", "maximum", "minimum", "lt", "eq"} do
          T.values(ia[name](ia, ib), ia:contiguous()[name](ia:contiguous(), ib:contiguous()):totable(), 0, nil)
        end
      end
    end
  end)

  it("give operators with numbers the same values as contiguous copies", function()
    for _, n in ipairs(view_names) do
      local a, c = vs[n], vs[n]:contiguous()
      T.values(a + 1.5, (c + 1.5):totable(), 0)
      T.values(2 - a, (2 - c):totable(), 0)
      T.values(2 / a, (2 / c):totable(), 0)
      T.values(a ^ 2, (c ^ 2):totable(), 0)
      T.values(3 % a, (3 % c):totable(), 0)
      T.values(-a, (-c):totable(), 0)
      T.values(a:gt(1), c:gt(1):totable(), 0)
      local i, ic = is[n], is[n]:contiguous()
      T.values(i % 4, (ic % 4):totable(), 0, "int64")
      T.values(7 - i, (7 - ic):totable(), 0, "int64")
    end
  end)

  it("give every unary op, clamp, where and masked_fill the same values", function()
    for _, n in ipairs(view_names) do
      local a, c = vs[n], vs[n]:contiguous()
      local w, wc = ws[n], ws[n]:contiguous()
      for _, name in ipairs(unary_names) do
        T.values(a[name](a), c[name](c):totable(), 0)
        T.values(w[name](w), wc[name](wc):totable(), 0)
      end
      T.values(w:clamp(-0.5, 0.5), wc:clamp(-0.5, 0.5):totable(), 0)
      T.values(lunet.where(w:gt(0), a, w), lunet.where(wc:gt(0), c, wc):totable(), 0)
      T.values(lunet.where(w, 1, 0), lunet.where(wc, 1, 0):totable(), 0)
      T.values(a:masked_fill(w:lt(0), 0), c:masked_fill(wc:lt(0), 0):totable(), 0)
      T.values(is[n]:abs(), is[n]:contiguous():abs():totable(), 0, "int64")
    end
  end)

  it("write in place into views exactly as into contiguous copies", function()
    for _, n in ipairs{"transposed", "narrowed", "strided"} do
      local fresh = views(function(s) return lunet.rand(s) + 0.5 end)[n]
      local copy = fresh:contiguous()
      fresh:add_(ws.transposed):mul_(2):exp_():clamp_(0, 5)
      copy:add_(ws.transposed:contiguous()):mul_(2):exp_():clamp_(0, 5)
      T.values(fresh, copy:totable(), 0)
      fresh:masked_fill_(ws.strided:gt(0), -1)
      copy:masked_fill_(ws.strided:contiguous():gt(0), -1)
      T.values(fresh, copy:totable(), 0)
    end
  end)

  it("agree with contiguous copies on large views that run in parallel", function()
    local base = lunet.randn(700, 300)
    local t = base:t()                       -- (300, 700), 210,000 elements
    local s = lunet.randn(300, 1400)[{{}, {1, -1, 2}}]
    local c, sc = t:contiguous(), s:contiguous()
    T.values(t + s, (c + sc):totable(), 0)
    T.values(t:sigmoid(), c:sigmoid():totable(), 0)
    T.values(t:maximum(s), c:maximum(sc):totable(), 0)
    T.values(t * 2 - s, (c * 2 - sc):totable(), 0)
    local long = lunet.randn(3, 100001):narrow(2, 2, 100000) -- rows cut into chunks
    local lc = long:contiguous()
    T.values(long:exp() - long, (lc:exp() - lc):totable(), 0)
    local w = long:clone():t():t() -- a contiguous base, written through a narrowed view
    long:mul_(3)
    T.values(long, (lc * 3):totable(), 0)
    T.values(w, lc:totable(), 0)
  end)
end)

describe("functional forms", function()
  it("lunet.<op>(x, ...) is x:<op>(...)", function()
    local a, b = lunet.randn(2, 3), lunet.randn(2, 3)
    T.values(lunet.add(a, b), (a + b):totable(), 0)
    T.values(lunet.maximum(a, b), a:maximum(b):totable(), 0)
    T.values(lunet.exp(a), a:exp():totable(), 0)
    T.values(lunet.clamp(a, -0.1, 0.1), a:clamp(-0.1, 0.1):totable(), 0)
    T.values(lunet.where(a:gt(b), a, b), a:maximum(b):totable(), 0)
    -- a number first, for the ops that have no operator
    local x = lunet.tensor{1.0, 2.0, 3.0}
    T.values(lunet.lt(2, x), {0, 0, 1}, 0, "int64")
    T.values(lunet.ge(2, x), {1, 1, 0}, 0, "int64")
    T.values(lunet.atan2(1, x), ref2(1, x, float_ops.atan2), 1e-6, "float32")
    T.values(lunet.maximum(2, x), {2, 2, 3}, 0, "float32")
    T.values(lunet.remainder(7, lunet.tensor{2, -3}), {1, -2}, 0, "int64")
  end)
end)

describe("floor division", function()
  it("rounds toward minus infinity like Lua's //, for int64 and floats", function()
    local a, b = lunet.tensor{7, -7, 7, -7}, lunet.tensor{2, 2, -2, -2}
    T.values(a // b, {3, -4, -4, 3}, 0, "int64")
    T.values(a:float() // b, {3, -4, -4, 3}, 0, "float32")
    T.values(7 // a, {1, -1, 1, -1}, 0, "int64")
    T.values(a // 2.5, {2, -3, 2, -3}, 0, "float32")
    T.values(a:floor_divide(b), {3, -4, -4, 3}, 0, "int64")
    for i, x in ipairs{7, -7, 7, -7} do T.eq((a // b)[i], x // ({2, 2, -2, -2})[i], "element " .. i) end
  end)
  it("raises for integer division by zero and handles the int64 minimum", function()
    T.errors(function() return lunet.tensor{1} // 0 end, "floor_divide: integer division by zero")
    T.values(lunet.tensor{math.mininteger} // -1, {math.mininteger}, 0, "int64")
    local x = lunet.tensor{9, 10}
    x:floor_divide_(4)
    T.values(x, {2, 2}, 0, "int64")
  end)
end)

describe("vectorised float32 exp and sigmoid", function()
  it("stay within 2 ulp of exp over the whole float32 range", function()
    local x = lunet.linspace(-87, 88.5, 400001, {dtype = "float64"}):float()
    local got = x:exp():double()
    local want = x:double():exp() -- exp of the same float32 inputs, in float64
    local rel = ((got - want):abs() / want):max():item()
    T.truthy(rel < 2 * 2^-23, string.format("max relative error %.3g is under 2 ulp", rel))
  end)
  it("handle overflow, underflow, infinities and NaN", function()
    local v = lunet.tensor{1 / 0, -1 / 0, 0 / 0, 89, 88.72, -104, -1000, 0}:exp():totable()
    T.eq(v[1], 1 / 0, "exp(inf)"); T.eq(v[2], 0, "exp(-inf)"); T.truthy(v[3] ~= v[3], "exp(nan) is nan")
    T.eq(v[4], 1 / 0, "exp(89) overflows"); T.near(v[5], math.exp(88.72), 2e-6, "exp(88.72)")
    T.eq(v[6], 0, "exp(-104)"); T.eq(v[7], 0, "exp(-1000)"); T.eq(v[8], 1, "exp(0)")
    local s = lunet.tensor{-1000, -100, 0, 100, 1000, 0 / 0}:sigmoid():totable()
    T.eq(s[1], 0, "sigmoid(-1000)"); T.near(s[2], 1 / (1 + math.exp(100)), 1e-6, "sigmoid(-100)")
    T.eq(s[3], 0.5, "sigmoid(0)"); T.eq(s[4], 1, "sigmoid(100)"); T.eq(s[5], 1, "sigmoid(1000)")
    T.truthy(s[6] ~= s[6], "sigmoid(nan) is nan")
  end)
end)

describe("erf", function()
  it("matches known values and is odd", function()
    T.values(lunet.tensor({0, 0.5, 1, -2, 3}, {dtype = "float64"}):erf(),
             {0, 0.52049987781304654, 0.84270079294971487, -0.99532226501895273, 0.99997790950300136}, 1e-15)
  end)
end)
