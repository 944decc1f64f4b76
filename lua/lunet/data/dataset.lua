-- lunet.data.dataset: the dataset protocol (`#ds`, `ds[i]`, optional
-- `ds:batch(idx)`), TensorDataset, Subset, Concat and split.
local core = require "lunet.core"
local C = core._loader

return function(data)

local is_tensor = core.is_tensor

-- does ds have a batch method? (a plain table or a class that raises on
-- unknown keys has none)
function data._has_batch(ds)
  local ok, b = pcall(function() return ds.batch end)
  return ok and type(b) == "function"
end

local function check_index(fname, i, n)
  if math.type(i) ~= "integer" then
    error(string.format("%s: index must be an integer, got %s", fname, tostring(i)), 3)
  end
  if i < 1 or i > n then
    error(string.format("%s: index %d is out of range (size %d)", fname, i, n), 3)
  end
end

-- a dataset class whose integer keys go to get(self, i) and other keys to methods
local function class(name, methods)
  methods.__name = name
  local mt = {__name = "lunet.data." .. name}
  mt.__len = function(self) return self.n end
  mt.__index = function(self, k)
    if math.type(k) == "integer" or type(k) == "number" then
      check_index(name, k, self.n)
      return methods.get(self, k)
    end
    return methods[k]
  end
  mt.__members = {methods} -- what __index offers, for the REPL's completion
  return mt
end

-- a 1-d int64 tensor of 1-based positions -> a Lua list of integers
local function positions(idx) return idx:totable() end

-- ---- TensorDataset ------------------------------------------------------------
local TensorDataset = {}
local TD_MT = class("TensorDataset", TensorDataset)

function TensorDataset.get(self, i)
  local s = {}
  for k, t in ipairs(self.tensors) do s[k] = t[i] end
  return s
end

