-- lunet.runs.report: the self-contained HTML report, checked as text and,
-- when Debian's `chromium` is installed, rendered in headless Chromium.
local report = require "lunet.runs.report"

local function count(s, pat, plain)
  local n, i = 0, 1
  while true do
    local a, b = s:find(pat, i, plain)
    if not a then return n end
    n, i = n + 1, b + 1
  end
end

local T0 = 1700000000
local function fixture()
  local runs = {
    {id = 7, name = "base <line>", status = "finished", started = T0, ended = T0 + 125,
     params = {lr = 0.001, opt = "adam&w"}, summary = {loss = {last = 0.25, min = 0.125, max = 2}, val_acc = {last = 0.5, min = 0.1, max = 0.75}}},
    {id = 8, name = "wide", status = "crashed", started = T0 + 10,
     params = {lr = 0.01}, summary = {loss = {last = 0 / 0, min = 0.5, max = 3}}},
  }
  local metrics = {
    loss = {{name = "base <line>", run = 7, x = {1, 2, 3}, y = {2, 1, 0.25}}, {name = "wide", run = 8, x = {1, 2}, y = {3, 0.5}}},
    val_acc = {{name = "base <line>", run = 7, x = {1, 2}, y = {0.1, 0.5}}},
  }
  return runs, metrics
end

