-- lunet.train.Progress: the progress bar of one epoch (train.fit and custom
-- loops use the same object). On a terminal it redraws one line in place;
-- elsewhere (a log file, a pipe) it stays silent until finish and then writes
-- one plain line, so logs hold no "\r" or escape codes.
--
--   Epoch 2/5  120/469 [====>...............] ETA: 3.1s - loss: 0.3312 - accuracy: 0.8801
--   Epoch 2/5  469/469 [====================] 4.1s 8.7ms/step - loss: 0.3312 - accuracy: 0.8801
local core = require "lunet.core"
local args = require "lunet.nn.args"

local Progress = {}
Progress.__index = Progress

local FNAME = "train.Progress"
local DEFAULTS = {total = false, title = "", width = false, out = false, tty = "auto", clock = false, interval = 0.1}

-- is `out` a terminal? Only the standard streams can be asked.
local function is_terminal(out)
  local repl = core._repl
  if not (repl and repl.isatty) then return false end
  if out == io.stdout then return repl.isatty(1) end
  if out == io.stderr then return repl.isatty(2) end
  return false
end

--- Progress{total = N, title = "Epoch 2/5", width = columns, out = io.stdout,
-- tty = "auto" | true | false, clock = fn -> seconds, interval = 0.1}
function Progress.new(opts)
  local o = args.options(FNAME, opts, DEFAULTS, 2)
  if o.total then args.int(FNAME, "total", o.total, 0, 2) end
  if type(o.title) ~= "string" then error(FNAME .. ": title must be a string, got " .. type(o.title), 2) end
  if o.width then args.int(FNAME, "width", o.width, 20, 2) end
  if o.clock and type(o.clock) ~= "function" then error(FNAME .. ": clock must be a function, got " .. type(o.clock), 2) end
  args.number(FNAME, "interval", o.interval, 0, nil, 2)
  local out = o.out or io.stdout
  if type(out) ~= "table" and type(out) ~= "userdata" or not out.write then
    error(FNAME .. ": out must be a file (an object with a write method), got " .. type(out), 2)
  end
  local tty = o.tty
  if tty == "auto" then tty = is_terminal(out) end
  local clock = o.clock or core.clock
  local width = o.width
  if not width and tty and core._repl and core._repl.terminal_size then width = core._repl.terminal_size() end
  return setmetatable({total = o.total or nil, title = o.title, width = width or 80, out = out,
    tty = tty and true or false, clock = clock, interval = o.interval, start = clock(),
    step = 0, values = {}, last_draw = nil, drawn = 0, finished = false}, Progress)
end

-- "loss" first, then the other training values, then the val_ ones, by name
local function rank(k)
  local val = k:sub(1, 4) == "val_"
  local base = val and k:sub(5) or k
  return (val and 2 or 0) + (base == "loss" and 0 or 1)
end

local function ordered_keys(values)
  local keys = {}
  for k in pairs(values) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ra, rb = rank(a), rank(b)
    if ra ~= rb then return ra < rb end
    return a < b
  end)
  return keys
end

local function number(v)
  if type(v) ~= "number" then return tostring(v) end
  if v ~= v then return "nan" end
  if v == math.huge or v == -math.huge then return v > 0 and "inf" or "-inf" end
  if v ~= 0 and math.abs(v) < 1e-3 then return string.format("%.4e", v) end
  return string.format("%.4f", v)
end

-- 4.1s, 2m05s, 1h02m
local function duration(s)
  if s < 60 then return string.format("%.1fs", s) end
  if s < 3600 then return string.format("%dm%02ds", s // 60, math.floor(s % 60)) end
  return string.format("%dh%02dm", s // 3600, math.floor(s % 3600) // 60)
end

local function per_step(s)
  if s >= 1 then return string.format("%.2fs/step", s) end
  if s >= 1e-3 then return string.format("%.1fms/step", s * 1e3) end
  return string.format("%.0fus/step", s * 1e6)
end

-- the text after the counter: " - loss: 0.3312 - accuracy: 0.8801"
function Progress:values_text()
  local parts = {}
  for _, k in ipairs(ordered_keys(self.values)) do parts[#parts + 1] = " - " .. k .. ": " .. number(self.values[k]) end
  return table.concat(parts)
end

-- the whole line; `bar` false leaves the bar out (the plain form)
function Progress:line(now, bar)
  local total, step = self.total, self.step
  local head = self.title ~= "" and self.title .. "  " or ""
  local count = total and string.format("%" .. #tostring(total) .. "d/%d", step, total) or tostring(step)
  local elapsed = now - self.start
  local timing
  if self.finished or (total and step >= total) then
    timing = duration(elapsed) .. (step > 0 and " " .. per_step(elapsed / step) or "")
  elseif total and step > 0 then
    timing = "ETA: " .. duration(elapsed / step * (total - step))
  else
    timing = duration(elapsed)
  end
  local tail = " " .. timing .. self:values_text()
  if not (bar and total) then return head .. count .. (bar and "" or " -") .. tail end
  -- 30 cells, fewer on a narrow terminal (the same in every frame, so it does not jump)
  local cells = math.max(10, math.min(30, self.width - 70))
  local done = total > 0 and math.min(cells, cells * step // total) or cells
  local arrow = done < cells and done > 0 and ">" or ""
  if arrow ~= "" then done = done - 1 end
  local text = head .. count .. " [" .. string.rep("=", done) .. arrow .. string.rep(".", cells - done - #arrow) .. "]" .. tail
  if #text < self.width then return text end
  -- too wide: a line being redrawn must not wrap (or "\r" would not reach its
  -- start), so it is cut; the final line keeps every value and drops the bar
  if self.finished then return head .. count .. tail end
  return text:sub(1, self.width - 1)
end

-- `out` may be any object with a write method (tests pass a table)
local function flush(out) if out.flush then out:flush() end end

-- redraw the terminal line in place, padding over a longer previous one
function Progress:draw(now)
  local text = self:line(now, true)
  local pad = math.max(0, self.drawn - #text)
  self.out:write("\r", text, string.rep(" ", pad))
  flush(self.out)
  self.drawn, self.last_draw = #text, now
end

local function merge(into, values)
  if values == nil then return end
  if type(values) ~= "table" then error(FNAME .. ": values must be a table of name = number, got " .. type(values), 3) end
  for k, v in pairs(values) do into[k] = v end
end

--- p:update(step [, values]): `step` batches done, with the values to show
-- (name = number); a terminal is redrawn at most every `interval` seconds
-- and always at the last step
function Progress:update(step, values)
  args.int(FNAME .. ":update", "step", step, 0, 2)
  self.step = step
  merge(self.values, values)
  if not self.tty then return end
  local now = self.clock()
  if self.last_draw == nil or now - self.last_draw >= self.interval or (self.total and step >= self.total) then
    self:draw(now)
  end
end

--- p:finish([values]): the final line with `values` added (validation
-- metrics), ended by a newline; in plain mode the only line written
function Progress:finish(values)
  if self.finished then return end
  merge(self.values, values)
  self.finished = true
  local now = self.clock()
  if self.tty then
    self:draw(now)
    self.out:write("\n")
  else
    self.out:write(self:line(now, false), "\n")
  end
  flush(self.out)
end

return setmetatable(Progress, {__call = function(_, opts) return Progress.new(opts) end})
