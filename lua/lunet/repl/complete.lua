-- lunet.repl.complete: what a value offers (the REPL's dir) and Tab completion.
--
-- Everything here reads tables raw (rawget, next) and never calls an __index,
-- __pairs or any other metamethod: completing `run.params.` must not query a
-- database, and a broken object must not break the prompt. What a value offers
-- comes from its "sources": tables whose string keys are its names. A source
-- is read one of three ways:
--   "values"  rawget gives the member itself (a table's own fields, a class)
--   "methods" only function values are members' values; other keys are names
--   "names"   the keys are names whose values are only known by asking (lazy)
--
-- An __index function cannot be read without calling it, so a class whose
-- __index is a function declares what it offers in its metatable:
--   mt.__members = {t1, t2, ...}
-- a list of tables; in each, function values are methods and other keys are
-- names only, never read (lazy fields). Without __members such a class offers
-- only its own raw fields.
local core = require "lunet.core"
local Module = require "lunet.nn.module"

local M = {}

local MAX_CANDIDATES = 300 -- what Tab offers at most
local MAX_SCAN = 100000    -- keys read from one table, so a huge table stays quick
local MAX_DEPTH = 32       -- __index and super links followed

-- the fields a tensor's C __index answers besides its methods (src/l_autograd.c)
local TENSOR_FIELDS = {grad = true, requires_grad = true, is_leaf = true, grad_fn = true}

local KEYWORDS = {}
for kw in ([[and break do else elseif end false for function goto if in
             local nil not or repeat return then true until while]]):gmatch("%a+") do
  KEYWORDS[kw] = true
end

local function metatable_of(v)
  local ok, mt = pcall(getmetatable, v)
  if ok and type(mt) == "table" then return mt end
end

-- the sources of x, in the order its own lookup consults them
local function sources(x)
  local out, seen = {}, {}
  local function add(t, how)
    if type(t) == "table" and not seen[t] then
      seen[t] = true
      out[#out + 1] = {t = t, how = how}
    end
  end
  if core.is_tensor(x) then
    add(core.Tensor, "values")
    add(TENSOR_FIELDS, "names")
    return out
  end
  if Module.is_module(x) then
    -- raw fields, then the registries and the class chain, as Module.__index
    add(x, "values")
    for _, r in ipairs{"_parameters", "_buffers", "_modules"} do
      local reg = rawget(x, r)
      if type(reg) == "table" then add(rawget(reg, "values"), "values") end
    end
    local class = metatable_of(x)
    for _ = 1, MAX_DEPTH do
      if type(class) ~= "table" or seen[class] then break end
      add(class, "values")
      class = rawget(class, "super")
    end
    return out
  end
  -- a value, then each table its metatable's __index leads to
  local v = x
  for _ = 1, MAX_DEPTH do
    if type(v) == "table" then add(v, "values") end
    local mt = metatable_of(v)
    if not mt then break end
    local members = rawget(mt, "__members")
    if type(members) == "table" then
      -- raw reads: ipairs would consult the list's own __index
      for i = 1, MAX_DEPTH do
        local t = rawget(members, i)
        if t == nil then break end
        add(t, "methods")
      end
    end
    local index = rawget(mt, "__index")
    if type(index) ~= "table" or seen[index] then break end
    v = index
  end
  -- lunet.runs looks its reading functions up in lunet.runs.query on first use
  if x ~= nil and x == package.loaded["lunet.runs"] then
    local ok, query = pcall(require, "lunet.runs.query")
    if ok then add(query, "values") end
  end
  return out
end

-- x.name without metamethods: value, true when known; nil, false otherwise
local function lookup(x, name)
  for _, s in ipairs(sources(x)) do
    local v = rawget(s.t, name)
    if v ~= nil then
      if s.how == "values" or (s.how == "methods" and type(v) == "function") then return v, true end
      return nil, false
    end
  end
  return nil, false
end

local function is_identifier(s)
  return s:match("^[%a_][%w_]*$") ~= nil and not KEYWORDS[s]
end

-- the sorted names of x starting with prefix; opts.functions: only members
-- known to be functions; opts.identifiers: only names usable after '.'
local function names_of(x, prefix, opts)
  local found, out = {}, {}
  local show_hidden = prefix:sub(1, 1) == "_"
  for _, s in ipairs(sources(x)) do
    local scanned, k, v = 0, nil, nil
    repeat
      k, v = next(s.t, k)
      scanned = scanned + 1
      if type(k) == "string" and found[k] == nil and k:sub(1, #prefix) == prefix
         and k:sub(1, 2) ~= "__" and (show_hidden or k:sub(1, 1) ~= "_") then
        -- the first source holding a name decides what it is, as lookup does
        local is_fn = type(v) == "function" and s.how ~= "names"
        local ok = (not opts.functions or is_fn) and (not opts.identifiers or is_identifier(k))
        found[k] = ok
        if ok then out[#out + 1] = k end
      end
    until k == nil or scanned >= MAX_SCAN
  end
  table.sort(out)
  return out
end

-- the value at a path of names from x, each looked up as lookup does; nil
-- when a step is not a name or cannot be known without calling code
local function walk(x, names)
  for _, name in ipairs(names) do
    if not is_identifier(name) then return nil end
    local known
    x, known = lookup(x, name)
    if not known then return nil end
  end
  return x
end

local function truncate(list, n)
  for i = #list, n + 1, -1 do list[i] = nil end
  return list
end

--- members(x) -> sorted names x offers (fields, methods, parameters and children
-- of a module ...), found without calling any metamethod; names starting with
-- "_" are left out
function M.members(x)
  local ok, out = pcall(names_of, x, "", {})
  return ok and out or {}
end

-- a list of names prints in columns across the terminal, as ls does
local Names = {}
function Names.__tostring(list)
  local widest = 0
  for _, n in ipairs(list) do widest = math.max(widest, #n) end
  if widest == 0 then return "(nothing)" end
  local ok, cols = pcall(core._repl.terminal_size)
  local width = ok and cols or 80
  local per_row = math.max(1, (width + 2) // (widest + 2))
  local rows = (#list + per_row - 1) // per_row
  local lines = {}
  for r = 1, rows do
    local cells = {}
    for c = 0, per_row - 1 do
      local n = list[c * rows + r]
      if n then cells[#cells + 1] = n .. string.rep(" ", widest - #n) end
    end
    lines[r] = table.concat(cells, "  "):gsub("%s+$", "")
  end
  return table.concat(lines, "\n")
end

--- dir([x]) -> sorted names x offers (a list that prints in columns); with no
-- argument, the globals
function M.dir(...)
  local names = select("#", ...) == 0 and M.members(_G) or M.members((...))
  return setmetatable(names, Names)
end
M.names = function(list) return setmetatable(list, Names) end

-- is position `start` of line inside a string literal or a comment?
local function in_string(line, start)
  local i, last = 1, start - 1
  while i <= last do
    local c = line:sub(i, i)
    if c == '"' or c == "'" then
      local j = i + 1
      while j <= last do
        local d = line:sub(j, j)
        if d == "\\" then j = j + 2 elseif d == c then break else j = j + 1 end
      end
      if j > last then return true end
      i = j + 1
    elseif line:sub(i, i + 1) == "--" then
      return true
    elseif line:match("^%[=*%[", i) then
      local close = "]" .. line:match("^%[(=*)%[", i) .. "]"
      local e = line:find(close, i + #close, true)
      if not e or e + #close - 1 > last then return true end
      i = e + #close
    else
      i = i + 1
    end
  end
  return false
end

local function candidates(word, env, line, start)
  if type(line) == "string" and math.type(start) == "integer" and in_string(line, start) then return {} end
  local base, sep, partial = word:match("^(.*)([.:])([%w_]*)$")
  if not base then
    if word ~= "" and not word:match("^[%a_][%w_]*$") then return {} end
    local out = names_of(env, word, {identifiers = true})
    for kw in pairs(KEYWORDS) do
      if kw:sub(1, #word) == word then out[#out + 1] = kw end
    end
    table.sort(out)
    return truncate(out, MAX_CANDIDATES)
  end
  local names = {}
  for name in (base .. "."):gmatch("(.-)%.") do names[#names + 1] = name end
  local v = walk(env, names)
  if v == nil then return {} end
  local out = truncate(names_of(v, partial, {functions = sep == ":", identifiers = true}), MAX_CANDIDATES)
  for i, name in ipairs(out) do out[i] = base .. sep .. name end
  return out
end

--- resolve("a.b:c", env) -> the value that path of names reaches in env, found
-- the way Tab finds members (no __index function is ever called), or nil
function M.resolve(path, env)
  if type(path) ~= "string" then return nil end
  local names = {}
  for name in (path:gsub(":", ".") .. "."):gmatch("(.-)%.") do names[#names + 1] = name end
  local ok, v = pcall(walk, env, names)
  if ok then return v end
end

--- candidates(word, env, line, start) -> sorted full replacements of word, the
-- text before the cursor ("lunet.ze" -> {"lunet.zeros", "lunet.zeros_like"});
-- after ':' only methods. Never raises: what cannot be looked up safely
-- completes nothing.
function M.candidates(word, env, line, start)
  if type(word) ~= "string" then return {} end
  local ok, out = pcall(candidates, word, env, line, start)
  return ok and out or {}
end

return M
