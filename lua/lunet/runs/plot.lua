-- lunet.runs.plot: metric curves as a terminal chart (Unicode braille, 2x4
-- dots per cell), a standalone SVG string or a PNG file. Data comes in as
-- plain arrays, series = {{name =, x = {...}, y = {...}}, ...}, so nothing here touches the
-- database: the CLI and the HTML report feed it whatever they read.
local plot = {}

local function fail(fname, msg) error(fname .. ": " .. msg, 0) end

local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

--- plot.ema(values, w) -> array: TensorBoard's debiased exponential moving
-- average (last = last*w + (1-w)*v; smoothed = last / (1 - w^n), n counting
-- the finite values so far). Non-finite values pass through unsmoothed and do
-- not advance n. A constant input comes back unchanged, as in TensorBoard, so
-- the debias division cannot add rounding noise to a flat line.
function plot.ema(values, w, fname)
  fname = fname or "plot.ema"
  if type(values) ~= "table" then fail(fname, "values must be an array of numbers, got " .. type(values)) end
  if type(w) ~= "number" or not (w >= 0 and w < 1) then
    fail(fname, "smoothing weight must be a number in [0, 1), got " .. tostring(w))
  end
  local constant = true
  for i = 1, #values do
    local v = values[i]
    if type(v) ~= "number" then fail(fname, "values[" .. i .. "] must be a number, got " .. type(v)) end
    if v ~= values[1] then constant = false end
  end
  local out = {}
  if constant or w == 0 then
    for i = 1, #values do out[i] = values[i] end
    return out
  end
  local last, n = 0, 0
  for i = 1, #values do
    local v = values[i]
    if finite(v) then
      last = last * w + (1 - w) * v
      n = n + 1
      out[i] = last / (1 - w ^ n)
    else
      out[i] = v
    end
  end
  return out
end

-- options: unknown keys are a typo, so they raise
local function options(fname, o, allowed)
  if o == nil then return {} end
  if type(o) ~= "table" then fail(fname, "options must be a table, got " .. type(o)) end
  for k in pairs(o) do
    if not allowed[k] then fail(fname, "unknown option '" .. tostring(k) .. "'") end
  end
  return o
end

local function posint(fname, name, v, default, min)
  if v == nil then return default end
  if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) then
    fail(fname, name .. " must be an integer, got " .. tostring(v))
  end
  if v < min then fail(fname, name .. " must be at least " .. min .. ", got " .. tostring(v)) end
  return math.tointeger(v)
end