describe("report.html", function()
  it("is one self-contained page: inline CSS and SVG, nothing fetched, no scripts", function()
    local html = report.html(fixture())
    T.truthy(html:find("^<!DOCTYPE html>\n<html lang=\"en\">"), "doctype")
    T.truthy(html:find("</html>\n$"), "closed")
    T.truthy(html:find("<style>", 1, true), "inline css")
    T.eq(count(html, "<svg ", true), 2, "one chart per metric")
    for _, bad in ipairs({"<script", "<link", "src=", "http://", "https://", "@import", "url("}) do
      local a = html:find(bad, 1, true)
      -- the SVG namespace is the one URL allowed: it names, never fetches
      if bad == "http://" then
        local _, n = html:gsub("http://www.w3.org/2000/svg", "")
        T.eq(count(html, bad, true), n, "only the SVG namespace URL")
      else
        T.eq(a, nil, bad)
      end
    end
  end)

  it("lists every run with its status, times, params and last/best metrics", function()
    local html = report.html(fixture())
    T.truthy(html:find("<th>loss last</th><th>loss best (min)</th><th>val_acc last</th><th>val_acc best (max)</th>", 1, true), "metric columns")
    local want = '<tr><td class="num">7</td><td><span class="swatch" style="background:#1f77b4"></span>base &lt;line&gt;</td>'
      .. '<td class="status-finished">finished</td><td>' .. os.date("%Y-%m-%d %H:%M:%S", T0) .. '</td>'
      .. '<td class="num">2m 05s</td><td class="params">lr=0.001<br>opt=adam&amp;w</td>'
      .. '<td class="num">0.25</td><td class="num">0.125</td><td class="num">0.5</td><td class="num">0.75</td></tr>'
    T.truthy(html:find(want, 1, true), "row of run 7")
    local want8 = '<tr><td class="num">8</td><td><span class="swatch" style="background:#ff7f0e"></span>wide</td>'
      .. '<td class="status-crashed">crashed</td><td>' .. os.date("%Y-%m-%d %H:%M:%S", T0 + 10) .. '</td>'
      .. '<td class="num"></td><td class="params">lr=0.01</td>'
      .. '<td class="num">NaN</td><td class="num">0.5</td><td></td><td></td></tr>'
    T.truthy(html:find(want8, 1, true), "row of run 8 (no end, NaN last, no val_acc)")
  end)

  it("draws every run on each chart, smoothed with the raw line faded beneath, in the run's colour", function()
    local runs, metrics = fixture()
    local html = report.html(runs, metrics)
    T.eq(count(html, "<polyline", true), 6, "3 series x (raw + smoothed)")
    T.eq(count(html, '<polyline class="raw" stroke="#ff7f0e"', true), 1, "run 8 keeps its colour")
    local plain = report.html(runs, metrics, {smooth = 0, title = "A & B"})
    T.eq(count(plain, "<polyline", true), 3, "no raw lines without smoothing")
    T.truthy(plain:find("<title>A &amp; B</title>", 1, true), "page title escaped")
    T.truthy(html:find('<div class="chart" id="chart-loss">', 1, true), "chart container")
  end)

  it("takes goals from the caller over the name's guess", function()
    T.eq(report.goal("val_acc"), "max"); T.eq(report.goal("f1"), "max"); T.eq(report.goal("loss"), "min")
    T.eq(report.goal("accuracy_top5"), "max"); T.eq(report.goal("mapping_err"), "min")
    local runs, metrics = fixture()
    local html = report.html(runs, metrics, {goals = {loss = "max"}})
    T.truthy(html:find("<th>loss best (max)</th>", 1, true), "header")
    T.errors(function() report.html(runs, metrics, {goals = {loss = "up"}}) end, "report.html: goal of 'loss' must be \"min\" or \"max\", got up")
    T.truthy(html:find('<td class="num">0.25</td><td class="num">2</td>', 1, true), "best = max")
  end)

  it("formats durations", function()
    T.eq(report.duration(12.34), "12.3s"); T.eq(report.duration(125), "2m 05s")
    T.eq(report.duration(3 * 3600 + 125), "3h 02m"); T.eq(report.duration(nil), "")
  end)

  it("works with no runs and no metrics", function()
    local html = report.html({}, {})
    T.eq(count(html, "<svg ", true), 0, "no charts")
    T.truthy(html:find("<tbody>\n</tbody>", 1, true), "empty table")
  end)

  it("rejects bad arguments clearly", function()
    T.errors(function() report.html("x") end, "report.html: runs must be an array of run tables, got string")
    T.errors(function() report.html({}, 3) end, "report.html: metrics must be a table {metric = array of series}, got number")
    T.errors(function() report.html({1}) end, "report.html: runs[1] must be a table, got number")
    T.errors(function() report.html({}, {loss = 1}) end, "report.html: metrics['loss'] must be an array of series, got number")
    T.errors(function() report.html({}, {}, {smoth = 1}) end, "report.html: unknown option 'smoth'")
    T.errors(function() report.html({}, {loss = {{y = {1, "a"}}}}) end, "report.html: metric 'loss': series[1].y[2] must be a number")
    T.errors(function() report.html({}, {loss = {{y = {1}}}}, {smooth = 2}) end, "option smooth must be a number in [0, 1), got 2")
  end)

  -- The report has no script of its own; the test appends one that marks the
  -- body once every chart has a non-zero box and a drawn line, then reads the
  -- marker from the DOM headless Chromium dumps after load.
  it("renders its charts in headless Chromium (skipped when chromium is absent)", function()
    local have = os.execute("command -v chromium >/dev/null 2>&1")
    if not have then
      io.stderr:write("runs_report: chromium not installed, browser rendering test skipped\n")
      return
    end
    local html = report.html(fixture())
    local probe = [[<script>
var svgs = document.querySelectorAll("svg.lunet-chart"), ok = 0;
for (var i = 0; i < svgs.length; i++) {
  var b = svgs[i].getBoundingClientRect(), line = svgs[i].querySelector("polyline.line");
  if (b.width > 0 && b.height > 0 && line && line.getBBox().width > 0) ok++;
}
document.body.setAttribute("data-charts-rendered", ok + "/" + svgs.length);
</script>
</body>]]
    html = html:gsub("</body>", function() return probe end)
    local path = os.tmpname()
    local page = path .. ".html"
    local f = assert(io.open(page, "w")); f:write(html); f:close()
    local profile = path .. ".profile"
    local p = io.popen("timeout 90 chromium --headless --disable-gpu --no-sandbox --user-data-dir=" .. profile
      .. " --dump-dom file://" .. page .. " 2>/dev/null")
    local dom = p:read("a")
    p:close()
    os.remove(page); os.remove(path)
    os.execute("rm -rf '" .. profile .. "'")
    T.truthy(dom:find('data-charts-rendered="2/2"', 1, true), "both charts rendered (dom: " .. dom:sub(1, 200) .. ")")
  end)
end)
