-- lunet.runs.report: one self-contained HTML page (inline CSS and SVG, no
-- scripts, nothing fetched) with a table of runs and a chart per metric.
-- Like plot, it takes plain tables, so the caller decides what to read.
local plot = require "lunet.runs.plot"

local report = {}
local esc = plot.escape

local function fail(msg) error("report.html: " .. msg, 0) end

-- metric goal guessed from the name, as the store does for metric_keys
local MAX_WORDS = {acc = true, accuracy = true, auc = true, f1 = true, precision = true, recall = true,
  score = true, iou = true, map = true, bleu = true}
function report.goal(name)
  for word in tostring(name):lower():gmatch("%w+") do
    if MAX_WORDS[word] then return "max" end
  end
  return "min"
end

local function number(v)
  if v == nil then return "" end
  if type(v) ~= "number" then return esc(v) end
  if v ~= v then return "NaN" end
  if math.type(v) == "integer" then return tostring(v) end
  return (string.format("%.5g", v))
end

-- "1h 02m", "3m 05s", "12.3s"
function report.duration(sec)
  if type(sec) ~= "number" or sec ~= sec or sec < 0 then return "" end
  if sec < 60 then return string.format("%.1fs", sec) end
  local s = math.floor(sec + 0.5)
  if s < 3600 then return string.format("%dm %02ds", s // 60, s % 60) end
  return string.format("%dh %02dm", s // 3600, s % 3600 // 60)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

local CSS = [[
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:20px}h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;font-size:13px;background:#fff}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
.status-finished{color:#2a7a2a}.status-failed,.status-crashed{color:#b00020}.status-killed{color:#a66300}
.status-running{color:#1f5fb4}.params{font-family:ui-monospace,monospace;font-size:12px}
.chart{background:#fff;border:1px solid #ddd;display:inline-block;margin:0 12px 12px 0}
]]

local REPORT_OPTS = {title = true, smooth = true, x = true, log = true, width = true, height = true, goals = true}

--- report.html(runs, metrics [, {title =, smooth = 0.6, x = "step", log = false,
--- width = 640, height = 360, goals = {metric = "min"|"max"}}]) -> string
-- runs: array of {id, name, status, started, ended, params = {k = v},
-- summary = {metric = {last =, min =, max =}}}; metrics: {metric = array of
-- series} as plot.svg takes them. A series with `run = id` gets that run's
-- colour (else the colour of its name), so a run keeps one colour on every
-- chart and in the table. Times are shown in local time.
function report.html(runs, metrics, opts)
  if type(runs) ~= "table" then fail("runs must be an array of run tables, got " .. type(runs)) end
  if metrics == nil then metrics = {} end
  if type(metrics) ~= "table" then fail("metrics must be a table {metric = array of series}, got " .. type(metrics)) end
  if opts ~= nil and type(opts) ~= "table" then fail("options must be a table, got " .. type(opts)) end
  local o = opts or {}
  for k in pairs(o) do if not REPORT_OPTS[k] then fail("unknown option '" .. tostring(k) .. "'") end end
  local smooth = o.smooth == nil and 0.6 or o.smooth
  local goals = o.goals or {}
  if type(goals) ~= "table" then fail("option goals must be a table {metric = \"min\"|\"max\"}, got " .. type(goals)) end

  -- colours: one per run, in table order
  local colour_of_run, colour_of_name = {}, {}
  for i, r in ipairs(runs) do
    if type(r) ~= "table" then fail("runs[" .. i .. "] must be a table, got " .. type(r)) end
    local c = plot.palette[(i - 1) % #plot.palette + 1]
    if r.id ~= nil then colour_of_run[r.id] = c end
    if r.name ~= nil and colour_of_name[tostring(r.name)] == nil then colour_of_name[tostring(r.name)] = c end
  end

  -- metric names: charts and summaries together
  local names = {}
  for k, v in pairs(metrics) do
    if type(k) ~= "string" then fail("metrics keys must be metric names, got " .. type(k)) end
    if type(v) ~= "table" then fail("metrics['" .. k .. "'] must be an array of series, got " .. type(v)) end
    names[k] = true
  end
  for _, r in ipairs(runs) do
    if r.summary ~= nil and type(r.summary) ~= "table" then fail("run " .. tostring(r.id) .. ": summary must be a table") end
    for k in pairs(r.summary or {}) do names[tostring(k)] = true end
    if r.params ~= nil and type(r.params) ~= "table" then fail("run " .. tostring(r.id) .. ": params must be a table") end
  end
  names = sorted_keys(names)

  local title = o.title or "lunet runs"
  local out = {}
  local function add(s) out[#out + 1] = s end
  add('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">')
  add('<meta name="viewport" content="width=device-width, initial-scale=1">')
  add('<title>' .. esc(title) .. '</title>\n<style>\n' .. CSS .. '</style>\n</head>\n<body>')
  add('<h1>' .. esc(title) .. '</h1>')

  -- the runs table
  local head = {'<h2>Runs</h2>\n<table class="runs">\n<thead><tr><th>id</th><th>name</th><th>status</th><th>started</th>'
    .. '<th>duration</th><th>params</th>'}
  for _, m in ipairs(names) do
    local g = goals[m] or report.goal(m)
    if g ~= "min" and g ~= "max" then fail("goal of '" .. m .. "' must be \"min\" or \"max\", got " .. tostring(g)) end
    head[#head + 1] = '<th>' .. esc(m) .. ' last</th><th>' .. esc(m) .. ' best (' .. g .. ')</th>'
  end
  head[#head + 1] = '</tr></thead>\n<tbody>'
  add(table.concat(head))
  for _, r in ipairs(runs) do
    local c = (r.id ~= nil and colour_of_run[r.id]) or colour_of_name[tostring(r.name)]
    local params = {}
    for _, k in ipairs(sorted_keys(r.params or {})) do params[#params + 1] = esc(k) .. "=" .. esc(r.params[k]) end
    local started = type(r.started) == "number" and os.date("%Y-%m-%d %H:%M:%S", math.floor(r.started)) or ""
    local dur = (type(r.started) == "number" and type(r.ended) == "number") and report.duration(r.ended - r.started) or ""
    local status = r.status and esc(r.status) or ""
    local row = {'<tr><td class="num">', number(r.id), '</td><td><span class="swatch" style="background:', c,
      '"></span>', r.name ~= nil and esc(r.name) or "", '</td><td class="status-', status, '">', status,
      '</td><td>', started, '</td><td class="num">', dur, '</td><td class="params">', table.concat(params, "<br>"), '</td>'}
    for _, m in ipairs(names) do
      local s = r.summary and r.summary[m]
      if type(s) == "table" then
        local best = (goals[m] or report.goal(m)) == "max" and s.max or s.min
        row[#row + 1] = '<td class="num">' .. number(s.last) .. '</td><td class="num">' .. number(best) .. '</td>'
      else
        row[#row + 1] = '<td></td><td></td>'
      end
    end
    row[#row + 1] = '</tr>'
    add(table.concat(row))
  end
  add('</tbody>\n</table>')

  -- one chart per metric with data
  add('<h2>Metrics</h2>')
  for _, m in ipairs(names) do
    local list = metrics[m]
    if list then
      local coloured = {}
      for i, s in ipairs(list) do
        if type(s) ~= "table" then fail("metrics['" .. m .. "'][" .. i .. "] must be a series table, got " .. type(s)) end
        local c = s.color or (s.run ~= nil and colour_of_run[s.run]) or colour_of_name[tostring(s.name)]
        coloured[i] = {name = s.name, x = s.x, y = s.y, run = s.run, color = c}
      end
      local ok, svg = pcall(plot.svg, coloured, {title = m, smooth = smooth, x = o.x, log = o.log,
        width = o.width, height = o.height})
      if not ok then fail("metric '" .. m .. "': " .. tostring(svg):gsub("^plot%.svg: ", "")) end
      add('<div class="chart" id="chart-' .. esc(m) .. '">\n' .. svg .. '</div>')
    end
  end
  add('</body>\n</html>\n')
  return table.concat(out, "\n")
end

return report
