-- Argument checks shared by nn.F and the layers: every message names the
-- function, the argument and what was expected. `level` is passed through to
-- error() so that the message points at the user's call.
local core = require "lunet.core"

local args = {}

-- a list's entries joined, each through tostring: a message about a malformed
-- shape ({{1}, 2} or {1, nil, 3}) must not fail itself in table.concat
local function join(list, sep)
  local parts = {}
  for i = 1, #list do parts[i] = tostring(list[i]) end
  return table.concat(parts, sep)
end

function args.shape_str(t)
  local s = core.is_tensor(t) and t:shape() or t
  return #s == 0 and "scalar" or join(s, "x")
end

-- 1234567 -> "1,234,567" (parameter counts in summaries and the REPL)
function args.commas(n)
  local s = tostring(n):reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return (s:gsub("^(-?),", "%1"))
end

function args.tensor(fname, name, t, level)
  if not core.is_tensor(t) then
    error(string.format("%s: %s must be a tensor, got %s", fname, name, type(t)), (level or 2) + 1)
  end
  return t
end

function args.float(fname, name, t, level)
  args.tensor(fname, name, t, (level or 2) + 1)
  if t:dtype() == "int64" then
    error(string.format("%s: %s must be float32 or float64, got int64", fname, name), (level or 2) + 1)
  end
  return t
end

function args.int64(fname, name, t, level)
  args.tensor(fname, name, t, (level or 2) + 1)
  if t:dtype() ~= "int64" then
    error(string.format("%s: %s must be an int64 tensor (class indices), got %s", fname, name, t:dtype()), (level or 2) + 1)
  end
  return t
end

-- the floating-point tensors of one kernel call must share a dtype
function args.same_dtype(fname, level, ...)
  local first, first_name
  local list = table.pack(...)
  for i = 1, list.n, 2 do
    local name, t = list[i], list[i + 1]
    if t ~= nil then
      if not first then first, first_name = t:dtype(), name
      elseif t:dtype() ~= first then
        error(string.format("%s: %s is %s but %s is %s (convert one: x:float(), x:double() or model:double())",
                            fname, first_name, first, name, t:dtype()), (level or 2) + 1)
      end
    end
  end
end

--- options table: nil or a table whose keys are all in `allowed`
function args.opts(fname, o, allowed, level)
  if o == nil then return {} end
  if type(o) ~= "table" or core.is_tensor(o) then
    error(string.format("%s: options must be a table, got %s", fname, core.is_tensor(o) and "a tensor" or type(o)), (level or 2) + 1)
  end
  for k in pairs(o) do
    if not allowed[k] then
      local names = {}
      for n in pairs(allowed) do names[#names + 1] = n end
      table.sort(names)
      error(string.format("%s: unknown option '%s' (expected %s)", fname, tostring(k), table.concat(names, ", ")), (level or 2) + 1)
    end
  end
  return o
end

--- options checked against `defaults` (its keys are the allowed names; false
-- stands for "no value"), with the defaults filled in, as a new table
function args.options(fname, o, defaults, level)
  local keys = {}
  for k in pairs(defaults) do keys[k] = true end
  local out = {}
  for k, v in pairs(args.opts(fname, o, keys, (level or 2) + 1)) do out[k] = v end
  for k, v in pairs(defaults) do if out[k] == nil then out[k] = v end end
  return out
end

function args.set(...)
  local s = {}
  for _, k in ipairs{...} do s[k] = true end
  return s
end

function args.int(fname, name, v, min, level)
  if math.type(v) ~= "integer" then
    error(string.format("%s: %s must be an integer, got %s", fname, name, tostring(v)), (level or 2) + 1)
  end
  if min and v < min then
    error(string.format("%s: %s must be >= %d, got %d", fname, name, min, v), (level or 2) + 1)
  end
  return v
end

function args.number(fname, name, v, lo, hi, level)
  if type(v) ~= "number" or v ~= v then
    error(string.format("%s: %s must be a number, got %s", fname, name, tostring(v)), (level or 2) + 1)
  end
  if (lo and v < lo) or (hi and v > hi) then
    error(string.format("%s: %s must be in [%s, %s], got %s", fname, name, tostring(lo or "-inf"), tostring(hi or "inf"), tostring(v)), (level or 2) + 1)
  end
  return v
end

--- pair(fname, name, v, min): an int or {a, b} -> a, b (PyTorch's _pair)
function args.pair(fname, name, v, min, level)
  level = (level or 2) + 1
  if type(v) == "table" then
    if #v ~= 2 then error(string.format("%s: %s must be an integer or a pair {h, w}, got a table of %d", fname, name, #v), level) end
    return args.int(fname, name, v[1], min, level), args.int(fname, name, v[2], min, level)
  end
  if math.type(v) ~= "integer" then
    error(string.format("%s: %s must be an integer or a pair {h, w}, got %s", fname, name, tostring(v)), level)
  end
  args.int(fname, name, v, min, level)
  return v, v
end

function args.reduction(fname, r, allowed, level)
  r = r == nil and "mean" or r
  allowed = allowed or {mean = true, sum = true, none = true}
  if not allowed[r] then
    local names = {}
    for n in pairs(allowed) do names[#names + 1] = '"' .. n .. '"' end
    table.sort(names)
    error(string.format("%s: reduction must be %s, got %s", fname, table.concat(names, ", "), tostring(r)), (level or 2) + 1)
  end
  return r
end

-- elementwise loss tensor -> reduced as asked
function args.reduce(loss, reduction)
  if reduction == "mean" then return loss:mean() end
  if reduction == "sum" then return loss:sum() end
  return loss
end

-- ---- for layers ----------------------------------------------------------------
-- constructor checks raise at the user's nn.Layer(...) call: check <- init <- new <- user

function args.layer_int(cls, name, v)
  if math.type(v) ~= "integer" or v < 1 then
    error(string.format("%s: %s must be a positive integer, got %s", cls, name, tostring(v)), 4)
  end
  return v
end

-- (a tail call: opts raises at level 3 + 1 = the user, as layer_int does)
function args.layer_opts(cls, o, allowed) return args.opts(cls, o, allowed, 3) end

-- a forward's input must be a tensor (raised at the caller of forward)
function args.need_tensor(label, x)
  if not core.is_tensor(x) then error(string.format("%s: input must be a tensor, got %s", label, type(x)), 3) end
  return x
end

-- runs f(...) (an nn.F function named fname) for a layer: an error comes
-- back under the layer's label with the input's shape. Layers tail-call it
-- (return args.as_layer(...)), so level 2 is the caller of forward.
function args.as_layer(label, x, fname, f, ...)
  local res = table.pack(pcall(f, ...))
  if not res[1] then
    local msg = tostring(res[2])
    local at = msg:find(fname .. ": ", 1, true)
    if at then msg = msg:sub(at + #fname + 2) end
    error(string.format("%s: %s (input shape %s)", label, msg, args.shape_str(x)), 2)
  end
  return table.unpack(res, 2, res.n)
end

-- a layer option as its repr shows it: 3, {3, 3}, "same"
function args.repr(v)
  if type(v) == "table" then return "{" .. join(v, ", ") .. "}" end
  if type(v) == "string" then return '"' .. v .. '"' end
  return tostring(v)
end

return args
