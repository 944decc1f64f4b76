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

------------------------------------------------------------------------------
-- PNG: the C canvas (lunet.core._image) and plot.png

local image = require("lunet.core")._image

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- the pixels of a canvas equal to `rgb`, as a set "x,y"
local function pixels_of(c, rgb)
  local set, n = {}, 0
  for y = 0, c:height() - 1 do
    for x = 0, c:width() - 1 do
      local r, g, b = c:pixel(x, y)
      if r * 65536 + g * 256 + b == rgb then set[x .. "," .. y], n = true, n + 1 end
    end
  end
  return set, n
end

describe("image canvas", function()
  it("draws a Bresenham diagonal, 2 px lines and alpha blends", function()
    local c = image.canvas(10, 10)
    T.eq(c:width(), 10); T.eq(c:height(), 10)
    c:line(0, 0, 9, 9, 0xff0000)
    local set, n = pixels_of(c, 0xff0000)
    T.eq(n, 10, "ten pixels")
    for i = 0, 9 do T.truthy(set[i .. "," .. i], "diagonal " .. i) end
    local w = image.canvas(5, 5, "#000000")
    w:line(0, 2, 4, 2, 0xffffff, 2) -- horizontal: the second pixel goes below
    local _, n2 = pixels_of(w, 0xffffff)
    T.eq(n2, 10, "2 px wide")
    T.eq(table.concat({w:pixel(4, 3)}, ","), "255,255,255", "below")
    local a = image.canvas(1, 1, 0x000000)
    a:line(0, 0, 0, 0, 0xffffff, 1, 0.25)
    T.eq(table.concat({a:pixel(0, 0)}, ","), "64,64,64", "25% of white on black")
  end)

  it("fills rectangles clipped to the canvas", function()
    local c = image.canvas(8, 6)
    c:fill_rect(2, 1, 3, 2, 0x00ff00)
    local set, n = pixels_of(c, 0x00ff00)
    T.eq(n, 6, "3x2")
    for _, p in ipairs{"2,1", "3,1", "4,1", "2,2", "3,2", "4,2"} do T.truthy(set[p], p) end
    c:fill_rect(-5, 4, 100, 100, 0x0000ff)
    local _, m = pixels_of(c, 0x0000ff)
    T.eq(m, 16, "two clipped rows of 8")
    c:fill_rect(20, 20, 5, 5, 0x0000ff) -- outside: nothing
    T.eq(select(2, pixels_of(c, 0x0000ff)), 16)
  end)

  it("draws glyphs inside their 5x7 box only", function()
    for _, ch in ipairs{"A", "g", "8", "e", "+", "-", ".", "_", ":", "Z", "?"} do
      local c = image.canvas(12, 12)
      T.eq(c:text(3, 2, ch, 0x000000), 5, "width of " .. ch)
      local set, n = pixels_of(c, 0x000000)
      T.truthy(n > 0, ch .. " draws something")
      for p in pairs(set) do
        local x, y = p:match("(%d+),(%d+)")
        x, y = tonumber(x), tonumber(y)
        T.truthy(x >= 3 and x <= 7 and y >= 2 and y <= 8, ch .. " stays in its box at " .. p)
      end
    end
    local sp = image.canvas(8, 8)
    sp:text(0, 0, " ", 0x000000)
    T.eq(select(2, pixels_of(sp, 0x000000)), 0, "space is blank")
    T.eq(image.text_width("ab"), 11); T.eq(image.text_width("ab", 2), 22); T.eq(image.text_width(""), 0)
    local big = image.canvas(12, 16)
    big:text(0, 0, "I", 0x000000, 2)
    T.eq(select(2, pixels_of(big, 0x000000)), 4 * 11, "I has 11 dots, each 2x2")
  end)

  it("rejects bad arguments", function()
    T.errors(function() image.canvas(0, 5) end, "image.canvas: argument 1 (width) must be an integer 1..16384, got 0")
    T.errors(function() image.canvas(5, 1e9) end, "argument 2 (height) must be an integer 1..16384")
    T.errors(function() image.canvas(2, 2, "red") end, "image.canvas: argument 3 (colour) must be 0xRRGGBB or \"#rrggbb\", got red")
    local c = image.canvas(2, 2)
    T.errors(function() c:line(0, 0, 1, 1, 0x1000000) end, "canvas:line: argument 6 (colour) must be an integer 0x000000..0xFFFFFF")
    T.errors(function() c:line(0, 0, 1, 1, 0, 3) end, "canvas:line: argument 7 (width) must be 1 or 2, got 3")
    T.errors(function() c:line(0, 0, 1, 0 / 0, 0) end, "canvas:line: argument 5 (y1) is NaN")
    T.errors(function() c:fill_rect(0, 0, "a", 1, 0) end, "canvas:fill_rect: argument 4 (width) must be a number, got string")
    T.errors(function() c:pixel(2, 0) end, "canvas:pixel: (2, 0) is outside the 2x2 canvas")
    T.errors(function() c.line({}, 0, 0, 1, 1, 0) end, "canvas:line: argument 1 must be a canvas, got table")
  end)
end)

