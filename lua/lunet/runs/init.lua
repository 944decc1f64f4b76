-- lunet.runs: the experiment history in SQLite. This file is the recording
-- half (start, current, the run methods, crash detection); the C store is
-- src/runs_db.c, reached through require("lunet.core")._runs. See docs/runs.md.
local R = require("lunet.core")._runs
local methods = R.run_methods

local M = {}

local open = {}    -- runs of this process not finished yet, in start order
local current      -- the run lunet.runs.current() returns
local auto         -- the automatic run of `lunet script.lua`, until a script adopts it
local script_info  -- {script =, command_line =} of the script being run, set by the lunet program

-- where runs go: the db option, then LUNET_DB (or --db, which sets it), then ./runs.db
function M.db_path(path)
  if path then return path end
  local env = os.getenv("LUNET_DB")
  return env and env ~= "" and env or "runs.db"
end

local START_OPTIONS = {name = "string", experiment = "string", params = "table", tags = "table",
                       notes = "string", parent = true, db = "string"}

local function check_options(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error("lunet.runs.start: expected an options table, got " .. type(opts), 3)
  end
  for k, v in pairs(opts) do
    local want = START_OPTIONS[k]
    if not want then
      local names = {}
      for n in pairs(START_OPTIONS) do names[#names + 1] = n end
      table.sort(names)
      error(("lunet.runs.start: unknown option '%s' (options: %s)"):format(tostring(k), table.concat(names, ", ")), 3)
    end
    if want ~= true and type(v) ~= want then
      error(("lunet.runs.start: option %s must be a %s, got %s"):format(k, want, type(v)), 3)
    end
  end
  local p = opts.parent
  if p ~= nil and math.type(p) ~= "integer" and not (getmetatable(p) and getmetatable(p).__index == methods) then
    error("lunet.runs.start: option parent must be a run id (integer) or a run, got " .. type(p), 3)
  end
  return opts
end

-- nested params become dotted keys: {opt = {lr = 1}} -> opt.lr = 1
local function flatten(t, prefix, out, what)
  for k, v in pairs(t) do
    local key = prefix .. tostring(k)
    if type(v) == "table" then flatten(v, key .. ".", out, what)
    elseif type(v) == "number" or type(v) == "string" or type(v) == "boolean" then out[key] = v
    else error(("lunet.runs.start: %s.%s must be a number, string, boolean or table, got %s"):format(what, key, type(v)), 3) end
  end
  return out
end

local function apply(run, opts, params, tags)
  if opts.name then run:_set("name", opts.name) end
  if opts.experiment then run:_set("experiment", opts.experiment) end
  if opts.notes then run:_set("notes", opts.notes) end
  if opts.parent then
    local id = math.type(opts.parent) == "integer" and opts.parent or opts.parent:id()
    run:_set("parent_id", tostring(id))
  end
  for k, v in pairs(params) do run:log_param(k, v) end
  for k, v in pairs(tags) do run:set_tag(k, v) end
end

--- lunet.runs.start{name=, experiment=, params=, tags=, notes=, parent=, db=} -> run
-- Inside `lunet script.lua`, the first call takes over the automatic run.
function M.start(opts)
  opts = check_options(opts)
  -- checked before anything is written
  local params, tags = flatten(opts.params or {}, "", {}, "params"), flatten(opts.tags or {}, "", {}, "tags")
  local path = M.db_path(opts.db)
  local run
  if auto and auto.path == path then
    run = auto.run
    auto = nil
  else
    local info = script_info or {}
    run = R.start(path, {name = opts.name, script = info.script, command_line = info.command_line})
    open[#open + 1] = run
  end
  apply(run, opts, params, tags)
  run:flush()
  current = run
  return run
end

--- the run being recorded (the last one started and not finished), or nil
function M.current() return current end

local c_finish = methods.finish

--- run:finish([status]): "finished" (the default), "failed", "killed" or "crashed"
function methods.finish(self, status, ...)
  local ok = c_finish(self, status, ...)
  for i = #open, 1, -1 do
    if open[i] == self then table.remove(open, i) end
  end
  if auto and auto.run == self then auto = nil end
  if current == self then current = open[#open] end
  return ok
end

-- ---- the lunet program's hooks (src/main.c) ------------------------------

-- called before the script runs; record = false for --no-run / LUNET_NO_RUN
function M._begin(script, command_line, record)
  script_info = {script = script, command_line = command_line}
  if not record then return end
  local path = M.db_path()
  local name = script and (script:match("[^/]+$") or script) or nil
  local ok, run = pcall(R.start, path, {name = name, script = script, command_line = command_line})
  if not ok then
    io.stderr:write("lunet: not recording this run: ", tostring(run), "\n")
    return
  end
  open[#open + 1] = run
  auto = {run = run, path = path}
  current = run
end

-- called when the script ends: every run still open gets this status
function M._end(status, exit_status, message, traceback)
  for i = #open, 1, -1 do
    local run = open[i]
    if run:status() == "running" then c_finish(run, status, exit_status, message, traceback) end
    open[i] = nil
  end
  auto, current = nil, nil
end

-- ---- crash detection, for readers -----------------------------------------

M.STALE_SECONDS = 30

--- lunet.runs.mark_crashed(db) -> number of runs marked
-- A 'running' run whose process is gone (on this host) or whose heartbeat is
-- older than 30 s becomes 'crashed'. A readonly handle changes nothing.
function M.mark_crashed(db)
  if db:is_readonly() then return 0 end
  local host, now, n = R.hostname(), R.now(), 0
  for _, r in ipairs(db:query("SELECT id, host, pid, heartbeat FROM runs WHERE status = 'running'")) do
    -- a recording process refreshes its heartbeat every 5 s from a thread,
    -- even while it computes without logging
    local gone = now - r.heartbeat > M.STALE_SECONDS or (r.host == host and r.pid and not R.pid_alive(r.pid))
    if gone then
      n = n + db:exec("UPDATE runs SET status = 'crashed', ended = heartbeat WHERE id = ?1 AND status = 'running'",
                      {r.id})
    end
  end
  return n
end

-- lunet.runs.query and the other reading functions live in lunet.runs.query;
-- looked up on first use, so that module may require this one
setmetatable(M, {__index = function(_, k)
  local ok, q = pcall(require, "lunet.runs.query")
  if ok and type(q) == "table" then return rawget(q, k) end
end})

return M