-- validate the series and the common options; smooth, drop non-finite points,
-- move y to log10 space when asked. Returns the prepared series and the ranges.
local function prepare(fname, series, o)
  if type(series) ~= "table" then
    fail(fname, "series must be an array of {name =, x =, y =} tables, got " .. type(series))
  end
  if series.y ~= nil then fail(fname, "series must be an array of series: wrap a single one as {series}") end
  if o.x ~= nil and o.x ~= "step" and o.x ~= "time" then
    fail(fname, "option x must be \"step\" or \"time\", got " .. tostring(o.x))
  end
  local w = o.smooth or 0
  if type(w) ~= "number" or not (w >= 0 and w < 1) then
    fail(fname, "option smooth must be a number in [0, 1), got " .. tostring(o.smooth))
  end
  if o.log ~= nil and type(o.log) ~= "boolean" then fail(fname, "option log must be a boolean, got " .. type(o.log)) end
  if o.title ~= nil and type(o.title) ~= "string" then fail(fname, "option title must be a string, got " .. type(o.title)) end

  local out = {}
  local xlo, xhi, ylo, yhi = math.huge, -math.huge, math.huge, -math.huge
  for i, s in ipairs(series) do
    local where = "series[" .. i .. "]"
    if type(s) ~= "table" then fail(fname, where .. " must be a table {name =, x =, y =}, got " .. type(s)) end
    local y, x = s.y, s.x
    if type(y) ~= "table" then fail(fname, where .. ".y must be an array of numbers, got " .. type(y)) end
    if x ~= nil and type(x) ~= "table" then fail(fname, where .. ".x must be an array of numbers, got " .. type(x)) end
    if x and #x ~= #y then fail(fname, where .. ": x has " .. #x .. " values but y has " .. #y) end
    local name = s.name == nil and ("series " .. i) or tostring(s.name)
    for j = 1, #y do
      if type(y[j]) ~= "number" then fail(fname, where .. ".y[" .. j .. "] must be a number, got " .. type(y[j])) end
      if x and (type(x[j]) ~= "number" or not finite(x[j])) then
        fail(fname, where .. ".x[" .. j .. "] must be a finite number, got " .. tostring(x[j]))
      end
      if o.log and y[j] <= 0 then
        fail(fname, "log y axis needs positive values, but " .. where .. " ('" .. name .. "') has "
          .. tostring(y[j]) .. " at point " .. j)
      end
    end
    local sm = w > 0 and plot.ema(y, w, fname) or nil
    -- points kept as parallel arrays of finite (x, y); the raw values set the range
    local p = {name = name, color = s.color, run = s.run, x = {}, y = {}, sy = sm and {} or nil}
    for j = 1, #y do
      local xv, yv = x and x[j] or j, y[j]
      if finite(yv) then
        if o.log then yv = math.log(yv, 10) end
        local n = #p.x + 1
        p.x[n], p.y[n] = xv, yv
        if sm then p.sy[n] = o.log and math.log(sm[j], 10) or sm[j] end
        if xv < xlo then xlo = xv end
        if xv > xhi then xhi = xv end
        if yv < ylo then ylo = yv end
        if yv > yhi then yhi = yv end
      end
    end
    out[i] = p
  end
  -- no data: a unit box; one value: widen around it so it lands mid-axis
  if xlo > xhi then xlo, xhi = 0, 1 end
  if ylo > yhi then ylo, yhi = 0, 1 end
  if xlo == xhi then xlo, xhi = xlo - 1, xhi + 1 end
  if ylo == yhi then
    local d = o.log and 0.5 or (ylo == 0 and 1 or math.abs(ylo) * 0.1)
    ylo, yhi = ylo - d, yhi + d
  end
  return out, {xlo, xhi}, {ylo, yhi}
end

-- position of v in [lo, hi] as 0..1; halves first so 1e308 - -1e308 cannot overflow
local function frac(v, r) return (v / 2 - r[1] / 2) / (r[2] / 2 - r[1] / 2) end

-- a tick label: plain decimals for everyday magnitudes, else %g with enough
-- digits that neighbouring ticks (`step` apart) differ
local function fmt(v, step)
  if v == 0 then return "0" end
  local a = math.abs(v)
  local e = math.floor(math.log(step, 10))
  if a >= 1e-4 and a < 1e6 and e >= -6 then
    local s = string.format("%." .. math.max(0, -e) .. "f", v)
    return s
  end
  local digits = math.max(1, math.min(15, math.floor(math.log(a, 10)) - e + 1))
  return (string.format("%." .. digits .. "g", v))
end

-- a "nice" step (1, 2 or 5 times a power of ten) for about `target` ticks
local function nice_step(span, target)
  local raw = span / target
  local e = math.floor(math.log(raw, 10))
  local f = raw / 10 ^ e
  local nf = f < 1.5 and 1 or f < 3 and 2 or f < 7 and 5 or 10
  return nf * 10 ^ e
end

