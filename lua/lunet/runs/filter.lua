-- lunet.runs.filter: the run filter language, compiled to parameterised SQL.
--
--   metrics.val_acc > 0.9 and params.lr = 0.001 and not status = 'failed'
--   (tags.model like 'cnn%' or name in ('a', "b")) and max(metrics.acc) >= 0.5
--
-- Grammar (lowest precedence first):
--   expr    := and {OR and}        and := not {AND not}       not := NOT not | cmp
--   cmp     := '(' expr ')' | operand OP literal | operand [NOT] IN '(' literal {, literal} ')'
--            | operand [NOT] LIKE string | operand IS [NOT] NULL
--   operand := params.K | tags.K | metrics.K | min(metrics.K) | max(metrics.K) | attribute
-- A key K is a run of letters, digits and _ - / : . or a quoted string (`k`, 'k', "k").
-- The SQL is a boolean expression over the `runs` table aliased `r`; every key and literal
-- is a bound parameter, so user text is data, never SQL. A comparison on params/tags/metrics
-- is true only when the run has that key, and `not` is its exact complement.
local M = {}

-- run attributes: SQL column and whether it can be NULL
local ATTRS = {
  id = {"r.id"}, status = {"r.status"}, started = {"r.started"},
  name = {"r.name", true}, ended = {"r.ended", true}, host = {"r.host", true},
  git_commit = {"r.git_commit", true}, parent = {"r.parent_id", true},
  experiment = {"(SELECT e.name FROM experiments e WHERE e.id = r.experiment_id)", true},
}
local TIME_ATTRS = {started = true, ended = true}
-- metric_summary columns reachable as agg(metrics.K); metrics.K alone is `last`
local AGGS = {min = "min", max = "max", first = "first", last = "last", count = "count"}
local OPS = {["="] = "=", ["=="] = "=", ["!="] = "!=", ["<>"] = "!=",
  ["<"] = "<", ["<="] = "<=", [">"] = ">", [">="] = ">="}
-- parentheses and nots inside each other: deeper is no one's filter, and would
-- overflow Lua's stack (the parser recurses) or SQLite's expression depth (1000)
local MAX_NESTING = 100
local KEYWORDS = {["and"] = true, ["or"] = true, ["not"] = true, ["in"] = true,
  ["like"] = true, ["is"] = true, ["null"] = true}

-- 1-based character column of byte position pos (UTF-8 aware when the text is valid)
local function column(text, pos)
  return (utf8.len(text, 1, pos - 1) or (pos - 1)) + 1
end

local function fail(text, pos, msg)
  error("filter: " .. msg .. " at column " .. column(text, pos), 0)
end

