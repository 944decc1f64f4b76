-- lunet.runs.cli: `lunet runs COMMAND ...`, the history from the shell.
--
--   M.main(args [, out])  args = {"ls", "--where", "metrics.acc > 0.9", ...} (a leading "runs"
--   is skipped); out is anything with :write (default io.stdout). Errors are raised (the
--   program prints them and exits with status 1).
local query = require "lunet.runs.query"
local view = require "lunet.runs.view"

local M = {}

local USAGE = [[
usage: lunet runs COMMAND [options]      (--db PATH, else $LUNET_DB, else ./runs.db)
  ls [--where EXPR] [--sort KEY] [--status S] [--limit N] [--format table|csv|json|md]
  show RUN                       everything about one run (RUN: an id or a name)
  compare RUN... [--only-changed]
  diff A B                       params, metrics and a unified diff of the scripts
  best METRIC [--where EXPR]     the run with the best value, by the metric's goal
  plot METRIC RUN... [--x step|time] [--smooth W] [--log] [--svg FILE] [--png FILE]
  report [-o report.html] [--where EXPR]
  export [--format csv|json] [--where EXPR] [-o FILE]
  sql "SELECT ..." [--format table|csv|json|md]     (read-only)
  rm RUN...       gc       tag RUN k=v...
filter: metrics.val_acc > 0.9 and params.lr = 0.001 and not status = 'failed'
        (and or not ( ) = != < <= > >= in (...) like, is null; min()/max() of metrics)
]]

-- formatting: the text renderers live in lunet.runs.view (the REPL prints the same)
local fmt_value, fmt_time, text_table = view.fmt_value, view.fmt_time, view.text_table
local sorted_keys, attr_text = view.sorted_keys, view.attr_text
M.fmt_value = fmt_value