describe("image PNG files", function()
  it("round-trips RGB and gray tensors exactly", function()
    local path = os.tmpname()
    local rgb = lunet.zeros(3, 4, 5)
    for c = 1, 3 do for y = 1, 4 do for x = 1, 5 do rgb[c][y][x] = ((c * 7 + y * 31 + x * 13) % 256) / 255 end end end
    image.write_png(path, rgb)
    local bytes = slurp(path)
    T.eq(bytes:sub(1, 8), "\137PNG\r\n\26\n", "signature")
    T.eq(bytes:sub(13, 16), "IHDR", "IHDR first")
    T.eq(string.unpack(">I4", bytes, 17), 5, "IHDR width")
    T.eq(string.unpack(">I4", bytes, 21), 4, "IHDR height")
    T.eq(bytes:byte(25), 8, "bit depth"); T.eq(bytes:byte(26), 2, "colour type RGB")
    local w, h, back = image.read_png(path)
    T.eq(w, 5); T.eq(h, 4); T.shape(back, {3, 4, 5})
    T.eq((back - rgb):abs():max():item() < 1e-7, true, "exact bytes")
    -- (H,W) and (1,H,W) are gray; float64 too
    local g = lunet.tensor({{0, 1 / 255, 0.5}, {1, 254 / 255, 0.25}}, {dtype = "float64"})
    image.write_png(path, g)
    T.eq(slurp(path):byte(26), 0, "colour type gray")
    local w2, h2, gb = image.read_png(path)
    T.eq(w2, 3); T.eq(h2, 2); T.shape(gb, {2, 3})
    T.near(gb[1][1], 0, 1e-7); T.near(gb[1][2], 1 / 255, 1e-7); T.near(gb[2][1], 1, 1e-7)
    T.near(gb[2][2], 254 / 255, 1e-7); T.near(gb[2][3], 64 / 255, 1e-7)
    T.near(gb[1][3], 128 / 255, 1e-7, "0.5 rounds to 128")
    image.write_png(path, g:float():reshape(1, 2, 3))
    local _, _, g1 = image.read_png(path)
    T.shape(g1, {2, 3})
    -- a non-contiguous view writes what it shows
    image.write_png(path, rgb:transpose(2, 3))
    local w3, h3 = image.read_png(path)
    T.eq(w3, 4); T.eq(h3, 5)
    os.remove(path)
  end)

  it("rejects bad tensors, values outside [0, 1] and unwritable paths", function()
    local path = os.tmpname()
    T.errors(function() image.write_png(path, lunet.zeros(2, 3, 3)) end,
      "image.write_png: argument 2 must have shape (H,W), (1,H,W) or (3,H,W), got (2, 3, 3)")
    T.errors(function() image.write_png(path, lunet.zeros(4)) end, "got (4)")
    T.errors(function() image.write_png(path, lunet.zeros(2, 2, {dtype = "int64"})) end,
      "image.write_png: argument 2 must be a float32 or float64 tensor, got int64")
    T.errors(function() image.write_png(path, lunet.zeros(0, 3)) end,
      "image.write_png: image size must be 1..16384 in each direction, got 3x0")
    T.errors(function() image.write_png(path, lunet.tensor({{0, 1.5}})) end,
      "image.write_png: value 1.5 at [1, 2] is outside [0, 1]")
    T.errors(function() image.write_png(path, lunet.tensor({{{0, -0.5}}})) end, "value -0.5 at [1, 1, 2] is outside [0, 1]")
    T.errors(function() image.write_png(path, lunet.tensor({{0 / 0}})) end, "is outside [0, 1]")
    T.errors(function() image.write_png("/nonexistent-dir/x.png", lunet.zeros(2, 2)) end,
      "image.write_png: /nonexistent-dir/x.png: cannot create a file there: No such file or directory")
    T.errors(function() image.canvas(2, 2):save_png("/nonexistent-dir/y.png") end,
      "canvas:save_png: /nonexistent-dir/y.png: cannot create a file there")
    local f = assert(io.open(path, "wb")); f:write("not a png at all"); f:close()
    T.errors(function() image.read_png(path) end, "image.read_png: " .. path .. ": not a PNG file (bad signature)")
    -- a truncated PNG is an error naming the path, not a crash
    image.write_png(path, lunet.zeros(8, 8))
    local s = slurp(path)
    f = assert(io.open(path, "wb")); f:write(s:sub(1, #s - 20)); f:close()
    T.errors(function() image.read_png(path) end, "image.read_png: " .. path .. ": cannot read PNG")
    T.errors(function() image.read_png(path .. ".missing") end, "image.read_png: " .. path .. ".missing: cannot open")
    os.remove(path)
  end)
end)

describe("plot.png", function()
  it("draws the chart plot.svg lays out, as a PNG that decodes", function()
    local path = os.tmpname()
    local x, y = {}, {}
    for i = 1, 300 do x[i], y[i] = i, 1 / i end
    T.eq(plot.png({{name = "run_1 loss", x = x, y = y}, {name = "b", y = {0.5, 0.6}, color = "#00ff00"}},
      {width = 320, height = 200, title = "Loss: e-2 +x", smooth = 0.5}, path), path)
    local bytes = slurp(path)
    T.eq(bytes:sub(1, 8), "\137PNG\r\n\26\n", "signature")
    T.eq(string.unpack(">I4", bytes, 17), 320, "IHDR width")
    T.eq(string.unpack(">I4", bytes, 21), 200, "IHDR height")
    local w, h, t = image.read_png(path)
    T.eq(w, 320); T.eq(h, 200); T.shape(t, {3, 200, 320})
    -- background white at the corner; the series' colours are there
    T.eq(t[1][1][1] + t[2][1][1] + t[3][1][1], 3, "white corner")
    local function has(r, g, b)
      local m = (t[1] - r / 255):abs() + (t[2] - g / 255):abs() + (t[3] - b / 255):abs()
      return m:min():item() < 1e-6
    end
    T.truthy(has(0x1f, 0x77, 0xb4), "first series in the palette's first colour")
    T.truthy(has(0, 255, 0), "second series in its own colour")
    T.truthy(has(0x33, 0x33, 0x33), "axes and labels")
    -- the same picture as the canvas drawn twice: deterministic
    local path2 = os.tmpname()
    plot.png({{name = "run_1 loss", x = x, y = y}, {name = "b", y = {0.5, 0.6}, color = "#00ff00"}},
      {width = 320, height = 200, title = "Loss: e-2 +x", smooth = 0.5}, path2)
    T.eq(slurp(path2), bytes, "deterministic")
    -- one point, empty and NaN series, a log axis
    plot.png({{name = "p", y = {3}}, {name = "e", y = {}}, {name = "n", y = {1, NaN, 3}}}, nil, path2)
    T.eq(select(1, image.read_png(path2)), 640, "default width")
    plot.png({{name = "l", y = {0.01, 1, 100}}}, {log = true, x = "time"}, path2)
    os.remove(path); os.remove(path2)
  end)

  it("rejects bad arguments with the SVG's messages", function()
    T.errors(function() plot.png({}, nil, nil) end, "plot.png: path must be a non-empty string, got nil")
    T.errors(function() plot.png({}, nil, "") end, "plot.png: path must be a non-empty string, got \"\"")
    T.errors(function() plot.png({}, {width = 10}, "/tmp/x.png") end, "plot.png: option width must be at least 160, got 10")
    T.errors(function() plot.png({}, {color = false}, "/tmp/x.png") end, "plot.png: unknown option 'color'")
    T.errors(function() plot.png({{name = "l", y = {-1}}}, {log = true}, "/tmp/x.png") end, "plot.png: log y axis needs positive values")
    local ok, err = pcall(plot.png, {{y = {1, 2}}}, nil, "/nonexistent-dir/p.png")
    T.eq(ok, false)
    T.eq(err, "plot.png: /nonexistent-dir/p.png: cannot create a file there: No such file or directory", "no Lua position")
  end)

  it("is what `lunet runs plot --png FILE` writes", function()
    local cli = require "lunet.runs.cli"
    local db_path = os.tmpname()
    os.remove(db_path)
    local db = require("lunet.core")._runs.open(db_path)
    db:exec("INSERT INTO runs (id, name, status, started, heartbeat) VALUES (1, 'a', 'finished', 100, 100)")
    db:exec("INSERT INTO metric_keys (id, name, goal) VALUES (1, 'loss', 'min')")
    for step = 1, 5 do
      db:exec("INSERT INTO metrics (run_id, key_id, step, value, time) VALUES (1, 1, ?, ?, ?)", {step, 1 / step, 100 + step})
    end
    db:exec("INSERT INTO metric_summary VALUES (1, 1, 5, 1, 1, 0.2, 5, 0.2, 5, 1, 1)")
    db:close()
    local png, svg = os.tmpname(), os.tmpname()
    local buf = {}
    cli.main({"--db", db_path, "plot", "loss", "1", "--png", png, "--svg", svg, "--width", "300", "--height", "180"},
      {write = function(_, s) buf[#buf + 1] = s end})
    T.eq(table.concat(buf), "wrote " .. svg .. "\nwrote " .. png .. "\n", "output")
    local w, h = image.read_png(png)
    T.eq(w, 300); T.eq(h, 180)
    T.truthy(slurp(svg):find("^<svg"), "svg too")
    T.errors(function() cli.main({"--db", db_path, "plot", "loss", "1", "--png", "/nonexistent-dir/q.png"}, {write = function() end}) end,
      "/nonexistent-dir/q.png: cannot create a file there")
    os.remove(png); os.remove(svg)
    for _, s in ipairs{"", "-wal", "-shm"} do os.remove(db_path .. s) end
  end)
end)
