-- Plain-Lua reference helpers shared by the specs: expected values are
-- computed from a tensor's totable(), never by lunet's kernels.
local R = {}

-- a tensor (or a number) as a flat row-major list, and its shape
function R.flat(x)
  if type(x) == "number" then return {x}, {} end
  local out = {}
  local function walk(v)
    if type(v) == "table" then for i = 1, #v do walk(v[i]) end else out[#out + 1] = v end
  end
  walk(x:totable())
  return out, x:shape()
end

-- nested table of `shape` whose element at the 1-based multi-index idx is fn(idx)
function R.build(shape, fn)
  local idx = {}
  local function rec(d)
    if d > #shape then return fn(idx) end
    local out = {}
    for i = 1, shape[d] do idx[d] = i; out[i] = rec(d + 1) end
    return out
  end
  return rec(1)
end

return R
