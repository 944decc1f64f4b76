-- lunet.runs.query: runs out of the history database as Lua objects.
--
--   local runs = query.query{where = "metrics.val_acc > 0.9", order = "metrics.val_acc desc", limit = 5}
--   runs[1].params.lr, runs[1].tags.model, runs[1].summary.val_acc.max
--   local steps, values = runs[1]:history("loss")
--
-- A run object holds the columns of its `runs` row, `experiment` (the name), `params`
-- (numbers when the value is one), `tags`, `metrics` (name -> last value) and `summary`
-- (name -> count, first, last, min, max, their steps, and the goal). Those four are read
-- for the whole result at once, in a few queries, the first time any run of it needs one.
-- A run prints (tostring) as one summary row; ls/show/best return values that print as
-- `lunet runs ls|show|best` do, so the history reads the same in the REPL and the shell.
local filter = require "lunet.runs.filter"
local view = require "lunet.runs.view"

local M = {}


-- db may be an open handle, a path or nil; returns handle, path
function M.open(db, readonly)
  if type(db) == "userdata" or type(db) == "table" then return db end
  if db ~= nil and type(db) ~= "string" then
    error("runs.query: db must be a path or an open database, got " .. type(db), 3)
  end
  local path = require("lunet.runs").db_path(db)
  local core = require "lunet.core"
  if not (core._runs and core._runs.open) then error("runs: this lunet was built without the run store", 3) end
  if readonly then
    local f = io.open(path, "rb")
    if not f then error("runs: no database at " .. path, 3) end
    f:close()
  end
  return core._runs.open(path, {readonly = readonly and true or false}), path
end

-- marks dead `running` runs crashed, when the store provides it and the handle can write
local function mark_crashed(db)
  local runs = package.loaded["lunet.runs"]
  if type(runs) == "table" and type(runs.mark_crashed) == "function" then
    pcall(runs.mark_crashed, db)
  end
end
M.mark_crashed = mark_crashed

local CHUNK = 500

