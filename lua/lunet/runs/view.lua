-- lunet.runs.view: runs as text. Each view has one renderer, shared by the shell
-- (`lunet runs ls|show|best`, lunet.runs.cli) and the objects lunet.runs.ls/show/best
-- return, whose __tostring prints the same text in the REPL.
local M = {}

local mtype, floor, abs, format = math.type, math.floor, math.abs, string.format
local ulen, tonum, concat = utf8.len, tonumber, table.concat

function M.fmt_value(v)
  if v == nil then return "" end
  if mtype(v) == "float" then
    if v ~= v then return "nan" end
    if v == floor(v) and abs(v) < 1e15 then return format("%d", v) end
    return format("%.6g", v)
  end
  return tostring(v)
end
local fmt_value = M.fmt_value

function M.fmt_time(t) return t and os.date("%Y-%m-%d %H:%M:%S", floor(t)) or "" end
local fmt_time = M.fmt_time

-- run: anything with started, ended, status, heartbeat
function M.fmt_duration(run)
  local stop = run.ended or (run.status == "running" and os.time()) or run.heartbeat
  if not (stop and run.started) then return "" end
  local s = math.max(0, stop - run.started)
  if s < 60 then return format("%.1fs", s) end
  if s < 3600 then return format("%dm%02ds", s // 60, floor(s % 60)) end
  return format("%dh%02dm", s // 3600, floor(s % 3600) // 60)
end
local fmt_duration = M.fmt_duration

function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end
local sorted_keys = M.sorted_keys

local function width(s) return ulen(s) or #s end

-- rows of strings as an aligned text table; numeric-looking cells align right.
-- Linear: each cell's width and numeric test are computed once into flat arrays, and
-- every line is one table.concat of a reused parts table.
function M.text_table(headers, rows)
  local ncol, w, cw, num = #headers, {}, {}, {}
  for j, h in ipairs(headers) do w[j] = width(h) end
  local k = 0
  for _, row in ipairs(rows) do
    for j = 1, ncol do
      local c = row[j] or ""
      local n = ulen(c) or #c
      k = k + 1
      cw[k], num[k] = n, tonum(c) ~= nil
      if n > w[j] then w[j] = n end
    end
  end
  local spaces = {}
  local function pad(n)
    local p = spaces[n]
    if not p then p = string.rep(" ", n); spaces[n] = p end
    return p
  end
  local parts = {}
  -- trailing empty cells and the last cell's padding are left out, so lines end in text;
  -- base: the offset of the row's cells in cw/num (nil for the header)
  local function line(cells, base)
    local last = ncol
    while last > 1 and (cells[last] or "") == "" do last = last - 1 end
    for j = 1, last do
      local c = cells[j] or ""
      local cwj = base and cw[base + j] or width(c)
      if base and num[base + j] then parts[j] = pad(w[j] - cwj) .. c
      elseif j == last then parts[j] = c
      else parts[j] = c .. pad(w[j] - cwj) end
    end
    return concat(parts, "  ", 1, last)
  end
  local out = {line(headers)}
  for i, row in ipairs(rows) do out[i + 1] = line(row, (i - 1) * ncol) end
  out[#out + 1] = ""
  return concat(out, "\n")
end
local text_table = M.text_table

-- ---- ls: one line per run ----------------------------------------------------

-- L: runs column-wise, as lunet.runs.query.listing returns them -> headers, rows of strings
function M.ls_rows(L)
  local pkeys, mkeys = sorted_keys(L.params), sorted_keys(L.metrics)
  local headers = {"id", "name", "experiment", "status", "started", "duration"}
  for _, k in ipairs(pkeys) do headers[#headers + 1] = "params." .. k end
  for _, k in ipairs(mkeys) do headers[#headers + 1] = "metrics." .. k end
  local id, name, exp, status, started, ended = L.id, L.name, L.experiment, L.status, L.started, L.ended
  local pcols, mcols = {}, {}
  for j, k in ipairs(pkeys) do pcols[j] = L.params[k] end
  for j, k in ipairs(mkeys) do mcols[j] = L.metrics[k] end
  local np, run = #pkeys, {}
  local rows = {}
  for i = 1, L.n do
    run.started, run.ended, run.status, run.heartbeat = started[i], ended[i], status[i], L.heartbeat[i]
    local row = {tostring(id[i]), name[i] or "", exp[i] or "", status[i], fmt_time(started[i]), fmt_duration(run)}
    for j = 1, np do row[6 + j] = fmt_value(pcols[j][i]) end
    for j = 1, #mkeys do row[6 + np + j] = fmt_value(mcols[j][i]) end
    rows[i] = row
  end
  return headers, rows
end

-- the `ls` text table of L (column-wise), or "no runs"
function M.ls_text(L)
  if L.n == 0 then return "no runs\n" end
  return text_table(M.ls_rows(L))
end

local LIST_ATTRS = {"id", "name", "experiment", "status", "started", "ended", "heartbeat"}

-- run objects (lunet.runs.query) column-wise, in listing's form
function M.columns(runs)
  local L = {n = #runs, params = {}, metrics = {}}
  for _, f in ipairs(LIST_ATTRS) do L[f] = {} end
  for i, run in ipairs(runs) do
    for _, f in ipairs(LIST_ATTRS) do L[f][i] = run[f] end
    for _, part in ipairs{"params", "metrics"} do
      local cols = L[part]
      for k, v in pairs(run[part]) do
        local col = cols[k]
        if not col then col = {}; cols[k] = col end
        col[i] = v
      end
    end
  end
  return L
end

-- ---- one run ----------------------------------------------------------------

local function kv_text(t)
  local parts = {}
  for i, k in ipairs(sorted_keys(t)) do parts[i] = k .. "=" .. fmt_value(t[k]) end
  return concat(parts, " ")
end

-- one summary row: id, name, status, started, duration, params k=v, last metrics k=v.
-- run: a run object, or any table with those fields (id nil: a run not recorded)
function M.row(run)
  local cells = {run.id and ("run " .. run.id) or "run (not recorded)", run.name or "", run.status or "",
    fmt_time(run.started), fmt_duration(run), kv_text(run.params or {}), kv_text(run.metrics or {})}
  local out = {}
  for _, c in ipairs(cells) do
    if c ~= "" then out[#out + 1] = c end
  end
  return concat(out, "  ")
end

local ATTR_ROWS = {"id", "name", "experiment", "status", "started", "ended", "duration", "parent_id",
  "script_path", "command_line", "cwd", "git_commit", "git_dirty", "host", "pid", "lunet_version",
  "lua_version", "blas", "threads", "seed", "exit_status", "notes"}

function M.attr_text(run, k)
  if k == "started" or k == "ended" then return fmt_time(run[k]) end
  if k == "duration" then return fmt_duration(run) end
  return fmt_value(run[k])
end
local attr_text = M.attr_text

-- everything about one run (the `show` text); db: the open database it came from
function M.show_text(run, db)
  local out = {}
  local function w(s) out[#out + 1] = s end
  w(format("run %d%s  [%s]\n", run.id, run.name and ("  " .. run.name) or "", run.status))
  local rows = {}
  for _, k in ipairs(ATTR_ROWS) do
    local v = attr_text(run, k)
    if v ~= "" and k ~= "id" and k ~= "status" then rows[#rows + 1] = {k, v} end
  end
  w(text_table({"field", "value"}, rows))
  local function kv_section(title, t)
    local keys = sorted_keys(t)
    if #keys == 0 then return end
    local r = {}
    for i, k in ipairs(keys) do r[i] = {k, fmt_value(t[k])} end
    w("\n" .. title .. "\n" .. text_table({"key", "value"}, r))
  end
  kv_section("params", run.params)
  kv_section("tags", run.tags)
  local mk = sorted_keys(run.summary)
  if #mk > 0 then
    local r = {}
    for i, k in ipairs(mk) do
      local s = run.summary[k]
      r[i] = {k, s.goal, fmt_value(s.count), fmt_value(s.last), fmt_value(s.last_step),
        fmt_value(s.min), fmt_value(s.min_step), fmt_value(s.max), fmt_value(s.max_step)}
    end
    w("\nmetrics\n" .. text_table({"metric", "goal", "count", "last", "step", "min", "at", "max", "at"}, r))
  end
  local info = db:query("SELECT key, value FROM system_info WHERE run_id = ? ORDER BY key", {run.id})
  if #info > 0 then
    local r = {}
    for i, row in ipairs(info) do r[i] = {row.key, row.value or ""} end
    w("\nsystem\n" .. text_table({"key", "value"}, r))
  end
  local arts = db:query("SELECT path, kind, size, sha256 FROM artifacts WHERE run_id = ? ORDER BY id", {run.id})
  if #arts > 0 then
    local r = {}
    for i, a in ipairs(arts) do
      r[i] = {a.path, a.kind or "", fmt_value(a.size), a.sha256 and a.sha256:sub(1, 12) or ""}
    end
    w("\nartifacts\n" .. text_table({"path", "kind", "size", "sha256"}, r))
  end
  local notes = db:query("SELECT time, text FROM notes WHERE run_id = ? ORDER BY time, id", {run.id})
  if #notes > 0 then
    w("\nnotes\n")
    for _, n in ipairs(notes) do w(fmt_time(n.time) .. "  " .. n.text .. "\n") end
  end
  local logs = db:query("SELECT stream, line FROM (SELECT seq, stream, line FROM logs WHERE run_id = ? " ..
    "ORDER BY seq DESC LIMIT 20) ORDER BY seq", {run.id})
  if #logs > 0 then
    w("\nlog tail\n")
    for _, l in ipairs(logs) do w((l.stream == "stderr" and "! " or "  ") .. l.line .. "\n") end
  end
  if run.error then
    w("\nerror\n" .. run.error .. "\n")
    if run.traceback then w(run.traceback .. "\n") end
  end
  return concat(out)
end

-- the `best` line: the run's best value of the metric by its goal, and where
function M.best_text(run, metric)
  local s = run.summary[metric]
  local goal = s.goal
  return format("best %s (%s): %s at step %s in run %d%s\n", metric, goal,
    fmt_value(s[goal]), fmt_value(s[goal .. "_step"]), run.id, run.name and (" " .. run.name) or "")
end

return M
