-- data.DataLoader: batch counts, order, seeded shuffles, hooks, datasets of
-- every kind (tensor-backed, plain Lua tables, a Lua class).
local data = lunet.data

local function numbered(n)
  local x = lunet.arange(1, n + 1):view(n, 1):float()
  return data.TensorDataset(x, lunet.arange(1, n + 1, {dtype = "int64"}))
end

-- every batch's labels as one list, and the batch sizes
local function run(loader)
  local order, sizes = {}, {}
  for xb, yb in loader:batches() do
    sizes[#sizes + 1] = yb:size(1)
    for _, v in ipairs(yb:totable()) do order[#order + 1] = v end
    T.values(xb:view(-1), yb:totable()) -- x and y stay paired
  end
  return order, sizes
end

describe("data.DataLoader", function()
  it("counts batches with and without drop_last", function()
    local ds = numbered(10)
    local a = data.DataLoader(ds, {batch_size = 4})
    T.eq(#a, 3)
    local _, sizes = run(a)
    T.eq(table.concat(sizes, ","), "4,4,2")
    local b = data.DataLoader(ds, {batch_size = 4, drop_last = true})
    T.eq(#b, 2)
    _, sizes = run(b)
    T.eq(table.concat(sizes, ","), "4,4")
    T.eq(#data.DataLoader(ds, {batch_size = 5, drop_last = true}), 2)
    T.eq(#data.DataLoader(ds), 10)
    T.eq(#data.DataLoader(numbered(3), {batch_size = 4, drop_last = true}), 0)
  end)

  it("keeps the dataset order without shuffle", function()
    local order = run(data.DataLoader(numbered(7), {batch_size = 3}))
    T.eq(table.concat(order, ","), "1,2,3,4,5,6,7")
  end)

  it("shuffles into a permutation, the same for the same seed", function()
    local o1 = run(data.DataLoader(numbered(50), {batch_size = 8, shuffle = true, seed = 11}))
    local o2 = run(data.DataLoader(numbered(50), {batch_size = 8, shuffle = true, seed = 11}))
    local o3 = run(data.DataLoader(numbered(50), {batch_size = 8, shuffle = true, seed = 12}))
    T.eq(table.concat(o1, ","), table.concat(o2, ","))
    T.truthy(table.concat(o1, ",") ~= table.concat(o3, ","), "another seed, another order")
    local sorted = table.move(o1, 1, #o1, 1, {})
    table.sort(sorted)
    for i = 1, 50 do T.eq(sorted[i], i) end
    T.truthy(table.concat(o1, ",") ~= table.concat(sorted, ","), "shuffled")
  end)

  it("draws a new order each epoch, repeating across runs", function()
    local l1 = data.DataLoader(numbered(30), {batch_size = 30, shuffle = true, seed = 3})
    local l2 = data.DataLoader(numbered(30), {batch_size = 30, shuffle = true, seed = 3})
    local e1, e2 = table.concat(run(l1), ","), table.concat(run(l1), ",")
    T.truthy(e1 ~= e2, "epochs differ")
    T.eq(table.concat(run(l2), ","), e1)
    T.eq(table.concat(run(l2), ","), e2)
  end)

  it("shuffles from the global RNG without a seed, reproducibly under manual_seed", function()
    local loader = data.DataLoader(numbered(40), {batch_size = 16, shuffle = true})
    lunet.manual_seed(7)
    local a = table.concat(run(loader), ",")
    lunet.manual_seed(7)
    T.eq(table.concat(run(loader), ","), a)
    lunet.manual_seed(8)
    T.truthy(table.concat(run(loader), ",") ~= a, "another global seed")
  end)

  it("hands out fresh tensors: a kept batch is not overwritten", function()
    local it_ = data.DataLoader(numbered(6), {batch_size = 3}):batches()
    local x1 = it_()
    local x2 = it_()
    T.values(x1:view(-1), {1, 2, 3})
    T.values(x2:view(-1), {4, 5, 6})
  end)

  it("calls transform on the first field and target_transform on the second", function()
    local seen = {}
    local loader = data.DataLoader(numbered(4), {batch_size = 2,
      transform = function(x) seen[#seen + 1] = x:shape()[1] .. "x" .. x:shape()[2]; return x * 100 end,
      target_transform = function(y) T.eq(y:dtype(), "int64"); return y - 1 end})
    local got = {}
    for xb, yb in loader:batches() do
      got[#got + 1] = string.format("%g %g", table.unpack(xb:view(-1):totable())) .. "|" .. table.concat(yb:totable(), " ")
    end
    T.eq(table.concat(got, ";"), "100 200|0 1;300 400|2 3")
    T.eq(table.concat(seen, ","), "2x1,2x1")
  end)

  it("accepts a callable table as a transform", function()
    local t = setmetatable({}, {__call = function(_, x) return x + 1 end})
    local xb = data.DataLoader(numbered(2), {batch_size = 2, transform = t}):batches()()
    T.values(xb:view(-1), {2, 3})
  end)

  it("reads a plain Lua table of samples and stacks tensors and numbers", function()
    local samples = {}
    for i = 1, 5 do samples[i] = {lunet.full({2}, i + 0.0), i, i / 2} end
    local loader = data.DataLoader(samples, {batch_size = 2})
    T.eq(#loader, 3)
    local it_ = loader:batches()
    local xb, yb, zb = it_()
    T.values(xb, {{1, 1}, {2, 2}}, 0, "float32")
    T.values(yb, {1, 2}, 0, "int64")
    T.values(zb, {0.5, 1}, 0, "float32")
    it_()
    xb, yb = it_()
    T.shape(xb, {1, 2})
    T.values(yb, {5})
    T.eq(it_(), nil)
  end)

  it("reads single-tensor samples", function()
    local samples = {lunet.tensor{1, 2}, lunet.tensor{3, 4}, lunet.tensor{5, 6}}
    local got = {}
    for xb in data.DataLoader(samples, {batch_size = 2}):batches() do got[#got + 1] = xb end
    T.values(got[1], {{1, 2}, {3, 4}})
    T.values(got[2], {{5, 6}})
  end)

  it("reads a Lua class with __len and __index, calling ds[i] with the shuffled positions", function()
    local asked = {}
    local Class = {}
    Class.__len = function() return 6 end
    Class.__index = function(_, i)
      if type(i) ~= "number" then return nil end -- the loader asks for a batch method
      asked[#asked + 1] = i
      return {lunet.tensor{i + 0.0}, i} end
    local ds = setmetatable({}, Class)
    local order = run(data.DataLoader(ds, {batch_size = 4, shuffle = true, seed = 1}))
    T.eq(table.concat(order, ","), table.concat(asked, ","))
    local seen = {}
    for _, v in ipairs(order) do seen[v] = true end
    for i = 1, 6 do T.truthy(seen[i], "sample " .. i) end
  end)

  it("calls collate with the samples of a batch", function()
    local calls = {}
    local loader = data.DataLoader(numbered(5), {batch_size = 2, collate = function(samples)
      calls[#calls + 1] = #samples
      local s = 0
      for _, smp in ipairs(samples) do s = s + smp[2] end
      return lunet.tensor{s}, #samples
    end})
    local sums = {}
    for s, n in loader:batches() do sums[#sums + 1] = s:item() .. "/" .. n end
    T.eq(table.concat(sums, " "), "3/2 7/2 5/1")
    T.eq(table.concat(calls, ","), "2,2,1")
  end)

  it("uses batch of Subset and Concat", function()
    local c = data.Concat{numbered(3), data.Subset(numbered(5), {5, 4})}
    local order = run(data.DataLoader(c, {batch_size = 2}))
    T.eq(table.concat(order, ","), "1,2,3,5,4")
  end)

  it("handles an empty dataset", function()
    local loader = data.DataLoader({}, {batch_size = 2, shuffle = true})
    T.eq(#loader, 0)
    for _ in loader:batches() do error("no batch expected") end
  end)

  it("refuses bad arguments", function()
    T.errors(function() data.DataLoader(5) end, "DataLoader: argument 1 must be a dataset")
    T.errors(function() data.DataLoader({}, {batch_size = 0}) end, "batch_size must be a positive integer, got 0")
    T.errors(function() data.DataLoader({}, {batch = 2}) end, "DataLoader: unknown option 'batch'")
    T.errors(function() data.DataLoader({}, {shuffle = 1}) end, "option shuffle must be a boolean, got number")
    T.errors(function() data.DataLoader({}, {transform = 1}) end, "option transform must be a function")
    T.errors(function() data.DataLoader({}, {seed = 1.5}) end, "seed must be an integer")
  end)

  it("batches (60000,1,28,28) images by 128 into 469 batches", function()
    local ds = data.TensorDataset(lunet.zeros(60000, 1, 28, 28), lunet.ones(60000, {dtype = "int64"}))
    local loader = data.DataLoader(ds, {batch_size = 128, shuffle = true, seed = 1})
    local n, last = 0, nil
    for xb, yb in loader:batches() do n = n + 1; last = xb end
    T.eq(n, 469)
    T.eq(#loader, 469)
    T.shape(last, {60000 - 468 * 128, 1, 28, 28})
  end)
end)
