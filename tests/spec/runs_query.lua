-- Querying the run history: lunet.runs.query/get and `lunet runs ...` over databases the
-- test writes directly through the binding (following the schema), so it does not depend
-- on the recording API.
local core = require "lunet.core"
local query = require "lunet.runs.query"
local cli = require "lunet.runs.cli"

local GOALS = {loss = "min", acc = "max", ["train/loss"] = "min"}

-- a fresh database: path, handle
local function new_db()
  local path = os.tmpname()
  os.remove(path)
  return path, core._runs.open(path)
end

local function remove_db(path)
  for _, s in ipairs{"", "-wal", "-shm"} do os.remove(path .. s) end
end

-- one run: {id, name, exp, status, started, ended, params, tags, metrics = {key = {values}}}
local function add_run(db, r)
  db:exec("INSERT INTO runs (id, experiment_id, name, status, started, ended, heartbeat, script_path, " ..
    "script_sha256, error, traceback, host, seed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    {r.id, r.exp, r.name, r.status, r.started, r.ended, r.ended or r.started, r.script_path,
     r.sha, r.error, r.traceback, "testhost", 7})
  for k, v in pairs(r.params or {}) do
    db:exec("INSERT INTO params (run_id, key, value, num) VALUES (?, ?, ?, ?)",
      {r.id, k, tostring(v), tonumber(v)})
  end
  for k, v in pairs(r.tags or {}) do
    db:exec("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)", {r.id, k, v})
  end
  for k, values in pairs(r.metrics or {}) do
    db:exec("INSERT OR IGNORE INTO metric_keys (name, goal) VALUES (?, ?)", {k, GOALS[k] or "min"})
    local key_id = db:query("SELECT id FROM metric_keys WHERE name = ?", {k})[1].id
    local s = {count = 0}
    for step, v in ipairs(values) do
      local nan = v ~= v
      db:exec("INSERT INTO metrics (run_id, key_id, step, value, time, is_nan) VALUES (?, ?, ?, ?, ?, ?)",
        {r.id, key_id, step, (not nan) and v or nil, r.started + step, nan and 1 or 0})
      s.count = s.count + 1
      if s.count == 1 then s.first, s.first_step = v, step end
      s.last, s.last_step = v, step
      if not nan then
        if not s.min or v < s.min then s.min, s.min_step = v, step end
        if not s.max or v > s.max then s.max, s.max_step = v, step end
      end
    end
    db:exec("INSERT INTO metric_summary VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {r.id, key_id, s.count, s.first, s.first_step, s.last, s.last_step, s.min, s.min_step, s.max, s.max_step})
  end
end

local SCRIPT_A = "local lr = 0.001\nlocal epochs = 3\nfor e = 1, epochs do\n  train(e)\nend\nprint('done')\n"
local SCRIPT_B = "local lr = 0.01\nlocal epochs = 3\nfor e = 1, epochs do\n  train(e)\nend\nprint('done')\nsave()\n"

local function fixture()
  local path, db = new_db()
  db:exec("INSERT INTO experiments (id, name, created) VALUES (1, 'mnist', 0), (2, 'cifar', 0)")
  db:exec("INSERT INTO scripts (sha256, source) VALUES ('aaa', ?), ('bbb', ?)", {SCRIPT_A, SCRIPT_B})
  add_run(db, {id = 1, name = "base", exp = 1, status = "finished", started = 1000, ended = 1100,
    script_path = "train.lua", sha = "aaa",
    params = {lr = "0.001", opt = "adam", batch = "64"}, tags = {model = "cnn"},
    metrics = {loss = {1.0, 0.5, 0.25}, acc = {0.5, 0.8, 0.7}}})
  add_run(db, {id = 2, name = "wide", exp = 1, status = "failed", started = 2000, ended = 2050,
    script_path = "train.lua", sha = "bbb", error = "boom", traceback = "stack traceback:\n\ttrain.lua:4",
    params = {lr = "0.01", opt = "sgd", batch = "128"}, tags = {model = "mlp"},
    metrics = {loss = {2.0, 1.0}, acc = {0.3, 0.9}}})
  add_run(db, {id = 3, name = "deep", exp = 2, status = "finished", started = 3000, ended = 3500,
    params = {lr = "1e-3", opt = "adam"}, tags = {model = "cnn-big", ["we'ird; --"] = "x'); DROP TABLE runs; --"},
    metrics = {loss = {0.9, 0 / 0, 0.1}, acc = {0.95}, ["train/loss"] = {3, 2}}})
  add_run(db, {id = 4, status = "killed", started = 4000,
    params = {lr = "auto"}})
  return path, db
end

-- ids of the runs a filter selects, in id order
local function ids(db, where)
  local out = {}
  for i, run in ipairs(query.query{db = db, where = where, order = "id"}) do out[i] = run.id end
  return T.show(out)
end

describe("runs.query", function()
  local path, db = fixture()

  it("returns run objects with the row, experiment, params, tags and summary", function()
    local runs = query.query{db = db}
    T.eq(T.show((function() local t = {} for i, r in ipairs(runs) do t[i] = r.id end return t end)()),
      "{4, 3, 2, 1}", "newest first")
    local r = runs[4]
    T.eq(r.name, "base", "name"); T.eq(r.experiment, "mnist", "experiment"); T.eq(r.status, "finished", "status")
    T.eq(r.started, 1000.0, "started"); T.eq(r.ended, 1100.0, "ended")
    T.eq(r.params.lr, 0.001, "numeric param"); T.eq(r.params.opt, "adam", "string param")
    T.eq(r.tags.model, "cnn", "tag")
    local s = r.summary.acc
    T.eq(s.goal, "max", "goal"); T.eq(s.count, 3, "count"); T.eq(s.last, 0.7, "last")
    T.eq(s.max, 0.8, "max"); T.eq(s.max_step, 2, "max step"); T.eq(s.min, 0.5, "min")
    T.eq(r.metrics.acc, 0.7, "last value"); T.eq(r.metrics.loss, 0.25, "last loss")
    T.truthy(runs[2].metrics.loss == 0.1, "last of run 3")
    T.eq(runs[1].experiment, nil, "no experiment")
    T.eq(runs[1].params.lr, "auto", "text param")
    T.eq(next(runs[1].summary), nil, "no metrics")
  end)

  it("reads a metric's history as arrays or tensors, NaN kept", function()
    local run = query.get(3, db)
    local steps, values = run:history("loss")
    T.eq(T.show(steps), "{1, 2, 3}", "steps")
    T.eq(values[1], 0.9, "v1"); T.truthy(values[2] ~= values[2], "NaN"); T.eq(values[3], 0.1, "v3")
    local st, vt, tt = run:history("acc", {tensor = true, time = true})
    T.values(st, {1}, 0, "int64"); T.values(vt, {0.95}, 0, "float64"); T.values(tt, {3001}, 0, "float64")
    local _, _, times = run:history("loss", {time = true})
    T.eq(T.show(times), "{3001.0, 3002.0, 3003.0}", "times")
    T.eq(select(3, run:history("loss")), nil, "no times unless asked")
    local none = run:history("missing")
    T.eq(#none, 0, "unknown metric: empty")
    T.errors(function() run:history(3) end, "run:history: key must be a string, got number")
  end)

  it("history tensors: NaN kept, empty for an unknown metric", function()
    local run = query.get(3, db)
    local st, vt = run:history("loss", {tensor = true})
    T.values(st, {1, 2, 3}, 0, "int64")
    T.eq(vt:dtype(), "float64", "values dtype"); T.truthy(vt[2] ~= vt[2], "NaN")
    T.eq(vt[3], 0.1, "v3")
    local se, ve = run:history("missing", {tensor = true})
    T.eq(se:numel(), 0, "no steps"); T.eq(se:dtype(), "int64", "steps dtype")
    T.eq(ve:numel(), 0, "no values"); T.eq(ve:dtype(), "float64", "values dtype")
  end)

  it("db:query gives the column order, and column-wise results", function()
    local rows = db:query("SELECT id AS z, name AS a, ended FROM runs WHERE id IN (1, 4) ORDER BY id")
    T.eq(T.show(rows.columns), "{z, a, ended}", "columns")
    T.eq(rows[1].a, "base", "row-wise as before"); T.eq(#rows, 2, "two rows")
    T.eq(T.show(db:query("SELECT 1 AS x WHERE 0").columns), "{x}", "columns without rows")
    local c = db:query("SELECT id AS z, name AS a, ended FROM runs WHERE id >= ? ORDER BY id", {2}, {by_column = true})
    T.eq(c.n, 3, "n"); T.eq(T.show(c.columns), "{z, a, ended}", "order")
    T.eq(T.show(c.z), "{2, 3, 4}", "ids"); T.eq(c.a[1], "wide", "names"); T.eq(c.a[3], nil, "NULL is a hole")
    T.eq(c.ended[2], 3500.0, "ended"); T.eq(c.ended[3], nil, "NULL ended")
    T.truthy(c[1] == c.z and c[2] == c.a and c[3] == c.ended, "by position")
    local t = db:query("SELECT id, ended, started FROM runs ORDER BY id", nil, {tensor = true})
    T.eq(t.n, 4, "tensor n")
    T.values(t.id, {1, 2, 3, 4}, 0, "int64")
    T.eq(t.ended:dtype(), "float64", "a NULL makes float64")
    T.eq(t.ended[2], 2050.0, "ended"); T.truthy(t.ended[4] ~= t.ended[4], "NULL -> NaN")
    T.values(t.started, {1000, 2000, 3000, 4000}, 0, "float64")
    local e = db:query("SELECT id FROM runs WHERE 0", nil, {by_column = true})
    T.eq(e.n, 0, "empty n"); T.eq(#e.id, 0, "empty column")
    local et = db:query("SELECT id FROM runs WHERE 0", nil, {tensor = true})
    T.eq(et.id:numel(), 0, "empty tensor")
  end)

  it("db:query checks its options", function()
    T.errors(function() db:query("SELECT 1", nil, 5) end, "options table expected, got number")
    T.errors(function() db:query("SELECT 1", nil, {bycolumn = true}) end,
      "db:query: unknown option 'bycolumn' (expected by_column or tensor)")
    T.errors(function() db:query("SELECT 1", nil, {[1] = true}) end, "db:query: unknown option 'number'")
    T.errors(function() db:query("SELECT 1", nil, {by_column = 1}) end,
      "db:query: option by_column must be a boolean, got number")
    T.errors(function() db:query("SELECT name FROM runs", nil, {tensor = true}) end,
      "db:query: column 'name' holds text at row 1, so it cannot be a tensor")
    T.errors(function() db:query("SELECT 1 AS n", nil, {by_column = true}) end,
      "db:query: column name 'n' is reserved in by_column results (rename it with AS)")
    T.errors(function() db:query("SELECT 1 AS columns", nil, {tensor = true}) end, "column name 'columns' is reserved")
    T.eq(db:query("SELECT 1 AS n", nil, {by_column = false})[1].n, 1, "by_column = false: rows")
  end)

  it("listing gives the runs column-wise, as query would", function()
    local L = query.listing{db = db, where = "params.opt = 'adam'", order = "id", tags = true}
    T.eq(L.n, 2, "n"); T.eq(T.show(L.id), "{1, 3}", "ids"); T.eq(L.name[2], "deep", "name")
    T.eq(L.experiment[1], "mnist", "experiment"); T.eq(L.status[1], "finished", "status")
    T.eq(L.started[2], 3000.0, "started"); T.eq(L.ended[1], 1100.0, "ended")
    T.eq(L.params.lr[1], 0.001, "numeric param"); T.eq(L.params.batch[2], nil, "missing param")
    T.eq(L.tags.model[2], "cnn-big", "tag")
    T.eq(L.metrics.loss[1], 0.25, "last loss"); T.eq(L.metrics["train/loss"][2], 2.0, "last train/loss")
    T.eq(L.metrics["train/loss"][1], nil, "no such metric")
    local all = query.listing{db = db, limit = 3}
    T.eq(T.show(all.id), "{4, 3, 2}", "newest first, limited"); T.eq(all.tags, nil, "no tags unless asked")
    T.errors(function() query.listing{db = db, limit = -1} end, "limit must be a non-negative integer")
    T.errors(function() query.listing(5) end, "runs.listing: expected a table of options, got number")
  end)

  it("filters on attributes", function()
    T.eq(ids(db, "status = 'finished'"), "{1, 3}", "status")
    T.eq(ids(db, "name = 'wide'"), "{2}", "name")
    T.eq(ids(db, "experiment = 'mnist'"), "{1, 2}", "experiment")
    T.eq(ids(db, "not experiment = 'mnist'"), "{3, 4}", "not experiment (NULL included)")
    T.eq(ids(db, "started >= 2000 and started < 4000"), "{2, 3}", "started")
    T.eq(ids(db, "ended is null"), "{4}", "ended is null")
    T.eq(ids(db, "id in (1, 4)"), "{1, 4}", "id in")
    T.eq(ids(db, "name like 'd%'"), "{3}", "like")
    T.eq(ids(db, "name not like 'd%'"), "{1, 2, 4}", "not like")
    local t = os.date("%Y-%m-%d %H:%M:%S", 2500)
    T.eq(ids(db, "started > '" .. t .. "'"), "{3, 4}", "started against a local date")
  end)

  it("compares params numerically when the literal is a number", function()
    T.eq(ids(db, "params.lr = 0.001"), "{1, 3}", "1e-3 equals 0.001 as numbers")
    T.eq(ids(db, "params.lr = '0.001'"), "{1}", "as text")
    T.eq(ids(db, "params.lr > 0.005"), "{2}", "numeric >")
    T.eq(ids(db, "params.batch < 100"), "{1}", "64 < 100 (as text '64' > '100')")
    T.eq(ids(db, "params.lr = 'auto'"), "{4}", "text param")
    T.eq(ids(db, "params.opt in ('adam', 'rms')"), "{1, 3}", "in")
    T.eq(ids(db, "params.lr in (0.01, 'auto')"), "{2, 4}", "mixed in")
    T.eq(ids(db, "params.batch is null"), "{3, 4}", "is null")
    T.eq(ids(db, "params.batch is not null"), "{1, 2}", "is not null")
  end)

  it("filters on tags and metrics", function()
    T.eq(ids(db, "tags.model like 'cnn%'"), "{1, 3}", "tag like")
    T.eq(ids(db, "tags.model != 'cnn'"), "{2, 3}", "tag !=")
    T.eq(ids(db, "metrics.acc > 0.75"), "{2, 3}", "last acc")
    T.eq(ids(db, "max(metrics.acc) >= 0.8"), "{1, 2, 3}", "max acc")
    T.eq(ids(db, "min(metrics.loss) <= 0.25"), "{1, 3}", "min loss (NaN not counted)")
    T.eq(ids(db, "metrics.loss < 0.5"), "{1, 3}", "last loss")
    T.eq(ids(db, "metrics.train/loss = 2"), "{3}", "key with a slash")
    T.eq(ids(db, "metrics.acc is null"), "{4}", "no metric")
    T.eq(ids(db, "not metrics.acc > 0.75"), "{1, 4}", "not is the complement")
  end)

  it("combines with and, or, not and parentheses", function()
    T.eq(ids(db, "params.opt = 'adam' and metrics.acc > 0.9 or status = 'killed'"), "{3, 4}", "and/or")
    T.eq(ids(db, "params.opt = 'adam' and (metrics.acc > 0.9 or status = 'killed')"), "{3}", "parens")
    T.eq(ids(db, "not (status = 'finished' or status = 'failed')"), "{4}", "not group")
  end)

  it("keeps injection attempts as data", function()
    T.eq(ids(db, [[name = 'x'' OR 1=1; --']]), "{}", "quote in a literal")
    T.eq(ids(db, [[tags.`we'ird; --` = "x'); DROP TABLE runs; --"]]), "{3}", "odd key and value match exactly")
    T.eq(ids(db, [[params.`lr' OR 1=1 --` = 1]]), "{}", "odd key")
    T.eq(ids(db, [[name like '%'' /* */ --']]), "{}", "comment in a like pattern")
    T.eq(#db:query("SELECT id FROM runs"), 4, "runs intact")
  end)

  it("orders and limits", function()
    local function order(o, limit)
      local out = {}
      for i, r in ipairs(query.query{db = db, order = o, limit = limit}) do out[i] = r.id end
      return T.show(out)
    end
    T.eq(order("metrics.acc desc"), "{3, 2, 1, 4}", "by last acc, missing last")
    T.eq(order("metrics.acc"), "{1, 2, 3, 4}", "ascending, missing last")
    T.eq(order("-started", 2), "{4, 3}", "leading - and limit")
    T.eq(order("params.lr, id desc"), "{3, 1, 2, 4}", "numbers before text, ties by the next key")
    T.eq(order("max(metrics.loss) desc"), "{2, 1, 3, 4}", "aggregate")
    T.eq(#query.query{db = db, where = "status = 'finished'", limit = 1}, 1, "where + limit")
    T.eq(#query.query{db = db, status = "finished"}, 2, "status option")
  end)

  it("raises clear errors", function()
    T.errors(function() query.query{db = db, where = "metrics.acc >"} end,
      "filter: unexpected end of expression at column 14")
    T.errors(function() query.query{db = db, limit = -1} end, "limit must be a non-negative integer")
    T.errors(function() query.get(99, db) end, "no run '99'")
    T.errors(function() query.get({}, db) end, "expected a run id or name")
    T.eq(query.get("deep", db).id, 3, "get by name")
    T.eq(query.get("2", db).name, "wide", "get by id string")
  end)

  db:close()
  remove_db(path)
end)

-- runs the CLI in-process: output, or raises
local function run_cli(args)
  local buf = {}
  cli.main(args, {write = function(_, s) buf[#buf + 1] = s end})
  return table.concat(buf)
end

describe("lunet runs (cli)", function()
  local path, db = fixture()
  db:close()
  local function runs(...) return run_cli({"--db", path, ...}) end

  it("ls as csv, md, json and table", function()
    local t = function(x) return os.date("%Y-%m-%d %H:%M:%S", x) end
    T.eq(runs("ls", "--where", "params.opt = 'adam'", "--sort", "metrics.acc desc", "--format", "csv"),
      "id,name,experiment,status,started,duration,params.batch,params.lr,params.opt,metrics.acc,metrics.loss,metrics.train/loss\n" ..
      "3,deep,cifar,finished," .. t(3000) .. ",8m20s,,0.001,adam,0.95,0.1,2\n" ..
      "1,base,mnist,finished," .. t(1000) .. ",1m40s,64,0.001,adam,0.7,0.25,\n", "csv")
    T.eq(runs("ls", "--where", "id = 2", "--format", "md"),
      "| id | name | experiment | status | started | duration | params.batch | params.lr | params.opt | metrics.acc | metrics.loss |\n" ..
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" ..
      "| 2 | wide | mnist | failed | " .. t(2000) .. " | 50.0s | 128 | 0.01 | sgd | 0.9 | 1 |\n", "md")
    local js = runs("ls", "--status", "killed", "--format", "json")
    T.eq(js, '[{"ended":null,"experiment":null,"id":4,"metrics":{},"name":null,"params":{"lr":"auto"},' ..
      '"started":4000,"status":"killed","tags":{}}]\n', "json")
    local tab = runs("ls", "--limit", "2")
    T.truthy(tab:find("^id%s+name%s+experiment%s+status"), "table header")
    T.eq(select(2, tab:gsub("\n", "")), 3, "header + 2 rows")
    T.eq(runs("ls", "--where", "id = 99"), "no runs\n", "empty")
  end)

  it("show prints params, metrics, error", function()
    local out = runs("show", "2")
    T.truthy(out:find("^run 2  wide  %[failed%]\n"), "title")
    T.truthy(out:find("\nparams\nkey%s+value\nbatch%s+128\nlr%s+0.01\nopt%s+sgd\n"), "params")
    T.truthy(out:find("\nmetrics\nmetric%s+goal%s+count%s+last%s+step%s+min%s+at%s+max%s+at\n" ..
      "acc%s+max%s+2%s+0.9%s+2%s+0.3%s+1%s+0.9%s+2\n"), "metric table")
    T.truthy(out:find("\nerror\nboom\nstack traceback:\n\ttrain.lua:4\n", 1, true), "error")
    T.truthy(runs("show", "deep"):find("^run 3  deep"), "by name")
  end)

  it("show prints system info, artifacts, notes and the log tail", function()
    local d = core._runs.open(path)
    d:exec("INSERT INTO system_info VALUES (1, 'cpu', 'test cpu')")
    d:exec("INSERT INTO artifacts (run_id, path, kind, size, sha256, created) VALUES (1, 'm.safetensors', 'model', 123, 'abcdef0123456789', 0)")
    d:exec("INSERT INTO notes (run_id, time, text) VALUES (1, 0, 'first try')")
    d:exec("INSERT INTO logs VALUES (1, 1, 'stdout', 0, 'epoch 1'), (1, 2, 'stderr', 0, 'warning')")
    d:close()
    local out = runs("show", "1")
    T.truthy(out:find("\nsystem\nkey%s+value\ncpu%s+test cpu\n"), "system")
    T.truthy(out:find("\nartifacts\npath%s+kind%s+size%s+sha256\nm.safetensors%s+model%s+123%s+abcdef012345\n"), "artifacts")
    T.truthy(out:find("first try\n", 1, true), "notes")
    T.truthy(out:find("\nlog tail\n  epoch 1\n! warning\n", 1, true), "log tail")
  end)

  it("compare and compare --only-changed", function()
    local out = runs("compare", "1", "3", "--only-changed", "--format", "csv")
    T.eq(out, "field,run 1,run 3\nname,base,deep\nexperiment,mnist,cifar\nstarted," ..
      os.date("%Y-%m-%d %H:%M:%S", 1000) .. "," .. os.date("%Y-%m-%d %H:%M:%S", 3000) ..
      "\nduration,1m40s,8m20s\nparams.batch,64,\nmetrics.acc,0.7,0.95\nmetrics.loss,0.25,0.1\nmetrics.train/loss,,2\n",
      "only changed")
    T.truthy(runs("compare", "1", "3"):find("\nparams.opt%s+adam%s+adam\n"), "unchanged rows without the flag")
  end)

  it("diff shows params, metrics and a unified diff of the scripts", function()
    local out = runs("diff", "1", "2")
    T.truthy(out:find("\nparams.lr%s+0.001%s+0.01\n"), "param change")
    T.truthy(out:find("--- run 1/train.lua\n+++ run 2/train.lua\n@@ -1,6 +1,7 @@\n" ..
      "-local lr = 0.001\n+local lr = 0.01\n local epochs = 3\n for e = 1, epochs do\n   train(e)\n end\n" ..
      " print('done')\n+save()\n", 1, true), "unified diff")
  end)

  it("unified_diff makes separate hunks with 3 lines of context", function()
    local a, b = {}, {}
    for i = 1, 20 do a[i] = "l" .. i; b[i] = "l" .. i end
    b[2] = "X"; b[18] = "Y"
    local d = cli.unified_diff(table.concat(a, "\n") .. "\n", table.concat(b, "\n") .. "\n", "a", "b")
    T.eq(d, "--- a\n+++ b\n@@ -1,5 +1,5 @@\n l1\n-l2\n+X\n l3\n l4\n l5\n" ..
      "@@ -15,6 +15,6 @@\n l15\n l16\n l17\n-l18\n+Y\n l19\n l20\n", "hunks")
    T.eq(cli.unified_diff("a\n", "a\n", "x", "y"), "", "no difference")
    T.eq(cli.unified_diff("", "a\n", "x", "y"), "--- x\n+++ y\n@@ -0,0 +1,1 @@\n+a\n", "from empty")
  end)

  it("best picks by the metric's goal", function()
    T.eq(runs("best", "acc"), "best acc (max): 0.95 at step 1 in run 3 deep\n", "max goal")
    T.eq(runs("best", "loss"), "best loss (min): 0.1 at step 3 in run 3 deep\n", "min goal")
    T.eq(runs("best", "metrics.loss", "--where", "experiment = 'mnist'"),
      "best loss (min): 0.25 at step 3 in run 1 base\n", "with a filter")
    T.errors(function() runs("best", "nope") end, "runs best: no metric 'nope'")
  end)

  it("export csv and json", function()
    local csv = runs("export", "--where", "id = 4")
    T.eq(csv, "id,name,experiment,status,started,ended,parent_id,script_path,git_commit,host,seed,error,params.lr\n" ..
      "4,,,killed,4000,,,,,testhost,7,,auto\n", "csv")
    local js = runs("export", "--format", "json", "--where", "id = 4")
    T.truthy(js:find('"params":{"lr":"auto"}', 1, true), "json params")
    T.truthy(js:find('"status":"killed"', 1, true), "json status")
    local out = os.tmpname()
    T.eq(runs("export", "--where", "id = 4", "-o", out), "", "to a file")
    local f = io.open(out); local text = f:read("a"); f:close(); os.remove(out)
    T.eq(text, csv, "file content")
  end)

  it("sql is read-only", function()
    T.eq(runs("sql", "SELECT id, name FROM runs WHERE id <= 2 ORDER BY id", "--format", "csv"),
      "id,name\n1,base\n2,wide\n", "select")
    T.errors(function() runs("sql", "DELETE FROM runs") end, "readonly")
    T.errors(function() runs("sql", "DROP TABLE runs") end, "readonly")
    T.eq(runs("sql", "SELECT count(*) AS n FROM runs", "--format", "csv"), "n\n4\n", "nothing removed")
  end)

  it("tag sets and replaces tags", function()
    T.eq(runs("tag", "1", "model=resnet", "stage=final"), "run 1: model=resnet\nrun 1: stage=final\n", "output")
    T.eq(runs("sql", "SELECT key, value FROM tags WHERE run_id = 1 ORDER BY key", "--format", "csv"),
      "key,value\nmodel,resnet\nstage,final\n", "stored")
    T.errors(function() runs("tag", "1", "novalue") end, "runs tag: expected k=v, got 'novalue'")
  end)

  it("rm removes runs and their rows; gc vacuums and drops unused scripts", function()
    T.eq(runs("rm", "2", "4"), "removed run 2\nremoved run 4\n", "rm")
    T.eq(runs("sql", "SELECT (SELECT count(*) FROM runs) AS r, (SELECT count(*) FROM params WHERE run_id IN (2, 4)) AS p, " ..
      "(SELECT count(*) FROM metrics WHERE run_id = 2) AS m", "--format", "csv"), "r,p,m\n2,0,0\n", "rows gone, columns in the statement's order")
    T.errors(function() runs("rm", "1", "99") end, "runs rm: no run '99'")
    T.eq(runs("sql", "SELECT count(*) AS n FROM runs WHERE id = 1", "--format", "csv"), "n\n1\n", "nothing removed on error")
    T.eq(runs("gc"), "removed 1 unused script; vacuumed " .. path .. "\n", "gc")
  end)

  it("plot and report go through the plot module when it is there", function()
    local ok, plot = pcall(require, "lunet.runs.plot")
    if ok and type(plot.terminal) == "function" then
      local out = runs("plot", "loss", "1", "3")
      T.truthy(#out > 0, "terminal plot")
    else
      T.errors(function() runs("plot", "loss", "1") end, "lunet.runs.plot.terminal is not available")
    end
    T.errors(function() runs("plot", "loss", "1", "--x", "epoch") end, "--x expects step or time")
  end)

  it("rejects unknown commands, options, runs and databases", function()
    T.errors(function() runs("frobnicate") end, "runs: unknown command 'frobnicate'")
    T.errors(function() runs("ls", "--bogus") end, "runs ls: unknown option '--bogus'")
    T.errors(function() runs("ls", "--limit") end, "runs ls: option '--limit' needs a value")
    T.errors(function() runs("ls", "--limit", "x") end, "--limit expects a non-negative integer")
    T.errors(function() runs("ls", "--format", "xml") end, "unknown format 'xml'")
    T.errors(function() runs("ls", "--where", "status = 'a')") end,
      "filter: unexpected ')' at column 13\n  status = 'a')\n              ^")
    T.errors(function() runs("best", "acc", "--where", "id >") end,
      "filter: unexpected end of expression at column 5\n  id >\n      ^")
    T.errors(function() runs("show", "99") end, "runs show: no run '99' in " .. path)
    T.errors(function() runs("show") end, "runs show: expected one RUN")
    T.errors(function() run_cli{"ls", "--db", path .. ".missing"} end, "runs ls: no database at " .. path .. ".missing")
    T.truthy(run_cli{"help"}:find("^usage: lunet runs"), "help")
  end)

  it("runs as `lunet runs ...` with exit status 0, or 1 and the message", function()
    local exe = arg and arg[-1]
    if not exe then return end
    local function sh(cmd)
      local p = io.popen(cmd .. " 2>&1; echo \"exit=$?\"")
      local out = p:read("a"); p:close()
      return out
    end
    local q = "'" .. path .. "'"
    T.eq(sh(exe .. " runs --db " .. q .. " sql 'SELECT id FROM runs ORDER BY id' --format csv"),
      "id\n1\n3\nexit=0\n", "ok")
    local out = sh("LUNET_DB=" .. q .. " " .. exe .. " runs ls --where 'id = 1)'")
    T.truthy(out:find("filter: unexpected ')' at column 7", 1, true), "message")
    T.truthy(out:find("exit=1\n$"), "exit status 1")
    T.truthy(sh(exe .. " runs --db " .. q .. " nope"):find("unknown command 'nope'.*exit=1\n$"), "unknown command")
  end)

  it("lunet.runs.query and lunet.runs.get reach this module", function()
    local runs = require "lunet.runs"
    T.eq(#runs.query{db = path, where = "id = 3"}, 1, "query")
    T.eq(runs.get(3, path).name, "deep", "get")
  end)

  remove_db(path)
end)
