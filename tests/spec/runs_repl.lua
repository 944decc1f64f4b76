-- The run history in the REPL: lunet.runs.ls/show/best return run objects that print
-- (tostring) the same text as `lunet runs ls|show|best`, and every run prints as one
-- summary row. The database is written directly through the binding, as runs_query does.
local core = require "lunet.core"
local runs = require "lunet.runs"
local cli = require "lunet.runs.cli"

local GOALS = {loss = "min", acc = "max"}

-- one run: {id, name, status, started, ended, params = {k = text}, metrics = {key = {values}}}
local function add_run(db, r)
  db:exec("INSERT INTO runs (id, name, status, started, ended, heartbeat, host) VALUES (?, ?, ?, ?, ?, ?, ?)",
    {r.id, r.name, r.status, r.started, r.ended, r.ended or r.started, "testhost"})
  for k, v in pairs(r.params or {}) do
    db:exec("INSERT INTO params (run_id, key, value, num) VALUES (?, ?, ?, ?)", {r.id, k, v, tonumber(v)})
  end
  for k, values in pairs(r.metrics or {}) do
    db:exec("INSERT OR IGNORE INTO metric_keys (name, goal) VALUES (?, ?)", {k, GOALS[k]})
    local key_id = db:query("SELECT id FROM metric_keys WHERE name = ?", {k})[1].id
    local lo, hi, lo_step, hi_step = math.huge, -math.huge
    for step, v in ipairs(values) do
      db:exec("INSERT INTO metrics (run_id, key_id, step, value, time, is_nan) VALUES (?, ?, ?, ?, ?, 0)",
        {r.id, key_id, step, v, r.started + step})
      if v < lo then lo, lo_step = v, step end
      if v > hi then hi, hi_step = v, step end
    end
    db:exec("INSERT INTO metric_summary VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {r.id, key_id, #values, values[1], 1, values[#values], #values, lo, lo_step, hi, hi_step})
  end
end

local function fixture()
  local path = os.tmpname()
  os.remove(path)
  local db = core._runs.open(path)
  add_run(db, {id = 1, name = "base", status = "finished", started = 1000, ended = 1100,
    params = {lr = "0.001", opt = "adam"}, metrics = {loss = {1.0, 0.5, 0.25}, acc = {0.5, 0.8, 0.7}}})
  add_run(db, {id = 2, name = "wide", status = "failed", started = 2000, ended = 2050,
    params = {lr = "0.01", opt = "sgd"}, metrics = {loss = {2.0, 0.2}, acc = {0.3, 0.9}}})
  add_run(db, {id = 3, name = "deep", status = "finished", started = 3000, ended = 3500,
    params = {lr = "0.1"}, metrics = {loss = {0.9, 0.3}, acc = {0.95, 0.6}}})
  add_run(db, {id = 4, status = "killed", started = 4000, params = {lr = "auto"}})
  db:close()
  return path
end

local function remove_db(path)
  for _, s in ipairs{"", "-wal", "-shm"} do os.remove(path .. s) end
end

-- what `lunet runs ARGS... --db path` prints
local function shell(path, ...)
  local buf = {}
  cli.main({"--db", path, ...}, {write = function(_, s) buf[#buf + 1] = s end})
  return table.concat(buf)
end

local function ids(list)
  local t = {}
  for i, run in ipairs(list) do t[i] = run.id end
  return T.show(t)
end

describe("runs.ls in the REPL", function()
  local path = fixture()

  it("returns run objects, newest first, with a limit and a filter", function()
    local list = runs.ls{db = path}
    T.eq(ids(list), "{4, 3, 2, 1}", "newest first")
    T.eq(getmetatable(list[1]), runs.Run, "a run object")
    T.eq(list[4].params.opt, "adam", "params readable")
    T.eq(ids(runs.ls{db = path, limit = 2}), "{4, 3}", "limit")
    T.eq(ids(runs.ls{db = path, where = "metrics.acc > 0.6", order = "metrics.acc desc"}), "{2, 1}", "filter and order")
  end)

  it("prints as `lunet runs ls` prints", function()
    T.eq(tostring(runs.ls{db = path}) .. "\n", shell(path, "ls"), "same table")
    T.eq(tostring(runs.ls{db = path, status = "finished"}) .. "\n", shell(path, "ls", "--status", "finished"),
      "same table, filtered")
    T.eq(tostring(runs.ls{db = path, where = "name = 'none'"}), "no runs", "empty")
  end)

  it("says how many runs the limit left out", function()
    local text = tostring(runs.ls{db = path, limit = 3})
    T.truthy(text:find("\n... 1 more (limit = 0 lists all)", 1, true), "more line in: " .. text)
    T.eq(text:sub(1, #text - #"\n... 1 more (limit = 0 lists all)") .. "\n", shell(path, "ls", "--limit", "3"),
      "the table before it")
    T.truthy(not tostring(runs.ls{db = path, limit = 4}):find("more"), "nothing left out")
    local query = require "lunet.runs.query"
    local saved = query.LS_LIMIT
    query.LS_LIMIT = 1
    local ok, list = pcall(runs.ls, {db = path})
    query.LS_LIMIT = saved
    T.truthy(ok, tostring(list))
    T.eq(ids(list), "{4}", "the default limit")
    T.eq(ids(runs.ls{db = path, limit = 0}), "{4, 3, 2, 1}", "limit 0: all")
    remove_db(path)
  end)
end)

describe("a run's summary row", function()
  local path = fixture()

  it("has id, name, status, start, duration, params and last metrics", function()
    local run = runs.get(1, path)
    T.eq(tostring(run), "run 1  base  finished  " .. os.date("%Y-%m-%d %H:%M:%S", 1000) ..
      "  1m40s  lr=0.001 opt=adam  acc=0.7 loss=0.25", "row")
    T.eq(tostring(runs.ls{db = path}[1]), "run 4  killed  " .. os.date("%Y-%m-%d %H:%M:%S", 4000) ..
      "  0.0s  lr=auto", "no name, no metrics")
  end)

  it("of a recording run shows it running with its latest values", function()
    local rec = os.tmpname()
    os.remove(rec)
    local run = runs.start{db = rec, name = "cnn", params = {lr = 0.5}}
    run:log{loss = 2}
    run:log{loss = 1.5}
    local row = tostring(run)
    T.truthy(row:match("^run " .. run:id() .. "  cnn  running  %d%d%d%d%-%d%d%-%d%d [%d:]+  [%d.]+s  lr=0.5  loss=1.5$"),
      "row: " .. row)
    run:finish()
    T.truthy(tostring(run):find("  cnn  finished  ", 1, true), "finished: " .. tostring(run))
    remove_db(rec)
  end)

  it("of an unrecorded stand-in says so", function()
    local run = runs._unrecorded("tmp")
    run:log_param("lr", 3)
    run:log{loss = 4}
    run:log{loss = 5}
    T.eq(tostring(run), "run (not recorded)  tmp  running  lr=3  loss=5", "row")
    remove_db(path)
  end)
end)

describe("runs.show and runs.best in the REPL", function()
  local path = fixture()

  it("show prints as `lunet runs show` and keeps the run's data", function()
    local run = runs.show(2, path)
    T.eq(tostring(run) .. "\n", shell(path, "show", "2"), "same text")
    T.eq(run.params.opt, "sgd", "params"); T.eq(run.metrics.acc, 0.9, "metrics")
    T.eq(run.summary.loss.min, 0.2, "summary")
    T.eq(T.show((run:history("loss"))), "{1, 2}", "history")
    T.eq(tostring(runs.show("deep", path)) .. "\n", shell(path, "show", "deep"), "by name")
  end)

  it("best picks by the metric's goal and prints the shell's line and the row", function()
    local best = runs.best("acc", {db = path})
    T.eq(best.id, 3, "max goal: the highest max")
    T.eq(tostring(best), shell(path, "best", "acc") .. tostring(runs.get(3, path)), "line and row")
    T.eq(runs.best("metrics.loss", {db = path}).id, 2, "min goal: the lowest min")
    T.eq(runs.best("acc", {db = path, where = "params.opt = 'adam' or params.opt = 'sgd'"}).id, 2, "filtered")
    T.eq(runs.best("acc", {db = path, status = "finished"}).id, 3, "by status")
    T.eq(best.params.lr, 0.1, "data of the best run")
  end)

  it("raises for an unknown run, metric or argument", function()
    T.errors(function() runs.show(99, path) end, "runs: no run '99' in " .. path)
    T.errors(function() runs.show({}, path) end, "runs.show: expected a run id or name, got table")
    T.errors(function() runs.best("nope", {db = path}) end, "runs.best: no metric 'nope' in " .. path)
    T.errors(function() runs.best("acc", {db = path, where = "name = 'x'"}) end,
      "runs.best: no run has metric 'acc' and matches the filter")
    T.errors(function() runs.best(3) end, "runs.best: metric must be a string, got number")
    T.errors(function() runs.ls(5) end, "runs.ls: expected a filter string or a table of options, got number")
    T.errors(function() shell(path, "best", "nope") end, "runs best: no metric 'nope' in " .. path)
    remove_db(path)
  end)
end)