-- a string quoted by the character at i (a doubled quote stands for itself, as in SQL)
-- -> value, position after the closing quote
local function read_quoted(text, i)
  local c, parts, j = text:sub(i, i), {}, i + 1
  while true do
    local k = text:find(c, j, true)
    if not k then fail(text, i, "unterminated string") end
    parts[#parts + 1] = text:sub(j, k - 1)
    if text:sub(k + 1, k + 1) == c then parts[#parts + 1] = c; j = k + 2
    else return table.concat(parts), k + 1 end
  end
end

-- tokens: {kind = "name"|"field"|"number"|"string"|"op"|"("|")"|","|"eof", value, pos};
-- a field is params.K / tags.K / metrics.K read whole, so keys may hold / - : .
local function tokenize(text)
  local toks, i, n = {}, 1, #text
  while true do
    i = text:find("[^ \t\r\n]", i) or n + 1
    if i > n then break end
    local c = text:sub(i, i)
    local num = text:match("^%-?%d+%.?%d*[eE][%+%-]?%d+", i) or text:match("^%-?%d+%.?%d*", i)
      or text:match("^%-?%.%d+[eE][%+%-]?%d+", i) or text:match("^%-?%.%d+", i)
    if num then
      toks[#toks + 1] = {kind = "number", value = tonumber(num), pos = i}
      i = i + #num
    elseif c:match("[%a_]") then
      local word = text:match("^[%w_]+", i)
      local lw = word:lower()
      if (lw == "params" or lw == "tags" or lw == "metrics") and text:sub(i + #word, i + #word) == "." then
        -- a field: the key is word characters and - / : . or one quoted string
        local j = i + #word + 1
        local q = text:sub(j, j)
        local key
        if q == "'" or q == '"' or q == "`" then
          key, j = read_quoted(text, j)
        else
          key = text:match("^[%w_%-/:%.]+", j)
          if not key then fail(text, j, "expected a key after '" .. word .. ".'") end
          j = j + #key
        end
        toks[#toks + 1] = {kind = "field", value = lw, key = key, pos = i}
        i = j
      else
        toks[#toks + 1] = {kind = "name", value = word, pos = i}
        i = i + #word
      end
    elseif c == "'" or c == '"' then
      local value, after = read_quoted(text, i)
      toks[#toks + 1] = {kind = "string", value = value, pos = i}
      i = after
    else
      local op = text:match("^[<>!=]=", i) or text:match("^<>", i) or text:match("^[<>=]", i)
      if op then
        toks[#toks + 1] = {kind = "op", value = op, pos = i}
        i = i + #op
      elseif c == "(" or c == ")" or c == "," then
        toks[#toks + 1] = {kind = c, value = c, pos = i}
        i = i + 1
      else
        -- the whole character, not its first byte, when it is UTF-8
        fail(text, i, "unexpected character '" .. (text:match("^" .. utf8.charpattern, i) or c) .. "'")
      end
    end
  end
  toks[#toks + 1] = {kind = "eof", value = "end of expression", pos = n + 1}
  return toks
end
M.tokenize = tokenize

-- the parser: a cursor over the tokens, building an AST of plain tables
local Parser = {}
Parser.__index = Parser

function Parser:peek() return self.toks[self.i] end
function Parser:next() local t = self.toks[self.i]; self.i = self.i + 1; return t end
function Parser:unexpected(t)
  t = t or self:peek()
  local what = t.kind == "eof" and "end of expression"
    or t.kind == "string" and "string '" .. t.value .. "'"
    or t.kind == "field" and "'" .. t.value .. "." .. t.key .. "'"
    or "'" .. tostring(t.value) .. "'"
  fail(self.text, t.pos, "unexpected " .. what)
end
function Parser:is_word(w)
  local t = self:peek()
  return t.kind == "name" and t.value:lower() == w
end
-- one level deeper into parentheses or a not, at token t; leave() comes back out
function Parser:enter(t)
  self.depth = self.depth + 1
  if self.depth > MAX_NESTING then
    fail(self.text, t.pos, "nested too deeply (more than " .. MAX_NESTING .. " parentheses and nots inside each other)")
  end
end
function Parser:leave() self.depth = self.depth - 1 end
function Parser:expect(kind)
  local t = self:peek()
  if t.kind ~= kind then self:unexpected(t) end
  return self:next()
end

function Parser:expr()
  local node = self:conj()
  while self:is_word("or") do self:next(); node = {op = "or", node, self:conj()} end
  return node
end

function Parser:conj()
  local node = self:neg()
  while self:is_word("and") do self:next(); node = {op = "and", node, self:neg()} end
  return node
end

function Parser:neg()
  if self:is_word("not") then
    self:enter(self:next())
    local node = {op = "not", self:neg()}
    self:leave()
    return node
  end
  return self:cmp()
end

function Parser:operand()
  local t = self:peek()
  if t.kind == "field" then
    self:next()
    return {kind = t.value, key = t.key, agg = t.value == "metrics" and "last" or nil, pos = t.pos}
  end
  if t.kind ~= "name" or KEYWORDS[t.value:lower()] then self:unexpected(t) end
  self:next()
  local word = t.value:lower()
  if AGGS[word] and self:peek().kind == "(" then
    self:next()
    local inner = self:peek()
    if not (inner.kind == "field" and inner.value == "metrics") then
      fail(self.text, inner.pos, word .. "() takes metrics.KEY")
    end
    self:next()
    local key = inner.key
    self:expect(")")
    return {kind = "metrics", key = key, agg = AGGS[word], pos = t.pos}
  end
  if ATTRS[word] then return {kind = "attr", name = word, pos = t.pos} end
  fail(self.text, t.pos, "unknown field '" .. t.value ..
    "' (expected params.KEY, metrics.KEY, tags.KEY, min/max(metrics.KEY), " ..
    "id, name, status, experiment, started, ended, host, git_commit, parent)")
end

function Parser:literal()
  local t = self:peek()
  if t.kind == "number" or t.kind == "string" then self:next(); return t end
  if t.kind == "name" and (t.value == "true" or t.value == "false") then
    self:next(); return {kind = "string", value = t.value, pos = t.pos}
  end
  self:unexpected(t)
end

function Parser:cmp()
  local t = self:peek()
  if t.kind == "(" then
    self:enter(self:next())
    local node = self:expr()
    self:expect(")")
    self:leave()
    return node
  end
  local lhs = self:operand()
  local negate = false
  if self:is_word("not") then self:next(); negate = true end
  local nt = self:peek()
  if negate and not (self:is_word("in") or self:is_word("like")) then self:unexpected(nt) end
  local node
  if self:is_word("in") then
    self:next(); self:expect("(")
    local list = {self:literal()}
    while self:peek().kind == "," do self:next(); list[#list + 1] = self:literal() end
    self:expect(")")
    node = {op = "in", lhs = lhs, list = list, pos = nt.pos}
  elseif self:is_word("like") then
    self:next()
    local s = self:peek()
    if s.kind ~= "string" then fail(self.text, s.pos, "like takes a quoted pattern") end
    self:next()
    node = {op = "like", lhs = lhs, rhs = s, pos = nt.pos}
  elseif self:is_word("is") then
    self:next()
    local isnot = false
    if self:is_word("not") then self:next(); isnot = true end
    if not self:is_word("null") then self:unexpected() end
    self:next()
    node = {op = isnot and "notnull" or "null", lhs = lhs, pos = nt.pos}
  elseif nt.kind == "op" then
    self:next()
    node = {op = OPS[nt.value], lhs = lhs, rhs = self:literal(), pos = nt.pos}
  else
    self:unexpected(nt)
  end
  if negate then node = {op = "not", node} end
  return node
end

-- parse(text) -> AST; raises "filter: ... at column N"
function M.parse(text)
  if type(text) ~= "string" then error("filter: expected a string, got " .. type(text), 2) end
  local p = setmetatable({text = text, toks = tokenize(text), i = 1, depth = 0}, Parser)
  local node = p:expr()
  if p:peek().kind ~= "eof" then p:unexpected() end
  return node
end

-- SQL generation -------------------------------------------------------------

local function numtext(v)
  if math.type(v) == "integer" or (v == math.floor(v) and math.abs(v) < 2^53) then
    return string.format("%d", v)
  end
  return string.format("%.17g", v)
end

-- SQL for the scalar value of an operand (for ordering and selection); pushes params
local function scalar(o, params)
  if o.kind == "attr" then return ATTRS[o.name][1] end
  params[#params + 1] = o.key
  if o.kind == "params" then
    return "(SELECT CASE WHEN p.num IS NOT NULL THEN p.num ELSE p.value END FROM params p " ..
      "WHERE p.run_id = r.id AND p.key = ?)"
  elseif o.kind == "tags" then
    return "(SELECT t.value FROM tags t WHERE t.run_id = r.id AND t.key = ?)"
  end
  return "(SELECT s." .. o.agg .. " FROM metric_summary s WHERE s.run_id = r.id " ..
    "AND s.key_id = (SELECT id FROM metric_keys WHERE name = ?))"
end
M.scalar = scalar

-- EXISTS over the row holding a key; cond is SQL on that row's column(s)
local function exists(o, cond, params, key_first)
  local sql
  if o.kind == "params" then
    sql = "EXISTS (SELECT 1 FROM params p WHERE p.run_id = r.id AND p.key = ?"
  elseif o.kind == "tags" then
    sql = "EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.id AND t.key = ?"
  else
    sql = "EXISTS (SELECT 1 FROM metric_summary s WHERE s.run_id = r.id " ..
      "AND s.key_id = (SELECT id FROM metric_keys WHERE name = ?)"
  end
  table.insert(params, key_first, o.key)
  if cond then sql = sql .. " AND " .. cond end
  return sql .. ")"
end

-- the column an operand compares on, for a literal of the given kind
local function column_for(text, o, lit)
  if o.kind == "params" then return lit.kind == "number" and "p.num" or "p.value" end
  if o.kind == "tags" then return "t.value" end
  if o.kind == "metrics" then
    if lit.kind ~= "number" then
      fail(text, lit.pos, (o.agg == "last" and "" or o.agg .. " of ") .. "metrics." .. o.key ..
        " compares with a number, not '" .. tostring(lit.value) .. "'")
    end
    return "s." .. o.agg
  end
  return ATTRS[o.name][1]
end

-- a literal's bound value: tags are text; started/ended accept 'YYYY-MM-DD[ HH:MM[:SS]]'
-- (local time), converted by SQLite
local function bind(o, lit, params)
  local v = lit.value
  if o.kind == "tags" and lit.kind == "number" then v = numtext(v) end
  params[#params + 1] = v
  if o.kind == "attr" and TIME_ATTRS[o.name] and lit.kind == "string" then
    return "((julianday(?, 'utc') - 2440587.5) * 86400.0)"
  end
  return "?"
end

local compile

-- the terms of a chain `a and b and c`, which parses as ((a and b) and c), in order
local function chain_terms(node)
  local terms = {}
  local op = node.op
  while node.op == op do terms[#terms + 1] = node[2]; node = node[1] end
  terms[#terms + 1] = node
  for i = 1, #terms // 2 do terms[i], terms[#terms + 1 - i] = terms[#terms + 1 - i], terms[i] end
  return terms
end

-- terms[i..j] joined by op as a balanced tree, ((a AND b) AND c) for three: SQLite
-- refuses an expression deeper than 1000, as a chain of 1000 terms would nest
local function compile_chain(text, op, terms, i, j, params)
  if i == j then return compile(text, terms[i], params) end
  local mid = i + (j - i) // 2 -- the left half takes the middle term
  local a = compile_chain(text, op, terms, i, mid, params)
  local b = compile_chain(text, op, terms, mid + 1, j, params)
  return "(" .. a .. " " .. op:upper() .. " " .. b .. ")"
end

function compile(text, node, params)
  local op = node.op
  if op == "and" or op == "or" then
    local terms = chain_terms(node)
    return compile_chain(text, op, terms, 1, #terms, params)
  elseif op == "not" then
    return "(NOT " .. compile(text, node[1], params) .. ")"
  end
  local o = node.lhs
  local attr = o.kind == "attr"
  local first = #params + 1 -- where the key goes, ahead of the literals
  local cond
  if op == "null" or op == "notnull" then
    if attr then return "(" .. ATTRS[o.name][1] .. (op == "null" and " IS NULL)" or " IS NOT NULL)") end
    local e = exists(o, nil, params, first)
    return op == "null" and "(NOT " .. e .. ")" or e
  elseif op == "like" then
    if o.kind == "metrics" then fail(text, node.pos, "like does not apply to metrics") end
    cond = column_for(text, o, node.rhs) .. " LIKE " .. bind(o, node.rhs, params)
  elseif op == "in" then
    -- params: numbers compare on num, strings on the text value
    local groups, order = {}, {}
    for _, lit in ipairs(node.list) do
      local col = column_for(text, o, lit)
      if not groups[col] then groups[col] = {}; order[#order + 1] = col end
      table.insert(groups[col], lit)
    end
    local parts = {}
    for _, col in ipairs(order) do
      local marks = {}
      for _, lit in ipairs(groups[col]) do marks[#marks + 1] = bind(o, lit, params) end
      parts[#parts + 1] = col .. " IN (" .. table.concat(marks, ", ") .. ")"
    end
    cond = #parts == 1 and parts[1] or "(" .. table.concat(parts, " OR ") .. ")"
  else
    cond = column_for(text, o, node.rhs) .. " " .. op .. " " .. bind(o, node.rhs, params)
  end
  if attr then
    -- a NULL attribute fails every test, so `not` stays its complement
    return ATTRS[o.name][2] and "((" .. cond .. ") IS 1)" or "(" .. cond .. ")"
  end
  return exists(o, cond, params, first)
end

-- SQLite's parser has a stack of 100 entries, so SQL nested too deep does not parse
-- ("parser stack overflow"). sql_cost(node) -> an estimate of the entries node's SQL
-- takes, erring high (measured: a not takes 2, the right side of and/or 3, the left 1,
-- a comparison with the query around it up to about 26), and the position of the
-- comparison where the most are needed.
local COMPARISON_COST, MAX_SQL_COST = 30, 90
local sql_cost

local function chain_cost(terms, i, j)
  if i == j then return sql_cost(terms[i]) end
  local mid = i + (j - i) // 2 -- as compile_chain splits
  local a, apos = chain_cost(terms, i, mid)
  local b, bpos = chain_cost(terms, mid + 1, j)
  if 1 + a >= 3 + b then return 1 + a, apos end
  return 3 + b, bpos
end

function sql_cost(node)
  local op = node.op
  if op == "and" or op == "or" then
    local terms = chain_terms(node)
    return chain_cost(terms, 1, #terms)
  elseif op == "not" then
    local c, pos = sql_cost(node[1])
    return 2 + c, pos
  end
  return COMPARISON_COST, node.pos
end

-- compile(text) -> sql, params: a boolean SQL expression over runs r and its bound values.
-- An empty or all-blank filter compiles to "1".
function M.compile(text)
  if type(text) ~= "string" then error("filter: expected a string, got " .. type(text), 2) end
  if not text:find("%S") then return "1", {} end
  local params = {}
  local ast = M.parse(text)
  local cost, pos = sql_cost(ast)
  if cost > MAX_SQL_COST then
    fail(text, pos, "too deeply nested for SQLite (fewer nots and parentheses inside each other, " ..
      "or an in (...) list for a long chain of or, would do)")
  end
  return compile(text, ast, params), params
end

-- one term of an order, "operand [asc|desc]" -> operand, descending; raises "filter: ..."
local function order_term(spec)
  local p = setmetatable({text = spec, toks = tokenize(spec), i = 1, depth = 0}, Parser)
  local o, desc = p:operand(), false
  if p:is_word("desc") then p:next(); desc = true
  elseif p:is_word("asc") then p:next() end
  if p:peek().kind ~= "eof" then p:unexpected() end
  return o, desc
end

-- compile_order("metrics.val_acc desc, started") -> "ORDER BY" terms (no keyword), params.
-- A leading "-" also means descending. Runs without the key sort last either way.
function M.compile_order(text)
  if type(text) ~= "string" then error("order: expected a string, got " .. type(text), 2) end
  local terms, params = {}, {}
  for item in (text .. ","):gmatch("([^,]*),") do
    local minus = false
    local spec = item:gsub("^%s*%-", function() minus = true; return "" end)
    -- tokenizing is inside the pcall too, so its errors also say "order:"
    local ok, o, desc = pcall(order_term, spec)
    if not ok then error((o:gsub("^filter:", "order:")), 0) end
    terms[#terms + 1] = scalar(o, params) .. ((minus or desc) and " DESC" or " ASC") .. " NULLS LAST"
  end
  return table.concat(terms, ", "), params
end

return M
