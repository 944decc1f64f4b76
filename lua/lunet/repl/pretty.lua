-- lunet.repl.pretty: how the REPL shows a value. format(v [, opts]) gives
-- readable text for anything (nested tables laid out to the terminal width,
-- module trees with parameter counts, tensors as they print), and never
-- raises, whatever v's metatable does: tables are walked with rawget/next,
-- and the only metamethod ever called is __tostring, under pcall.
-- duration(seconds) gives a short human time ("12.3 ms", "2 min 3.4 s").
local core = require "lunet.core"
local Module = require "lunet.nn.module"

local M = {}

-- past this many table entries in one format() call, tables show as {...}:
-- a table reached many times through different paths cannot blow up the output
local ENTRY_BUDGET = 10000

local RESERVED = {}
for w in ([[and break do else elseif end false for function goto if in local
  nil not or repeat return then true until while]]):gmatch("%a+") do RESERVED[w] = true end

local ESCAPES = {[7] = "\\a", [8] = "\\b", [9] = "\\t", [10] = "\\n", [11] = "\\v", [12] = "\\f",
                 [13] = "\\r", [34] = '\\"', [92] = "\\\\"}

-- a string in double quotes, control bytes and invalid UTF-8 escaped, valid UTF-8 kept
local function quote(s)
  if not s:find('[%c"\\\128-\255]') then return '"' .. s .. '"' end
  local out, i, n = {'"'}, 1, #s
  while i <= n do
    local b = s:byte(i)
    local len = b >= 0xF0 and 4 or b >= 0xE0 and 3 or b >= 0xC2 and 2 or 1
    local ch = s:sub(i, i + len - 1)
    if b >= 0x80 and (len == 1 or #ch < len or utf8.len(ch) ~= 1) then
      out[#out + 1], i = string.format("\\x%02X", b), i + 1 -- not a valid UTF-8 sequence
    elseif b < 0x80 then
      out[#out + 1] = ESCAPES[b] or ((b < 32 or b == 127) and string.format("\\x%02X", b)) or ch
      i = i + 1
    else
      out[#out + 1], i = ch, i + len
    end
  end
  out[#out + 1] = '"'
  return table.concat(out)
end

local commas = require("lunet.nn.args").commas

local function number_str(x)
  if x ~= x then return "nan" end -- tostring may say "-nan"
  return tostring(x)
end

-- the metatable's __name, or the value's type
local function type_name(v)
  local mt = debug.getmetatable(v)
  local name = type(mt) == "table" and rawget(mt, "__name")
  return type(name) == "string" and name or type(v)
end

-- v's __tostring(v), or "<TypeName>" if that raises or returns a non-string
-- (called directly: tostring would quietly turn a returned number into text)
local function safe_tostring(v)
  local mt = debug.getmetatable(v)
  local f = type(mt) == "table" and rawget(mt, "__tostring")
  local ok, s = pcall(f or tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type_name(v) .. ">"
end

local function has_tostring(v)
  local mt = debug.getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__tostring") ~= nil
end

local function function_str(f)
  local info = debug.getinfo(f, "S")
  if info.what == "C" then return "builtin function" end
  local src = info.source
  local where = (src:sub(1, 1) == "@" or src:sub(1, 1) == "=") and src:sub(2) or info.short_src
  return string.format("function <%s:%d>", where, info.linedefined)
end

local function is_tensor(v)
  local ok, yes = pcall(core.is_tensor, v)
  return ok and yes
end

-- ---- module trees ------------------------------------------------------------

-- the parameters a module registered itself, each tensor counted once over the tree
local function own_params(m, seen)
  local n = 0
  for _, p in ipairs(m:own_parameters()) do
    if not seen[p] then seen[p] = true; n = n + p:numel() end
  end
  return n
end

-- the lines of tostring(m) as {text, own parameter count}
local function module_lines(m)
  local seen, lines = {}, {}
  for i, l in ipairs(Module.tree_lines(m)) do lines[i] = {l[1], l[2] and own_params(l[2], seen) or 0} end
  return lines
end

-- the tree with each line's own count right-aligned, then the totals
local function module_str(m)
  local lines = module_lines(m)
  local text_w, count_w = 0, 0
  for _, l in ipairs(lines) do
    if l[2] > 0 then
      text_w = math.max(text_w, utf8.len(l[1]) or #l[1])
      count_w = math.max(count_w, #commas(l[2]))
    end
  end
  local out = {}
  for i, l in ipairs(lines) do
    if l[2] > 0 then
      local pad = text_w - (utf8.len(l[1]) or #l[1]) + 4 + count_w - #commas(l[2])
      out[i] = l[1] .. string.rep(" ", pad) .. commas(l[2]) .. (l[2] == 1 and " param" or " params")
    else
      out[i] = l[1]
    end
  end
  local total, trainable, dtypes, seen_dtype = 0, 0, {}, {}
  for _, p in ipairs(m:parameters()) do
    total = total + p:numel()
    if p.requires_grad then trainable = trainable + p:numel() end
    local dt = p:dtype()
    if not seen_dtype[dt] then seen_dtype[dt] = true; dtypes[#dtypes + 1] = dt end
  end
  local summary = string.format("%s parameters (%s trainable)", commas(total), commas(trainable))
  if #dtypes > 0 then summary = summary .. ", " .. table.concat(dtypes, "/") end
  out[#out + 1] = summary
  return table.concat(out, "\n")
end

-- ---- values and tables ---------------------------------------------------------

local render -- render(v, state, depth, indent, col) -> text

local function count_entries(t)
  local n, k = 0, next(t)
  while k ~= nil do n = n + 1; k = next(t, k) end
  return n
end

local function hidden(n)
  return string.format("{...} (%d %s)", n, n == 1 and "entry" or "entries")
end

-- the keys of t in display order: 1..n (the array part), sorted strings, then
-- numbers in numeric order, booleans, and the rest by their printed form
local function ordered_keys(t, state, depth)
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local strings, others = {}, {}
  local k = next(t)
  while k ~= nil do
    if type(k) == "string" then strings[#strings + 1] = k
    elseif not (math.type(k) == "integer" and k >= 1 and k <= n) then others[#others + 1] = k end
    k = next(t, k)
  end
  table.sort(strings)
  local printed = {}
  for _, o in ipairs(others) do printed[o] = render(o, state, depth, 0, 0) end
  local RANK = {number = 1, boolean = 2}
  table.sort(others, function(a, b)
    local ra, rb = RANK[type(a)] or 3, RANK[type(b)] or 3
    if ra ~= rb then return ra < rb end
    if ra == 1 and a ~= b then return a < b end
    if ra == 2 then return a == false and b == true end
    if printed[a] ~= printed[b] then return printed[a] < printed[b] end
    return render(rawget(t, a), state, depth, 0, 0) < render(rawget(t, b), state, depth, 0, 0)
  end)
  return n, strings, others, printed
end

local function table_str(t, state, depth, indent, col)
  local total = count_entries(t)
  if total == 0 then return "{}" end
  if depth >= state.depth or state.budget <= 0 then return hidden(total) end
  state.ancestors[t] = true
  local n, strings, others, printed = ordered_keys(t, state, depth + 1)
  local entries, multi, inner = {}, false, indent + 2
  local function add(prefix, v)
    local s = render(v, state, depth + 1, inner, inner + #prefix)
    if s:find("\n", 1, true) then
      multi = true
      -- a block (tensor, module) under its key, so its own columns stay aligned
      if prefix ~= "" and s:sub(1, 1) ~= "{" then s = "\n  " .. s:gsub("\n", "\n  "); prefix = prefix:sub(1, -2) end
    end
    entries[#entries + 1] = prefix .. s
    state.budget = state.budget - 1
  end
  local shown = 0
  local function room() shown = shown + 1; return shown <= state.items end
  for i = 1, n do if room() then add("", rawget(t, i)) end end
  for _, k in ipairs(strings) do
    if room() then
      add(((k:find("^[%a_][%w_]*$") and not RESERVED[k]) and k or "[" .. quote(k) .. "]") .. " = ", rawget(t, k))
    end
  end
  for _, k in ipairs(others) do if room() then add("[" .. printed[k] .. "] = ", rawget(t, k)) end end
  if total > state.items then entries[#entries + 1] = string.format("... (%d more)", total - state.items) end
  state.ancestors[t] = nil

  local one = "{" .. table.concat(entries, ", ") .. "}"
  if not multi and col + (utf8.len(one) or #one) <= state.width then return one end
  for i, e in ipairs(entries) do entries[i] = "  " .. e:gsub("\n", "\n  ") end
  return "{\n" .. table.concat(entries, ",\n") .. "\n}"
end

function render(v, state, depth, indent, col)
  local tv = type(v)
  if tv == "nil" or tv == "boolean" then return tostring(v) end
  if tv == "number" then return number_str(v) end
  if tv == "string" then return quote(v) end
  if tv == "function" then return function_str(v) end
  if tv == "thread" then return "coroutine (" .. coroutine.status(v) .. ")" end
  if is_tensor(v) then return safe_tostring(v) end
  if tv == "table" and state.ancestors[v] then return "<cycle>" end
  if Module.is_module(v) then
    local ok, s = pcall(module_str, v)
    return ok and s or safe_tostring(v)
  end
  if has_tostring(v) then return safe_tostring(v) end
  if tv == "table" then return table_str(v, state, depth, indent, col) end
  if tv == "userdata" then
    local name = type_name(v)
    return name == "userdata" and "<userdata>" or "<userdata " .. name .. ">"
  end
  return "<" .. tv .. ">"
end

local function check_count(opts, key, default, min)
  local x = opts[key]
  if x == nil then return default end
  if math.type(x) ~= "integer" or x < min then
    error(string.format("pretty.format: opts.%s must be an integer >= %d, got %s", key, min, tostring(x)), 3)
  end
  return x
end

--- format(v [, {width, depth = 4, items = 100}]) -> the text the REPL shows for v
-- (no trailing newline). width defaults to the terminal's, else 80.
function M.format(v, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("pretty.format: opts must be a table, got " .. type(opts), 2)
  end
  opts = opts or {}
  local width = opts.width
  if width == nil then
    local ok, cols = pcall(core._repl.terminal_size)
    width = ok and math.type(cols) == "integer" and cols or 80
  end
  local state = {
    width = check_count({width = width}, "width", 80, 1),
    depth = check_count(opts, "depth", 4, 0),
    items = check_count(opts, "items", 100, 0),
    ancestors = {}, budget = ENTRY_BUDGET,
  }
  local ok, s = pcall(render, v, state, 0, 0, 0)
  if ok then return s end
  return "<" .. type_name(v) .. ">" -- a safety net: printing never fails
end

--- duration(seconds) -> "850 ns", "12.3 us", "12.3 ms", "1.24 s", "2 min 3.4 s", "1 h 2 min"
function M.duration(s)
  if type(s) ~= "number" then error("pretty.duration: seconds must be a number, got " .. type(s), 2) end
  if s ~= s then return "nan s" end
  if s < 0 then return "-" .. M.duration(-s) end
  if s == math.huge then return "inf s" end
  local r = tonumber(string.format("%.3g", s)) -- rounded first, so 999.96 ms reads "1 s"
  if r < 60 then
    local units = {{1, "s"}, {1e-3, "ms"}, {1e-6, "us"}, {1e-9, "ns"}}
    for _, u in ipairs(units) do
      if r >= u[1] or u[2] == "ns" then return string.format("%.3g %s", s / u[1], u[2]) end
    end
  end
  local tenths = math.floor(s * 10 + 0.5)
  if tenths < 36000 then return string.format("%d min %.1f s", tenths // 600, (tenths % 600) / 10) end
  local minutes = math.floor(s / 60 + 0.5)
  return string.format("%d h %d min", minutes // 60, minutes % 60)
end

return M