-- calls fn(cols, i) for each row i of `sql_head .. "(?, ...)"` over ids, CHUNK ids at a
-- time; cols is the column-wise result (cols.key[i]), so no table is built per row
local function each_in(db, sql_head, ids, fn)
  for i = 1, #ids, CHUNK do
    local part = table.move(ids, i, math.min(i + CHUNK - 1, #ids), 1, {})
    local marks = string.rep("?, ", #part - 1) .. "?"
    local cols = db:query(sql_head .. "(" .. marks .. ")", part, {by_column = true})
    for r = 1, cols.n do fn(cols, r) end
  end
end

local Run = {}
local state = setmetatable({}, {__mode = "k"}) -- run -> {batch =, params =, tags =, summary =}
local LAZY = {params = "params", tags = "params", summary = "summary", metrics = "metrics"}

-- state of every run of the batch, by id, with fresh tables in the given fields
local function batch_states(batch, fields)
  local ids, by_id = {}, {}
  for i, run in ipairs(batch.runs) do
    ids[i] = run.id
    local st = state[run]
    for _, f in ipairs(fields) do st[f] = {} end
    by_id[run.id] = st
  end
  return ids, by_id
end

-- the loaders of the lazy fields, each filling its fields for the whole batch at once
local loaders = {}

function loaders.params(batch)
  local ids, by_id = batch_states(batch, {"params", "tags"})
  each_in(batch.db, "SELECT run_id, key, value, num FROM params WHERE run_id IN ", ids, function(c, i)
    by_id[c.run_id[i]].params[c.key[i]] = c.num[i] or c.value[i]
  end)
  each_in(batch.db, "SELECT run_id, key, value FROM tags WHERE run_id IN ", ids, function(c, i)
    by_id[c.run_id[i]].tags[c.key[i]] = c.value[i]
  end)
end

function loaders.summary(batch)
  local ids, by_id = batch_states(batch, {"summary"})
  local fields = {"count", "first", "first_step", "last", "last_step", "min", "min_step", "max", "max_step", "goal"}
  each_in(batch.db, "SELECT s.*, k.name AS name, k.goal AS goal FROM metric_summary s " ..
    "JOIN metric_keys k ON k.id = s.key_id WHERE s.run_id IN ", ids, function(c, i)
    local row = {}
    for _, f in ipairs(fields) do row[f] = c[f][i] end
    by_id[c.run_id[i]].summary[c.name[i]] = row
  end)
end

-- last values only: three columns a row, for listings of many runs
function loaders.metrics(batch)
  local ids, by_id = batch_states(batch, {"metrics"})
  local names = {}
  for _, row in ipairs(batch.db:query("SELECT id, name FROM metric_keys", {})) do names[row.id] = row.name end
  each_in(batch.db, "SELECT run_id, key_id, last FROM metric_summary WHERE run_id IN ", ids, function(c, i)
    by_id[c.run_id[i]].metrics[names[c.key_id[i]]] = c.last[i]
  end)
end

Run.__index = function(run, k)
  local loader = LAZY[k]
  if loader then
    local st = state[run]
    if st[k] == nil then
      local batch = st.batch
      loaders[loader](batch)
    end
    return st[k]
  end
  return Run[k]
end
-- what Run.__index offers, without loading anything, for the REPL's completion
Run.__members = {Run, LAZY}

-- steps, values of one metric in step order (Lua arrays; tensors with {tensor = true});
-- with {time = true} also the wall times. A NaN logged value comes back as NaN.
function Run:history(key, opts)
  if type(key) ~= "string" then error("run:history: key must be a string, got " .. type(key), 2) end
  opts = opts or {}
  local db = state[self].batch.db
  local sql = "SELECT m.step, m.value" .. (opts.time and ", m.time" or "") ..
    " FROM metrics m WHERE m.run_id = ? AND m.key_id = (SELECT id FROM metric_keys WHERE name = ?)" ..
    " ORDER BY m.step"
  -- column-wise: one array (or tensor) per column instead of one table per point
  if opts.tensor then
    local c = db:query(sql, {self.id, key}, {tensor = true})
    local steps, values, times = c.step, c.value, c.time
    -- steps are INTEGER (int64); values and times REAL, int64 only when there are no rows
    if values:dtype() ~= "float64" then values = values:to("float64") end
    if times and times:dtype() ~= "float64" then times = times:to("float64") end
    return steps, values, times
  end
  local c = db:query(sql, {self.id, key}, {by_column = true})
  local values, nan = c.value, 0 / 0
  for i = 1, c.n do
    if values[i] == nil then values[i] = nan end -- NULL is how a NaN is stored
  end
  return c.step, values, c.time
end

-- the names of the run's metrics, sorted
function Run:metric_names()
  local names = {}
  for k in pairs(self.summary) do names[#names + 1] = k end
  table.sort(names)
  return names
end

-- wraps rows of `runs` (with `experiment`) as run objects sharing one lazy batch
local function wrap(db, rows)
  local batch = {db = db, runs = rows}
  for i, row in ipairs(rows) do
    state[row] = {batch = batch}
    rows[i] = setmetatable(row, Run)
  end
  return rows
end
M.Run = Run

-- one summary row: run 12  mlp  finished  2026-11-23 14:02:11  3m12s  lr=0.001  loss=0.31
Run.__tostring = view.row

local SELECT = "SELECT r.*, e.name AS experiment FROM runs r LEFT JOIN experiments e ON e.id = r.experiment_id"

-- the SQL and parameters of a query over runs r, selecting `select`
local function runs_sql(opts, select, level)
  local where, params = filter.compile(opts.where or "")
  if opts.status then
    where = "(" .. where .. ") AND r.status = ?"
    params[#params + 1] = opts.status
  end
  local sql = select .. " WHERE " .. where
  if opts.order and opts.order:find("%S") then
    local order, oparams = filter.compile_order(opts.order)
    sql = sql .. " ORDER BY " .. order .. ", r.id DESC"
    table.move(oparams, 1, #oparams, #params + 1, params)
  else
    sql = sql .. " ORDER BY r.started DESC, r.id DESC"
  end
  if opts.limit then
    if math.type(opts.limit) ~= "integer" or opts.limit < 0 then
      error("runs.query: limit must be a non-negative integer, got " .. tostring(opts.limit), level + 1)
    end
    if opts.limit > 0 then
      sql = sql .. " LIMIT ?"
      params[#params + 1] = opts.limit
    end
  end
  return sql, params
end

-- query{db =, where =, order =, limit =, status =} -> array of run objects.
-- order: "metrics.val_acc desc", "started", "-params.lr", comma-separated; default newest first.
function M.query(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("runs.query: expected a table of options, got " .. type(opts), 2) end
  local db = M.open(opts.db, opts.readonly)
  if not opts.readonly then mark_crashed(db) end
  local sql, params = runs_sql(opts, SELECT, 2)
  return wrap(db, db:query(sql, params))
end

local LIST_SELECT = "SELECT r.id, r.name, e.name AS experiment, r.status, r.started, r.ended, r.heartbeat " ..
  "FROM runs r LEFT JOIN experiments e ON e.id = r.experiment_id"

-- adds table[field][key] = array of values by row position (pos: run id -> row)
local function fill_by_key(db, sql_head, ids, pos, into, value)
  each_in(db, sql_head, ids, function(c, i)
    local v = value(c, i)
    if v == nil then return end -- a NULL (a NaN last value) is no entry, as in run.metrics
    local key = c.key[i]
    local col = into[key]
    if not col then col = {}; into[key] = col end
    col[pos[c.run_id[i]]] = v
  end)
end

-- listing{same options as query, tags = b} -> the matching runs column-wise, for big listings:
-- {n =, id = {...}, name =, experiment =, status =, started =, ended =, heartbeat = (arrays,
-- nil holes for NULL), params = {key -> array}, metrics = {name -> array of last values},
-- tags = {key -> array} (with tags = true)}. No table per run is built.
function M.listing(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("runs.listing: expected a table of options, got " .. type(opts), 2) end
  local db = M.open(opts.db, opts.readonly)
  if not opts.readonly then mark_crashed(db) end
  local sql, params = runs_sql(opts, LIST_SELECT, 2)
  local L = db:query(sql, params, {by_column = true})
  local ids, pos = L.id, {}
  for i = 1, L.n do pos[ids[i]] = i end
  L.params, L.metrics = {}, {}
  fill_by_key(db, "SELECT run_id, key, value, num FROM params WHERE run_id IN ", ids, pos, L.params,
    function(c, i) return c.num[i] or c.value[i] end)
  if opts.tags then
    L.tags = {}
    fill_by_key(db, "SELECT run_id, key, value FROM tags WHERE run_id IN ", ids, pos, L.tags,
      function(c, i) return c.value[i] end)
  end
  fill_by_key(db, "SELECT s.run_id, k.name AS key, s.last FROM metric_summary s " ..
    "JOIN metric_keys k ON k.id = s.key_id WHERE s.run_id IN ", ids, pos, L.metrics,
    function(c, i) return c.last[i] end)
  return L
end

-- the run with that id or name, or the error "runs: no run 'x' in PATH" at `level`
local function find_run(fname, id, db, level)
  local handle, path = M.open(db)
  local rows
  if math.type(id) == "integer" or (type(id) == "string" and id:match("^%d+$")) then
    rows = handle:query(SELECT .. " WHERE r.id = ?", {math.tointeger(tonumber(id))})
  elseif type(id) == "string" then
    rows = handle:query(SELECT .. " WHERE r.name = ? ORDER BY r.started DESC, r.id DESC LIMIT 1", {id})
  else
    error(fname .. ": expected a run id or name, got " .. type(id), level + 1)
  end
  if #rows == 0 then
    error(string.format("runs: no run '%s' in %s", tostring(id), path or "the database"), level + 1)
  end
  return wrap(handle, rows)[1]
end

-- get(id [, db]) -> the run with that id (an integer, or a string of digits); a name finds
-- the newest run of that name. Raises when there is none.
function M.get(id, db)
  local run = find_run("runs.get", id, db, 2) -- not a tail call: the error level counts this frame
  return run
end

-- find_best(db, metric [, where [, status]]) -> run, goal: the run with the best value of
-- the metric over its history (highest max for a max goal, else lowest min), or nil and
-- "metric" (no such metric) or "run" (no matching run has it). The shell's and Lua's best.
function M.find_best(db, metric, where, status)
  local keys = db:query("SELECT goal FROM metric_keys WHERE name = ?", {metric})
  if #keys == 0 then return nil, "metric" end
  local goal = keys[1].goal
  if where then filter.compile(where) end -- errors point into it, not into the combined filter
  local field = string.format("%s(metrics.`%s`)", goal, metric:gsub("`", "``"))
  local cond = field .. " is not null"
  if where then cond = "(" .. where .. ") and " .. cond end
  local runs = M.query{db = db, where = cond, status = status,
    order = field .. (goal == "max" and " desc" or " asc"), limit = 1}
  if #runs == 0 then return nil, "run" end
  return runs[1], goal
end

-- ---- the REPL's view: values that print as the shell's commands do ----------

-- a filter string or an options table (where, order, limit, status, db) -> a fresh table
local function options(fname, opts)
  if opts == nil then return {} end
  if type(opts) == "string" then return {where = opts} end
  if type(opts) ~= "table" then
    error(fname .. ": expected a filter string or a table of options, got " .. type(opts), 3)
  end
  local copy = {}
  for k, v in pairs(opts) do copy[k] = v end
  return copy
end

-- tostring gives the command's text without its final newline, as a value's text has none
local function text(s) return (s:gsub("\n$", "")) end

local more_of = setmetatable({}, {__mode = "k"}) -- ls list -> matches left out by the limit
local RunList = {__tostring = function(list)
  local t = text(view.ls_text(view.columns(list)))
  local more = more_of[list]
  if more then t = t .. string.format("\n... %d more (limit = 0 lists all)", more) end
  return t
end}

M.LS_LIMIT = 20

-- ls([where | opts]) -> array of run objects, newest first (opts as query's); at most
-- LS_LIMIT (20) unless opts.limit says otherwise (0: all). Prints as `lunet runs ls`.
function M.ls(opts)
  opts = options("runs.ls", opts)
  if opts.limit == nil then opts.limit = M.LS_LIMIT end
  local runs = M.query(opts)
  if opts.limit > 0 and #runs == opts.limit then
    local count_opts = {where = opts.where, status = opts.status}
    local sql, params = runs_sql(count_opts, "SELECT count(*) AS n FROM runs r LEFT JOIN experiments e " ..
      "ON e.id = r.experiment_id", 2)
    local n = state[runs[1]].batch.db:query(sql, params)[1].n - #runs
    if n > 0 then more_of[runs] = n end
  end
  return setmetatable(runs, RunList)
end

-- a run that prints as `lunet runs show` (all of its fields and methods as any run's)
local ShownRun = {__index = Run.__index, __members = Run.__members, __tostring = function(run)
  return text(view.show_text(run, state[run].batch.db))
end}

-- show(id [, db]) -> the run, printing as everything about it. Raises for an unknown run.
function M.show(id, db)
  return setmetatable(find_run("runs.show", id, db, 2), ShownRun)
end

local best_metric = setmetatable({}, {__mode = "k"}) -- best run -> the metric it is best at
local BestRun = {__index = Run.__index, __members = Run.__members, __tostring = function(run)
  return view.best_text(run, best_metric[run]) .. view.row(run)
end}

-- best(metric [, where | opts]) -> the run with the best value of the metric, printing as
-- `lunet runs best` plus its summary row. Raises when no (matching) run has the metric.
function M.best(metric, opts)
  if type(metric) ~= "string" then error("runs.best: metric must be a string, got " .. type(metric), 2) end
  metric = metric:gsub("^metrics%.", "")
  opts = options("runs.best", opts)
  local db, path = M.open(opts.db)
  local run, why = M.find_best(db, metric, opts.where, opts.status)
  if not run then
    if why == "metric" then
      error(string.format("runs.best: no metric '%s' in %s", metric, path or "the database"), 2)
    end
    error(string.format("runs.best: no run has metric '%s'%s", metric,
      opts.where and " and matches the filter" or ""), 2)
  end
  best_metric[run] = metric
  return setmetatable(run, BestRun)
end

return M
