-- Matrix products: mm, bmm, matmul (vectors, batches, broadcast batch dims),
-- dot. Expected values come from a plain-Lua triple loop over totable().

-- ---- plain-Lua reference -------------------------------------------------------
-- A (m x k) @ B (k x n) on nested tables
local function mm_ref(A, B, k)
  local m, n = #A, (#B > 0 and #B[1] or 0)
  k = k or #B
  local C = {}
  for i = 1, m do
    C[i] = {}
    for j = 1, n do
      local s = 0
      for p = 1, k do s = s + A[i][p] * B[p][j] end
      C[i][j] = s
    end
  end
  return C
end

-- (..., m, k) @ (..., k, n) with broadcast batch dims, on nested tables;
-- sa/sb are the shapes (at least 2-d)
local function batched_ref(A, sa, B, sb)
  local nba, nbb = #sa - 2, #sb - 2
  local nb = math.max(nba, nbb)
  local bshape = {}
  for d = 1, nb do
    local x, y = sa[d - (nb - nba)] or 1, sb[d - (nb - nbb)] or 1
    assert(x == y or x == 1 or y == 1)
    bshape[d] = x == 1 and y or x
  end
  local function sub(X, s, nbt, idx) -- the matrix of X at batch index idx
    local lead = nb - nbt
    for d = 1, nbt do
      X = X[s[d] == 1 and 1 or idx[d + lead]]
    end
    return X
  end
  local idx = {}
  local function rec(d)
    if d > nb then return mm_ref(sub(A, sa, nba, idx), sub(B, sb, nbb, idx), sa[#sa]) end
    local out = {}
    for i = 1, bshape[d] do idx[d] = i; out[i] = rec(d + 1) end
    return out
  end
  local shape = {}
  for d = 1, nb do shape[d] = bshape[d] end
  shape[nb + 1], shape[nb + 2] = sa[#sa - 1], sb[#sb]
  return rec(1), shape
end

local function dot_ref(a, b)
  local s = 0
  for i = 1, #a do s = s + a[i] * b[i] end
  return s
end

local function column(v) local c = {}; for i = 1, #v do c[i] = {v[i]} end; return c end

lunet.manual_seed(2024)

-- =============================================================================
describe("mm", function()
  it("matches a plain-Lua triple loop", function()
    for _, s in ipairs{{3, 4, 5}, {1, 7, 1}, {64, 70, 33}, {5, 1, 6}, {130, 17, 9}} do
      local m, k, n = s[1], s[2], s[3]
      local a, b = lunet.randn(m, k), lunet.randn(k, n)
      local want = mm_ref(a:totable(), b:totable())
      T.values(a:mm(b), want, 1e-5, "float32")
      T.values(a:matmul(b), want, 1e-5, "float32")
      T.shape(a:mm(b), {m, n})
    end
  end)

  it("takes transposed views without copying them wrong", function()
    local x, y = lunet.randn(4, 3), lunet.randn(4, 5)
    local xt = x:t():contiguous():totable()
    T.values(x:t():mm(y), mm_ref(xt, y:totable()), 1e-5)
    local z = lunet.randn(6, 5)
    T.values(x:t():mm(y:mm(z:t())), mm_ref(xt, mm_ref(y:totable(), z:t():contiguous():totable())), 1e-4)
    local p, q = lunet.randn(5, 3), lunet.randn(2, 5)
    T.values(p:t():mm(q:t()), mm_ref(p:t():contiguous():totable(), q:t():contiguous():totable()), 1e-5)
    T.values(x:t():matmul(y), mm_ref(xt, y:totable()), 1e-5)
  end)

  it("takes narrowed, strided and expanded views", function()
    local base = lunet.randn(12, 12)
    local cases = {                               -- all (6, 6)
      base:narrow(2, 3, 6):narrow(1, 2, 6),       -- rows longer than the view
      base:narrow(1, 4, 6):narrow(2, 7, 6),
      base[{{1, -1, 2}, {2, 12, 2}}],             -- both strides above 1: a copy for BLAS
      base[{{1, 6}, {1, -1, 2}}],
      base:t():narrow(1, 3, 6):narrow(2, 2, 6),   -- transposed and narrowed
      base[{{3, 8}, {1}}]:expand(6, 6),           -- expanded columns
      base[{{2}, {3, 8}}]:expand(6, 6),           -- expanded rows
    }
    local other = lunet.randn(6, 4)
    for i, v in ipairs(cases) do
      local want = mm_ref(v:contiguous():totable(), other:totable())
      T.values(v:mm(other), want, 1e-5)
      T.values(other:t():mm(v), mm_ref(other:t():contiguous():totable(), v:contiguous():totable()), 1e-5)
      T.values(v:mm(v), mm_ref(v:contiguous():totable(), v:contiguous():totable()), 1e-5)
    end
  end)

  it("computes float64 at float64 precision", function()
    local a, b = lunet.randn(7, 9, {dtype = "float64"}), lunet.randn(9, 4, {dtype = "float64"})
    T.values(a:mm(b), mm_ref(a:totable(), b:totable()), 1e-13, "float64")
    T.values(a:t():t():mm(b:t():t()), mm_ref(a:totable(), b:totable()), 1e-13, "float64")
  end)

  it("multiplies int64 exactly, beyond float precision", function()
    local a = lunet.tensor{{100000007, 3}, {-2, 5}, {1, 1}}
    local b = lunet.tensor{{100000009, 0, 1}, {7, -1, 2}}
    T.values(a:mm(b), mm_ref(a:totable(), b:totable()), 0, "int64")
    T.eq(a:mm(b)[{1, 1}], 100000007 * 100000009 + 21, "exact product")
    local r = lunet.randint(-50, 50, {6, 8})
    local s = lunet.randint(-50, 50, {8, 5})
    T.values(r:mm(s), mm_ref(r:totable(), s:totable()), 0, "int64")
    local rs, ss = r[{{}, {1, -1, 2}}], s[{{1, -1, 2}, {}}] -- (6, 4) and (4, 5), strided
    T.values(rs:mm(ss), mm_ref(rs:totable(), ss:totable()), 0, "int64")
  end)

  it("multiplies int64 views (transposed, narrowed) exactly", function()
    local r = lunet.randint(-9, 10, {5, 6})
    local v = r:t():narrow(1, 2, 4) -- (4, 5), non-contiguous
    T.values(v:mm(r), mm_ref(v:contiguous():totable(), r:totable()), 0, "int64")
  end)

  it("promotes mixed dtypes", function()
    local f = lunet.tensor{{1.5, 2.0}}
    local d = lunet.tensor({{2.0}, {0.25}}, {dtype = "float64"})
    local i = lunet.tensor{{2}, {4}}
    T.values(f:mm(d), {{3.5}}, 0, "float64")
    T.values(f:mm(i), {{11}}, 0, "float32")
    T.values(i:t():mm(d), {{5}}, 0, "float64")
  end)

  it("gives zeros when k = 0, and empty results when m or n = 0", function()
    lunet.randn(1000, 1000) -- leave dirty memory in the allocator's cache
    for _, dt in ipairs{"float32", "float64", "int64"} do
      local z = lunet.zeros(3, 0, {dtype = dt}):mm(lunet.zeros(0, 4, {dtype = dt}))
      T.shape(z, {3, 4})
      T.values(z, {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}}, 0, dt)
    end
    T.shape(lunet.zeros(0, 3):mm(lunet.zeros(3, 4)), {0, 4})
    T.shape(lunet.zeros(2, 3):mm(lunet.zeros(3, 0)), {2, 0})
  end)

  it("names the shapes when they do not match", function()
    local a, b = lunet.randn(128, 784), lunet.randn(256, 10)
    T.errors(function() return a:matmul(b) end, "matmul: shapes 128x784 and 256x10 do not match (784 ~= 256)")
    T.errors(function() return a:mm(b) end, "mm: shapes 128x784 and 256x10 do not match (784 ~= 256)")
    T.errors(function() return lunet.zeros(2, 3):mm(lunet.zeros(2, 3, 4)) end, "mm: expected two 2-d tensors, got shapes 2x3 and 2x3x4")
    T.errors(function() return lunet.zeros(3):mm(lunet.zeros(3, 4)) end, "mm: expected two 2-d tensors")
  end)
end)

-- =============================================================================
describe("matmul with vectors", function()
  local v3, v4 = lunet.randn(3), lunet.randn(4)
  local m34 = lunet.randn(3, 4)

  it("is a dot product for 1-d @ 1-d, with a 0-dim result", function()
    local w = lunet.randn(3)
    local got = v3:matmul(w)
    T.shape(got, {})
    T.near(got:item(), dot_ref(v3:totable(), w:totable()), 1e-6)
    T.near(v3:dot(w):item(), dot_ref(v3:totable(), w:totable()), 1e-6)
  end)

  it("treats 1-d @ 2-d as a row vector and drops it", function()
    local got = v3:matmul(m34)
    T.shape(got, {4})
    T.values(got, mm_ref({v3:totable()}, m34:totable())[1], 1e-5)
  end)

  it("treats 2-d @ 1-d as a column vector and drops it", function()
    local got = m34:matmul(v4)
    T.shape(got, {3})
    local col = mm_ref(m34:totable(), column(v4:totable()))
    T.values(got, {col[1][1], col[2][1], col[3][1]}, 1e-5)
  end)

  it("takes strided vectors", function()
    local s = lunet.randn(12)[{{1, -1, 3}}]     -- 4 elements, stride 3
    local r = lunet.randn(9)[{{2, -1, 3}}]      -- 3 elements, stride 3
    T.values(m34:matmul(s), (function()
      local c = mm_ref(m34:totable(), column(s:totable()))
      return {c[1][1], c[2][1], c[3][1]}
    end)(), 1e-5)
    T.values(r:matmul(m34), mm_ref({r:totable()}, m34:totable())[1], 1e-5)
    T.near(s:dot(v4):item(), dot_ref(s:totable(), v4:totable()), 1e-6)
  end)

  it("batches 1-d @ 3-d and 3-d @ 1-d", function()
    local b = lunet.randn(2, 3, 4)
    local got = v3:matmul(b)
    T.shape(got, {2, 4})
    local want = {}
    for i = 1, 2 do want[i] = mm_ref({v3:totable()}, b:totable()[i])[1] end
    T.values(got, want, 1e-5)
    local got2 = b:matmul(v4)
    T.shape(got2, {2, 3})
    for i = 1, 2 do
      local c = mm_ref(b:totable()[i], column(v4:totable()))
      want[i] = {c[1][1], c[2][1], c[3][1]}
    end
    T.values(got2, want, 1e-5)
  end)

  it("names the shapes the user passed when they do not match", function()
    T.errors(function() return v3:matmul(lunet.zeros(4, 5)) end, "matmul: shapes 3 and 4x5 do not match (3 ~= 4)")
    T.errors(function() return m34:matmul(v3) end, "matmul: shapes 3x4 and 3 do not match (4 ~= 3)")
    T.errors(function() return v3:matmul(v4) end, "matmul: shapes 3 and 4 do not match (3 ~= 4)")
    T.errors(function() return lunet.zeros(2, 3, 4):matmul(v3) end, "matmul: shapes 2x3x4 and 3 do not match (4 ~= 3)")
    T.errors(function() return lunet.tensor(2.0):matmul(v3) end, "matmul: both arguments must have at least one dimension")
  end)

  it("computes dot in every dtype and rejects other shapes", function()
    T.values(lunet.tensor{1, 2, 3}:dot(lunet.tensor{4, 5, 6}), 32, 0, "int64")
    local d = lunet.tensor({0.1, 0.2}, {dtype = "float64"})
    T.values(d:dot(d), 0.1 * 0.1 + 0.2 * 0.2, 1e-16, "float64")
    T.values(lunet.zeros(0):dot(lunet.zeros(0)), 0, 0)
    T.errors(function() return v3:dot(v4) end, "dot: shapes 3 and 4 do not match (3 ~= 4)")
    T.errors(function() return m34:dot(m34) end, "dot: expected two 1-d tensors, got shapes 3x4 and 3x4")
  end)
end)

-- =============================================================================
describe("batched matmul and bmm", function()
  local function check(sa, sb, tol)
    local a, b = lunet.randn(sa), lunet.randn(sb)
    local want, shape = batched_ref(a:totable(), sa, b:totable(), sb)
    local got = a:matmul(b)
    T.shape(got, shape)
    T.values(got, want, tol or 1e-5, "float32")
  end

  it("(2,1,3,4) @ (5,4,2) broadcasts to (2,5,3,2)", function() check({2, 1, 3, 4}, {5, 4, 2}) end)
  it("(4,3,5) @ (4,5,2) pairs the batches", function() check({4, 3, 5}, {4, 5, 2}) end)
  it("(3,2,4) @ (4,6) shares the matrix", function() check({3, 2, 4}, {4, 6}) end)
  it("(2,4) @ (3,4,5) shares the matrix", function() check({2, 4}, {3, 4, 5}) end)
  it("(1,3,2,4) @ (2,1,4,3) broadcasts both ways", function() check({1, 3, 2, 4}, {2, 1, 4, 3}) end)
  it("(2,2,2,3,4) @ (4,2) uses many batch dims", function() check({2, 2, 2, 3, 4}, {4, 2}) end)

  it("takes transposed and narrowed batch views", function()
    local a = lunet.randn(3, 4, 2):transpose(2, 3)   -- (3, 2, 4)
    local b = lunet.randn(3, 6, 5):narrow(2, 2, 4)    -- (3, 4, 5)
    local want = batched_ref(a:contiguous():totable(), {3, 2, 4}, b:contiguous():totable(), {3, 4, 5})
    T.values(a:matmul(b), want, 1e-5)
    T.values(a:bmm(b), want, 1e-5)
    local c = lunet.randn(4, 3, 2):permute(2, 3, 1)   -- (3, 2, 4), non-contiguous
    local w = lunet.randn(5, 4):t()                     -- (4, 5), transposed
    T.values(c:matmul(w), (batched_ref(c:contiguous():totable(), {3, 2, 4}, w:contiguous():totable(), {4, 5})), 1e-5)
    local e = lunet.randn(1, 2, 4):expand(3, 2, 4)      -- a batch dim of stride 0
    T.values(e:matmul(b), (batched_ref(e:contiguous():totable(), {3, 2, 4}, b:contiguous():totable(), {3, 4, 5})), 1e-5)
    T.values(e:bmm(b), (batched_ref(e:contiguous():totable(), {3, 2, 4}, b:contiguous():totable(), {3, 4, 5})), 1e-5)
  end)

  it("bmm matches the loop for each batch", function()
    local a, b = lunet.randn(5, 3, 4), lunet.randn(5, 4, 2)
    local want = batched_ref(a:totable(), {5, 3, 4}, b:totable(), {5, 4, 2})
    T.values(a:bmm(b), want, 1e-5, "float32")
    local ia, ib = lunet.randint(-9, 10, {2, 3, 4}), lunet.randint(-9, 10, {2, 4, 3})
    T.values(ia:bmm(ib), (batched_ref(ia:totable(), {2, 3, 4}, ib:totable(), {2, 4, 3})), 0, "int64")
    local ia4, ib3 = lunet.randint(-9, 10, {2, 1, 3, 4}), lunet.randint(-9, 10, {5, 4, 2})
    T.values(ia4:matmul(ib3), (batched_ref(ia4:totable(), {2, 1, 3, 4}, ib3:totable(), {5, 4, 2})), 0, "int64")
    local da, db = lunet.randn(2, 3, 4, {dtype = "float64"}), lunet.randn(2, 4, 3, {dtype = "float64"})
    T.values(da:matmul(db), (batched_ref(da:totable(), {2, 3, 4}, db:totable(), {2, 4, 3})), 1e-13, "float64")
  end)

  it("gives zeros when k = 0 and empty results for empty batches", function()
    lunet.randn(1000, 1000) -- dirty memory in the allocator's cache
    local z = lunet.zeros(2, 3, 0):matmul(lunet.zeros(2, 0, 4))
    T.shape(z, {2, 3, 4})
    T.eq(z:abs():sum():item(), 0, "all zeros")
    local z2 = lunet.zeros(2, 3, 0):matmul(lunet.zeros(0, 4))
    T.shape(z2, {2, 3, 4})
    T.eq(z2:abs():sum():item(), 0, "all zeros")
    local z3 = lunet.zeros(0):matmul(lunet.zeros(0, 4))
    T.shape(z3, {4})
    T.values(z3, {0, 0, 0, 0}, 0)
    local z4 = lunet.zeros(3, 0):matmul(lunet.zeros(0))
    T.values(z4, {0, 0, 0}, 0)
    local z5 = lunet.zeros(2, 3, 0, {dtype = "int64"}):bmm(lunet.zeros(2, 0, 2, {dtype = "int64"}))
    T.values(z5, {{{0, 0}, {0, 0}, {0, 0}}, {{0, 0}, {0, 0}, {0, 0}}}, 0, "int64")
    T.shape(lunet.zeros(0, 3, 4):matmul(lunet.zeros(4, 2)), {0, 3, 2})
    T.shape(lunet.zeros(0, 3, 4):matmul(lunet.zeros(1, 4, 2)), {0, 3, 2})
  end)

  it("names the shapes when batches or inner sizes do not match", function()
    T.errors(function() return lunet.zeros(2, 3, 4):bmm(lunet.zeros(3, 4, 5)) end, "bmm: batch sizes differ: shapes 2x3x4 and 3x4x5 (2 ~= 3)")
    T.errors(function() return lunet.zeros(2, 3, 4):bmm(lunet.zeros(2, 5, 5)) end, "bmm: shapes 2x3x4 and 2x5x5 do not match (4 ~= 5)")
    T.errors(function() return lunet.zeros(3, 4):bmm(lunet.zeros(4, 5)) end, "bmm: expected two 3-d tensors")
    T.errors(function() return lunet.zeros(2, 3, 4):matmul(lunet.zeros(3, 4, 5)) end, "matmul: batch dimensions of shapes 2x3x4 and 3x4x5 cannot be broadcast")
    T.errors(function() return lunet.zeros(2, 3, 4):matmul(lunet.zeros(2, 5, 6)) end, "matmul: shapes 2x3x4 and 2x5x6 do not match (4 ~= 5)")
    T.errors(function() return lunet.zeros(2, 3, 4):matmul(lunet.zeros(5, 6)) end, "matmul: shapes 2x3x4 and 5x6 do not match (4 ~= 5)")
  end)
end)
