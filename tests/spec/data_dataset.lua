-- The dataset protocol: TensorDataset, Subset, Concat and split, with exact
-- values from small tensors whose rows say where they came from.
local data = lunet.data
local function ids(list) return lunet.tensor(list, {dtype = "int64"}) end

-- x[i] = {10 i, 10 i + 1}, y[i] = i
local function numbered(n)
  local x = (lunet.arange(1, n + 1):view(n, 1) * 10 + lunet.tensor{{0, 1}}):float()
  return data.TensorDataset(x, lunet.arange(1, n + 1, {dtype = "int64"}))
end

describe("data.TensorDataset", function()
  it("has the length of the first dimension and indexes rows of every tensor", function()
    local ds = numbered(5)
    T.eq(#ds, 5)
    local s = ds[3]
    T.values(s[1], {30, 31})
    T.eq(s[2], 3)
    T.values(ds[-1 + 6][1], {50, 51})
  end)

  it("gathers a batch of rows per tensor for an int64 index tensor", function()
    local ds = numbered(5)
    local xb, yb = ds:batch(ids{4, 1, 4})
    T.values(xb, {{40, 41}, {10, 11}, {40, 41}}, 0, "float32")
    T.values(yb, {4, 1, 4}, 0, "int64")
  end)

  it("gathers from a non-contiguous tensor", function()
    local x = lunet.arange(1, 7):view(2, 3):t() -- 3x2, not contiguous
    local ds = data.TensorDataset(x)
    T.values(ds:batch(ids{3, 1}), {{3, 6}, {1, 4}})
  end)

  it("keeps the trailing shape of images", function()
    local ds = data.TensorDataset(lunet.zeros(6, 1, 4, 4), lunet.zeros(6, {dtype = "int64"}))
    T.shape(ds:batch(ids{1, 2}), {2, 1, 4, 4})
    T.shape(ds[2][1], {1, 4, 4})
  end)

  it("refuses tensors of different lengths, non-tensors and out-of-range indices", function()
    T.errors(function() data.TensorDataset(lunet.zeros(3, 2), lunet.zeros(4)) end,
      "TensorDataset: argument 2 has 4 rows, expected 3")
    T.errors(function() data.TensorDataset(lunet.zeros(3), {1, 2, 3}) end, "argument 2 must be a tensor")
    T.errors(function() data.TensorDataset() end, "expected at least one tensor")
    local ds = numbered(3)
    T.errors(function() return ds[4] end, "TensorDataset: index 4 is out of range (size 3)")
    T.errors(function() return ds[0] end, "index 0 is out of range")
    T.errors(function() return ds[1.5] end, "index must be an integer")
    T.errors(function() ds:batch(ids{1, 4}) end, "gather: index 4 is out of range for 3 rows")
    T.errors(function() ds:batch(lunet.tensor{1.0, 2.0}) end, "1-d int64 tensor")
  end)
end)

describe("data.Subset", function()
  it("indexes the base dataset through its indices", function()
    local sub = data.Subset(numbered(5), {5, 2})
    T.eq(#sub, 2)
    T.values(sub[1][1], {50, 51})
    T.eq(sub[2][2], 2)
    T.errors(function() return sub[3] end, "Subset: index 3 is out of range (size 2)")
  end)

  it("forwards batch to a batched base", function()
    local sub = data.Subset(numbered(5), ids{5, 2, 3})
    local xb, yb = sub:batch(ids{3, 1})
    T.values(xb, {{30, 31}, {50, 51}})
    T.values(yb, {3, 5})
  end)

  it("has no batch over a plain table", function()
    local sub = data.Subset({"a", "b", "c"}, {3})
    T.eq(sub[1], "c")
    T.truthy(not data._has_batch(sub), "no batch")
  end)

  it("refuses indices outside the base", function()
    T.errors(function() data.Subset(numbered(3), {1, 4}) end, "Subset: index 4 at position 2 is out of range (dataset size 3)")
    T.errors(function() data.Subset(numbered(3), 2) end, "indices must be")
  end)
end)

describe("data.Concat", function()
  it("indexes across its parts in order", function()
    local c = data.Concat{numbered(2), numbered(3)}
    T.eq(#c, 5)
    T.eq(c[1][2], 1)
    T.eq(c[2][2], 2)
    T.eq(c[3][2], 1)
    T.eq(c[5][2], 3)
    T.errors(function() return c[6] end, "Concat: index 6 is out of range (size 5)")
  end)

  it("batches across parts in the order asked", function()
    local c = data.Concat{numbered(2), data.Subset(numbered(3), {3, 1})}
    local xb, yb = c:batch(ids{3, 1, 4, 2})
    T.values(yb, {3, 1, 1, 2})
    T.values(xb, {{30, 31}, {10, 11}, {10, 11}, {20, 21}})
  end)

  it("mixes plain tables (no batch) and refuses non-datasets", function()
    local c = data.Concat{{"a"}, {"b", "c"}}
    T.eq(c[3], "c")
    T.truthy(not data._has_batch(c), "no batch")
    T.errors(function() data.Concat{} end, "non-empty list")
    T.errors(function() data.Concat{{1}, 5} end, "element 2 is not a dataset")
  end)
end)

describe("data.split", function()
  local function all(parts)
    local seen, total = {}, 0
    for _, p in ipairs(parts) do
      for i = 1, #p do
        local y = p[i][2]
        T.truthy(not seen[y], "sample " .. y .. " appears once")
        seen[y] = true
        total = total + 1
      end
    end
    return total
  end

  it("splits by fractions into disjoint subsets covering the dataset", function()
    local parts = data.split(numbered(10), {0.7, 0.3}, 42)
    T.eq(#parts[1], 7)
    T.eq(#parts[2], 3)
    T.eq(all(parts), 10)
  end)

  it("splits by counts and spreads the remainder of fractions", function()
    local parts = data.split(numbered(10), {5, 3, 2}, 1)
    T.eq(#parts[1] .. " " .. #parts[2] .. " " .. #parts[3], "5 3 2")
    local thirds = data.split(numbered(10), {1 / 3, 1 / 3, 1 / 3}, 1)
    T.eq(#thirds[1] + #thirds[2] + #thirds[3], 10)
    T.eq(#thirds[1], 4)
  end)

  it("repeats for a seed without touching the global RNG", function()
    lunet.manual_seed(5)
    local a = data.split(numbered(20), {0.5, 0.5}, 9)
    local r1 = lunet.rand(3)
    lunet.manual_seed(5)
    local b = data.split(numbered(20), {0.5, 0.5}, 9)
    T.close(lunet.rand(3), r1)
    lunet.manual_seed(5)
    T.close(lunet.rand(3), r1)
    for i = 1, 10 do T.eq(a[1][i][2], b[1][i][2]) end
    local c = data.split(numbered(20), {0.5, 0.5}, 10)
    local differs = false
    for i = 1, 10 do differs = differs or a[1][i][2] ~= c[1][i][2] end
    T.truthy(differs, "another seed gives another split")
  end)

  it("uses the global RNG without a seed, reproducibly", function()
    lunet.manual_seed(3)
    local a = data.split(numbered(20), {10, 10})
    lunet.manual_seed(3)
    local b = data.split(numbered(20), {10, 10})
    for i = 1, 10 do T.eq(a[2][i][2], b[2][i][2]) end
  end)

  it("refuses sizes that do not add up", function()
    T.errors(function() data.split(numbered(10), {0.5, 0.4}) end, "split: fractions must sum to 1, got 0.9")
    T.errors(function() data.split(numbered(10), {5, 4}) end, "split: counts sum to 9, but the dataset has 10 samples")
    T.errors(function() data.split(numbered(10), {}) end, "sizes must be a non-empty list")
  end)
end)
