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
local db_of = setmetatable({}, {__mode = "k"}) -- run -> its database path

-- ---- the tail of what the script prints -------------------------------------
-- print, io.write and writes to io.stdout / io.stderr are copied, line by line,
-- into a ring of the last TAIL_LINES lines, stored with each run as it ends.
-- (Copying at the Lua level leaves stdout a terminal when it is one: a pipe
-- would change what isatty() tells the script. Output written by C is not seen.)
M.TAIL_LINES = 1000
local tail = {first = 1, next = 1, partial = {stdout = "", stderr = ""}}

local function keep(stream, text)
  local buf = tail.partial[stream] .. text
  for line in buf:gmatch("([^\n]*)\n") do
    tail[tail.next] = {stream, R.now(), line}
    tail.next = tail.next + 1
    if tail.next - tail.first > M.TAIL_LINES then tail[tail.first] = nil; tail.first = tail.first + 1 end
  end
  tail.partial[stream] = buf:match("[^\n]*$")
end

local function texts(...)
  local n, parts = select("#", ...), {}
  for i = 1, n do local v = select(i, ...) parts[i] = type(v) == "number" and tostring(v) or v end
  return parts, n
end

local capturing = false
local function capture_output()
  if capturing then return end
  capturing = true
  local print0, write0 = print, io.write
  print = function(...) -- luacheck: ignore (the global print, wrapped)
    local parts, n = {}, select("#", ...)
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    keep("stdout", table.concat(parts, "\t") .. "\n")
    return print0(...)
  end
  io.write = function(...)
    local parts = texts(...)
    if pcall(table.concat, parts) then keep("stdout", table.concat(parts)) end
    return write0(...)
  end
  local file_methods = getmetatable(io.stdout).__index
  local fwrite0 = file_methods.write
  file_methods.write = function(f, ...)
    local stream = f == io.stdout and "stdout" or f == io.stderr and "stderr" or nil
    if stream then
      local parts = texts(...)
      if pcall(table.concat, parts) then keep(stream, table.concat(parts)) end
    end
    return fwrite0(f, ...)
  end
end

-- store the lines printed since the run began (at most TAIL_LINES) with it
local function store_tail(run, from)
  local path = db_of[run]
  if not path then return end
  for stream, rest in pairs(tail.partial) do
    if rest ~= "" then keep(stream, "\n") end
  end
  local first = math.max(from or 1, tail.first)
  if first >= tail.next then return end
  local ok, err = pcall(function()
    local db <close> = R.open(path)
    db:exec("BEGIN IMMEDIATE")
    local seq = 0
    for i = first, tail.next - 1 do
      local l = tail[i]
      seq = seq + 1
      db:exec("INSERT OR REPLACE INTO logs (run_id, seq, stream, time, line) VALUES (?1, ?2, ?3, ?4, ?5)",
              {run:id(), seq, l[1], l[2], l[3]})
    end
    db:exec("COMMIT")
  end)
  if not ok then io.stderr:write("lunet: could not store the output of run ", tostring(run:id()), ": ", tostring(err), "\n") end
end
local tail_from = setmetatable({}, {__mode = "k"}) -- run -> first ring index of its output

-- where runs go: the db option, then LUNET_DB (or --db, which sets it), then ./runs.db
function M.db_path(path)
  if path then return path end
  local env = os.getenv("LUNET_DB")
  return env and env ~= "" and env or "runs.db"
end

-- a recording run prints as the summary row the query side prints (run 13  cnn  running ...),
-- read back from its database after a flush, so the metrics shown are the latest
local function run_row(run)
  local ok, row = pcall(function()
    run:flush()
    return require("lunet.runs.query").get(run:id(), db_of[run])
  end)
  if ok then return tostring(row) end
  return string.format("run %d  %s", run:id(), run:status())
end

-- the C binding's run metatable is shared by every run: set once, on the first run
local function printable(run)
  local mt = getmetatable(run)
  if mt.__tostring ~= run_row then mt.__tostring = run_row end
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
    local ok, r = pcall(R.start, path, {name = opts.name, script = info.script, command_line = info.command_line})
    if not ok then
      -- a file that is not ours (or too new) is refused; one that cannot be
      -- opened or written (a full disk, a read-only folder) must not stop the training
      if tostring(r):find("not a lunet runs database", 1, true) or tostring(r):find("newer than this lunet", 1, true) then
        error(r, 2)
      end
      io.stderr:write("lunet.runs.start: not recording this run: ", tostring(r), "\n")
      current = M._unrecorded(opts.name)
      return current
    end
    run = r
    printable(run)
    open[#open + 1] = run
    db_of[run], tail_from[run] = path, tail.next
    capture_output()
  end
  apply(run, opts, params, tags)
  run:flush()
  current = run
  return run
end

-- the stand-in start() returns when the database cannot be written: every
-- run method works; metrics stay in memory (run.history[key] = {steps, values})
function M._unrecorded(name)
  local run = {name = name, history = {}, params = {}, tags = {}, step = 0, state = "running"}
  local m = {}
  function m.log(self, t, step)
    if step == nil then self.step = self.step + 1; step = self.step end
    for k, v in pairs(t) do
      local h = self.history[k] or {steps = {}, values = {}}
      self.history[k] = h
      h.steps[#h.steps + 1], h.values[#h.values + 1] = step, v
    end
  end
  function m.log_param(self, k, v) self.params[k] = v end
  function m.set_tag(self, k, v) self.tags[k] = v end
  function m.finish(self, status) self.state = status or "finished"; if current == self then current = open[#open] end return true end
  function m.status(self) return self.state end
  function m.id() return nil end
  function m.artifact() end
  function m.note() end
  function m.set_goal() end
  function m.flush() return true end
  -- prints as a summary row too: run (not recorded)  name  running  params  last metrics
  local function row(self)
    local last = {}
    for k, h in pairs(self.history) do last[k] = h.values[#h.values] end
    return require("lunet.runs.view").row{name = self.name, status = self.state, params = self.params, metrics = last}
  end
  return setmetatable(run, {__index = m, __tostring = row})
end

--- the run being recorded (the last one started and not finished), or nil
function M.current() return current end

local c_finish = methods.finish

--- run:finish([status]): "finished" (the default), "failed", "killed" or "crashed"
function methods.finish(self, status, ...)
  if self:status() == "running" then store_tail(self, tail_from[self]) end
  local ok, why = c_finish(self, status, ...)
  for i = #open, 1, -1 do
    if open[i] == self then table.remove(open, i) end
  end
  if auto and auto.run == self then auto = nil end
  if current == self then current = open[#open] end
  if ok then return true end
  return false, why
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
  printable(run)
  open[#open + 1] = run
  db_of[run], tail_from[run] = path, tail.next
  capture_output()
  auto = {run = run, path = path}
  current = run
end

-- called when the script ends: every run still open gets this status
function M._end(status, exit_status, message, traceback)
  for i = #open, 1, -1 do
    local run = open[i]
    local ok, status_now = pcall(run.status, run)  -- a handle freed by hand is skipped, not fatal
    if ok and status_now == "running" then
      store_tail(run, tail_from[run])
      c_finish(run, status, exit_status, message, traceback)
    end
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
