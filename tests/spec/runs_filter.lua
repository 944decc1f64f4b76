-- The run filter language: compiled SQL shape and bound values, without a database
-- (tests/spec/runs_query.lua runs the same language against real databases).
local filter = require "lunet.runs.filter"

local P = "EXISTS (SELECT 1 FROM params p WHERE p.run_id = r.id AND p.key = ?"
local TG = "EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.id AND t.key = ?"
local S = "EXISTS (SELECT 1 FROM metric_summary s WHERE s.run_id = r.id " ..
  "AND s.key_id = (SELECT id FROM metric_keys WHERE name = ?)"

local function compiles(text, sql, params)
  local got_sql, got_params = filter.compile(text)
  T.eq(got_sql, sql, "sql of " .. text)
  T.eq(T.show(got_params), T.show(params), "params of " .. text)
end

describe("filter compile", function()
  it("compiles params: numbers on num, strings on value", function()
    compiles("params.lr = 0.001", P .. " AND p.num = ?)", {"lr", 0.001})
    compiles("params.opt = 'adam'", P .. " AND p.value = ?)", {"opt", "adam"})
    compiles('params.opt != "sgd"', P .. " AND p.value != ?)", {"opt", "sgd"})
    compiles("params.n >= -3", P .. " AND p.num >= ?)", {"n", -3})
    compiles("params.flag = true", P .. " AND p.value = ?)", {"flag", "true"})
  end)

  it("compiles every comparison operator", function()
    for op, sqlop in pairs{["="] = "=", ["=="] = "=", ["!="] = "!=", ["<>"] = "!=", ["<"] = "<",
      ["<="] = "<=", [">"] = ">", [">="] = ">="} do
      compiles("metrics.loss " .. op .. " 1e-3", S .. " AND s.last " .. sqlop .. " ?)", {"loss", 1e-3})
    end
  end)

  it("compiles metrics: last value and aggregates", function()
    compiles("metrics.val_acc > 0.9", S .. " AND s.last > ?)", {"val_acc", 0.9})
    compiles("min(metrics.loss) < .5", S .. " AND s.min < ?)", {"loss", 0.5})
    compiles("MAX(metrics.acc) >= 1", S .. " AND s.max >= ?)", {"acc", 1})
    compiles("count(metrics.acc) = 10", S .. " AND s.count = ?)", {"acc", 10})
    compiles("metrics.train/loss < 2", S .. " AND s.last < ?)", {"train/loss", 2})
  end)

  it("compiles tags, numbers as their text", function()
    compiles("tags.model = 'cnn'", TG .. " AND t.value = ?)", {"model", "cnn"})
    compiles("tags.epoch = 3", TG .. " AND t.value = ?)", {"epoch", "3"})
  end)

  it("compiles attributes, NULL-able ones as IS 1 so not stays the complement", function()
    compiles("status = 'failed'", "(r.status = ?)", {"failed"})
    compiles("id > 3", "(r.id > ?)", {3})
    compiles("name = 'a'", "((r.name = ?) IS 1)", {"a"})
    compiles("experiment = 'x'",
      "(((SELECT e.name FROM experiments e WHERE e.id = r.experiment_id) = ?) IS 1)", {"x"})
    compiles("started > 1000", "(r.started > ?)", {1000})
    compiles("ended < '2024-01-02 10:00'",
      "((r.ended < ((julianday(?, 'utc') - 2440587.5) * 86400.0)) IS 1)", {"2024-01-02 10:00"})
  end)

  it("compiles and, or, not and parentheses with the usual precedence", function()
    compiles("status = 'a' or status = 'b' and id = 1",
      "((r.status = ?) OR ((r.status = ?) AND (r.id = ?)))", {"a", "b", 1})
    compiles("(status = 'a' or status = 'b') and id = 1",
      "(((r.status = ?) OR (r.status = ?)) AND (r.id = ?))", {"a", "b", 1})
    compiles("not status = 'a' and not not id = 2",
      "((NOT (r.status = ?)) AND (NOT (NOT (r.id = ?))))", {"a", 2})
    compiles("NOT (id = 1 OR id = 2)", "(NOT ((r.id = ?) OR (r.id = ?)))", {1, 2})
  end)

  it("compiles in, not in, like, not like, is null", function()
    compiles("params.opt in (1, 'adam', 2)", P .. " AND (p.num IN (?, ?) OR p.value IN (?)))",
      {"opt", 1, 2, "adam"})
    compiles("status in ('failed', 'crashed')", "(r.status IN (?, ?))", {"failed", "crashed"})
    compiles("status not in ('failed')", "(NOT (r.status IN (?)))", {"failed"})
    compiles("tags.model like 'cnn%'", TG .. " AND t.value LIKE ?)", {"model", "cnn%"})
    compiles("name not like '%x'", "(NOT ((r.name LIKE ?) IS 1))", {"%x"})
    compiles("params.lr is null", "(NOT " .. P .. "))", {"lr"})
    compiles("metrics.acc is not null", S .. ")", {"acc"})
    compiles("ended is null", "(r.ended IS NULL)", {})
  end)

  it("keeps quotes, semicolons and comments as bound data", function()
    compiles([[params.x = 'a''; DROP TABLE runs; --']], P .. " AND p.value = ?)", {"x", "a'; DROP TABLE runs; --"})
    compiles([[tags.`k'); DELETE FROM runs; /*` = "v"" */"]], TG .. " AND t.value = ?)",
      {"k'); DELETE FROM runs; /*", 'v" */'})
    compiles([[params."a b" = 1]], P .. " AND p.num = ?)", {"a b", 1})
    compiles([[metrics.'x''y' > 0]], S .. " AND s.last > ?)", {"x'y", 0})
    -- nothing from the text reaches the SQL
    local sql = filter.compile([[name = 'Robert''); DROP TABLE runs;--']])
    T.eq(sql, "((r.name = ?) IS 1)", "sql")
  end)

  it("compiles an empty filter to true", function()
    compiles("", "1", {})
    compiles("   ", "1", {})
  end)

  it("compiles order terms, nulls last", function()
    local sql, params = filter.compile_order("metrics.val_acc desc, -started, params.lr")
    T.eq(sql, "(SELECT s.last FROM metric_summary s WHERE s.run_id = r.id AND s.key_id = " ..
      "(SELECT id FROM metric_keys WHERE name = ?)) DESC NULLS LAST, r.started DESC NULLS LAST, " ..
      "(SELECT CASE WHEN p.num IS NOT NULL THEN p.num ELSE p.value END FROM params p " ..
      "WHERE p.run_id = r.id AND p.key = ?) ASC NULLS LAST", "order sql")
    T.eq(T.show(params), T.show{"val_acc", "lr"}, "order params")
    T.errors(function() filter.compile_order("metrics.acc up") end, "order: unexpected 'up' at column 13")
    T.errors(function() filter.compile_order("bogus") end, "order: unknown field 'bogus'")
  end)
end)

