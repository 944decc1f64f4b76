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
local filter = require "lunet.runs.filter"

local M = {}

-- the database path: explicit, else LUNET_DB, else ./runs.db
function M.default_path(path)
  return path or os.getenv("LUNET_DB") or "runs.db"
end

-- db may be an open handle, a path or nil; returns handle, path
function M.open(db, readonly)
  if type(db) == "userdata" or type(db) == "table" then return db end
  if db ~= nil and type(db) ~= "string" then
    error("runs.query: db must be a path or an open database, got " .. type(db), 3)
  end
  local path = M.default_path(db)
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

-- get(id [, db]) -> the run with that id (an integer, or a string of digits); a name finds
-- the newest run of that name. Raises when there is none.
function M.get(id, db)
  local handle, path = M.open(db)
  local rows
  if math.type(id) == "integer" or (type(id) == "string" and id:match("^%d+$")) then
    rows = handle:query(SELECT .. " WHERE r.id = ?", {math.tointeger(tonumber(id))})
  elseif type(id) == "string" then
    rows = handle:query(SELECT .. " WHERE r.name = ? ORDER BY r.started DESC, r.id DESC LIMIT 1", {id})
  else
    error("runs.get: expected a run id or name, got " .. type(id), 2)
  end
  if #rows == 0 then
    error(string.format("runs: no run '%s' in %s", tostring(id), path or "the database"), 2)
  end
  return wrap(handle, rows)[1]
end

return M
