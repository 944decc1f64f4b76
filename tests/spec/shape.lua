-- Shapes and views: geometry queries, view/reshape, transposes, squeeze,
-- expand, flatten, joining and splitting, and views of views. A view shares
-- storage with its base, so every "is a view" claim is checked by writing
-- through one and reading the other.

-- a 2x3x4 int64 tensor holding 0..23
local function cube() return lunet.arange(24):view(2, 3, 4) end

describe("shape", function()
  describe("geometry", function()
    it("shape, size, dim, numel, stride", function()
      local x = cube()
      T.eq(T.show(x:shape()), "{2, 3, 4}", "shape")
      T.eq(T.show(x:size()), "{2, 3, 4}", "size()")
      T.eq(x:size(1), 2, "size(1)")
      T.eq(x:size(3), 4, "size(3)")
      T.eq(x:size(-1), 4, "size(-1)")
      T.eq(x:size(-3), 2, "size(-3)")
      T.eq(x:dim(), 3, "dim")
      T.eq(x:numel(), 24, "numel")
      T.eq(#x, 2, "#x is the size of dimension 1")
      T.eq(T.show(x:stride()), "{12, 4, 1}", "stride")
      T.eq(x:stride(1), 12, "stride(1)")
      T.eq(x:stride(-1), 1, "stride(-1)")
      T.truthy(x:is_contiguous(), "a fresh tensor is contiguous")
    end)

    it("0-dim tensors have an empty shape and one element", function()
      local s = lunet.tensor(5)
      T.eq(T.show(s:shape()), "{}", "shape")
      T.eq(s:dim(), 0, "dim")
      T.eq(s:numel(), 1, "numel")
      T.truthy(s:is_contiguous(), "contiguous")
      T.errors(function() return #s end, "len: a 0-dim tensor has no length")
      T.errors(function() return s:size(1) end, "dimension 1 is out of range for a 0-dim tensor")
    end)

    it("size and stride reject dimensions out of range", function()
      local x = cube()
      T.errors(function() return x:size(4) end, "dimension 4 is out of range (expected 1 to 3, or -3 to -1)")
      T.errors(function() return x:size(0) end, "dimension 0 is out of range")
      T.errors(function() return x:stride(-4) end, "dimension -4 is out of range")
    end)
  end)

  describe("view", function()
    it("shares storage with the base", function()
      local x = cube()
      local v = x:view(6, 4)
      T.shape(v, {6, 4})
      T.eq(v[{2, 1}], 4, "v[2][1]")
      v[{6, 4}] = -1
      T.eq(x[{2, 3, 4}], -1, "write through the view reaches the base")
      x[{1, 1, 1}] = 99
      T.eq(v[{1, 1}], 99, "write to the base shows in the view")
    end)

    it("infers one -1 dimension and takes a table", function()
      local x = cube()
      T.shape(x:view(-1), {24})
      T.shape(x:view(-1, 4), {6, 4})
      T.shape(x:view(4, -1), {4, 6})
      T.shape(x:view{2, -1, 3}, {2, 4, 3})
      T.shape(x:view(2, 1, 12), {2, 1, 12})
      T.shape(lunet.tensor(3):view(1), {1})
      T.shape(lunet.tensor(3):view(-1), {1})
      T.shape(lunet.tensor{3}:view(), {})
    end)

    it("keeps the values in row-major order", function()
      T.values(lunet.arange(6):view(3, 2), {{0, 1}, {2, 3}, {4, 5}})
      T.values(lunet.arange(6):view(2, 3):view(6), {0, 1, 2, 3, 4, 5})
    end)

    it("rejects shapes with the wrong element count", function()
      local x = cube()
      T.errors(function() return x:view(5, 5) end, "view: shape 5x5 is invalid for a tensor of shape 2x3x4 (24 elements)")
      T.errors(function() return x:view(-1, 5) end, "view: shape -1x5 is invalid for a tensor of 24 elements")
      T.errors(function() return x:view(-1, -1) end, "view: only one dimension can be -1")
      T.errors(function() return x:view(-2, 12) end, "view: invalid size -2 in shape")
      T.errors(function() return x:view(2.5, 2) end, "number has no integer representation")
      T.errors(function() return x:view(1, 1, 1, 1, 1, 1, 1, 1, 24) end, "too many dimensions")
    end)

    it("rejects shapes whose element count overflows (no view past the storage)", function()
      -- 2^32 * 2^32 wraps to 0 in int64: it must not pass as a view of an empty tensor
      local e = lunet.zeros(0)
      T.errors(function() return e:view(2 ^ 32, 2 ^ 32) end, "view: shape 4294967296x4294967296 is too large")
      T.errors(function() return e:reshape(2 ^ 32, 2 ^ 32) end, "reshape: shape 4294967296x4294967296 is too large")
      T.shape(e:view(5, 0), {5, 0})
      T.shape(e:view(0, 1 << 40), {0, 1 << 40})
    end)

    it("refuses a non-contiguous layout and points to reshape", function()
      local xt = cube():transpose(1, 3)
      T.errors(function() return xt:view(24) end,
        "view: cannot view a non-contiguous tensor of shape 4x3x2 as 24; use reshape")
      local e = lunet.tensor{1, 2, 3}:expand(2, 3)
      T.errors(function() return e:view(6) end, "view: cannot view a non-contiguous tensor")
    end)

    it("works on non-contiguous tensors when the dims being merged are contiguous together", function()
      -- x[{{}, {1, 2}}] of a 4x6: rows are strided but each row is contiguous
      local x = lunet.arange(24):view(4, 6)
      local n = x:narrow(2, 1, 4)
      local v = n:view(4, 2, 2)
      T.values(v[2], {{6, 7}, {8, 9}})
      v[{3, 2, 2}] = -5
      T.eq(x[{3, 4}], -5, "write through reaches the base")
      -- splitting a transposed dim also works without a copy
      local t = lunet.arange(12):view(3, 4):t() -- 4x3, strides 1, 4
      local u = t:view(2, 2, 3)
      T.values(u, {{{0, 4, 8}, {1, 5, 9}}, {{2, 6, 10}, {3, 7, 11}}})
    end)
  end)

  describe("reshape", function()
    it("is a view when the layout allows", function()
      local x = cube()
      local r = x:reshape(4, 6)
      T.values(r[1], {0, 1, 2, 3, 4, 5})
      r[{1, 1}] = 77
      T.eq(x[{1, 1, 1}], 77, "write through a reshape view reaches the base")
      T.shape(x:reshape{-1}, {24})
    end)

    it("copies when it must, and the copy is independent", function()
      local x = cube()
      local xt = x:transpose(1, 3) -- 4x3x2
      local r = xt:reshape(24)
      T.truthy(r:is_contiguous(), "the copy is contiguous")
      T.values(r[{{1, 6}}], {0, 12, 4, 16, 8, 20})
      r[1] = 100
      T.eq(x[{1, 1, 1}], 0, "writes to the copy do not reach the base")
      x[{2, 1, 1}] = -3
      T.eq(r[2], 12, "writes to the base do not reach the copy")
    end)

    it("rejects wrong element counts, naming reshape", function()
      T.errors(function() return cube():reshape(7) end, "reshape: shape 7 is invalid for a tensor of shape 2x3x4")
      T.errors(function() return cube():t() end, "t: expected a tensor with at most 2 dimensions, got 3")
    end)
  end)

  describe("t, transpose, permute", function()
    it("t swaps the two dims of a matrix as a view", function()
      local m = lunet.tensor{{1, 2, 3}, {4, 5, 6}}
      local mt = m:t()
      T.values(mt, {{1, 4}, {2, 5}, {3, 6}})
      T.eq(T.show(mt:stride()), "{1, 3}", "strides are swapped")
      T.truthy(not mt:is_contiguous(), "a transposed matrix is not contiguous")
      mt[{3, 1}] = 30
      T.eq(m[{1, 3}], 30, "write through t() reaches the base")
      T.values(lunet.tensor{1, 2}:t(), {1, 2})
      T.eq(lunet.tensor(4):t():item(), 4, "t of 0-dim")
    end)

    it("transpose takes any two dims, negative too", function()
      local x = cube()
      local y = x:transpose(1, 3)
      T.shape(y, {4, 3, 2})
      T.eq(y[{4, 3, 2}], x[{2, 3, 4}], "y[k][j][i] == x[i][j][k]")
      T.eq(y[{2, 1, 2}], x[{2, 1, 2}], "y[2][1][2]")
      T.eq(y[{3, 2, 1}], 6, "y[3][2][1] == x[1][2][3] == 0 * 12 + 1 * 4 + 2")
      T.shape(x:transpose(-1, -2), {2, 4, 3})
      T.values(x:transpose(2, 2), x:totable())
      T.errors(function() return x:transpose(1, 4) end, "dimension 4 is out of range")
    end)

    it("permute reorders dims as a view", function()
      local x = cube()
      local p = x:permute(3, 1, 2)
      T.shape(p, {4, 2, 3})
      T.eq(T.show(p:stride()), "{1, 12, 4}", "strides follow the dims")
      for i = 1, 2 do for j = 1, 3 do for k = 1, 4 do
        T.eq(p[{k, i, j}], x[{i, j, k}], "p[k][i][j] == x[i][j][k]")
      end end end
      p[{4, 2, 3}] = -9
      T.eq(x[{2, 3, 4}], -9, "write through permute reaches the base")
      T.shape(x:permute{2, 3, 1}, {3, 4, 2})
      T.shape(x:permute(-1, -2, -3), {4, 3, 2})
    end)

    it("permute rejects repeats and the wrong number of dims", function()
      local x = cube()
      T.errors(function() return x:permute(1, 1, 2) end, "permute: dimension 1 appears twice")
      T.errors(function() return x:permute(1, 2) end, "permute: expected 3 dimensions, got 2")
      T.errors(function() return x:permute{1, 2, 3, 1} end, "permute: expected 3 dimensions, got 4")
      T.errors(function() return x:permute(1, 2, 4) end, "dimension 4 is out of range")
    end)
  end)

  describe("contiguous and clone", function()
    it("contiguous copies a non-contiguous tensor into row-major order", function()
      local m = lunet.tensor{{1, 2, 3}, {4, 5, 6}}
      local c = m:t():contiguous()
      T.truthy(c:is_contiguous(), "contiguous")
      T.eq(T.show(c:stride()), "{2, 1}", "row-major strides")
      T.values(c, {{1, 4}, {2, 5}, {3, 6}})
      c[{1, 1}] = 100
      T.eq(m[{1, 1}], 1, "the copy is independent")
    end)

    it("contiguous of a contiguous tensor is the same storage", function()
      local m = lunet.tensor{1, 2, 3}
      local c = m:contiguous()
      c[1] = 50
      T.eq(m[1], 50, "no copy was made")
    end)

    it("clone is an independent copy with the same dtype", function()
      local m = lunet.tensor{{1.5, 2}, {3, 4}}
      local c = m:clone()
      T.values(c, {{1.5, 2}, {3, 4}}, 0, "float32")
      c[{1, 1}] = 9
      m[{2, 2}] = -9
      T.values(m, {{1.5, 2}, {3, -9}})
      T.values(c, {{9, 2}, {3, 4}})
      local ct = m:t():clone()
      T.values(ct, {{1.5, 3}, {2, -9}})
      T.truthy(ct:is_contiguous(), "a clone of a view is contiguous")
    end)
  end)

  describe("squeeze and unsqueeze", function()
    it("squeeze drops size-1 dims, all or the one named", function()
      local u = lunet.zeros(2, 1, 3, 1)
      T.shape(u:squeeze(), {2, 3})
      T.shape(u:squeeze(2), {2, 3, 1})
      T.shape(u:squeeze(-1), {2, 1, 3})
      T.shape(u:squeeze(1), {2, 1, 3, 1}) -- size 2: unchanged, as in PyTorch
      T.shape(lunet.zeros(1, 1):squeeze(), {})
      T.errors(function() return u:squeeze(5) end, "dimension 5 is out of range")
    end)

    it("unsqueeze inserts a size-1 dim, negative counting from the end", function()
      local m = lunet.tensor{{1, 2, 3}, {4, 5, 6}}
      T.shape(m:unsqueeze(1), {1, 2, 3})
      T.shape(m:unsqueeze(2), {2, 1, 3})
      T.shape(m:unsqueeze(3), {2, 3, 1})
      T.shape(m:unsqueeze(-1), {2, 3, 1})
      T.shape(m:unsqueeze(-3), {1, 2, 3})
      T.shape(lunet.tensor(1):unsqueeze(1), {1})
      T.values(m:unsqueeze(2), {{{1, 2, 3}}, {{4, 5, 6}}})
      T.errors(function() return m:unsqueeze(4) end, "dimension 4 is out of range (expected 1 to 3, or -3 to -1)")
      T.errors(function() return m:unsqueeze(-4) end, "dimension -4 is out of range")
      T.errors(function() return lunet.zeros(1, 1, 1, 1, 1, 1, 1, 1):unsqueeze(1) end,
        "unsqueeze: at most 8 dimensions are supported")
    end)

    it("both are views", function()
      local m = lunet.zeros(3)
      m:unsqueeze(1)[{1, 2}] = 5
      m:unsqueeze(2):squeeze()[3] = 7
      T.values(m, {0, 5, 7})
    end)
  end)

  describe("expand", function()
    it("repeats size-1 dims and adds leading dims", function()
      local v = lunet.tensor{1, 2, 3}
      local e = v:expand(2, 3)
      T.values(e, {{1, 2, 3}, {1, 2, 3}})
      T.eq(T.show(e:stride()), "{0, 1}", "expanded dims have stride 0")
      local c = lunet.tensor{{1}, {2}}
      T.values(c:expand(2, 3), {{1, 1, 1}, {2, 2, 2}})
      T.values(c:expand(-1, 4), {{1, 1, 1, 1}, {2, 2, 2, 2}})
      T.shape(c:expand{3, 2, 2}, {3, 2, 2})
      T.shape(c:expand(lunet.zeros(5, 2, 7)), {5, 2, 7})
      T.shape(lunet.tensor(4):expand(2, 2), {2, 2})
      T.shape(lunet.zeros(1):expand(0), {0})
    end)

    it("shares storage: a write to the base shows in every row", function()
      local v = lunet.tensor{1, 2, 3}
      local e = v:expand(4, 3)
      v[2] = 20
      T.values(e, {{1, 20, 3}, {1, 20, 3}, {1, 20, 3}, {1, 20, 3}})
    end)

    it("rejects sizes that do not match", function()
      local v = lunet.tensor{1, 2, 3}
      T.errors(function() return v:expand(2, 4) end, "expand: cannot expand shape 3 to 2x4")
      T.errors(function() return v:expand(-2) end, "expand: cannot expand shape 3 to -2")
      T.errors(function() return v:expand(-1, 3) end, "expand: cannot expand shape 3 to -1x3")
      T.errors(function() return lunet.zeros(2, 3):expand(3) end, "expand: cannot expand shape 2x3 to 3")
    end)

    it("rejects shapes whose element count overflows int64", function()
      T.errors(function() return lunet.zeros(1):expand(2 ^ 40, 2 ^ 40) end, "expand: cannot expand to shape")
      T.errors(function() return lunet.zeros(1, 1):expand(2 ^ 32, 2 ^ 32) end, "too many elements")
    end)
  end)

  describe("flatten", function()
    it("merges a range of dims", function()
      local x = cube()
      T.shape(x:flatten(), {24})
      T.shape(x:flatten(2), {2, 12})
      T.shape(x:flatten(1, 2), {6, 4})
      T.shape(x:flatten(-2, -1), {2, 12})
      T.shape(x:flatten(2, 2), {2, 3, 4})
      T.shape(lunet.tensor(5):flatten(), {1})
      T.values(x:flatten(2)[2], lunet.arange(12, 24):totable())
      T.errors(function() return x:flatten(3, 1) end, "flatten: start dimension 3 is after end dimension 1")
    end)

    it("is a view of a contiguous tensor and a copy of a transposed one", function()
      local x = cube()
      x:flatten()[24] = -1
      T.eq(x[{2, 3, 4}], -1, "write through flatten reaches the base")
      local m = lunet.tensor{{1, 2}, {3, 4}}
      local f = m:t():flatten()
      T.values(f, {1, 3, 2, 4})
      f[1] = 100
      T.eq(m[{1, 1}], 1, "the copy does not write back")
    end)
  end)

  describe("cat and stack", function()
    local a = lunet.tensor{{1, 2}, {3, 4}}
    local b = lunet.tensor{{5, 6}}

    it("cat joins along dim 1 by default and along any dim", function()
      T.values(lunet.cat{a, b}, {{1, 2}, {3, 4}, {5, 6}}, 0, "int64")
      T.values(lunet.cat({a, b:t():reshape(2, 1)}, 2), {{1, 2, 5}, {3, 4, 6}})
      T.values(lunet.cat({a, a}, -1), {{1, 2, 1, 2}, {3, 4, 3, 4}})
      T.values(lunet.cat{lunet.tensor{1, 2}, lunet.tensor{3}}, {1, 2, 3})
      T.values(lunet.cat{a}, {{1, 2}, {3, 4}})
    end)

    it("cat copies: the result does not share storage with the inputs", function()
      local x = lunet.tensor{1, 2}
      local c = lunet.cat{x, x}
      c[1] = 50
      T.eq(x[1], 1, "input untouched")
    end)

    it("cat promotes dtypes", function()
      T.values(lunet.cat{lunet.tensor{1}, lunet.tensor{2.5}}, {1, 2.5}, 0, "float32")
      T.eq(lunet.cat{lunet.tensor{1}, lunet.tensor({2}, {dtype = "float64"})}:dtype(), "float64", "int64 + float64")
      T.eq(lunet.cat{lunet.tensor{1.5}, lunet.tensor({2}, {dtype = "float64"})}:dtype(), "float64", "float32 + float64")
    end)

    it("cat takes non-contiguous inputs", function()
      local m = lunet.tensor{{1, 2}, {3, 4}}
      T.values(lunet.cat({m:t(), m}, 2), {{1, 3, 1, 2}, {2, 4, 3, 4}})
    end)

    it("cat explains mismatches", function()
      T.errors(function() return lunet.cat({a, lunet.zeros(3, 3)}, 2) end,
        "cat: tensor 2 has shape 3x3, which does not match 2x2 outside dimension 2")
      T.errors(function() return lunet.cat{a, lunet.zeros(2)} end, "cat: tensor 2 has shape 2, which does not match")
      T.errors(function() return lunet.cat{a, 3} end, "bad argument #1 to 'cat' (element 2 is not a tensor)")
      T.errors(function() return lunet.cat{} end, "expected a non-empty list of tensors")
      T.errors(function() return lunet.cat({a, a}, 3) end, "dimension 3 is out of range (expected 1 to 2, or -2 to -1)")
      T.errors(function() return lunet.cat{lunet.tensor(1), lunet.tensor(2)} end, "cat: dimension 1 is out of range (tensors have 0 dimensions)")
    end)

    it("stack adds a new dim, at any position", function()
      local x, y = lunet.tensor{1, 2}, lunet.tensor{3, 4}
      T.values(lunet.stack{x, y}, {{1, 2}, {3, 4}})
      T.values(lunet.stack({x, y}, 2), {{1, 3}, {2, 4}})
      T.values(lunet.stack({x, y}, -1), {{1, 3}, {2, 4}})
      T.shape(lunet.stack({a, a, a}, 2), {2, 3, 2})
      T.shape(lunet.stack{lunet.tensor(1), lunet.tensor(2)}, {2})
      T.values(lunet.stack{lunet.tensor{1}, lunet.tensor{0.5}}, {{1}, {0.5}}, 0, "float32")
    end)

    it("stack needs equal shapes", function()
      T.errors(function() return lunet.stack{a, b} end, "stack: tensor 2 has shape 1x2 but tensor 1 has shape 2x2")
      T.errors(function() return lunet.stack({a, a}, 4) end, "dimension 4 is out of range")
    end)
  end)

  describe("split and chunk", function()
    local function as_tables(list)
      local out = {}
      for i, t in ipairs(list) do out[i] = t:totable() end
      return out
    end

    it("split by a size leaves a shorter last piece", function()
      local parts = lunet.arange(10):split(3)
      T.eq(#parts, 4, "pieces")
      T.eq(T.show(as_tables(parts)), "{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}}", "pieces")
    end)

    it("split by a table of sizes, along a dim", function()
      local parts = lunet.arange(10):split{2, 8}
      T.eq(T.show(as_tables(parts)), "{{0, 1}, {2, 3, 4, 5, 6, 7, 8, 9}}", "pieces")
      local m = lunet.arange(12):view(3, 4)
      local cols = m:split({1, 3}, 2)
      T.shape(cols[1], {3, 1})
      T.values(cols[2], {{1, 2, 3}, {5, 6, 7}, {9, 10, 11}})
      T.errors(function() return lunet.arange(10):split{2, 3} end, "split: sizes add up to 5 but dimension 1 has size 10")
      T.errors(function() return lunet.arange(10):split(0) end, "split size must be positive")
      T.errors(function() return lunet.tensor(1):split(1) end, "0-dim")
    end)

    it("split pieces are views", function()
      local x = lunet.zeros(6)
      local parts = x:split(2)
      parts[3][1] = 5
      T.values(x, {0, 0, 0, 0, 5, 0})
    end)

    it("chunk makes n pieces of ceil(size / n)", function()
      local parts = lunet.arange(10):chunk(3)
      T.eq(T.show(as_tables(parts)), "{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}", "pieces")
      local cols = lunet.arange(6):view(2, 3):chunk(3, 2)
      T.eq(#cols, 3, "pieces")
      T.values(cols[3], {{2}, {5}})
      T.eq(#lunet.arange(2):chunk(5), 2, "fewer pieces than asked when the dim is short")
      T.errors(function() return lunet.arange(4):chunk(0) end, "number of chunks must be positive")
    end)
  end)

  describe("views of views", function()
    it("transpose of a narrow of a permute writes through to the base", function()
      local base = lunet.arange(60):view(3, 4, 5)
      -- permute: p[k][i][j] = base[i][j][k], 5x3x4
      -- narrow dim 1 to k = 2..4, 3x3x4; transpose 2,3: v[a][c][b] = base[b][c][a + 1], 3x4x3
      local v = base:permute(3, 1, 2):narrow(1, 2, 3):transpose(2, 3)
      T.shape(v, {3, 4, 3})
      for a = 1, 3 do for c = 1, 4 do for b = 1, 3 do
        T.eq(v[{a, c, b}], base[{b, c, a + 1}], "v[a][c][b] == base[b][c][a+1]")
      end end end
      v[{1, 2, 3}] = -7
      T.eq(base[{3, 2, 2}], -7, "a single write reaches the base")
      v:fill_(-1)
      local count = 0
      for _, x in ipairs(base:flatten():totable()) do if x == -1 then count = count + 1 end end
      T.eq(count, 36, "fill_ through the view touches exactly its 36 elements")
      T.eq(base[{1, 1, 1}], 0, "k = 1 is outside the view")
      T.eq(base[{3, 4, 5}], 59, "k = 5 is outside the view")
    end)

    it("a slice with a step of a transpose, reshaped and expanded", function()
      local base = lunet.arange(1, 13):view(3, 4)
      local v = base:t()[{{1, 4, 2}}] -- rows 1 and 3 of the transpose: base's columns 1 and 3
      T.values(v, {{1, 5, 9}, {3, 7, 11}})
      local w = v[{{}, 2}]:unsqueeze(1):expand(2, 2)
      T.values(w, {{5, 7}, {5, 7}})
      base[{2, 3}] = 70
      T.values(w, {{5, 70}, {5, 70}})
      v[{2, 3}] = 110
      T.eq(base[{3, 3}], 110, "write through the slice reaches base[3][3]")
    end)

    it("a view keeps its storage alive after the base is collected", function()
      local v
      do
        local base = lunet.arange(100):view(10, 10)
        v = base:t():narrow(1, 3, 2)
      end
      collectgarbage()
      collectgarbage()
      T.values(v[1], {2, 12, 22, 32, 42, 52, 62, 72, 82, 92})
    end)

    it("select and index of views chain", function()
      local x = cube()
      local s = x:select(3, 2):t() -- 3x2: s[j][i] = x[i][j][2]
      T.values(s, {{1, 13}, {5, 17}, {9, 21}})
      s[{3, 2}] = 0
      T.eq(x[{2, 3, 2}], 0, "write reaches the base")
    end)
  end)
end)

describe("writing into expanded views", function()
  local function expanded() return lunet.zeros(3):view(1, 3):expand(4, 3) end
  it("refuses fill_, copy_, zero_ and random fills, which would be ambiguous", function()
    local e = expanded()
    T.errors(function() e:fill_(1) end, "fill_: cannot write in place into an expanded tensor")
    T.errors(function() e:copy_(lunet.ones(4, 3)) end, "copy_: cannot write in place into an expanded tensor")
    T.errors(function() e:zero_() end, "zero_: cannot write in place")
    T.errors(function() e:uniform_() end, "uniform_: cannot write in place")
    T.errors(function() e[{{}, 1}] = 5 end, "cannot write in place")
  end)
  it("allows a size-1 expanded dim and a selected row", function()
    local base = lunet.zeros(3)
    base:view(1, 3):expand(1, 3):fill_(2)
    T.values(base, {2, 2, 2})
    local e = base:view(1, 3):expand(4, 3)
    e[2] = 7 -- one row is an ordinary view of base
    T.values(base, {7, 7, 7})
  end)
end)