describe("filter errors", function()
  local cases = {
    {"status = 'a')", "filter: unexpected ')' at column 13"},
    {"(status = 'a' or id = 1", "filter: unexpected end of expression at column 24"},
    {"params.x >", "filter: unexpected end of expression at column 11"},
    {"params.x = 'abc", "filter: unterminated string at column 12"},
    {"params.x = 1 )", "filter: unexpected ')' at column 14"},
    {"x = 1", "filter: unknown field 'x'"},
    {"status == 1 and", "filter: unexpected end of expression at column 16"},
    {"status = 1 # 2", "filter: unexpected character '#' at column 12"},
    {"metrics.acc = 'high'", "filter: metrics.acc compares with a number, not 'high' at column 15"},
    {"metrics.acc like 'a%'", "filter: like does not apply to metrics at column 13"},
    {"min(params.x) < 1", "filter: min() takes metrics.KEY at column 5"},
    {"params. = 1", "filter: expected a key after 'params.' at column 8"},
    {"status in ()", "filter: unexpected ')' at column 12"},
    {"status is 1", "filter: unexpected '1' at column 11"},
    {"name like 3", "filter: like takes a quoted pattern at column 11"},
    {"and id = 1", "filter: unexpected 'and' at column 1"},
    {"id = 1 id = 2", "filter: unexpected 'id' at column 8"},
    {"name = 'é' and )", "filter: unexpected ')' at column 16"}, -- columns count characters
  }
  for _, c in ipairs(cases) do
    it("reports " .. c[2], function()
      T.errors(function() filter.compile(c[1]) end, c[2])
    end)
  end
  it("rejects a non-string filter", function()
    T.errors(function() filter.compile(3) end, "filter: expected a string, got number")
  end)
end)

-- found by fuzzing (tests/fuzz/corpus/filter/regress_*): SQLite parses with a stack of
-- 100 entries, and the parser recursed without a limit
describe("filter limits", function()
  it("compiles a long chain of or as a balanced tree that SQLite parses", function()
    compiles("id = 1 or id = 2 or id = 3 or id = 4",
      "(((r.id = ?) OR (r.id = ?)) OR ((r.id = ?) OR (r.id = ?)))", {1, 2, 3, 4})
    local terms = {}
    for i = 1, 1000 do terms[i] = "id = " .. i end
    local sql, params = filter.compile(table.concat(terms, " or "))
    T.eq(#params, 1000, "values")
    local depth, deepest = 0, 0
    for c in sql:gmatch("[()]") do depth = depth + (c == "(" and 1 or -1); deepest = math.max(deepest, depth) end
    T.truthy(deepest <= 12, "parentheses nest " .. deepest .. " deep for 1000 terms")
  end)

  it("refuses nesting SQLite cannot parse, naming the column", function()
    local ok, err = pcall(filter.compile, string.rep("not ", 60) .. "id = 1")
    T.truthy(not ok and err:find("^filter: too deeply nested for SQLite") and err:find("at column 244$"),
      "error: " .. tostring(err)) -- the column of the comparison
    filter.compile(string.rep("not (", 20) .. "id = 1" .. string.rep(")", 20)) -- well within
  end)

  it("refuses parentheses nested past 100 levels before Lua's stack overflows", function()
    local n = 300000
    T.errors(function() filter.compile(string.rep("(", n) .. "id = 1" .. string.rep(")", n)) end,
      "filter: nested too deeply (more than 100 parentheses and nots inside each other) at column 101")
  end)

  it("says order: for every error of an order, the tokenizer's too", function()
    T.errors(function() filter.compile_order("metrics.`x") end, "order: unterminated string at column 9")
    T.errors(function() filter.compile_order("p%") end, "order: unexpected character '%' at column 2")
  end)

  it("shows a whole unexpected UTF-8 character, not its first byte", function()
    T.errors(function() filter.compile("id = 1 § 2") end, "filter: unexpected character '§' at column 8")
  end)
end)
