-- lunet.data.loader: data.DataLoader, batches of a dataset in (shuffled) order.
-- A dataset with a batch method (TensorDataset, Subset and Concat of one)
-- is gathered in C one call per field, with no Lua call per sample; any
-- other dataset is read sample by sample and put together by collate.
local core = require "lunet.core"
local C = core._loader

return function(data)

local is_tensor = core.is_tensor

local function callable(f)
  if type(f) == "function" then return true end
  local mt = getmetatable(f)
  return type(mt) == "table" and mt.__call ~= nil
end

-- a list of samples' values of one field -> a tensor (stacked tensors, or
-- numbers as a 1-d int64 / float32 tensor); other values stay a list
local function collate_field(values)
  local first = values[1]
  if is_tensor(first) then return core.stack(values, 1) end
  if type(first) == "number" then
    local ints = true
    for _, v in ipairs(values) do
      if math.type(v) ~= "integer" then ints = false break end
    end
    return core.tensor(values, {dtype = ints and "int64" or "float32"})
  end
  return values
end

-- the default collate: samples (tensors, numbers or tables of them) -> the
-- batch's fields as a list
function data.default_collate(samples)
  local first = samples[1]
  if type(first) ~= "table" then return {collate_field(samples)} end
  local fields = {}
  for f = 1, #first do
    local column = {}
    for k, s in ipairs(samples) do
      if s[f] == nil then
        error(string.format("collate: sample %d has no field %d (the first sample has %d)", k, f, #first), 2)
      end
      column[k] = s[f]
    end
    fields[f] = collate_field(column)
  end
  return fields
end

-- what batch or collate returned -> a list of fields with its count in n
local function fields_of(...)
  local n = select("#", ...)
  local first = ...
  if n == 1 and type(first) == "table" and not is_tensor(first) then
    local f = table.move(first, 1, #first, 1, {})
    f.n = #first
    return f
  end
  return {n = n, ...}
end

local Loader = {}
Loader.__index = Loader
Loader.__name = "lunet.data.DataLoader"

local OPTIONS = {batch_size = "number", shuffle = "boolean", drop_last = "boolean", seed = "number",
                 transform = "callable", target_transform = "callable", collate = "callable"}

function data.DataLoader(ds, opts)
  local ok, n = pcall(function() return #ds end)
  if not ok or math.type(n) ~= "integer" then
    error("DataLoader: argument 1 must be a dataset (a value with #ds and ds[i])", 2)
  end
  opts = opts or {}
  if type(opts) ~= "table" then error("DataLoader: argument 2 must be an options table", 2) end
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then error(string.format("DataLoader: unknown option '%s'", tostring(k)), 2) end
    if (want == "callable" and not callable(v)) or (want ~= "callable" and type(v) ~= want) then
      error(string.format("DataLoader: option %s must be a %s, got %s", k,
        want == "callable" and "function" or want, type(v)), 2)
    end
  end
  local bs = opts.batch_size or 1
  if math.type(bs) ~= "integer" or bs < 1 then
    error("DataLoader: batch_size must be a positive integer, got " .. tostring(bs), 2)
  end
  if opts.seed ~= nil and math.type(opts.seed) ~= "integer" then
    error("DataLoader: seed must be an integer, got " .. tostring(opts.seed), 2)
  end
  return setmetatable({
    dataset = ds, batch_size = bs, shuffle = opts.shuffle or false, drop_last = opts.drop_last or false,
    seed = opts.seed, transform = opts.transform, target_transform = opts.target_transform,
    collate = opts.collate, epoch = 0,
    batched = opts.collate == nil and data._has_batch(ds),
  }, Loader)
end

local function count(n, bs, drop_last)
  if drop_last then return n // bs end
  return (n + bs - 1) // bs
end

function Loader.__len(self) return count(#self.dataset, self.batch_size, self.drop_last) end

-- the positions of one epoch: 1..n, or a permutation (the loader's own
-- generator seeded with seed and the epoch number, else lunet's global RNG)
local function order(self, n)
  if not self.shuffle then return core.arange(1, n + 1, {dtype = "int64"}) end
  self.epoch = self.epoch + 1
  if self.seed then return C.perm(n, self.seed, self.epoch) end
  return core.randperm(n)
end

-- for xb, yb in loader:batches() do ... end: one epoch
function Loader:batches()
  local ds, bs = self.dataset, self.batch_size
  local n = #ds
  local nb = count(n, bs, self.drop_last)
  local perm = n > 0 and order(self, n) or nil
  local list = (not self.batched and perm) and perm:totable() or nil
  local collate = self.collate or data.default_collate
  local k, start = 0, 1
  return function()
    k = k + 1
    if k > nb then return nil end
    local len = math.min(bs, n - start + 1)
    local f
    if self.batched then
      f = fields_of(ds:batch(perm:narrow(1, start, len)))
    else
      local samples = {}
      for j = 1, len do samples[j] = ds[list[start + j - 1]] end
      f = fields_of(collate(samples))
    end
    start = start + len
    if self.transform then f[1] = self.transform(f[1]) end
    if self.target_transform and f.n >= 2 then f[2] = self.target_transform(f[2]) end
    return table.unpack(f, 1, f.n)
  end
end

end
