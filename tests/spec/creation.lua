-- Tensor creation: from tables and numbers, filled tensors, ranges, random
-- tensors (reproducibility and statistics), *_like, and argument errors.
-- Statistics are computed in Lua from totable() so that these specs depend
-- only on creation, not on the reduction kernels.

local function stats(t)
  local v = t:flatten():totable()
  local n, sum, lo, hi = #v, 0, math.huge, -math.huge
  for i = 1, n do
    local x = v[i]
    sum = sum + x
    if x < lo then lo = x end
    if x > hi then hi = x end
  end
  local mean, ss = sum / n, 0
  for i = 1, n do ss = ss + (v[i] - mean) ^ 2 end
  return {n = n, mean = mean, std = math.sqrt(ss / (n - 1)), min = lo, max = hi, values = v}
end

local function same_values(a, b)
  local x, y = a:flatten():totable(), b:flatten():totable()
  if #x ~= #y then return false end
  for i = 1, #x do if x[i] ~= y[i] then return false end end
  return true
end

describe("creation", function()
  describe("tensor{} from nested tables", function()
    it("makes int64 when every entry is an integer", function()
      local x = lunet.tensor{{1, 2, 3}, {4, 5, 6}}
      T.shape(x, {2, 3})
      T.values(x, {{1, 2, 3}, {4, 5, 6}}, 0, "int64")
      T.eq(math.type(x[{2, 3}]), "integer", "an int64 element comes back as a Lua integer")
    end)

    it("makes float32 when any entry is a float", function()
      local x = lunet.tensor{{1, 2}, {3, 4.5}}
      T.values(x, {{1, 2}, {3, 4.5}}, 0, "float32")
      T.eq(lunet.tensor{1, 2.0}:dtype(), "float32", "2.0 is a float in Lua 5.4")
    end)

    it("keeps large int64 values exactly", function()
      local big = 9007199254740993 -- 2^53 + 1, not representable as a double
      local x = lunet.tensor{big, -big}
      T.eq(x[1], big, "x[1]")
      T.eq(x[2], -big, "x[2]")
    end)

    it("builds 1-d, 3-d and 4-d tensors", function()
      T.shape(lunet.tensor{7}, {1})
      local x = lunet.tensor{{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}, {{9, 10}, {11, 12}}}
      T.shape(x, {3, 2, 2})
      T.eq(x[{3, 1, 2}], 10, "x[3][1][2]")
      T.shape(lunet.tensor{{{{1}}}}, {1, 1, 1, 1})
    end)

    it("honours {dtype = ...}", function()
      T.values(lunet.tensor({1, 2}, {dtype = "float64"}), {1, 2}, 0, "float64")
      T.values(lunet.tensor({1, 2}, {dtype = "float32"}), {1, 2}, 0, "float32")
      T.values(lunet.tensor({1.7, -1.7}, {dtype = "int64"}), {1, -1}, 0, "int64")
      T.eq(lunet.tensor({1}, {dtype = "double"}):dtype(), "float64", "alias double")
      T.eq(lunet.tensor({1.5}, {dtype = "long"}):dtype(), "int64", "alias long")
      T.errors(function() return lunet.tensor({1}, {dtype = "int8"}) end, "unknown dtype 'int8'")
    end)

    it("stores float64 values at full precision", function()
      local x = lunet.tensor({0.1, 1 / 3}, {dtype = "float64"})
      T.eq(x[1], 0.1, "0.1 round-trips through float64")
      T.eq(x[2], 1 / 3, "1/3 round-trips through float64")
      T.truthy(lunet.tensor{0.1}[1] ~= 0.1, "float32 rounds 0.1")
      T.near(lunet.tensor{0.1}[1], 0.1, 1e-7)
    end)

    it("makes an empty float32 tensor from {}", function()
      local x = lunet.tensor{}
      T.shape(x, {0})
      T.eq(x:numel(), 0, "numel")
      T.eq(x:dtype(), "float32", "dtype of an empty table (as torch.tensor([]))")
      T.shape(lunet.tensor{{}, {}}, {2, 0})
    end)

    it("rejects ragged rows, naming the row", function()
      T.errors(function() return lunet.tensor{{1, 2}, {3}} end,
        "tensor: element [2] has 1 entries, expected 2")
      T.errors(function() return lunet.tensor{{{1, 2}, {3, 4}}, {{5, 6}, {7}}} end,
        "tensor: element [2][2] has 1 entries, expected 2")
      T.errors(function() return lunet.tensor{{1, 2}, 3} end, "tensor: expected a table at depth 2, got number")
      T.errors(function() return lunet.tensor{1, {2}} end, "tensor: element [2] is a table, expected a number")
    end)

    it("rejects non-numbers, naming the element", function()
      T.errors(function() return lunet.tensor{1, "a"} end, "tensor: element [2] is a string, expected a number")
      T.errors(function() return lunet.tensor{{1, 2}, {3, true}} end,
        "tensor: element [2][2] is a boolean, expected a number")
      T.errors(function() return lunet.tensor("abc") end, "table expected, got string")
    end)

    it("rejects nesting deeper than 8 levels", function()
      T.errors(function() return lunet.tensor{{{{{{{{{1}}}}}}}}} end, "tensor: nesting deeper than 8 levels")
    end)
  end)

  describe("tensor(number)", function()
    it("makes a 0-dim int64 tensor from an integer", function()
      local x = lunet.tensor(3)
      T.shape(x, {})
      T.eq(x:dim(), 0, "dim")
      T.eq(x:numel(), 1, "numel")
      T.eq(x:dtype(), "int64", "dtype")
      T.eq(x:item(), 3, "item")
    end)

    it("makes a 0-dim float32 tensor from a float, or the dtype asked for", function()
      local x = lunet.tensor(2.5)
      T.eq(x:dtype(), "float32", "dtype")
      T.eq(x:item(), 2.5, "item")
      local y = lunet.tensor(2.5, {dtype = "float64"})
      T.eq(y:dtype(), "float64", "dtype")
      T.eq(lunet.tensor(7, {dtype = "float32"}):item(), 7.0, "item")
    end)
  end)

  describe("tensor(tensor)", function()
    it("copies: writes to the copy do not reach the source", function()
      local a = lunet.tensor{{1, 2}, {3, 4}}
      local b = lunet.tensor(a)
      T.values(b, {{1, 2}, {3, 4}}, 0, "int64")
      b[{1, 1}] = 100
      a[{2, 2}] = -1
      T.values(a, {{1, 2}, {3, -1}})
      T.values(b, {{100, 2}, {3, 4}})
    end)

    it("copies a non-contiguous view into its own contiguous tensor", function()
      local a = lunet.tensor{{1, 2, 3}, {4, 5, 6}}
      local b = lunet.tensor(a:t())
      T.values(b, {{1, 4}, {2, 5}, {3, 6}})
      T.truthy(b:is_contiguous(), "the copy is contiguous")
    end)

    it("converts with {dtype = ...}", function()
      local a = lunet.tensor{1.5, -2.5}
      local b = lunet.tensor(a, {dtype = "int64"})
      T.values(b, {1, -2}, 0, "int64")
      T.values(a, {1.5, -2.5}, 0, "float32")
    end)
  end)

  describe("zeros, ones, empty, full", function()
    it("zeros and ones take sizes as numbers or a table", function()
      T.values(lunet.zeros(2, 3), {{0, 0, 0}, {0, 0, 0}}, 0, "float32")
      T.values(lunet.zeros{2, 3}, {{0, 0, 0}, {0, 0, 0}}, 0, "float32")
      T.values(lunet.ones(3), {1, 1, 1}, 0, "float32")
      T.values(lunet.ones{2, 1}, {{1}, {1}}, 0, "float32")
    end)

    it("take a dtype option after sizes or after a size table", function()
      T.values(lunet.zeros(2, 2, {dtype = "int64"}), {{0, 0}, {0, 0}}, 0, "int64")
      T.values(lunet.ones({2}, {dtype = "float64"}), {1, 1}, 0, "float64")
      T.values(lunet.ones(2, {dtype = "int64"}), {1, 1}, 0, "int64")
      T.eq(lunet.empty({3}, {dtype = "float64"}):dtype(), "float64", "empty dtype")
    end)

    it("zeros() with no sizes is 0-dim; size 0 gives an empty tensor", function()
      T.shape(lunet.zeros(), {})
      T.eq(lunet.zeros():item(), 0, "item")
      T.shape(lunet.zeros(0), {0})
      T.shape(lunet.ones(3, 0, 2), {3, 0, 2})
      T.eq(lunet.ones(3, 0, 2):numel(), 0, "numel")
    end)

    it("empty has the right shape and dtype", function()
      local x = lunet.empty(4, 5)
      T.shape(x, {4, 5})
      T.eq(x:dtype(), "float32", "dtype")
      T.truthy(x:is_contiguous(), "contiguous")
    end)

    it("zeros are zero even when the allocator reuses a dirty block", function()
      for _ = 1, 3 do
        local junk <close> = lunet.full({1000}, 7.0)
      end
      local z = lunet.zeros(1000)
      local v = z:totable()
      for i = 1, 1000 do if v[i] ~= 0 then error("zeros()[" .. i .. "] = " .. v[i]) end end
    end)

    it("full({2, 3}, v) takes the dtype from the value", function()
      T.values(lunet.full({2, 3}, 7), {{7, 7, 7}, {7, 7, 7}}, 0, "int64")
      T.values(lunet.full({2}, 0.5), {0.5, 0.5}, 0, "float32")
      T.values(lunet.full({2}, 7, {dtype = "float64"}), {7, 7}, 0, "float64")
      T.values(lunet.full({}, 3), 3, 0, "int64")
    end)

    it("full needs a size table and a number", function()
      T.errors(function() return lunet.full(2, 3) end, "bad argument #1 to 'full' (table expected, got number)")
      T.errors(function() return lunet.full({2}, "x") end, "bad argument #2 to 'full'")
    end)
  end)

  describe("size arguments", function()
    it("reject negative sizes, naming the function", function()
      T.errors(function() return lunet.zeros(-1, 2) end, "'zeros' (size must be non-negative)")
      T.errors(function() return lunet.zeros{2, -3} end, "'zeros' (size -3 of dimension 2 must be non-negative)")
      T.errors(function() return lunet.ones(2, -1) end, "'ones'")
      T.errors(function() return lunet.rand(-5) end, "'rand'")
      T.errors(function() return lunet.full({-1}, 0) end, "'full'")
    end)

    it("reject non-integer sizes", function()
      T.errors(function() return lunet.zeros(2.5) end, "'zeros' (size must be an integer)")
      T.errors(function() return lunet.zeros{2, 0.5} end, "'zeros' (sizes must be integers)")
    end)

    it("reject more than 8 dimensions", function()
      T.errors(function() return lunet.zeros(1, 1, 1, 1, 1, 1, 1, 1, 1) end, "at most 8 dimensions are supported")
      T.errors(function() return lunet.ones{1, 1, 1, 1, 1, 1, 1, 1, 1} end, "at most 8 dimensions are supported")
      T.shape(lunet.zeros(1, 1, 1, 1, 1, 1, 1, 2), {1, 1, 1, 1, 1, 1, 1, 2})
    end)

    it("reject allocations too large to exist, naming the function", function()
      T.errors(function() return lunet.zeros(1e12, 1e12) end, "zeros: tensor of shape 1000000000000x1000000000000 is too large")
      T.errors(function() return lunet.ones(1e12, 1e12) end, "ones: tensor of shape")
      T.errors(function() return lunet.empty{1e12, 1e12} end, "empty: tensor of shape")
      T.errors(function() return lunet.full({1e12, 1e12}, 1) end, "full: tensor of shape")
      T.errors(function() return lunet.rand(1e12, 1e12) end, "rand: tensor of shape")
      T.errors(function() return lunet.randn(1e12, 1e12) end, "randn: tensor of shape")
      T.errors(function() return lunet.randint(0, 2, 1e12, 1e12) end, "randint: tensor of shape")
      T.errors(function() return lunet.eye(1e12) end, "eye: tensor of shape")
      -- sizes refused before any malloc: a real 4 TiB request may succeed under
      -- overcommit, and aborts under ASan (see `make sanitize`)
      T.errors(function() return lunet.zeros(1 << 60) end, "zeros: tensor of shape 1152921504606846976 is too large")
      T.errors(function() return lunet.randperm(1 << 60) end, "randperm: tensor of shape 1152921504606846976 is too large")
      T.errors(function() return lunet.arange(1e16) end, "arange: range of 10000000000000000 elements is too large")
      T.errors(function() return lunet.linspace(0, 1, 1 << 60) end, "linspace: tensor of shape 1152921504606846976 is too large")
    end)

    it("reject unknown dtypes and a non-table option", function()
      T.errors(function() return lunet.zeros(2, {dtype = "int8"}) end,
        "unknown dtype 'int8' (expected float32, float64 or int64)")
      T.errors(function() return lunet.zeros(2, "float64") end, "options table expected")
    end)
  end)

  describe("arange", function()
    it("excludes the end, as in PyTorch", function()
      T.values(lunet.arange(5), {0, 1, 2, 3, 4}, 0, "int64")
      T.values(lunet.arange(1, 4), {1, 2, 3}, 0, "int64")
      T.values(lunet.arange(0, 10, 3), {0, 3, 6, 9}, 0, "int64")
      T.values(lunet.arange(5, 1, -1), {5, 4, 3, 2}, 0, "int64")
      T.values(lunet.arange(-3, 0), {-3, -2, -1}, 0, "int64")
    end)

    it("is float32 when any argument is a float", function()
      T.values(lunet.arange(0, 1, 0.25), {0, 0.25, 0.5, 0.75}, 1e-7, "float32")
      T.values(lunet.arange(1.0, 3), {1, 2}, 0, "float32")
      T.values(lunet.arange(2.5), {0, 1, 2}, 0, "float32")
    end)

    it("counts ceil((end - start) / step) elements", function()
      T.eq(lunet.arange(0, 1, 0.1):numel(), 10, "arange(0, 1, 0.1)")
      T.eq(lunet.arange(1, 2.5, 0.5):numel(), 3, "arange(1, 2.5, 0.5)")
      T.eq(lunet.arange(0, 10, 4):numel(), 3, "arange(0, 10, 4)")
    end)

    it("is empty when the range goes the other way", function()
      T.shape(lunet.arange(0), {0})
      T.shape(lunet.arange(5, 1), {0})
      T.shape(lunet.arange(1, 5, -1), {0})
    end)

    it("honours a dtype option", function()
      T.values(lunet.arange(3, {dtype = "float64"}), {0, 1, 2}, 0, "float64")
      T.values(lunet.arange(1, 3, {dtype = "float32"}), {1, 2}, 0, "float32")
    end)

    it("rejects a zero step, non-finite bounds and no arguments", function()
      T.errors(function() return lunet.arange(0, 5, 0) end, "arange: step must be non-zero")
      T.errors(function() return lunet.arange(0, math.huge) end, "arange: start and end must be finite")
      T.errors(function() return lunet.arange() end, "number expected")
    end)
  end)

  describe("linspace", function()
    it("includes both ends", function()
      T.values(lunet.linspace(0, 1, 5), {0, 0.25, 0.5, 0.75, 1}, 1e-7, "float32")
      T.values(lunet.linspace(-1, 1, 3), {-1, 0, 1}, 1e-7)
      T.values(lunet.linspace(10, 0, 3), {10, 5, 0}, 1e-7)
    end)

    it("ends exactly on end even when the step does not divide evenly", function()
      local x = lunet.linspace(0, 1, 7, {dtype = "float64"})
      T.eq(x[7], 1.0, "last value")
      T.eq(x[1], 0.0, "first value")
      T.near(x[4], 0.5, 1e-15)
    end)

    it("with one step is {start}, as in PyTorch", function()
      T.values(lunet.linspace(3, 7, 1), {3}, 0)
      T.values(lunet.linspace(0, 1, 2), {0, 1}, 0)
    end)

    it("with zero steps is empty; negative steps raise", function()
      T.shape(lunet.linspace(0, 1, 0), {0})
      T.errors(function() return lunet.linspace(0, 1, -1) end, "linspace: number of steps must be non-negative, got -1")
    end)
  end)

  describe("eye", function()
    it("makes square and rectangular identities", function()
      T.values(lunet.eye(3), {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, 0, "float32")
      T.values(lunet.eye(2, 3), {{1, 0, 0}, {0, 1, 0}}, 0)
      T.values(lunet.eye(3, 2), {{1, 0}, {0, 1}, {0, 0}}, 0)
      T.values(lunet.eye(2, {dtype = "int64"}), {{1, 0}, {0, 1}}, 0, "int64")
      T.shape(lunet.eye(0), {0, 0})
    end)

    it("rejects negative sizes", function()
      T.errors(function() return lunet.eye(-1) end, "eye: sizes must be non-negative")
    end)
  end)

  describe("random tensors", function()
    it("same seed, same numbers; different seed, different numbers", function()
      for _, make in ipairs{
        function() return lunet.rand(50) end,
        function() return lunet.randn(5, 10) end,
        function() return lunet.randint(0, 1000, 50) end,
        function() return lunet.randperm(50) end,
      } do
        lunet.manual_seed(1234)
        local a = make()
        lunet.manual_seed(1234)
        local b = make()
        lunet.manual_seed(4321)
        local c = make()
        T.truthy(same_values(a, b), "same seed gives the same values")
        T.truthy(not same_values(a, c), "a different seed gives different values")
      end
    end)

    it("successive draws differ, and a seed replays the whole sequence", function()
      lunet.manual_seed(7)
      local a1, a2 = lunet.rand(20), lunet.randn(20)
      lunet.manual_seed(7)
      local b1, b2 = lunet.rand(20), lunet.randn(20)
      T.truthy(same_values(a1, b1) and same_values(a2, b2), "the sequence replays")
      lunet.manual_seed(7)
      local c1, c2 = lunet.rand(20), lunet.rand(20)
      T.truthy(not same_values(c1, c2), "two draws in a row differ")
      T.eq(lunet.initial_seed(), 7, "initial_seed")
    end)

    it("rand is uniform on [0, 1)", function()
      lunet.manual_seed(1)
      local x = lunet.rand(100000)
      T.eq(x:dtype(), "float32", "dtype")
      local s = stats(x)
      T.truthy(s.min >= 0, "min >= 0, got " .. s.min)
      T.truthy(s.max < 1, "max < 1, got " .. s.max)
      T.near(s.mean, 0.5, 0.01, "mean")
      T.near(s.std, math.sqrt(1 / 12), 0.01, "std")
      -- every tenth of [0, 1) gets about a tenth of the draws
      local bins = {}
      for i = 1, 10 do bins[i] = 0 end
      for _, v in ipairs(s.values) do local b = math.floor(v * 10) + 1; bins[b] = bins[b] + 1 end
      for i = 1, 10 do T.near(bins[i] / s.n, 0.1, 0.01, "fraction in bin " .. i) end
    end)

    it("randn is standard normal", function()
      lunet.manual_seed(2)
      local x = lunet.randn(100000)
      local s = stats(x)
      T.near(s.mean, 0, 0.02, "mean")
      T.near(s.std, 1, 0.02, "std")
      local within = 0
      for _, v in ipairs(s.values) do if math.abs(v) < 1 then within = within + 1 end end
      T.near(within / s.n, 0.6827, 0.01, "fraction within one std")
      T.truthy(s.min > -7 and s.max < 7, "no draw beyond 7 std")
      T.truthy(s.min < -3 and s.max > 3, "tails are reached")
    end)

    it("randint(low, high) draws integers in [low, high), evenly", function()
      lunet.manual_seed(3)
      local x = lunet.randint(-2, 8, 100000)
      T.eq(x:dtype(), "int64", "dtype")
      local s = stats(x)
      T.eq(s.min, -2, "min")
      T.eq(s.max, 7, "max")
      T.near(s.mean, 2.5, 0.01, "mean")
      local counts = {}
      for _, v in ipairs(s.values) do
        T.eq(math.type(v), "integer", "randint value type")
        counts[v] = (counts[v] or 0) + 1
      end
      for k = -2, 7 do T.near(counts[k] / s.n, 0.1, 0.01, "fraction of " .. k) end
    end)

    it("randint takes sizes as numbers or a table, and checks the range", function()
      T.shape(lunet.randint(0, 10, 2, 3), {2, 3})
      T.shape(lunet.randint(0, 10, {4}), {4})
      T.eq(lunet.randint(0, 10, {4}, {dtype = "float32"}):dtype(), "float32", "dtype option")
      T.errors(function() return lunet.randint(5, 5, 3) end, "randint: high (5) must be greater than low (5)")
    end)

    it("rand and randn honour float64, take size tables, and refuse int64", function()
      T.eq(lunet.rand(3, {dtype = "float64"}):dtype(), "float64", "rand dtype")
      T.eq(lunet.randn({2, 2}, {dtype = "float64"}):dtype(), "float64", "randn dtype")
      T.shape(lunet.rand{2, 3}, {2, 3})
      T.shape(lunet.randn(4, 1, 2), {4, 1, 2})
      T.errors(function() return lunet.rand(3, {dtype = "int64"}) end, "rand: dtype must be float32 or float64")
      T.errors(function() return lunet.randn(3, {dtype = "int64"}) end, "randn: dtype must be float32 or float64")
    end)

    it("randperm is a permutation of 1..n (1-based)", function()
      lunet.manual_seed(4)
      local p = lunet.randperm(1000)
      T.eq(p:dtype(), "int64", "dtype")
      T.shape(p, {1000})
      local seen, v, moved = {}, p:totable(), 0
      for i = 1, 1000 do
        T.truthy(v[i] >= 1 and v[i] <= 1000, "value " .. v[i] .. " in 1..1000")
        T.truthy(not seen[v[i]], "value " .. v[i] .. " appears once")
        seen[v[i]] = true
        if v[i] ~= i then moved = moved + 1 end
      end
      T.truthy(moved > 900, "a shuffle moves most elements, moved " .. moved)
      T.values(lunet.randperm(1), {1}, 0)
      T.shape(lunet.randperm(0), {0})
      T.errors(function() return lunet.randperm(-1) end, "n must be non-negative")
    end)

    it("randperm's first element is uniform over 1..n", function()
      lunet.manual_seed(5)
      local counts = {0, 0, 0, 0}
      for _ = 1, 4000 do local f = lunet.randperm(4)[1]; counts[f] = counts[f] + 1 end
      for k = 1, 4 do T.near(counts[k] / 4000, 0.25, 0.03, "fraction starting with " .. k) end
    end)
  end)

  describe("*_like", function()
    local int = lunet.tensor{{1, 2, 3}, {4, 5, 6}}
    local flt = lunet.tensor{1.5, 2.5}

    it("keep shape and dtype", function()
      T.values(lunet.zeros_like(int), {{0, 0, 0}, {0, 0, 0}}, 0, "int64")
      T.values(lunet.ones_like(flt), {1, 1}, 0, "float32")
      T.values(lunet.full_like(flt, 0.25), {0.25, 0.25}, 0, "float32")
      T.values(lunet.full_like(int:float(), 3), {{3, 3, 3}, {3, 3, 3}}, 0, "float32")
      local e = lunet.empty_like(int)
      T.shape(e, {2, 3})
      T.eq(e:dtype(), "int64", "empty_like dtype")
    end)

    it("follow the input's shape, not its strides, for a view", function()
      local v = lunet.zeros_like(int:t())
      T.shape(v, {3, 2})
      T.truthy(v:is_contiguous(), "a fresh tensor is contiguous")
    end)

    it("take a dtype option", function()
      T.values(lunet.ones_like(flt, {dtype = "int64"}), {1, 1}, 0, "int64")
      T.values(lunet.full_like(int, 2.5, {dtype = "float64"}), {{2.5, 2.5, 2.5}, {2.5, 2.5, 2.5}}, 0, "float64")
      T.eq(lunet.zeros_like(int, {dtype = "float32"}):dtype(), "float32", "zeros_like dtype")
    end)

    it("rand_like and randn_like draw fresh values of the same shape", function()
      lunet.manual_seed(9)
      local r = lunet.rand_like(lunet.zeros(300, 2))
      T.shape(r, {300, 2})
      local s = stats(r)
      T.truthy(s.min >= 0 and s.max < 1, "rand_like in [0, 1)")
      T.near(s.mean, 0.5, 0.05, "rand_like mean")
      local n = lunet.randn_like(lunet.zeros(1000, {dtype = "float64"}))
      T.eq(n:dtype(), "float64", "randn_like dtype")
      T.near(stats(n).std, 1, 0.1, "randn_like std")
      T.errors(function() return lunet.rand_like(int) end, "rand_like: rand needs a floating-point tensor")
    end)

    it("need a tensor", function()
      T.errors(function() return lunet.zeros_like({1, 2}) end, "tensor expected")
    end)
  end)
end)
