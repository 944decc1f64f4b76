-- lunet.runs.plot: debiased EMA, braille terminal charts, SVG charts.
local plot = require "lunet.runs.plot"
local NaN = 0 / 0

local function lines_of(s)
  local out = {}
  for l in s:gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

describe("plot.ema", function()
  it("matches TensorBoard's debiased formula", function()
    -- w = 0.5: last = 0.5, 1.25, 2.125; debias 0.5, 0.75, 0.875
    local got = plot.ema({1, 2, 3}, 0.5)
    T.near(got[1], 1, 1e-12, "first")
    T.near(got[2], 1.25 / 0.75, 1e-12, "second")
    T.near(got[3], 2.125 / 0.875, 1e-12, "third")
    -- against the formula written out, for a rougher input
    local v, w = {3, -1, 4, 1, -5, 9, 2, 6}, 0.9
    local e, last = plot.ema(v, w), 0
    for i = 1, #v do
      last = last * w + (1 - w) * v[i]
      T.near(e[i], last / (1 - w ^ i), 1e-12, "ema[" .. i .. "]")
    end
  end)

  it("passes NaN through without counting it, keeps constants exact, w = 0 is the identity", function()
    local e = plot.ema({2, NaN, 4}, 0.5)
    T.eq(e[1], 2, "first")
    T.truthy(e[2] ~= e[2], "NaN passes through")
    T.near(e[3], (0.5 * 2 * 0.5 + 0.5 * 4) / 0.75, 1e-12, "third uses n = 2")
    local c = plot.ema({0.1, 0.1, 0.1, 0.1}, 0.99)
    for i = 1, 4 do T.eq(c[i], 0.1, "constant[" .. i .. "]") end
    local id = plot.ema({5, 7}, 0)
    T.eq(id[1], 5); T.eq(id[2], 7)
    T.eq(#plot.ema({}, 0.5), 0, "empty")
  end)

  it("rejects bad arguments", function()
    T.errors(function() plot.ema("x", 0.5) end, "plot.ema: values must be an array of numbers, got string")
    T.errors(function() plot.ema({1}, 1) end, "plot.ema: smoothing weight must be a number in [0, 1), got 1")
    T.errors(function() plot.ema({1}, -0.1) end, "in [0, 1), got -0.1")
    T.errors(function() plot.ema({1, "a"}, 0.5) end, "plot.ema: values[2] must be a number, got string")
  end)
end)

describe("plot.terminal", function()
  it("draws a known diagonal as known braille cells", function()
    -- 4x2 cells = 8x8 dots; (1,0) -> dot (0,7), (2,1) -> dot (7,0): one dot per column
    local s = plot.terminal({{name = "a", x = {1, 2}, y = {0, 1}}}, {width = 8, height = 5, color = false})
    T.eq(s, "1.0┤  ⡠⠊\n  0┤⡠⠊\n   └┬─┬┬\n    1.0\n⣿ a\n", "chart")
    -- dots 7 and 6 of a cell are bits 0x40 and 0x20: U+2860
    T.eq(utf8.codepoint("⡠"), 0x2860, "cell")
  end)

  it("colours lines and the legend with ANSI codes unless color = false", function()
    local s = plot.terminal({{name = "a", x = {1, 2}, y = {0, 1}}, {name = "b", x = {1, 2}, y = {1, 0}}}, {width = 20, height = 6})
    T.truthy(s:find("\27[34m", 1, true) and s:find("\27[31m", 1, true), "two colours")
    T.truthy(s:find("\27[31m⣿\27[0m b", 1, true), "legend colour")
    local plain = plot.terminal({{name = "a", x = {1, 2}, y = {0, 1}}}, {width = 20, height = 6, color = false})
    T.eq(plain:find("\27", 1, true), nil, "no escapes")
  end)

  it("fits width x height exactly, with title, ticks and legend", function()
    local x, y1, y2 = {}, {}, {}
    for i = 1, 200 do x[i] = i; y1[i] = 1 / i; y2[i] = math.sin(i / 20) end
    for _, size in ipairs({{80, 24}, {40, 10}, {120, 40}}) do
      local s = plot.terminal({{name = "loss", x = x, y = y1}, {name = "sin", x = x, y = y2}},
        {width = size[1], height = size[2], color = false, title = "two lines", smooth = 0.6})
      local ls = lines_of(s)
      T.eq(#ls, size[2], "lines")
      T.eq(ls[1], "two lines", "title")
      for i, l in ipairs(ls) do T.truthy(utf8.len(l) <= size[1], "line " .. i .. " fits " .. size[1]) end
      T.eq(ls[#ls], "⣿ loss  ⣿ sin", "legend")
      T.truthy(ls[#ls - 1]:find("200", 1, true) or ls[#ls - 1]:find("150", 1, true), "x tick labels")
    end
  end)

  it("handles one point, a constant, NaN, empty series and huge values", function()
    local one = lines_of(plot.terminal({{name = "p", x = {5}, y = {3}}}, {width = 30, height = 8, color = false}))
    T.eq(one[3], "3.0┤             ⠄", "the point sits mid-chart at its tick")
    local flat = plot.terminal({{name = "c", y = {2, 2, 2, 2}}}, {width = 30, height = 8, color = false})
    T.truthy(flat:find("2.0┤⠤⠤⠤", 1, true), "a constant is a flat line at its value")
    -- NaN skipped: the line joins its neighbours
    local gap = plot.terminal({{name = "n", x = {1, 2, 3}, y = {0, NaN, 1}}}, {width = 8, height = 5, color = false})
    T.eq(gap, plot.terminal({{name = "n", x = {1, 3}, y = {0, 1}}}, {width = 8, height = 5, color = false}), "NaN skipped")
    local empty = plot.terminal({{name = "e", x = {}, y = {}}}, {width = 20, height = 6, color = false})
    T.eq(#lines_of(empty), 6, "empty series: axes and legend")
    T.truthy(empty:find("⣿ e", 1, true), "empty series still in the legend")
    T.truthy(plot.terminal({}, {width = 20, height = 6, color = false}):find("(no series)", 1, true), "no series")
    local huge = plot.terminal({{name = "h", y = {-1e308, 1e308, 5}}}, {width = 40, height = 10, color = false})
    T.truthy(huge:find("1e+308┤", 1, true) and huge:find("-1e+308┤", 1, true), "huge range labelled")
  end)

  it("draws a log y axis at powers of ten and refuses non-positive values", function()
    local s = plot.terminal({{name = "l", y = {1000, 100, 10, 1}}}, {width = 30, height = 10, log = true, color = false})
    local ls = lines_of(s)
    T.eq(ls[1]:sub(1, 7), "1000┤", "top tick")
    T.truthy(s:find("   1┤", 1, true) and s:find(" 100┤", 1, true), "decade ticks")
    T.errors(function() plot.terminal({{name = "bad", y = {1, 0}}}, {log = true}) end,
      "plot.terminal: log y axis needs positive values, but series[1] ('bad') has 0 at point 2")
  end)

  it("rejects bad arguments clearly", function()
    T.errors(function() plot.terminal("x") end, "plot.terminal: series must be an array of {name =, x =, y =} tables, got string")
    T.errors(function() plot.terminal({name = "a", y = {1}}) end, "plot.terminal: series must be an array of series: wrap a single one as {series}")
    T.errors(function() plot.terminal({{y = "a"}}) end, "plot.terminal: series[1].y must be an array of numbers, got string")
    T.errors(function() plot.terminal({{x = {1}, y = {1, 2}}}) end, "series[1]: x has 1 values but y has 2")
    T.errors(function() plot.terminal({{y = {1, "2"}}}) end, "series[1].y[2] must be a number, got string")
    T.errors(function() plot.terminal({{x = {1, NaN}, y = {1, 2}}}) end, "series[1].x[2] must be a finite number, got")
    T.errors(function() plot.terminal({}, {widht = 3}) end, "plot.terminal: unknown option 'widht'")
    T.errors(function() plot.terminal({}, {x = "epoch"}) end, "option x must be \"step\" or \"time\", got epoch")
    T.errors(function() plot.terminal({}, {smooth = 1}) end, "option smooth must be a number in [0, 1), got 1")
    T.errors(function() plot.terminal({}, {width = 2.5}) end, "option width must be an integer, got 2.5")
    T.errors(function() plot.terminal({}, {width = 6, height = 4}) end, "plot.terminal: a 6x4 chart is too small")
  end)
end)

describe("plot.svg", function()
  local x, y = {1, 2, 3, 4}, {4, 3, 2, 1}

  it("is a standalone SVG with a viewBox, axes and one polyline per series", function()
    local s = plot.svg({{name = "a", x = x, y = y}, {name = "b", x = x, y = {1, 2, 3, 4}}}, {width = 400, height = 300})
    T.truthy(s:find('^<svg xmlns="http://www.w3.org/2000/svg" class="lunet%-chart" viewBox="0 0 400 300" width="400" height="300"'), "root")
    T.truthy(s:find("</svg>\n$"), "closed")
    T.eq(count(s, "<polyline"), 2, "polylines")
    T.eq(count(s, 'class="raw"'), 0, "no raw lines without smoothing")
    T.truthy(s:find('<g class="axes"', 1, true), "axes")
    T.truthy(s:find(">step</text>", 1, true), "x axis name")
    T.truthy(s:find('stroke="#1f77b4"', 1, true) and s:find('stroke="#ff7f0e"', 1, true), "palette colours")
  end)

  it("puts the faded raw line beneath the smoothed one", function()
    local s = plot.svg({{name = "a", x = x, y = y}, {name = "b", x = x, y = y, color = "#123456"}}, {smooth = 0.6, x = "time"})
    T.eq(count(s, "<polyline"), 4, "two polylines per series")
    local raw = s:find('<polyline class="raw" stroke="#123456" stroke-opacity="0.25"', 1, true)
    local line = s:find('<polyline class="line" stroke="#123456"', 1, true)
    T.truthy(raw and line and raw < line, "raw first")
    T.truthy(s:find(">time (s)</text>", 1, true), "time axis")
  end)

  it("maps points into the plot box", function()
    -- the first point is the top-left corner of the box, the last the bottom-right
    local s = plot.svg({{name = "a", x = {0, 10}, y = {1, 0}}}, {width = 200, height = 150})
    local pts = s:match('<polyline class="line" stroke="#1f77b4" points="([^"]*)"')
    local x1, y1, x2, y2 = pts:match("^([%d.]+),([%d.]+) ([%d.]+),([%d.]+)$")
    T.eq(tonumber(x2), 184, "right edge = width - 16")
    T.eq(tonumber(y1), 12, "top = 12 without a title")
    T.truthy(tonumber(x1) > 12 and tonumber(y2) > tonumber(y1), "left and bottom")
  end)

  it("thins long series to the pixel columns but keeps their extremes", function()
    local x, y = {}, {}
    for i = 1, 10000 do x[i] = i; y[i] = (i == 5000) and 10 or (i == 7000 and -10 or (i % 7) / 7) end
    local s = plot.svg({{name = "long", x = x, y = y}}, {width = 300, height = 200})
    local pts = s:match('<polyline class="line" stroke="#1f77b4" points="([^"]*)"')
    local n, ymin, ymax = 0, math.huge, -math.huge
    for _, py in pts:gmatch("([%d.]+),([%d.]+)") do
      n = n + 1
      ymin, ymax = math.min(ymin, tonumber(py)), math.max(ymax, tonumber(py))
    end
    T.truthy(n <= 4 * 300 and n > 300, "a few points per pixel column, got " .. n)
    T.eq(ymin, 12, "the spike reaches the top")
    T.eq(ymax, 150, "the dip reaches the bottom (height - 34 - one legend row)")
  end)

  it("escapes names and titles", function()
    local s = plot.svg({{name = "<b>&\"'", y = {1, 2}}}, {title = "a<script>"})
    T.truthy(s:find("&lt;b&gt;&amp;&quot;&#39;", 1, true), "name escaped")
    T.truthy(s:find("a&lt;script&gt;", 1, true), "title escaped")
    T.eq(s:find("<b>", 1, true), nil, "no raw markup")
    T.eq(s:find("<script", 1, true), nil, "no script")
  end)

  it("handles one point, empty series, NaN and log axes", function()
    local one = plot.svg({{name = "p", y = {3}}})
    T.eq(count(one, "<polyline"), 1, "one polyline")
    T.eq(count(one, "<circle"), 1, "a lone point is marked")
    local empty = plot.svg({{name = "e", y = {}}, {name = "n", y = {NaN, NaN}}})
    T.eq(count(empty, "<polyline"), 0, "nothing to draw")
    T.truthy(empty:find(">e</text>", 1, true), "legend keeps empty series")
    local nan = plot.svg({{name = "n", y = {1, NaN, 3}}})
    local pts = nan:match('points="([^"]*)"')
    T.eq(count(pts, ","), 2, "NaN point skipped")
    local log = plot.svg({{name = "l", y = {0.01, 1, 100}}}, {log = true})
    T.truthy(log:find(">0.01</text>", 1, true) and log:find(">100</text>", 1, true), "decade labels")
    T.errors(function() plot.svg({{name = "l", y = {-1}}}, {log = true}) end, "plot.svg: log y axis needs positive values")
    T.errors(function() plot.svg({}, {width = 10}) end, "plot.svg: option width must be at least 160, got 10")
    T.errors(function() plot.svg({}, {color = false}) end, "plot.svg: unknown option 'color'")
  end)
end)