-- linear ticks inside [lo, hi]: {pos =, label =}
local function linear_ticks(lo, hi, target, map)
  local step = nice_step((hi / 2 - lo / 2) * 2, target)
  local ticks = {}
  if finite(step) and step > 0 then
    local a, b = math.ceil(lo / step), math.floor(hi / step)
    if b - a <= 50 then
      for k = a, b do
        local v = k * step
        ticks[#ticks + 1] = {pos = map and map(v) or v, label = fmt(v, step)}
      end
    end
  end
  if #ticks < 2 then -- too narrow a range for a nice step: label the ends
    local step = (hi / 2 - lo / 2) * 2e-3
    if not (step > 0 and finite(step)) then step = math.max(math.abs(lo), math.abs(hi)) * 1e-6 end
    ticks = {{pos = map and map(lo) or lo, label = fmt(lo, step)}, {pos = map and map(hi) or hi, label = fmt(hi, step)}}
  end
  return ticks
end

-- y ticks; on a log axis at powers of ten (or 1-2-5 multiples of them when
-- the range holds fewer than two powers), else nice values at their logarithm
local function y_ticks(r, target, log)
  if not log then return linear_ticks(r[1], r[2], target) end
  for _, mult in ipairs({{1}, {1, 2, 5}}) do
    local ticks = {}
    for k = math.floor(r[1]), math.ceil(r[2]) do
      for _, m in ipairs(mult) do
        local v = m * 10.0 ^ k
        local pos = math.log(v, 10)
        if pos >= r[1] - 1e-12 and pos <= r[2] + 1e-12 then ticks[#ticks + 1] = {pos = pos, label = fmt(v, v)} end
      end
    end
    if #ticks > 2 * target then -- too many decades: keep every n-th
      local n, kept = math.ceil(#ticks / target), {}
      for i = 1, #ticks, n do kept[#kept + 1] = ticks[i] end
      ticks = kept
    end
    if #ticks >= 2 then return ticks end
  end
  return linear_ticks(10 ^ r[1], 10 ^ r[2], target, function(v) return math.log(v, 10) end)
end

local function axis_name(o) return o.x == "time" and "time (s)" or "step" end

------------------------------------------------------------------------------
-- terminal

-- braille dot bits by (column 0..1, row 0..3) within a cell
local BIT = {[0] = {[0] = 0x01, 0x02, 0x04, 0x40}, {[0] = 0x08, 0x10, 0x20, 0x80}}
local ANSI = {"\27[34m", "\27[31m", "\27[32m", "\27[35m", "\27[36m", "\27[33m"}
local RESET = "\27[0m"

local function ulen(s) return utf8.len(s) or #s end

-- text cut to n display columns
local function cut(s, n)
  if ulen(s) <= n then return s end
  if n <= 0 then return "" end
  return s:sub(1, utf8.offset(s, n + 1) - 1)
end

local TERMINAL_OPTS = {width = true, height = true, x = true, smooth = true, log = true, title = true, color = true}

--- plot.terminal(series, {width = 80, height = 24, x = "step"|"time", smooth = 0,
--- log = false, title =, color = true}) -> string of `height` lines, each at
-- most `width` columns: title, the chart with y tick labels, the x axis with
-- tick labels, and a legend. Non-finite points are skipped (the line joins
-- its neighbours). With smoothing only the smoothed line is drawn. A cell
-- holds one colour: where lines cross, the later series wins.
function plot.terminal(series, opts)
  local fname = "plot.terminal"
  local o = options(fname, opts, TERMINAL_OPTS)
  local W = posint(fname, "option width", o.width, 80, 1)
  local H = posint(fname, "option height", o.height, 24, 1)
  if o.color ~= nil and type(o.color) ~= "boolean" then fail(fname, "option color must be a boolean, got " .. type(o.color)) end
  local color = o.color ~= false
  local list, xr, yr = prepare(fname, series, o)

  local lines = {}
  if o.title then lines[1] = cut(o.title, W) end

  -- legend, wrapped to the width
  local legend, cur, curlen = {}, "", 0
  for i, s in ipairs(list) do
    local item = "⣿ " .. s.name
    local n = ulen(item)
    if n > W then item, n = cut(item, W), W end
    if color then item = ANSI[(i - 1) % #ANSI + 1] .. "⣿" .. RESET .. item:sub(#"⣿" + 1) end
    if curlen > 0 and curlen + 2 + n > W then
      legend[#legend + 1] = cur
      cur, curlen = "", 0
    end
    if curlen > 0 then cur, curlen = cur .. "  ", curlen + 2 end
    cur, curlen = cur .. item, curlen + n
  end
  if curlen > 0 then legend[#legend + 1] = cur end
  if #list == 0 then legend[1] = "(no series)" end

  local rows = H - #lines - 2 - #legend
  local yt = y_ticks(yr, math.max(2, math.min(6, rows // 3)), o.log)
  local lw = 0
  for _, t in ipairs(yt) do lw = math.max(lw, #t.label) end
  local cols = W - lw - 1
  if rows < 2 or cols < 4 then
    fail(fname, string.format("a %dx%d chart is too small: need at least 2 rows and 4 columns for the plot area "
      .. "(got %d rows after title, axis and legend, %d columns after the y labels)", W, H, math.max(rows, 0), math.max(cols, 0)))
  end

  -- the dot canvas: bits and colour per cell
  local DW, DH = cols * 2, rows * 4
  local bits, owner = {}, {}
  for r = 0, rows - 1 do bits[r], owner[r] = {}, {} end
  local function dot(px, py, si)
    local r, c = py // 4, px // 2
    bits[r][c] = (bits[r][c] or 0) | BIT[px % 2][py % 4]
    owner[r][c] = si
  end
  local function to_dots(x, y)
    return math.floor(frac(x, xr) * (DW - 1) + 0.5), math.floor((1 - frac(y, yr)) * (DH - 1) + 0.5)
  end
  for si, s in ipairs(list) do
    local ys = s.sy or s.y
    local px, py
    for j = 1, #s.x do
      local qx, qy = to_dots(s.x[j], ys[j])
      if px then -- Bresenham from the previous point
        local dx, dy = math.abs(qx - px), -math.abs(qy - py)
        local sx, sy = px < qx and 1 or -1, py < qy and 1 or -1
        local err = dx + dy
        while true do
          dot(px, py, si)
          if px == qx and py == qy then break end
          local e2 = 2 * err
          if e2 >= dy then err = err + dy; px = px + sx end
          if e2 <= dx then err = err + dx; py = py + sy end
        end
      else
        dot(qx, qy, si)
      end
      px, py = qx, qy
    end
  end

  local tick_at = {}
  for _, t in ipairs(yt) do
    local r = math.floor((1 - frac(t.pos, yr)) * (DH - 1) + 0.5) // 4
    tick_at[r] = tick_at[r] or t.label -- two ticks in one row: the first (lower) one
  end
  for r = 0, rows - 1 do
    local label = tick_at[r]
    local parts = {string.rep(" ", lw - #(label or "")), label or "", label and "┤" or "│"}
    local last, used = nil, -1
    for c = 0, cols - 1 do if bits[r][c] then used = c end end
    for c = 0, used do
      local b = bits[r][c]
      if b then
        if color and owner[r][c] ~= last then
          last = owner[r][c]
          parts[#parts + 1] = ANSI[(last - 1) % #ANSI + 1]
        end
        parts[#parts + 1] = utf8.char(0x2800 + b)
      else
        parts[#parts + 1] = " "
      end
    end
    if last then parts[#parts + 1] = RESET end
    lines[#lines + 1] = table.concat(parts)
  end

  -- x axis: ticks on the axis line, labels centred beneath without overlap
  local xt = linear_ticks(xr[1], xr[2], math.max(2, math.min(10, cols // 12)))
  local axis, labels = {}, {}
  for c = 0, cols - 1 do axis[c] = "─" end
  for c = 0, W - 1 do labels[c] = " " end
  local free = lw + 1 -- first label column still free
  for _, t in ipairs(xt) do
    local c = math.floor(frac(t.pos, xr) * (DW - 1) + 0.5) // 2
    axis[c] = "┬"
    local start = lw + 1 + c - (#t.label - 1) // 2
    start = math.max(start, lw + 1)
    if start + #t.label > W then start = W - #t.label end
    if start >= free then
      for k = 1, #t.label do labels[start + k - 1] = t.label:sub(k, k) end
      free = start + #t.label + 1
    end
  end
  -- the x axis name under the y labels when there is room
  local xname = axis_name(o)
  if #xname <= lw then for k = 1, #xname do labels[k - 1] = xname:sub(k, k) end end
  lines[#lines + 1] = string.rep(" ", lw) .. "└" .. table.concat(axis, "", 0, cols - 1)
  lines[#lines + 1] = (table.concat(labels, "", 0, W - 1):gsub(" +$", ""))
  for _, l in ipairs(legend) do lines[#lines + 1] = l end
  return table.concat(lines, "\n") .. "\n"
end

------------------------------------------------------------------------------
-- SVG

local PALETTE = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}
plot.palette = PALETTE

local ESC = {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;"}
--- plot.escape(s) -> s with & < > " ' as entities (safe in HTML/SVG text and attributes)
function plot.escape(s) return (tostring(s):gsub("[&<>\"']", ESC)) end
local esc = plot.escape

local function num(v) return (string.format("%.2f", v):gsub("%.?0+$", "")) end

-- indices of the points worth drawing: all when there are few, else per pixel
-- column the first, lowest, highest and last point, which draws the same line
-- while 100,000 steps stay a few thousand coordinates
local function thin(xs, ys, px, ncols)
  local n = #xs
  if n <= 4 * ncols then return nil end
  local keep, col, a, lo, hi, z = {}, nil, 0, 0, 0, 0
  local function flush()
    local set = {a, lo, hi, z}
    table.sort(set)
    for k = 1, 4 do if set[k] ~= keep[#keep] then keep[#keep + 1] = set[k] end end
  end
  for j = 1, n do
    local c = math.floor(px(xs[j]))
    if c ~= col then
      if col then flush() end
      col, a, lo, hi, z = c, j, j, j, j
    else
      if ys[j] < ys[lo] then lo = j end
      if ys[j] > ys[hi] then hi = j end
      z = j
    end
  end
  flush()
  return keep
end

local CHART_OPTS = {width = true, height = true, x = true, smooth = true, log = true, title = true}

-- the chart geometry shared by plot.svg and plot.png: the prepared series,
-- ranges, ticks, the plot box, legend slots (rows at the bottom) and the
-- data -> pixel maps X and Y. `ch` is the width of one character in pixels.
local function layout(fname, series, o, ch)
  local W = posint(fname, "option width", o.width, 640, 160)
  local H = posint(fname, "option height", o.height, 360, 120)
  local list, xr, yr = prepare(fname, series, o)

  local legend, lx, ly = {}, 0, 0
  for i, s in ipairs(list) do
    local wpx = 18 + #s.name * ch + 14
    if lx > 0 and lx + wpx > W - 20 then lx, ly = 0, ly + 1 end
    legend[i] = {x = lx, row = ly}
    lx = lx + wpx
  end
  local legend_rows = #list > 0 and ly + 1 or 0

  local rows_px = H - (o.title and 30 or 12) - 34 - legend_rows * 16
  local yt = y_ticks(yr, math.max(2, math.min(8, math.floor(rows_px / 40))), o.log)
  local lw = 0
  for _, t in ipairs(yt) do lw = math.max(lw, #t.label) end
  local left, right = 12 + lw * ch, W - 16
  local top, bottom = (o.title and 30 or 12), H - 34 - legend_rows * 16
  if bottom - top < 20 then fail(fname, "a " .. W .. "x" .. H .. " chart is too small for its legend") end
  local xt = linear_ticks(xr[1], xr[2], math.max(2, math.min(10, math.floor((right - left) / 80))))
  local g = {W = W, H = H, list = list, xr = xr, yr = yr, xt = xt, yt = yt, legend = legend,
    left = left, right = right, top = top, bottom = bottom}
  function g.X(x) return left + frac(x, xr) * (right - left) end
  function g.Y(y) return bottom - frac(y, yr) * (bottom - top) end
  return g
end

-- pixel coordinates of a series' line (values ys), thinned: {x1, y1, x2, y2, ...}
local function line_points(g, s, ys)
  local p, idx = {}, thin(s.x, ys, g.X, math.floor(g.right - g.left + 1))
  local n = idx and #idx or #s.x
  for k = 1, n do
    local j = idx and idx[k] or k
    p[2 * k - 1], p[2 * k] = g.X(s.x[j]), g.Y(ys[j])
  end
  return p
end

local function color_of(s, i) return s.color or PALETTE[(i - 1) % #PALETTE + 1] end

--- plot.svg(series, {width = 640, height = 360, x =, smooth =, log =, title =}) -> string:
-- a standalone SVG document (no XML prolog, so it also inlines into HTML).
-- One <polyline> per series with at least one finite point; with smoothing a
-- second, faded one (class "raw") beneath it. A series' colour is series.color
-- or the palette's next one.
function plot.svg(series, opts)
  local fname = "plot.svg"
  local o = options(fname, opts, CHART_OPTS)
  local g = layout(fname, series, o, 6.5) -- 6.5: rough width of an 11px sans-serif character
  local W, H, left, right, top, bottom, X, Y = g.W, g.H, g.left, g.right, g.top, g.bottom, g.X, g.Y

  local out = {}
  local function add(s) out[#out + 1] = s end
  add(string.format('<svg xmlns="http://www.w3.org/2000/svg" class="lunet-chart" viewBox="0 0 %d %d" width="%d" height="%d" '
    .. 'font-family="sans-serif" font-size="11">', W, H, W, H))
  add(string.format('<rect width="%d" height="%d" fill="#fff"/>', W, H))
  if o.title then add(string.format('<text x="%s" y="19" font-size="13" font-weight="bold">%s</text>', num(left), esc(o.title))) end

  -- grid and tick labels
  add('<g class="grid" stroke="#e6e6e6" stroke-width="1">')
  for _, t in ipairs(g.xt) do add(string.format('<line x1="%s" y1="%s" x2="%s" y2="%s"/>', num(X(t.pos)), num(top), num(X(t.pos)), num(bottom))) end
  for _, t in ipairs(g.yt) do add(string.format('<line x1="%s" y1="%s" x2="%s" y2="%s"/>', num(left), num(Y(t.pos)), num(right), num(Y(t.pos)))) end
  add('</g>')
  add(string.format('<g class="axes" stroke="#333" stroke-width="1"><line x1="%s" y1="%s" x2="%s" y2="%s"/>'
    .. '<line x1="%s" y1="%s" x2="%s" y2="%s"/></g>', num(left), num(top), num(left), num(bottom),
    num(left), num(bottom), num(right), num(bottom)))
  add('<g class="ticks" fill="#333">')
  for _, t in ipairs(g.xt) do add(string.format('<text x="%s" y="%s" text-anchor="middle">%s</text>', num(X(t.pos)), num(bottom + 14), esc(t.label))) end
  for _, t in ipairs(g.yt) do add(string.format('<text x="%s" y="%s" text-anchor="end">%s</text>', num(left - 4), num(Y(t.pos) + 4), esc(t.label))) end
  add(string.format('<text x="%s" y="%s" text-anchor="end">%s</text>', num(right), num(bottom + 28), esc(axis_name(o))))
  add('</g>')

  -- lines: raw (faded) beneath the smoothed one
  add('<g class="lines" fill="none" stroke-width="1.5" stroke-linejoin="round">')
  for i, s in ipairs(g.list) do
    local c = esc(color_of(s, i))
    local function pts(ys)
      local p, q = line_points(g, s, ys), {}
      for k = 1, #p // 2 do q[k] = num(p[2 * k - 1]) .. "," .. num(p[2 * k]) end
      return table.concat(q, " ")
    end
    if #s.x > 0 then
      if s.sy then add(string.format('<polyline class="raw" stroke="%s" stroke-opacity="0.25" points="%s"/>', c, pts(s.y))) end
      add(string.format('<polyline class="line" stroke="%s" points="%s"><title>%s</title></polyline>', c, pts(s.sy or s.y), esc(s.name)))
      if #s.x == 1 then -- a lone point draws no line: mark it
        add(string.format('<circle cx="%s" cy="%s" r="2.5" fill="%s"/>', num(X(s.x[1])), num(Y((s.sy or s.y)[1])), c))
      end
    end
  end
  add('</g>')

  add('<g class="legend">')
  for i, s in ipairs(g.list) do
    local c = esc(color_of(s, i))
    local x, y = left + g.legend[i].x, bottom + 40 + g.legend[i].row * 16
    add(string.format('<rect x="%s" y="%s" width="12" height="3" fill="%s"/><text x="%s" y="%s">%s</text>',
      num(x), num(y - 4), c, num(x + 16), num(y), esc(s.name)))
  end
  add('</g>')
  add('</svg>')
  return table.concat(out, "\n") .. "\n"
end

------------------------------------------------------------------------------
-- PNG (drawn by the C canvas in lunet.core._image with its 5x7 pixel font)

-- "#rrggbb" as an integer; other CSS colours (names, rgb()) fall back to the palette
local function rgb_int(c, i)
  if type(c) ~= "string" or not c:match("^#%x%x%x%x%x%x$") then c = PALETTE[(i - 1) % #PALETTE + 1] end
  return tonumber(c:sub(2), 16)
end

--- plot.png(series, {width = 640, height = 360, x =, smooth =, log =, title =}, path) -> path:
-- the chart plot.svg draws (same layout, ticks, smoothing and thinning) as an
-- 8-bit RGB PNG file, written atomically (a temporary file renamed over path).
-- Text uses a built-in 5x7 font (ASCII letters, digits and common signs;
-- anything else shows as a box). Raw lines under a smoothed one are blended
-- at 25% opacity; lines are 2 px wide.
function plot.png(series, opts, path)
  local fname = "plot.png"
  if type(path) ~= "string" or path == "" then
    fail(fname, "path must be a non-empty string, got " .. (type(path) == "string" and "\"\"" or type(path)))
  end
  local o = options(fname, opts, CHART_OPTS)
  local g = layout(fname, series, o, 6) -- 6: the font's advance per character
  local image = require("lunet.core")._image
  local X, Y, left, right, top, bottom = g.X, g.Y, g.left, g.right, g.top, g.bottom
  local function R(v) return math.floor(v + 0.5) end
  local canvas <close> = image.canvas(g.W, g.H, 0xffffff)
  local INK = 0x333333

  if o.title then canvas:text(R(left), 8, o.title, 0x000000) end
  for _, t in ipairs(g.xt) do canvas:line(R(X(t.pos)), R(top), R(X(t.pos)), R(bottom), 0xe6e6e6) end
  for _, t in ipairs(g.yt) do canvas:line(R(left), R(Y(t.pos)), R(right), R(Y(t.pos)), 0xe6e6e6) end
  canvas:line(R(left), R(top), R(left), R(bottom), INK)
  canvas:line(R(left), R(bottom), R(right), R(bottom), INK)
  for _, t in ipairs(g.xt) do
    canvas:text(R(X(t.pos)) - image.text_width(t.label) // 2, R(bottom) + 6, t.label, INK)
  end
  for _, t in ipairs(g.yt) do
    canvas:text(R(left) - 4 - image.text_width(t.label), R(Y(t.pos)) - 3, t.label, INK)
  end
  local name = axis_name(o)
  canvas:text(R(right) - image.text_width(name), R(bottom) + 20, name, INK)

  for i, s in ipairs(g.list) do
    local c = rgb_int(s.color, i)
    local function draw(ys, width, alpha)
      local p = line_points(g, s, ys)
      for k = 1, #p // 2 - 1 do
        canvas:line(R(p[2 * k - 1]), R(p[2 * k]), R(p[2 * k + 1]), R(p[2 * k + 2]), c, width, alpha)
      end
    end
    if #s.x > 0 then
      if s.sy then draw(s.y, 1, 0.25) end
      draw(s.sy or s.y, 2, 1)
      if #s.x == 1 then -- a lone point draws no line: mark it
        canvas:fill_rect(R(X(s.x[1])) - 2, R(Y((s.sy or s.y)[1])) - 2, 5, 5, c)
      end
    end
  end

  for i, s in ipairs(g.list) do
    local x, y = R(left + g.legend[i].x), R(bottom + 40 + g.legend[i].row * 16)
    canvas:fill_rect(x, y - 4, 12, 3, rgb_int(s.color, i))
    canvas:text(x + 16, y - 7, s.name, INK)
  end
  local ok, err = pcall(canvas.save_png, canvas, path)
  if not ok then -- keep the C message (it names the path), not where Lua called it
    fail(fname, (tostring(err):gsub("^.-canvas:save_png: ", "")))
  end
  return path
end

return plot
