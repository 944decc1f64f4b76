-- Reductions (sum mean prod max min argmax argmin var std logsumexp) and
-- softmax / log_softmax. Expected values are computed here in plain Lua from
-- the inputs' totable(), never by lunet.

-- ---- plain-Lua reference helpers ---------------------------------------------
local R = require "tests.reference"
local flat, build = R.flat, R.build

local function offset(idx, shape)
  local off, stride = 0, 1
  for d = #shape, 1, -1 do off = off + (idx[d] - 1) * stride; stride = stride * shape[d] end
  return off + 1
end

-- f(list of values) over every line along dim (1-based, negative from the
-- end), or over all elements when dim is nil; returns nested values and shape
local function reduce_ref(t, dim, f, keepdim)
  local v, s = flat(t)
  if dim == nil then return f(v), {} end
  if dim < 0 then dim = dim + #s + 1 end
  local out_shape = {}
  for d = 1, #s do
    if d ~= dim then out_shape[#out_shape + 1] = s[d] elseif keepdim then out_shape[#out_shape + 1] = 1 end
  end
  local values = build(out_shape, function(idx)
    local full, k = {}, 1
    for d = 1, #s do
      if d == dim then full[d] = 1; if keepdim then k = k + 1 end
      else full[d] = idx[k]; k = k + 1 end
    end
    local line = {}
    for i = 1, s[dim] do full[dim] = i; line[i] = v[offset(full, s)] end
    return f(line)
  end)
  return values, out_shape
end

-- the same line function applied along dim, keeping the shape (for softmax)
local function along_ref(t, dim, f)
  local v, s = flat(t)
  if dim < 0 then dim = dim + #s + 1 end
  local out = {}
  local full = {}
  build(s, function(idx)
    if idx[dim] ~= 1 then return 0 end
    for d = 1, #s do full[d] = idx[d] end
    local line, at = {}, {}
    for i = 1, s[dim] do full[dim] = i; at[i] = offset(full, s); line[i] = v[at[i]] end
    local r = f(line)
    for i = 1, s[dim] do out[at[i]] = r[i] end
    return 0
  end)
  return build(s, function(idx) return out[offset(idx, s)] end)
end

local nan = 0 / 0
local function lsum(l) local s = 0; for _, x in ipairs(l) do s = s + x end; return s end
local function lmean(l) return lsum(l) / #l end
local function lprod(l) local p = 1; for _, x in ipairs(l) do p = p * x end; return p end
local function pick(better)
  return function(l)
    local best, bi = l[1], 1
    for i = 2, #l do
      if best ~= best then break end
      if l[i] ~= l[i] or better(l[i], best) then best, bi = l[i], i end
    end
    return best, bi
  end
end
local lmax = pick(function(a, b) return a > b end)
local lmin = pick(function(a, b) return a < b end)
local function largmax(l) local _, i = lmax(l); return i end
local function largmin(l) local _, i = lmin(l); return i end
local function lvar(corr)
  return function(l)
    local m, s = lmean(l), 0
    for _, x in ipairs(l) do s = s + (x - m) ^ 2 end
    return s / (#l - corr)
  end
end
local function lstd(corr) local v = lvar(corr); return function(l) return math.sqrt(v(l)) end end
local function llogsumexp(l)
  local m = -math.huge
  for _, x in ipairs(l) do if x > m then m = x end end
  if m == -math.huge or m == math.huge then return m end
  local s = 0
  for _, x in ipairs(l) do s = s + math.exp(x - m) end
  return m + math.log(s)
end
local function lsoftmax(l)
  local m = -math.huge
  for _, x in ipairs(l) do if x > m then m = x end end
  local s, out = 0, {}
  for i, x in ipairs(l) do out[i] = math.exp(x - m); s = s + out[i] end
  for i = 1, #l do out[i] = out[i] / s end
  return out
end
local function llog_softmax(l)
  local m = -math.huge
  for _, x in ipairs(l) do if x > m then m = x end end
  local s, out = 0, {}
  for _, x in ipairs(l) do s = s + math.exp(x - m) end
  for i, x in ipairs(l) do out[i] = x - m - math.log(s) end
  return out
end

-- method name -> reference, and the dtype of a float32 input's result
local refs = {
  sum = lsum, mean = lmean, prod = lprod, var = lvar(1), std = lstd(1), logsumexp = llogsumexp,
}
local ref_names = {"sum", "mean", "prod", "var", "std", "logsumexp"}

lunet.manual_seed(4321)

-- =============================================================================
describe("reductions over all elements", function()
  local x = lunet.randn(3, 4, 5)
  local small = lunet.rand(2, 3) + 0.5 -- keeps prod away from 0

  it("match plain Lua and give 0-dim results", function()
    for _, name in ipairs(ref_names) do
      local input = name == "prod" and small or x
      local got = input[name](input)
      T.shape(got, {})
      T.eq(got:dtype(), "float32", name .. " dtype")
      T.near(got:item(), refs[name](flat(input)), 2e-6, name)
    end
    T.near(x:max():item(), (lmax(flat(x))), 0, "max")
    T.near(x:min():item(), (lmin(flat(x))), 0, "min")
    T.eq(x:argmax():item(), largmax(flat(x)), "argmax (1-based)")
    T.eq(x:argmin():item(), largmin(flat(x)), "argmin (1-based)")
    T.eq(x:argmax():dtype(), "int64", "argmax dtype")
  end)

  it("keep every dimension as size 1 with keepdim", function()
    T.shape(x:sum(nil, true), {1, 1, 1})
    T.near(x:sum(nil, true):item(), lsum(flat(x)), 2e-6)
    T.shape(x:argmax(nil, true), {1, 1, 1})
    T.eq(x:argmax(nil, true):item(), largmax(flat(x)))
  end)

  it("compute float64 at float64 precision", function()
    local d = lunet.randn(4, 7, {dtype = "float64"})
    for _, name in ipairs(ref_names) do
      local got = d[name](d)
      T.eq(got:dtype(), "float64", name .. " dtype")
      T.near(got:item(), refs[name](flat(d)), 1e-13, name)
    end
  end)

  it("count argmax and argmin from 1 in row-major order", function()
    local t = lunet.tensor{{3, 9, 2}, {9, 1, 8}}
    T.eq(t:argmax():item(), 2)
    T.eq(t:argmin():item(), 5)
    T.eq(lunet.tensor{5.0}:argmax():item(), 1)
  end)
end)

-- =============================================================================
describe("reductions along a dimension", function()
  local x = lunet.randn(3, 4, 5)
  local small = lunet.rand(3, 4, 5) + 0.5

  it("match plain Lua for every dim, negative dims and keepdim", function()
    for _, name in ipairs(ref_names) do
      local input = name == "prod" and small or x
      for _, dim in ipairs{1, 2, 3, -1, -2, -3} do
        for _, keep in ipairs{false, true} do
          local want, shape = reduce_ref(input, dim, refs[name], keep)
          local got = input[name](input, dim, keep)
          T.shape(got, shape)
          T.values(got, want, 2e-6, "float32")
        end
      end
    end
  end)

  it("return max/min values and 1-based indices", function()
    for _, dim in ipairs{1, 2, 3, -1} do
      for _, keep in ipairs{false, true} do
        local wv, shape = reduce_ref(x, dim, function(l) return (lmax(l)) end, keep)
        local wi = reduce_ref(x, dim, largmax, keep)
        local v, i = x:max(dim, keep)
        T.shape(v, shape); T.shape(i, shape)
        T.values(v, wv, 0, "float32")
        T.values(i, wi, 0, "int64")
        local mv, mi = x:min(dim, keep)
        T.values(mv, (reduce_ref(x, dim, function(l) return (lmin(l)) end, keep)), 0, "float32")
        T.values(mi, (reduce_ref(x, dim, largmin, keep)), 0, "int64")
        T.values(x:argmax(dim, keep), wi, 0, "int64")
        T.values(x:argmin(dim, keep), (reduce_ref(x, dim, largmin, keep)), 0, "int64")
      end
    end
    local t = lunet.tensor{{1, 7, 3}, {9, 2, 9}}
    local v, i = t:max(2)
    T.values(v, {7, 9}, 0, "int64")
    T.values(i, {2, 1}, 0, "int64")
    v, i = t:min(1)
    T.values(v, {1, 2, 3}, 0, "int64")
    T.values(i, {1, 2, 1}, 0, "int64")
    -- the indices index back into the tensor
    local x2 = lunet.randn(6, 5)
    local vals, idx = x2:max(2)
    for r = 1, 6 do T.eq(x2[{r, idx[r]}], vals[r], "x[r][idx[r]]") end
  end)

  it("is maximum/minimum when given a tensor", function()
    local a, b = lunet.tensor{1.0, 5.0}, lunet.tensor{3.0, 2.0}
    T.values(a:max(b), {3, 5}, 0)
    T.values(a:min(b), {1, 2}, 0)
  end)

  it("raises for a dimension out of range", function()
    T.errors(function() return x:sum(4) end, "dimension 4 is out of range")
    T.errors(function() return x:max(-4) end, "dimension -4 is out of range")
    T.errors(function() return x:argmax(0) end, "dimension 0 is out of range")
  end)
end)

-- =============================================================================
describe("integer reductions", function()
  local i = lunet.tensor{{1, -2, 3}, {40, 5, -6}}

  it("keep int64 for sum, prod, max and min, exactly", function()
    T.values(i:sum(), 41, 0, "int64")
    T.values(i:sum(1), {41, 3, -3}, 0, "int64")
    T.values(i:sum(2, true), {{2}, {39}}, 0, "int64")
    T.values(i:prod(), 1 * -2 * 3 * 40 * 5 * -6, 0, "int64")
    T.values(i:prod(2), {-6, -1200}, 0, "int64")
    T.values(i:max(), 40, 0, "int64")
    T.values(i:min(), -6, 0, "int64")
    local big = lunet.tensor{1 << 53, 1, 1}
    T.values(big:sum(), (1 << 53) + 2, 0, "int64") -- a double would lose the ones
    T.values(lunet.tensor{1 << 40, 1 << 20, 3}:prod(), (1 << 60) * 3, 0, "int64")
    local long = lunet.ones(200000, {dtype = "int64"}) * 3
    T.values(long:sum(), 600000, 0, "int64")
    -- over several blocks of an all-reduce
    local r = lunet.arange(0, 300000) % 1000
    r[200001] = 5000
    r[150000] = -5
    T.values(r:max(), 5000, 0, "int64")
    T.values(r:min(), -5, 0, "int64")
    T.values(r:argmax(), 200001, 0, "int64")
    T.values(r:argmin(), 150000, 0, "int64")
    local want = 0
    for k = 0, 299999 do want = want + k % 1000 end
    want = want - (200000 % 1000) + 5000 - (149999 % 1000) - 5
    T.values(r:sum(), want, 0, "int64")
  end)

  it("give float32 for mean, var, std and logsumexp", function()
    T.values(i:mean(), 41 / 6, 1e-6, "float32")
    T.values(i:mean(2), {2 / 3, 13}, 1e-6, "float32")
    T.values(i:var(), lvar(1)(flat(i)), 1e-6, "float32")
    T.values(i:std(1), {lstd(1){1, 40}, lstd(1){-2, 5}, lstd(1){3, -6}}, 1e-6, "float32")
    T.values(i:logsumexp(2), {llogsumexp{1, -2, 3}, llogsumexp{40, 5, -6}}, 1e-6, "float32")
  end)

  it("give int64 1-based indices", function()
    T.values(i:argmax(), 4, 0, "int64")
    T.values(i:argmin(2), {2, 3}, 0, "int64")
    local v, idx = i:max(1)
    T.values(v, {40, 5, 3}, 0, "int64")
    T.values(idx, {2, 2, 1}, 0, "int64")
  end)
end)

-- =============================================================================
describe("NaN, variance and logsumexp edge cases", function()
  it("propagates NaN through max and min, and points argmax at it", function()
    local x = lunet.tensor{{1.0, nan, 3.0}, {4.0, 5.0, 6.0}}
    T.values(x:max(), nan, 0)
    T.values(x:min(), nan, 0)
    T.values(x:sum(), nan, 0)
    T.eq(x:argmax():item(), 2)
    local v, i = x:max(2)
    T.values(v, {nan, 6}, 0)
    T.values(i, {2, 3}, 0, "int64")
    v, i = x:min(1)
    T.values(v, {1, nan, 3}, 0)
    T.values(i, {1, 1, 1}, 0, "int64")
    -- NaN after the first block of an all-reduce too
    local big = lunet.zeros(300000)
    big[250000] = nan
    T.values(big:max(), nan, 0)
    T.eq(big:argmax():item(), 250000)
  end)

  it("uses correction 1 by default and 0 when asked", function()
    local x = lunet.tensor{1.0, 2.0, 3.0, 4.0}
    T.values(x:var(), 5 / 3, 1e-7)
    T.values(x:var(nil, false, 0), 1.25, 1e-7)
    T.values(x:std(), math.sqrt(5 / 3), 1e-7)
    T.values(x:std(nil, false, 0), math.sqrt(1.25), 1e-7)
    local m = lunet.randn(5, 6)
    for _, corr in ipairs{0, 1, 2} do
      T.values(m:var(2, false, corr), (reduce_ref(m, 2, lvar(corr))), 2e-6)
      T.values(m:std(1, true, corr), (reduce_ref(m, 1, lstd(corr), true)), 2e-6)
      T.values(m:var(nil, false, corr), lvar(corr)(flat(m)), 2e-6)
    end
    T.values(lunet.tensor{3.0}:var(), nan, 0) -- one value, correction 1: 0/0
    T.values(lunet.tensor{3.0}:var(nil, false, 0), 0, 0)
    -- a correction above the count divides by 0, never by a negative number
    T.values(lunet.tensor{1.0, 2.0, 3.0}:var(nil, false, 5), math.huge, 0)
    T.values(lunet.tensor{1.0, 2.0, 3.0}:std(nil, false, 3), math.huge, 0)
    T.values(lunet.tensor{{1.0, 2.0}}:var(2, false, 4), {math.huge}, 0)
    T.errors(function() return x:var(1, false, -1) end, "correction must be non-negative")
  end)

  it("computes var of large offsets without cancellation", function()
    local x = lunet.tensor({1e8 + 1, 1e8 + 2, 1e8 + 3}, {dtype = "float64"})
    T.values(x:var(), 1, 1e-9)
  end)

  it("keeps logsumexp finite for large values and exact for -inf rows", function()
    T.values(lunet.tensor{1000.0, 1000.0}:logsumexp(), 1000 + math.log(2), 1e-6)
    T.values(lunet.tensor{-1000.0, -1000.0}:logsumexp(), -1000 + math.log(2), 1e-6)
    T.values(lunet.tensor({1000, 999, -math.huge}, {dtype = "float64"}):logsumexp(), llogsumexp{1000, 999, -math.huge}, 1e-14)
    local x = lunet.tensor{{1000.0, 0.0}, {-math.huge, -math.huge}, {-math.huge, 2.0}}
    T.values(x:logsumexp(2), {1000, -math.huge, 2}, 1e-6)
    T.values(x:logsumexp(1), {1000, llogsumexp{0, 2}}, 1e-6)
    T.values(lunet.tensor{math.huge, 1.0}:logsumexp(), math.huge, 0)
  end)

  it("reduces empty tensors to the identity, and refuses max of nothing", function()
    T.values(lunet.zeros(0):sum(), 0, 0)
    T.values(lunet.zeros(0):prod(), 1, 0)
    T.values(lunet.zeros(0):mean(), nan, 0)
    T.values(lunet.zeros(0):logsumexp(), -math.huge, 0)
    T.values(lunet.zeros(2, 0):sum(2), {0, 0}, 0)
    T.shape(lunet.zeros(2, 0):sum(1), {0})
    T.shape(lunet.zeros(0, 3):max(2), {0})
    T.errors(function() return lunet.zeros(0):max() end, "max: max of an empty tensor")
    T.errors(function() return lunet.zeros(2, 0):argmax(2) end, "argmax of an empty tensor")
    T.errors(function() return lunet.zeros(2, 0):min(2) end, "min of an empty tensor")
  end)
end)

-- =============================================================================
describe("reductions of large tensors", function()
  it("sum 10^7 float32 ones to exactly 1e7 (double accumulation)", function()
    local ones = lunet.ones(10000000)
    T.eq(ones:sum():item(), 1e7, "sum")
    T.eq(ones:mean():item(), 1, "mean")
    T.eq(ones:view(1000, 10000):sum(2):sum():item(), 1e7, "sum of row sums")
    T.eq(ones:view(10000, 1000):sum(1):sum():item(), 1e7, "sum of column sums")
  end)

  it("sum 10^7 float32 tenths to 1e6 within float32 rounding", function()
    local x = lunet.full({10000000}, 0.1)
    local want = 10000000 * x[1] -- x[1] is the float32 nearest 0.1
    T.near(x:sum():item(), want, 1e-7)
    T.near(x:view(100, 100000):sum(2):sum():item(), want, 1e-7)
    T.near(x:var():item(), 0, 1e-12)
  end)

  it("give identical results for 1 and 2 threads on 10^6 elements", function()
    local saved = lunet.get_num_threads()
    lunet.manual_seed(7)
    local x = lunet.randn(1000, 1000) * 3 + 1
    local function all()
      local r = {}
      for _, name in ipairs(ref_names) do
        if name ~= "prod" then
          r[#r + 1] = x[name](x)
          r[#r + 1] = x[name](x, 1)
          r[#r + 1] = x[name](x, 2)
          r[#r + 1] = x:t()[name](x:t(), 2)
        end
      end
      r[#r + 1] = x:max()
      r[#r + 1] = x:argmin()
      r[#r + 1] = x:argmax(1)
      r[#r + 1] = x:softmax(2)
      r[#r + 1] = x:log_softmax(1)
      return r
    end
    lunet.set_num_threads(1)
    local one = all()
    lunet.set_num_threads(2)
    local two = all()
    lunet.set_num_threads(saved)
    for k = 1, #one do
      T.shape(two[k], one[k]:shape())
      T.eq(two[k]:ne(one[k]):sum():item(), 0, "elements of result " .. k .. " that differ")
    end
    T.near(one[1]:item(), lsum(flat(x)), 1e-6, "the sum itself is right")
    T.near(one[5]:item(), lmean(flat(x)), 1e-6, "the mean itself is right")
  end)
end)

-- =============================================================================
describe("reductions of non-contiguous inputs", function()
  local vs = {
    transposed = lunet.randn(5, 4):t(),
    narrowed = lunet.randn(4, 9):narrow(2, 3, 5),
    strided = lunet.randn(8, 15)[{{1, -1, 2}, {1, -1, 3}}],
    expanded = lunet.randn(1, 5):expand(4, 5),
    expanded_cols = lunet.randn(4, 1):expand(4, 5),
  }
  local names = {"transposed", "narrowed", "strided", "expanded", "expanded_cols"}

  it("give the same values as contiguous copies, over all and along each dim", function()
    for _, n in ipairs(names) do
      local v, c = vs[n], vs[n]:contiguous()
      T.truthy(not v:is_contiguous(), n .. " is a non-contiguous view")
      for _, name in ipairs(ref_names) do
        T.values(v[name](v), c[name](c):totable(), 0)
        T.near(v[name](v):item(), refs[name](flat(c)), 2e-6, n .. " " .. name)
        for _, dim in ipairs{1, 2, -1} do
          T.values(v[name](v, dim), c[name](c, dim):totable(), 0)
          T.values(v[name](v, dim, true), (reduce_ref(c, dim, refs[name], true)), 2e-6)
        end
      end
      for _, dim in ipairs{1, 2} do
        local a, ai = v:max(dim)
        local b, bi = c:max(dim)
        T.values(a, b:totable(), 0)
        T.values(ai, bi:totable(), 0)
        T.values(v:argmin(dim), c:argmin(dim):totable(), 0)
      end
      T.values(v:argmax(), c:argmax():totable(), 0)
      T.values(v:softmax(1), c:softmax(1):totable(), 0)
      T.values(v:log_softmax(2), c:log_softmax(2):totable(), 0)
    end
  end)

  it("work on a 3-d permuted view", function()
    local base = lunet.randn(3, 4, 5)
    local p = base:permute(3, 1, 2) -- (5, 3, 4)
    local c = p:contiguous()
    for _, dim in ipairs{1, 2, 3} do
      T.values(p:sum(dim), (reduce_ref(c, dim, lsum)), 2e-6)
      T.values(p:logsumexp(dim), (reduce_ref(c, dim, llogsumexp)), 2e-6)
      T.values(p:softmax(dim), along_ref(c, dim, lsoftmax), 2e-6)
    end
  end)
end)

-- =============================================================================
describe("softmax and log_softmax", function()
  local x = lunet.randn(3, 4, 5) * 3

  it("match plain Lua along every dimension", function()
    for _, dim in ipairs{1, 2, 3, -1, -2} do
      T.values(x:softmax(dim), along_ref(x, dim, lsoftmax), 1e-6, "float32")
      T.values(x:log_softmax(dim), along_ref(x, dim, llog_softmax), 2e-6, "float32")
    end
  end)

  it("sum to 1 along the dimension", function()
    for _, dim in ipairs{1, 2, 3} do
      local s = x:softmax(dim):sum(dim)
      T.values(s, (reduce_ref(x, dim, function() return 1 end)), 1e-6)
      T.values(x:log_softmax(dim):exp():sum(dim), (reduce_ref(x, dim, function() return 1 end)), 1e-6)
    end
  end)

  it("stay finite for large inputs and give 0 for -inf entries", function()
    local big = lunet.tensor{{1000.0, 1000.0, 999.0}, {-1000.0, -math.huge, -1000.0}}
    T.values(big:softmax(2), {lsoftmax{1000, 1000, 999}, {0.5, 0, 0.5}}, 1e-6)
    T.values(big:log_softmax(2), {llog_softmax{1000, 1000, 999}, {-math.log(2), -math.huge, -math.log(2)}}, 1e-6)
    local d = lunet.tensor({{1e300, -1e300}}, {dtype = "float64"})
    T.values(d:softmax(2), {{1, 0}}, 0, "float64")
    T.values(d:log_softmax(2), {{0, -2e300}}, 1e-15, "float64")
  end)

  it("computes float64 at float64 precision, and int64 in float32", function()
    local d = lunet.randn(4, 6, {dtype = "float64"}) * 5
    T.values(d:softmax(2), along_ref(d, 2, lsoftmax), 1e-14, "float64")
    T.values(d:log_softmax(1), along_ref(d, 1, llog_softmax), 1e-13, "float64")
    local i = lunet.tensor{{1, 2, 3}}
    T.values(i:softmax(2), {lsoftmax{1, 2, 3}}, 1e-6, "float32")
  end)

  it("requires the dimension", function()
    T.errors(function() return x:softmax() end, "softmax: the dimension is required")
    T.errors(function() return x:log_softmax() end, "log_softmax: the dimension is required")
    T.errors(function() return x:softmax(4) end, "dimension 4 is out of range")
  end)
end)

describe("sums over a leading dimension (column sums)", function()
  it("give the same bits as the same sums along the last dimension", function()
    lunet.manual_seed(4)
    for _, dt in ipairs{"float32", "float64"} do
      local x = lunet.randn(37, 300, {dtype = dt})       -- strips of 256 columns and a partial one
      local xt = x:t():contiguous()
      T.eq((x:sum(1) - xt:sum(2)):abs():max():item(), 0, dt .. " sum")
      T.eq((x:mean(1) - xt:mean(2)):abs():max():item(), 0, dt .. " mean")
      local y = lunet.randn(3, 9, 20, {dtype = dt})      -- several outer blocks
      T.eq((y:sum(2) - y:transpose(2, 3):contiguous():sum(3)):abs():max():item(), 0, dt .. " 3-d")
    end
  end)
end)