-- rows of every tensor at the 1-based positions of an int64 tensor, one C gather each
function TensorDataset.batch(self, idx)
  local out = {}
  for k, t in ipairs(self.tensors) do out[k] = C.gather(t, idx) end
  return table.unpack(out, 1, #self.tensors)
end

function data.TensorDataset(...)
  local tensors = {...}
  if select("#", ...) == 0 then error("TensorDataset: expected at least one tensor", 2) end
  local n
  for k = 1, select("#", ...) do
    local t = tensors[k]
    if not is_tensor(t) then
      error(string.format("TensorDataset: argument %d must be a tensor, got %s", k, type(t)), 2)
    end
    if t:dim() == 0 then error(string.format("TensorDataset: argument %d is a 0-dim tensor", k), 2) end
    local m = t:size(1)
    if n and m ~= n then
      error(string.format("TensorDataset: argument %d has %d rows, expected %d like argument 1", k, m, n), 2)
    end
    n = m
  end
  return setmetatable({tensors = tensors, n = n}, TD_MT)
end

-- ---- Subset -------------------------------------------------------------------
local Subset = {}
local SUB_MT = class("Subset", Subset)

function Subset.get(self, i) return self.dataset[self.indices[i]] end

function Subset.batch(self, idx)
  return self.dataset:batch(C.gather(self.index, idx))
end

-- indices: a Lua list or a 1-d int64 tensor of 1-based positions in ds
function data.Subset(ds, indices)
  local n = #ds
  if is_tensor(indices) then
    if indices:dtype() ~= "int64" or indices:dim() ~= 1 then
      error("Subset: indices must be a 1-d int64 tensor or a list of integers", 2)
    end
    indices = indices:totable()
  elseif type(indices) ~= "table" then
    error("Subset: indices must be a 1-d int64 tensor or a list of integers, got " .. type(indices), 2)
  end
  for k, i in ipairs(indices) do
    if math.type(i) ~= "integer" or i < 1 or i > n then
      error(string.format("Subset: index %s at position %d is out of range (dataset size %d)", tostring(i), k, n), 2)
    end
  end
  local self = {dataset = ds, indices = indices, n = #indices, classes = ds.classes}
  self.index = core.tensor(#indices > 0 and indices or {0}, {dtype = "int64"})
  if #indices == 0 then self.index = self.index:narrow(1, 1, 0) end
  if not data._has_batch(ds) then self.batch = false end
  return setmetatable(self, SUB_MT)
end

-- ---- Concat -------------------------------------------------------------------
local Concat = {}
local CAT_MT = class("Concat", Concat)

-- the part holding position i and the position inside it (binary search)
local function locate(self, i)
  local lo, hi = 1, #self.datasets
  while lo < hi do
    local mid = (lo + hi) // 2
    if self.ends[mid] < i then lo = mid + 1 else hi = mid end
  end
  return lo, i - (self.ends[lo] - #self.datasets[lo])
end

function Concat.get(self, i)
  local d, j = locate(self, i)
  return self.datasets[d][j]
end

-- each part gathers its own rows; the fields are joined in the order asked
function Concat.batch(self, idx)
  local pos = positions(idx)
  local fields, order = nil, {}
  local parts = {}
  for k, i in ipairs(pos) do
    check_index("Concat", i, self.n)
    local d, j = locate(self, i)
    local p = parts[d] or {list = {}, at = {}}
    parts[d] = p
    p.list[#p.list + 1] = j
    order[k] = {d, #p.list}
  end
  -- gather per part, then concatenate in part order and reorder to idx's order
  local pieces, offset, where = {}, {}, 0
  for d = 1, #self.datasets do
    local p = parts[d]
    if p then
      local got = {self.datasets[d]:batch(core.tensor(p.list, {dtype = "int64"}))}
      offset[d] = where
      where = where + #p.list
      pieces[#pieces + 1] = got
      fields = fields or #got
    end
  end
  if not fields then return end
  local perm = {}
  for k, o in ipairs(order) do perm[k] = offset[o[1]] + o[2] end
  local perm_t = core.tensor(perm, {dtype = "int64"})
  local out = {}
  for f = 1, fields do
    local list = {}
    for k, got in ipairs(pieces) do list[k] = got[f] end
    out[f] = C.gather(#list == 1 and list[1] or core.cat(list, 1), perm_t)
  end
  return table.unpack(out, 1, fields)
end

function data.Concat(list)
  if type(list) ~= "table" or #list == 0 then error("Concat: expected a non-empty list of datasets", 2) end
  local ends, n, batched = {}, 0, true
  for k, ds in ipairs(list) do
    local ok, len = pcall(function() return #ds end)
    if not ok or math.type(len) ~= "integer" then
      error(string.format("Concat: element %d is not a dataset (no length)", k), 2)
    end
    n = n + len
    ends[k] = n
    if not data._has_batch(ds) then batched = false end
  end
  local self = {datasets = list, ends = ends, n = n, classes = list[1].classes}
  if not batched then self.batch = false end
  return setmetatable(self, CAT_MT)
end

-- ---- split --------------------------------------------------------------------
-- fractions (summing to 1) or counts (summing to #ds) -> Subsets of a seeded
-- permutation. With a seed the permutation comes from its own generator and
-- leaves lunet's global RNG alone; without one it is lunet.randperm (global).
function data.split(ds, sizes, seed)
  local n = #ds
  if type(sizes) ~= "table" or #sizes == 0 then error("split: sizes must be a non-empty list", 2) end
  if seed ~= nil and math.type(seed) ~= "integer" then error("split: seed must be an integer", 2) end
  local counts, total, fractions = {}, 0, false
  for k, s in ipairs(sizes) do
    if type(s) ~= "number" or s < 0 then error(string.format("split: size %d must be a non-negative number", k), 2) end
    if math.type(s) == "float" then fractions = true end
    total = total + s
  end
  if fractions then
    if math.abs(total - 1) > 1e-6 then error(string.format("split: fractions must sum to 1, got %g", total), 2) end
    local given = 0
    for k, s in ipairs(sizes) do counts[k] = math.floor(s * n); given = given + counts[k] end
    for k = 1, n - given do counts[(k - 1) % #sizes + 1] = counts[(k - 1) % #sizes + 1] + 1 end -- remainder round-robin
  else
    if total ~= n then error(string.format("split: counts sum to %d, but the dataset has %d samples", total, n), 2) end
    for k, s in ipairs(sizes) do counts[k] = s end
  end
  local perm = seed and C.perm(n, seed) or core.randperm(n)
  local out, start = {}, 1
  for k, c in ipairs(counts) do
    out[k] = data.Subset(ds, c > 0 and perm:narrow(1, start, c) or {})
    start = start + c
  end
  return out
end

end
