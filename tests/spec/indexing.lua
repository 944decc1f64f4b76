-- Indexing (1-based, negative from the end), slicing, narrow/select,
-- index_select/gather, assignment, in-place fills and copies, and
-- conversion (item, totable, dtype changes).

-- 3x4 int64 holding 1..12
local function grid() return lunet.arange(1, 13):view(3, 4) end

describe("indexing", function()
  describe("x[i]", function()
    it("selects along dim 1 and returns a view", function()
      local x = grid()
      local r = x[2]
      T.values(r, {5, 6, 7, 8}, 0, "int64")
      T.values(x[-1], {9, 10, 11, 12})
      T.values(x[-3], {1, 2, 3, 4})
      r[1] = 50
      T.eq(x[{2, 1}], 50, "a write through x[i] reaches x")
    end)

    it("returns a Lua number on a 1-d tensor", function()
      local v = lunet.tensor{10, 20, 30}
      T.eq(v[1], 10, "v[1]")
      T.eq(v[-1], 30, "v[-1]")
      T.eq(math.type(v[2]), "integer", "an int64 element is an integer")
      local f = lunet.tensor{0.5, 1.5}
      T.eq(f[2], 1.5, "f[2]")
      T.eq(math.type(f[2]), "float", "a float32 element is a float")
      T.eq(grid()[3][4], 12, "chained x[i][j]")
      T.eq(lunet.tensor{1, 2}[2.0], 2, "an integral float is a valid position")
    end)

    it("raises for positions out of range, naming the index and dimension", function()
      local x = grid()
      T.errors(function() return x[4] end, "index: 4 is out of range for dimension 1 of size 3")
      T.errors(function() return x[0] end, "index: 0 is out of range for dimension 1 of size 3")
      T.errors(function() return x[-4] end, "index: -4 is out of range for dimension 1 of size 3")
      T.errors(function() return x[1][5] end, "index: 5 is out of range for dimension 1 of size 4")
      T.errors(function() return x[1.5] end, "index: expected an integer, got 1.5")
      T.errors(function() return x[true] end, "index: expected a number or a table, got boolean")
      T.errors(function() return lunet.tensor(3)[1] end, "index: a 0-dim tensor cannot be indexed (use item())")
      T.errors(function() return lunet.zeros(0)[1] end, "index: 1 is out of range for dimension 1 of size 0")
    end)

    it("reads methods by name, never as an index", function()
      local x = grid()
      T.eq(type(x.view), "function", "x.view")
      T.eq(x.nosuchmethod, nil, "an unknown name is nil")
    end)
  end)

  describe("x[{...}]", function()
    it("mixes numbers and ranges per dimension", function()
      local x = grid()
      T.values(x[{2, {2, 3}}], {6, 7})
      T.values(x[{{}, 2}], {2, 6, 10})
      T.values(x[{{2}}], {{5, 6, 7, 8}})
      T.values(x[{{2, 3}, {3}}], {{7}, {11}})
      T.values(x[{{}, {-2, -1}}], {{3, 4}, {7, 8}, {11, 12}})
      T.values(x[{{-2}, -1}], {8})
      T.values(x[{}], grid():totable())
      T.values(x[{{}}], grid():totable())
    end)

    it("all dims selected by numbers gives a Lua number", function()
      local x = grid()
      T.eq(x[{2, 3}], 7, "x[{2, 3}]")
      T.eq(x[{-1, -1}], 12, "x[{-1, -1}]")
      T.eq(lunet.tensor{4, 5}[{2}], 5, "x[{2}] on 1-d")
    end)

    it("{a, b, step} takes every step-th element", function()
      local x = grid()
      T.values(x[{{}, {1, 4, 2}}], {{1, 3}, {5, 7}, {9, 11}})
      T.values(x[{{1, -1, 2}}], {{1, 2, 3, 4}, {9, 10, 11, 12}})
      T.values(lunet.arange(10)[{{2, 10, 3}}], {1, 4, 7})
      T.values(lunet.arange(10)[{{2, 9, 3}}], {1, 4, 7})
      T.values(lunet.arange(10)[{{1, 1, 5}}], {0})
    end)

    it("ranges are views", function()
      local x = grid()
      local v = x[{{2, 3}, {1, 4, 3}}]
      T.values(v, {{5, 8}, {9, 12}})
      v[{2, 2}] = 0
      T.eq(x[{3, 4}], 0, "write through a stepped range reaches x")
    end)

    it("raises for bad ranges, naming the range and dimension", function()
      local x = grid()
      T.errors(function() return x[{1, 5}] end, "index: 5 is out of range for dimension 2 of size 4")
      T.errors(function() return x[{{}, {3, 5}}] end, "index: range {3, 5} is out of bounds for dimension 2 of size 4")
      T.errors(function() return x[{{0, 2}}] end, "index: range {0, 2} is out of bounds for dimension 1 of size 3")
      T.errors(function() return x[{{3, 1}}] end, "index: range {3, 1} is out of bounds for dimension 1 of size 3")
      T.errors(function() return x[{{1, 3, 0}}] end, "index: range 1 has step 0 (the step must be positive)")
      T.errors(function() return x[{{}, {1, 3, -1}}] end, "index: range 2 has step -1 (the step must be positive)")
      T.errors(function() return x[{1, 1, 1}] end, "index: 3 indices for a tensor with 2 dimensions")
      T.errors(function() return x[{{1, 2, 1, 1}}] end,
        "index: range 1 has 4 entries (expected {}, {a}, {a, b} or {a, b, step})")
      T.errors(function() return x[{"a"}] end, "index: entry 1 must be a number or a range table, got string")
      T.errors(function() return x[{{1.5, 2}}] end, "index: a range start must be an integer, got number")
    end)

    it("handles empty dimensions", function()
      local e = lunet.zeros(0, 3)
      T.shape(e[{{}, 2}], {0})
      T.shape(e[{{}, {1, 2}}], {0, 2})
    end)
  end)

  describe("narrow and select", function()
    it("narrow takes (dim, start, length) as a view", function()
      local x = grid()
      T.values(x:narrow(2, 2, 2), {{2, 3}, {6, 7}, {10, 11}})
      T.values(x:narrow(1, -1, 1), {{9, 10, 11, 12}})
      T.values(x:narrow(-1, 4, 1), {{4}, {8}, {12}})
      T.shape(x:narrow(1, 4, 0), {0, 4})
      x:narrow(2, 3, 2):fill_(0)
      T.values(x, {{1, 2, 0, 0}, {5, 6, 0, 0}, {9, 10, 0, 0}})
    end)

    it("narrow raises out of range", function()
      local x = grid()
      T.errors(function() return x:narrow(2, 3, 3) end, "narrow: range 3..5 is out of bounds for dimension 2 of size 4")
      T.errors(function() return x:narrow(2, 6, 1) end, "start 6 is out of range for dimension 2 of size 4")
      T.errors(function() return x:narrow(2, 1, -1) end, "to 'narrow' (length -1 must be non-negative)")
      T.errors(function() return x:narrow(3, 1, 1) end, "dimension 3 is out of range")
    end)

    it("select removes the dim as a view", function()
      local x = grid()
      T.values(x:select(2, -1), {4, 8, 12})
      T.values(x:select(1, 2), {5, 6, 7, 8})
      T.shape(lunet.tensor{5}:select(1, 1), {})
      x:select(2, 1):fill_(-1)
      T.values(x[{{}, 1}], {-1, -1, -1})
      T.errors(function() return x:select(2, 5) end, "index 5 is out of range for dimension 2 of size 4")
      T.errors(function() return x:select(0, 1) end, "dimension 0 is out of range")
    end)
  end)

  describe("index_select and gather", function()
    it("index_select takes 1-based positions from a tensor or a table", function()
      local x = grid()
      T.values(x:index_select(1, lunet.tensor{3, 1}), {{9, 10, 11, 12}, {1, 2, 3, 4}})
      T.values(x:index_select(2, {4, 4, 1}), {{4, 4, 1}, {8, 8, 5}, {12, 12, 9}})
      T.values(x:index_select(-1, {2}), {{2}, {6}, {10}})
      T.shape(x:index_select(1, {}), {0, 4})
    end)

    it("index_select copies", function()
      local x = grid()
      local s = x:index_select(1, {1})
      s[{1, 1}] = 100
      T.eq(x[{1, 1}], 1, "x untouched")
    end)

    it("index_select works on a non-contiguous source", function()
      local xt = grid():t() -- 4x3
      T.values(xt:index_select(1, {2, 4}), {{2, 6, 10}, {4, 8, 12}})
      T.values(xt:index_select(2, lunet.tensor{3}), {{9}, {10}, {11}, {12}})
    end)

    it("index_select raises for bad positions and index types", function()
      local x = grid()
      T.errors(function() return x:index_select(1, {4}) end, "index_select: index 4 is out of range for dimension 1 of size 3")
      T.errors(function() return x:index_select(1, {0}) end, "index_select: index 0 is out of range for dimension 1 of size 3")
      T.errors(function() return x:index_select(2, lunet.tensor{5}) end, "index 5 is out of range for dimension 2 of size 4")
      T.errors(function() return x:index_select(1, lunet.tensor{1.0}) end, "index must be an int64 tensor, got float32")
      T.errors(function() return x:index_select(1, lunet.tensor{{1}}) end, "index_select: index must be 1-d")
      T.errors(function() return x:index_select(1, {1.5}) end, "a position must be an integer")
      T.errors(function() return x:index_select(1, "x") end, "int64 tensor or table of positions expected")
    end)

    it("gather picks along a dim with a 1-based index tensor", function()
      local x = grid()
      T.values(x:gather(2, lunet.tensor{{1, 4}, {2, 2}, {3, 1}}), {{1, 4}, {6, 6}, {11, 9}}, 0, "int64")
      T.values(x:gather(1, lunet.tensor{{3, 2, 1, 1}}), {{9, 6, 3, 4}})
      T.values(x:float():gather(2, lunet.tensor{{4}, {3}, {2}}), {{4}, {7}, {10}}, 0, "float32")
      T.values(x:t():gather(1, lunet.tensor{{2, 3, 1}}), {{2, 7, 9}}) -- x:t() is {{1, 5, 9}, {2, 6, 10}, ...}
    end)

    it("gather raises for bad indices", function()
      local x = grid()
      T.errors(function() return x:gather(2, lunet.tensor{{5}}) end, "gather: index 5 is out of range for dimension 2 of size 4")
      T.errors(function() return x:gather(2, lunet.tensor{{0}}) end, "gather: index 0 is out of range for dimension 2 of size 4")
      T.errors(function() return x:gather(2, {{1}}) end, "int64 tensor expected, got table")
      T.errors(function() return x:gather(2, lunet.tensor{1}) end, "gather: index has 1 dimensions but the tensor has 2")
      T.errors(function() return x:gather(2, lunet.ones(4, 1, {dtype = "int64"})) end,
        "gather: index of shape 4x1 is larger than the tensor of shape 3x4 in dimension 1")
    end)
  end)

  describe("assignment", function()
    it("x[i] = number fills the selected view", function()
      local y = lunet.zeros(3, 4)
      y[2] = 5
      y[{3, 2}] = 7
      y[{{}, {4}}] = -1
      T.values(y, {{0, 0, 0, -1}, {5, 5, 5, -1}, {0, 7, 0, -1}})
      local v = lunet.tensor{1, 2, 3}
      v[-1] = 30
      T.values(v, {1, 2, 30})
    end)

    it("x[{..}] = tensor copies with broadcasting and dtype conversion", function()
      local y = lunet.zeros(3, 4)
      y[{{}, 4}] = lunet.tensor{1, 2, 3}
      y[{{1, 2}, {1, 2}}] = lunet.tensor{9, 8}
      T.values(y, {{9, 8, 0, 1}, {9, 8, 0, 2}, {0, 0, 0, 3}}, 0, "float32")
      y[3] = lunet.tensor(6)
      T.values(y[3], {6, 6, 6, 6})
      local n = lunet.zeros(2, {dtype = "int64"})
      n[{}] = lunet.tensor{1.9, -1.9}
      T.values(n, {1, -1}, 0, "int64")
    end)

    it("assigning to an int64 tensor truncates and saturates", function()
      local n = lunet.zeros(4, {dtype = "int64"})
      n[1] = 2.7
      n[2] = 0 / 0
      n[3] = math.huge
      n[4] = -math.huge
      T.eq(T.show(n:totable()), T.show{2, 0, math.maxinteger, math.mininteger}, "values")
    end)

    it("handles overlapping self-assignment as if the source were copied first", function()
      local z = lunet.arange(1, 6)
      z[{{2, 5}}] = z[{{1, 4}}]
      T.values(z, {1, 1, 2, 3, 4})
      z = lunet.arange(1, 6)
      z[{{1, 4}}] = z[{{2, 5}}]
      T.values(z, {2, 3, 4, 5, 5})
      local m = lunet.tensor{{1, 2}, {3, 4}}
      m[{}] = m:t()
      T.values(m, {{1, 3}, {2, 4}})
    end)

    it("raises for bad values, shapes and positions", function()
      local y = lunet.zeros(3, 4)
      T.errors(function() y[1] = lunet.tensor{1, 2, 3} end,
        "index assignment: cannot copy a tensor of shape 3 into one of shape 4")
      T.errors(function() y[1] = "a" end, "index assignment: value must be a number or a tensor, got string")
      T.errors(function() y[4] = 1 end, "index: 4 is out of range for dimension 1 of size 3")
      T.errors(function() y[{1, 0}] = 1 end, "index: 0 is out of range for dimension 2 of size 4")
      T.errors(function() y.foo = 1 end, "cannot set field 'foo' of a tensor")
      T.values(y, {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}})
    end)
  end)

  describe("copy_, fill_, zero_", function()
    it("copy_ broadcasts, converts and returns self", function()
      local w = lunet.zeros(2, 3)
      local r = w:copy_(lunet.tensor{1, 2, 3})
      T.truthy(rawequal(r, w), "copy_ returns self")
      T.values(w, {{1, 2, 3}, {1, 2, 3}}, 0, "float32")
      w:copy_(lunet.tensor({{1.5}, {2.5}}, {dtype = "float64"}))
      T.values(w, {{1.5, 1.5, 1.5}, {2.5, 2.5, 2.5}})
      T.errors(function() w:copy_(lunet.zeros(4)) end, "copy_: cannot copy a tensor of shape 4 into one of shape 2x3")
      T.errors(function() w:copy_(3) end, "tensor expected")
    end)

    it("copy_ into a transposed view writes the right elements", function()
      local m = lunet.zeros(2, 3)
      m:t():copy_(lunet.tensor{{1, 4}, {2, 5}, {3, 6}})
      T.values(m, {{1, 2, 3}, {4, 5, 6}})
    end)

    it("copy_ from floats into int64 saturates NaN and infinities", function()
      local n = lunet.zeros(6, {dtype = "int64"})
      n:copy_(lunet.tensor{0 / 0, math.huge, -math.huge, 3.7, -3.7, 1e30})
      T.eq(T.show(n:totable()), T.show{0, math.maxinteger, math.mininteger, 3, -3, math.maxinteger}, "values")
    end)

    it("fill_ and zero_ work in place on views and return self", function()
      local w = lunet.zeros(2, 3)
      T.truthy(rawequal(w:fill_(2.5), w), "fill_ returns self")
      T.values(w, {{2.5, 2.5, 2.5}, {2.5, 2.5, 2.5}})
      w[{{}, 2}]:zero_()
      T.values(w, {{2.5, 0, 2.5}, {2.5, 0, 2.5}})
      T.truthy(rawequal(w:zero_(), w), "zero_ returns self")
      T.values(w, {{0, 0, 0}, {0, 0, 0}})
      local n = lunet.zeros(2, {dtype = "int64"})
      n:fill_(7.9)
      T.values(n, {7, 7}, 0, "int64")
      T.errors(function() w:fill_("x") end, "number expected")
    end)
  end)

  describe("conversion", function()
    it("item returns the single element as a Lua number", function()
      T.eq(lunet.tensor{{5}}:item(), 5, "item of 1x1")
      T.eq(math.type(lunet.tensor{7}:item()), "integer", "int64 item is an integer")
      T.eq(lunet.tensor(2.5):item(), 2.5, "item of 0-dim")
      T.eq(math.type(lunet.tensor(2.5):item()), "float", "float item is a float")
      T.eq(grid()[{{2}, {3}}]:item(), 7, "item of a view")
    end)

    it("item raises unless there is exactly one element", function()
      T.errors(function() return lunet.tensor{1, 2}:item() end,
        "item: expected a tensor with one element, got shape 2 (2 elements)")
      T.errors(function() return lunet.zeros(0):item() end, "item: expected a tensor with one element, got shape 0 (0 elements)")
      T.errors(function() return grid():item() end, "got shape 3x4 (12 elements)")
    end)

    it("totable returns nested tables, a number for 0-dim", function()
      local t = grid():totable()
      T.eq(#t, 3, "rows")
      T.eq(T.show(t[2]), "{5, 6, 7, 8}", "row 2")
      T.eq(math.type(t[1][1]), "integer", "int64 elements are integers")
      T.eq(lunet.tensor(4):totable(), 4, "0-dim")
      T.eq(T.show(grid():t():totable()), "{{1, 5, 9}, {2, 6, 10}, {3, 7, 11}, {4, 8, 12}}", "transposed")
      T.eq(#lunet.zeros(0):totable(), 0, "empty")
      T.eq(T.show(lunet.zeros(2, 0):totable()), "{{}, {}}", "2x0")
    end)

    it("float, double, long and to(dtype) convert", function()
      local x = lunet.tensor{1.5, -2.5, 3}
      T.values(x:double(), {1.5, -2.5, 3}, 0, "float64")
      T.values(x:long(), {1, -2, 3}, 0, "int64")
      T.values(x:long():float(), {1, -2, 3}, 0, "float32")
      T.values(x:to("int64"), {1, -2, 3}, 0, "int64")
      T.values(x:to("float64"), {1.5, -2.5, 3}, 0, "float64")
      T.values(x:to("double"), {1.5, -2.5, 3}, 0, "float64")
      T.values(grid():t():double(), {{1, 5, 9}, {2, 6, 10}, {3, 7, 11}, {4, 8, 12}}, 0, "float64")
      T.errors(function() return x:to("int32") end, "unknown dtype 'int32' (expected float32, float64 or int64)")
    end)

    it("converting to another dtype copies; to the same dtype does not (as in PyTorch)", function()
      local x = lunet.tensor{1, 2}
      local d = x:double()
      d[1] = 100
      T.eq(x[1], 1, "double() is a copy")
      local same = x:long()
      same[1] = 100
      T.eq(x[1], 100, "long() of an int64 tensor is the tensor itself")
    end)

    it("float64 to float32 rounds, int64 to float64 keeps 53 bits", function()
      local d = lunet.tensor({1 / 3}, {dtype = "float64"})
      T.truthy(d:float()[1] ~= 1 / 3, "float32 rounds 1/3")
      T.near(d:float()[1], 1 / 3, 1e-7)
      T.eq(lunet.tensor{2 ^ 53 // 1}:double()[1], 2.0 ^ 53, "2^53 is exact")
    end)

    it("long() of NaN and infinities saturates rather than crashing", function()
      for _, dt in ipairs{"float32", "float64"} do
        local x = lunet.tensor({0 / 0, math.huge, -math.huge, 1e30, -1e30, 2.9, -2.9}, {dtype = dt})
        T.eq(T.show(x:long():totable()),
          T.show{0, math.maxinteger, math.mininteger, math.maxinteger, math.mininteger, 2, -2}, dt .. " values")
        T.eq(T.show(x:to("int64"):totable()),
          T.show{0, math.maxinteger, math.mininteger, math.maxinteger, math.mininteger, 2, -2}, dt .. " via to")
      end
    end)
  end)
end)
