-- Assertions for the Lua specs. Each raises with what was expected and got.
local T = {}

local function fail(msg, level) error(msg, (level or 1) + 2) end

local function show(v)
  if type(v) == "table" then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = show(x) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return tostring(v)
end
T.show = show

function T.eq(got, want, what)
  if got ~= want then fail(string.format("%s: expected %s, got %s", what or "value", show(want), show(got))) end
end

function T.truthy(v, what) if not v then fail((what or "condition") .. " is false") end end

function T.near(got, want, tol, what)
  tol = tol or 1e-6
  local ok = (got == want) or (got ~= got and want ~= want) or math.abs(got - want) <= tol * math.max(1, math.abs(want))
  if not ok then fail(string.format("%s: expected %.10g, got %.10g (tol %g)", what or "value", want, got, tol)) end
end

-- deep comparison of nested tables of numbers with a tolerance
local function same(a, b, tol, path)
  if type(b) == "table" then
    if type(a) ~= "table" then return false, path .. ": expected a table, got " .. show(a) end
    if #a ~= #b then return false, string.format("%s: expected %d entries, got %d", path, #b, #a) end
    for i = 1, #b do
      local ok, msg = same(a[i], b[i], tol, path .. "[" .. i .. "]")
      if not ok then return false, msg end
    end
    return true
  end
  if type(a) ~= "number" then return false, path .. ": expected a number, got " .. show(a) end
  local ok = (a == b) or (a ~= a and b ~= b) or math.abs(a - b) <= tol * math.max(1, math.abs(b))
  if not ok then return false, string.format("%s: expected %.10g, got %.10g", path, b, a) end
  return true
end

-- a tensor's values (and optionally its dtype) against nested tables
function T.values(t, want, tol, dtype)
  if not lunet.is_tensor(t) then fail("expected a tensor, got " .. type(t)) end
  if dtype and t:dtype() ~= dtype then fail("dtype: expected " .. dtype .. ", got " .. t:dtype()) end
  local ok, msg = same(t:totable(), want, tol or 1e-6, "tensor")
  if not ok then fail(msg) end
end

function T.shape(t, want)
  local got = t:shape()
  if show(got) ~= show(want) then fail("shape: expected " .. show(want) .. ", got " .. show(got)) end
end

-- fn must raise an error whose message contains `pattern` (plain text)
function T.errors(fn, pattern)
  local ok, err = pcall(fn)
  if ok then fail("expected an error matching '" .. pattern .. "', but the call succeeded") end
  err = tostring(err)
  if not err:find(pattern, 1, true) then
    fail("expected an error containing '" .. pattern .. "', got: " .. err)
  end
end

-- two tensors elementwise within tol
function T.close(a, b, tol)
  T.shape(a, b:shape())
  local ok, msg = same(a:double():totable(), b:double():totable(), tol or 1e-6, "tensor")
  if not ok then fail(msg) end
end

return T