local function csv_cell(s)
  if s:find('[,"\r\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function csv_table(headers, rows)
  local out = {}
  for i, row in ipairs({headers, table.unpack(rows)}) do
    local cells = {}
    for j = 1, #headers do cells[j] = csv_cell(row[j] or "") end
    out[i] = table.concat(cells, ",")
  end
  return table.concat(out, "\n") .. "\n"
end

local function md_table(headers, rows)
  local function esc(s) return (s:gsub("|", "\\|"):gsub("\n", " ")) end
  local out, sep = {}, {}
  for j = 1, #headers do sep[j] = "---" end
  for _, row in ipairs({headers, sep, table.unpack(rows)}) do
    local cells = {}
    for j = 1, #headers do cells[j] = esc(row[j] or "") end
    out[#out + 1] = "| " .. table.concat(cells, " | ") .. " |"
  end
  return table.concat(out, "\n") .. "\n"
end

-- JSON text of nil/booleans/numbers/strings/tables (arrays when t[1] ~= nil or marked)
local ARRAY, NULL = {}, setmetatable({}, {__name = "null"}) -- NULL: an explicit JSON null
local function json(v, out)
  out = out or {}
  local t = type(v)
  if v == nil or v == NULL then out[#out + 1] = "null"
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then out[#out + 1] = "null"
    elseif math.type(v) == "integer" then out[#out + 1] = string.format("%d", v)
    else out[#out + 1] = string.format("%.17g", v) end
  elseif t == "string" then
    out[#out + 1] = '"' .. v:gsub('[%c"\\]', function(c)
      local named = {['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r"}
      return named[c] or string.format("\\u%04x", c:byte())
    end) .. '"'
  elseif t == "table" then
    if v[1] ~= nil or getmetatable(v) == ARRAY then
      out[#out + 1] = "["
      for i, x in ipairs(v) do
        if i > 1 then out[#out + 1] = "," end
        json(x, out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        json(k, out); out[#out + 1] = ":"; json(v[k], out)
      end
      out[#out + 1] = "}"
    end
  else
    error("json: cannot encode a " .. t)
  end
  return out
end
M.json = function(v) return table.concat(json(v)) end

-- headers + rows in one of the formats; json gets the records instead when given
local function render(format, headers, rows, records)
  if format == "table" then return text_table(headers, rows)
  elseif format == "csv" then return csv_table(headers, rows)
  elseif format == "md" then return md_table(headers, rows)
  elseif format == "json" then
    if not records then
      records = {}
      for i, row in ipairs(rows) do
        local rec = {}
        for j, h in ipairs(headers) do rec[h] = row[j] end
        records[i] = rec
      end
    end
    return M.json(setmetatable(records, ARRAY)) .. "\n"
  end
  error("runs: unknown format '" .. tostring(format) .. "' (expected table, csv, json or md)", 0)
end

-- a unified diff (3 lines of context) of two texts, from a longest common subsequence
function M.unified_diff(a, b, name_a, name_b)
  local function lines(s)
    local t = {}
    for l in (s:gsub("\n$", "") .. "\n"):gmatch("(.-)\n") do t[#t + 1] = l end
    if s == "" then t = {} end
    return t
  end
  local A, B = lines(a), lines(b)
  local n, m = #A, #B
  -- common prefix and suffix need no table
  local pre = 0
  while pre < n and pre < m and A[pre + 1] == B[pre + 1] do pre = pre + 1 end
  local suf = 0
  while suf < n - pre and suf < m - pre and A[n - suf] == B[m - suf] do suf = suf + 1 end
  local ops = {}
  for i = 1, pre do ops[#ops + 1] = {" ", A[i]} end
  local na, nb = n - pre - suf, m - pre - suf
  if na * nb > 4e6 then
    -- too big for the table: the changed middle as one block
    for i = 1, na do ops[#ops + 1] = {"-", A[pre + i]} end
    for j = 1, nb do ops[#ops + 1] = {"+", B[pre + j]} end
  else
    -- L[i][j]: LCS length of A[pre+i..] and B[pre+j..]
    local L = {}
    for i = na + 1, 1, -1 do
      local row, below = {}, L[i + 1]
      for j = nb + 1, 1, -1 do
        if i > na or j > nb then row[j] = 0
        elseif A[pre + i] == B[pre + j] then row[j] = below[j + 1] + 1
        else
          local x, y = below[j], row[j + 1]
          row[j] = x > y and x or y
        end
      end
      L[i] = row
    end
    local i, j = 1, 1
    while i <= na or j <= nb do
      if i <= na and j <= nb and A[pre + i] == B[pre + j] then
        ops[#ops + 1] = {" ", A[pre + i]}; i = i + 1; j = j + 1
      elseif i <= na and (j > nb or L[i + 1][j] >= L[i][j + 1]) then
        ops[#ops + 1] = {"-", A[pre + i]}; i = i + 1 -- deletions first, as diff -u prints them
      else
        ops[#ops + 1] = {"+", B[pre + j]}; j = j + 1
      end
    end
  end
  for i = n - suf + 1, n do ops[#ops + 1] = {" ", A[i]} end
  -- hunks: changed ops with up to 3 lines of context, merged when they touch
  local out = {"--- " .. name_a, "+++ " .. name_b}
  local k, total = 1, #ops
  local ai, bi = {}, {} -- line numbers in a and b before each op
  local la, lb = 0, 0
  for x = 1, total do
    ai[x], bi[x] = la, lb
    if ops[x][1] ~= "+" then la = la + 1 end
    if ops[x][1] ~= "-" then lb = lb + 1 end
  end
  local any = false
  while k <= total do
    while k <= total and ops[k][1] == " " do k = k + 1 end
    if k > total then break end
    any = true
    local first = math.max(1, k - 3)
    local last = k
    while true do
      while last < total and ops[last + 1][1] ~= " " do last = last + 1 end
      local nxt = last + 1
      while nxt <= total and ops[nxt][1] == " " do nxt = nxt + 1 end
      if nxt <= total and nxt - last - 1 <= 6 then last = nxt else break end
    end
    last = math.min(total, last + 3)
    local ca, cb = 0, 0
    for x = first, last do
      if ops[x][1] ~= "+" then ca = ca + 1 end
      if ops[x][1] ~= "-" then cb = cb + 1 end
    end
    local sa = ca == 0 and ai[first] or ai[first] + 1
    local sb = cb == 0 and bi[first] or bi[first] + 1
    out[#out + 1] = string.format("@@ -%d,%d +%d,%d @@", sa, ca, sb, cb)
    for x = first, last do out[#out + 1] = ops[x][1] .. ops[x][2] end
    k = last + 1
  end
  if not any then return "" end
  return table.concat(out, "\n") .. "\n"
end

-- argument parsing --------------------------------------------------------------

-- options: name -> true (takes a value) | false (a flag); returns opts, positionals
local function parse_args(cmd, args, options)
  local opts, pos = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a:sub(1, 1) == "-" and #a > 1 and not a:match("^%-%d") then
      local name, inline = a:match("^%-%-?([^=]+)=(.*)$")
      name = name or a:match("^%-%-?(.*)$")
      if options[name] == nil then
        error(string.format("runs %s: unknown option '%s' (see lunet runs help)", cmd, a), 0)
      end
      if options[name] then
        local v = inline
        if not v then
          i = i + 1
          v = args[i]
          if v == nil then error(string.format("runs %s: option '%s' needs a value", cmd, a), 0) end
        end
        opts[name] = v
      else
        opts[name] = true
      end
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return opts, pos
end

local function integer_opt(cmd, name, v)
  local n = v and math.tointeger(tonumber(v))
  if v and (not n or n < 0) then
    error(string.format("runs %s: --%s expects a non-negative integer, got '%s'", cmd, name, v), 0)
  end
  return n
end

-- the context of one command: db handle, path, output
local function get_run(ctx, cmd, id)
  local ok, run = pcall(query.get, id, ctx.db)
  if not ok then error(string.format("runs %s: no run '%s' in %s", cmd, id, ctx.path), 0) end
  return run
end

-- commands ----------------------------------------------------------------------
local commands = {}

local LS_OPTS = {where = true, sort = true, status = true, limit = true, format = true}

-- column-wise (query.listing): one array per column, no table per run; rows of strings
-- are built for the chosen format only, json records only for json
function commands.ls(ctx, args)
  local opts = parse_args("ls", args, LS_OPTS)
  ctx.where = opts.where
  local format = opts.format or "table"
  local L = query.listing{db = ctx.db, where = opts.where, order = opts.sort, status = opts.status,
    limit = integer_opt("ls", "limit", opts.limit), tags = format == "json"}
  if format == "table" then ctx.write(view.ls_text(L)); return end
  if format == "json" then
    local id, name, exp, status, started, ended = L.id, L.name, L.experiment, L.status, L.started, L.ended
    local records = {}
    for i = 1, L.n do
      local rec = {id = id[i], name = name[i] or NULL, experiment = exp[i] or NULL, status = status[i],
        started = started[i], ended = ended[i] or NULL, params = {}, tags = {}, metrics = {}}
      for k, col in pairs(L.params) do rec.params[k] = col[i] end
      for k, col in pairs(L.tags) do rec.tags[k] = col[i] end
      for k, col in pairs(L.metrics) do rec.metrics[k] = col[i] end
      records[i] = rec
    end
    ctx.write(render(format, nil, nil, records))
    return
  end
  ctx.write(render(format, view.ls_rows(L)))
end

function commands.show(ctx, args)
  local _, pos = parse_args("show", args, {})
  if #pos ~= 1 then error("runs show: expected one RUN (an id or a name)", 0) end
  ctx.write(view.show_text(get_run(ctx, "show", pos[1]), ctx.db))
end

-- rows of one field per line, one column per run
local function compare_rows(runs, only_changed)
  local rows = {}
  local function add(label, values)
    local same = true
    for i = 2, #values do if values[i] ~= values[1] then same = false end end
    if not (only_changed and same) then
      local row = {label}
      for i, v in ipairs(values) do row[i + 1] = v end
      rows[#rows + 1] = row
    end
  end
  for _, k in ipairs{"name", "experiment", "status", "started", "duration", "git_commit", "seed"} do
    local vals = {}
    for i, run in ipairs(runs) do vals[i] = attr_text(run, k) end
    add(k, vals)
  end
  local pk, mk = {}, {}
  for _, run in ipairs(runs) do
    for k in pairs(run.params) do pk[k] = true end
    for k in pairs(run.summary) do mk[k] = true end
  end
  for _, k in ipairs(sorted_keys(pk)) do
    local vals = {}
    for i, run in ipairs(runs) do vals[i] = fmt_value(run.params[k]) end
    add("params." .. k, vals)
  end
  for _, k in ipairs(sorted_keys(mk)) do
    local vals = {}
    for i, run in ipairs(runs) do vals[i] = fmt_value(run.summary[k] and run.summary[k].last) end
    add("metrics." .. k, vals)
  end
  return rows
end

local function runs_of(ctx, cmd, ids)
  local runs = {}
  for i, id in ipairs(ids) do runs[i] = get_run(ctx, cmd, id) end
  return runs
end

function commands.compare(ctx, args)
  local opts, pos = parse_args("compare", args, {["only-changed"] = false, format = true})
  if #pos < 1 then error("runs compare: expected one or more RUNs", 0) end
  local runs = runs_of(ctx, "compare", pos)
  local headers = {"field"}
  for i, run in ipairs(runs) do headers[i + 1] = "run " .. run.id end
  ctx.write(render(opts.format or "table", headers, compare_rows(runs, opts["only-changed"])))
end

function commands.diff(ctx, args)
  local _, pos = parse_args("diff", args, {})
  if #pos ~= 2 then error("runs diff: expected two RUNs", 0) end
  local runs = runs_of(ctx, "diff", pos)
  local a, b = runs[1], runs[2]
  local w = ctx.write
  local rows = compare_rows(runs, true)
  if #rows > 0 then w(text_table({"field", "run " .. a.id, "run " .. b.id}, rows))
  else w("params, metrics and attributes are the same\n") end
  local function source(run)
    if not run.script_sha256 then return nil end
    local r = ctx.db:query("SELECT source FROM scripts WHERE sha256 = ?", {run.script_sha256})
    return r[1] and r[1].source
  end
  local sa, sb = source(a), source(b)
  if not (sa and sb) then
    w("\nscripts: " .. ((sa or sb) and "only one run has a script\n" or "no scripts recorded\n"))
  elseif sa == sb then
    w("\nscripts: identical\n")
  else
    w("\n" .. M.unified_diff(sa, sb, string.format("run %d/%s", a.id, a.script_path or "script"),
      string.format("run %d/%s", b.id, b.script_path or "script")))
  end
end

function commands.best(ctx, args)
  local opts, pos = parse_args("best", args, {where = true, status = true})
  if #pos ~= 1 then error("runs best: expected one METRIC", 0) end
  local metric = pos[1]:gsub("^metrics%.", "")
  ctx.where = opts.where
  local run, why = query.find_best(ctx.db, metric, opts.where, opts.status)
  if why == "metric" then error(string.format("runs best: no metric '%s' in %s", metric, ctx.path), 0) end
  if not run then error(string.format("runs best: no run has metric '%s'%s", metric,
    opts.where and " and matches the filter" or ""), 0) end
  ctx.write(view.best_text(run, metric))
end

-- all runs flattened: attributes, params.K, tags.K, metrics.K (last), metrics.K.min/.max
function commands.export(ctx, args)
  local opts = parse_args("export", args, {format = true, where = true, sort = true, o = true, output = true})
  local format = opts.format or "csv"
  if format ~= "csv" and format ~= "json" then
    error("runs export: unknown format '" .. format .. "' (expected csv or json)", 0)
  end
  ctx.where = opts.where
  local runs = query.query{db = ctx.db, where = opts.where, order = opts.sort or "id"}
  local text
  if format == "json" then
    local recs = {}
    for i, run in ipairs(runs) do
      local rec = {}
      for k, v in pairs(run) do rec[k] = v end
      rec.params, rec.tags, rec.metrics = run.params, run.tags, run.summary
      recs[i] = rec
    end
    text = M.json(setmetatable(recs, ARRAY)) .. "\n"
  else
    local pk, tk, mk = {}, {}, {}
    for _, run in ipairs(runs) do
      for k in pairs(run.params) do pk[k] = true end
      for k in pairs(run.tags) do tk[k] = true end
      for k in pairs(run.summary) do mk[k] = true end
    end
    pk, tk, mk = sorted_keys(pk), sorted_keys(tk), sorted_keys(mk)
    local attrs = {"id", "name", "experiment", "status", "started", "ended", "parent_id", "script_path",
      "git_commit", "host", "seed", "error"}
    local headers = {table.unpack(attrs)}
    for _, k in ipairs(pk) do headers[#headers + 1] = "params." .. k end
    for _, k in ipairs(tk) do headers[#headers + 1] = "tags." .. k end
    for _, k in ipairs(mk) do
      for _, f in ipairs{"", ".min", ".max", ".count"} do headers[#headers + 1] = "metrics." .. k .. f end
    end
    local rows = {}
    for i, run in ipairs(runs) do
      local row = {}
      for j, a in ipairs(attrs) do
        local v = run[a]
        row[j] = math.type(v) == "float" and string.format("%.17g", v) or fmt_value(v)
      end
      for _, k in ipairs(pk) do row[#row + 1] = fmt_value(run.params[k]) end
      for _, k in ipairs(tk) do row[#row + 1] = run.tags[k] or "" end
      for _, k in ipairs(mk) do
        local s = run.summary[k] or {}
        for _, f in ipairs{"last", "min", "max", "count"} do
          local v = s[f]
          row[#row + 1] = math.type(v) == "float" and string.format("%.17g", v) or fmt_value(v)
        end
      end
      rows[i] = row
    end
    text = csv_table(headers, rows)
  end
  local path = opts.o or opts.output
  if path then
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
  else
    ctx.write(text)
  end
end

function commands.sql(ctx, args)
  local opts, pos = parse_args("sql", args, {format = true})
  if #pos ~= 1 then error('runs sql: expected one quoted statement, as in lunet runs sql "SELECT ..."', 0) end
  local db = ctx.db -- opened read-only for sql
  local ok, rows = pcall(db.query, db, pos[1], {})
  if not ok then error("runs sql: " .. tostring(rows), 0) end
  -- rows are tables, so the statement's column order is known only when the binding
  -- gives it (rows.columns); else the columns come sorted by name
  local cols = rows.columns
  if type(cols) ~= "table" then
    cols = {}
    for _, row in ipairs(rows) do for k in pairs(row) do cols[k] = true end end
    cols = sorted_keys(cols)
  end
  local out = {}
  for i, row in ipairs(rows) do
    local r = {}
    for j, c in ipairs(cols) do r[j] = fmt_value(row[c]) end
    out[i] = r
  end
  if #rows == 0 and (opts.format or "table") == "table" then ctx.write("(no rows)\n"); return end
  ctx.write(render(opts.format or "table", cols, out, rows))
end

function commands.rm(ctx, args)
  local _, pos = parse_args("rm", args, {})
  if #pos == 0 then error("runs rm: expected one or more RUNs", 0) end
  local runs = runs_of(ctx, "rm", pos) -- all must exist before any is removed
  local db = ctx.db
  db:exec("BEGIN IMMEDIATE")
  local ok, err = pcall(function()
    for _, run in ipairs(runs) do
      db:exec("UPDATE runs SET parent_id = NULL WHERE parent_id = ?", {run.id})
      for _, t in ipairs{"params", "tags", "metrics", "metric_summary", "artifacts", "notes", "logs", "system_info"} do
        db:exec("DELETE FROM " .. t .. " WHERE run_id = ?", {run.id})
      end
      db:exec("DELETE FROM runs WHERE id = ?", {run.id})
    end
  end)
  if not ok then db:exec("ROLLBACK"); error("runs rm: " .. tostring(err), 0) end
  db:exec("COMMIT")
  for _, run in ipairs(runs) do ctx.write(string.format("removed run %d\n", run.id)) end
end

function commands.gc(ctx, args)
  parse_args("gc", args, {})
  local db = ctx.db
  query.mark_crashed(db)
  local scripts = db:exec("DELETE FROM scripts WHERE sha256 NOT IN " ..
    "(SELECT script_sha256 FROM runs WHERE script_sha256 IS NOT NULL)")
  db:exec("VACUUM")
  ctx.write(string.format("removed %d unused script%s; vacuumed %s\n", scripts, scripts == 1 and "" or "s", ctx.path))
end

function commands.tag(ctx, args)
  local _, pos = parse_args("tag", args, {})
  if #pos < 2 then error("runs tag: expected RUN k=v...", 0) end
  local run = get_run(ctx, "tag", pos[1])
  local pairs_ = {}
  for i = 2, #pos do
    local k, v = pos[i]:match("^([^=]+)=(.*)$")
    if not k then error(string.format("runs tag: expected k=v, got '%s'", pos[i]), 0) end
    pairs_[#pairs_ + 1] = {k, v}
  end
  for _, kv in ipairs(pairs_) do
    ctx.db:exec("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) " ..
      "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value", {run.id, kv[1], kv[2]})
    ctx.write(string.format("run %d: %s=%s\n", run.id, kv[1], kv[2]))
  end
end

-- the plot engineer's module, or a clear error when it is not there yet
local function optional(name, fn)
  local ok, mod = pcall(require, name)
  if not ok or type(mod) ~= "table" or type(mod[fn]) ~= "function" then
    error(string.format("runs: %s.%s is not available in this build", name, fn), 0)
  end
  return mod
end

local function series_of(runs, metric, xkind)
  local series = {}
  for _, run in ipairs(runs) do
    local steps, values, times = run:history(metric, {time = xkind == "time"})
    local x = steps
    if xkind == "time" then
      x = {}
      for i, t in ipairs(times) do x[i] = t - run.started end
    end
    series[#series + 1] = {name = string.format("%d %s", run.id, run.name or ""), x = x, y = values, run = run.id}
  end
  return series
end

function commands.plot(ctx, args)
  local opts, pos = parse_args("plot", args, {x = true, smooth = true, log = false, svg = true,
    png = true, width = true, height = true})
  if #pos < 2 then error("runs plot: expected METRIC RUN...", 0) end
  local metric = pos[1]:gsub("^metrics%.", "")
  local xkind = opts.x or "step"
  if xkind ~= "step" and xkind ~= "time" then error("runs plot: --x expects step or time, got '" .. xkind .. "'", 0) end
  local runs = runs_of(ctx, "plot", table.move(pos, 2, #pos, 1, {}))
  local smooth = opts.smooth and tonumber(opts.smooth)
  if opts.smooth and not smooth then error("runs plot: --smooth expects a number, got '" .. opts.smooth .. "'", 0) end
  local popts = {title = metric, x = xkind, smooth = smooth, log = opts.log or nil,
    width = integer_opt("plot", "width", opts.width), height = integer_opt("plot", "height", opts.height)}
  local series = series_of(runs, metric, xkind)
  if opts.svg then
    local svg = optional("lunet.runs.plot", "svg").svg(series, popts)
    local f = assert(io.open(opts.svg, "wb"))
    f:write(svg); f:close()
    ctx.write("wrote " .. opts.svg .. "\n")
  end
  if opts.png then -- written atomically by the C side; errors name the path
    optional("lunet.runs.plot", "png").png(series, popts, opts.png)
    ctx.write("wrote " .. opts.png .. "\n")
  end
  if not opts.svg and not opts.png then
    ctx.write(optional("lunet.runs.plot", "terminal").terminal(series, popts))
  end
end

function commands.report(ctx, args)
  local opts = parse_args("report", args, {o = true, output = true, where = true, sort = true,
    limit = true, smooth = true})
  local path = opts.o or opts.output or "report.html"
  local report = optional("lunet.runs.report", "html")
  ctx.where = opts.where
  local runs = query.query{db = ctx.db, where = opts.where, order = opts.sort,
    limit = integer_opt("report", "limit", opts.limit)}
  local by_metric = {}
  for _, run in ipairs(runs) do
    for k in pairs(run.summary) do by_metric[k] = by_metric[k] or {} end
  end
  for k, list in pairs(by_metric) do
    for _, s in ipairs(series_of(runs, k, "step")) do
      if #s.x > 0 then list[#list + 1] = s end
    end
  end
  local html = report.html(runs, by_metric, {title = "lunet runs", smooth = opts.smooth and tonumber(opts.smooth)})
  local f = assert(io.open(path, "wb"))
  f:write(html); f:close()
  ctx.write(string.format("wrote %s (%d runs)\n", path, #runs))
end

function commands.help(ctx) ctx.write(USAGE) end

-- main(args [, out]): runs one command; raises on any error
function M.main(args, out)
  if type(args) ~= "table" then error("runs: expected an array of arguments", 2) end
  args = table.move(args, 1, #args, 1, {})
  if args[1] == "runs" then table.remove(args, 1) end
  -- --db may come anywhere
  local dbpath
  for i = #args, 1, -1 do
    local a = args[i]
    local inline = a:match("^%-%-db=(.*)$")
    if inline then dbpath = inline; table.remove(args, i)
    elseif a == "--db" then
      if not args[i + 1] then error("runs: option '--db' needs a value", 0) end
      dbpath = table.remove(args, i + 1); table.remove(args, i)
    end
  end
  out = out or io.stdout
  local cmd = table.remove(args, 1)
  if cmd == nil or cmd == "help" or cmd == "--help" or cmd == "-h" then out:write(USAGE); return end
  local fn = commands[cmd]
  if not fn then error(string.format("runs: unknown command '%s' (expected ls, show, compare, diff, " ..
    "best, plot, report, export, sql, rm, gc, tag)", cmd), 0) end
  local path = require("lunet.runs").db_path(dbpath)
  local readonly = cmd ~= "rm" and cmd ~= "gc" and cmd ~= "tag"
  local ctx = {path = path, write = function(s) out:write(s) end}
  ctx.open = function(ro)
    local f = io.open(path, "rb")
    if not f then error(string.format("runs %s: no database at %s", cmd, path), 0) end
    f:close()
    local ok, db = pcall(require("lunet.core")._runs.open, path, {readonly = ro})
    if not ok then error(string.format("runs %s: %s", cmd, tostring(db)), 0) end
    return db
  end
  -- reads try a writable handle first, so dead running runs get marked crashed
  local ok, db = pcall(ctx.open, readonly and cmd == "sql")
  if not ok and readonly and cmd ~= "sql" then ok, db = pcall(ctx.open, true) end
  if not ok then error(db, 0) end
  ctx.db = db
  local done, err = pcall(fn, ctx, args)
  db:close()
  if not done then
    -- point at the column of a filter error under the filter
    local col = tostring(err):match("^filter: .* at column (%d+)$")
    if col and ctx.where then
      err = string.format("%s\n  %s\n  %s^", err, ctx.where, string.rep(" ", tonumber(col) - 1))
    end
    error(err, 0)
  end
end

return M
