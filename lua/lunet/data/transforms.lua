-- lunet.data.transforms: data augmentation and preprocessing as callable objects.
-- Each transform takes one image (C,H,W) or a batch (N,C,H,W) and returns a new
-- tensor; a batch is one C call (src/transforms.c). Random transforms draw their
-- per-sample parameters here with lunet's seeded RNG (rand/randint), so
-- lunet.manual_seed repeats a run exactly, whatever the thread count.
local core = require "lunet.core"
local tf = core._transforms

return function(data)

local function fmt(v)
  if type(v) == "table" then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = fmt(x) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return string.format("%.10g", v)
end

-- a transform class: t(x) runs t:forward(x); tostring(t) is t:repr()
local function class(name)
  local c = {name = name}
  c.__index = c
  c.__name = "lunet.data." .. name
  c.__call = function(self, x) return self:forward(x) end
  c.__tostring = function(self) return self:repr() end
  return c
end

-- options table: only known keys, defaults filled in
local function options(name, opts, defaults)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" or #opts > 0 then
    error(string.format("%s: options must be a table of named values, got %s", name, type(opts)), 3)
  end
  local out = {}
  for k, v in pairs(opts) do
    if defaults[k] == nil then error(string.format("%s: unknown option '%s'", name, tostring(k)), 3) end
    out[k] = v
  end
  for k, v in pairs(defaults) do if out[k] == nil then out[k] = v end end
  return out
end

local function check_number(name, what, v, lo)
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge or (lo and v < lo) then
    error(string.format("%s: %s must be a finite number%s, got %s", name, what,
      lo and (" >= " .. fmt(lo)) or "", tostring(v)), 3)
  end
  return v
end

local function check_int(name, what, v, lo)
  if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v) and v == v) then
    error(string.format("%s: %s must be an integer, got %s", name, what, tostring(v)), 3)
  end
  v = math.tointeger(v)
  if v < lo then error(string.format("%s: %s must be >= %d, got %d", name, what, lo, v), 3) end
  return v
end

-- a number or a pair {h, w} as two values
local function pair(name, what, v, check, lo)
  if type(v) == "table" then
    if #v ~= 2 then error(string.format("%s: %s must be a number or {h, w}, got %d values", name, what, #v), 3) end
    return check(name, what, v[1], lo), check(name, what, v[2], lo)
  end
  local x = check(name, what, v, lo)
  return x, x
end

-- x must be an image or a batch of images: returns N, C, H, W (N = 1 for a sample)
local function check_image(name, x)
  if not core.is_tensor(x) then error(string.format("%s: expected a tensor, got %s", name, type(x)), 3) end
  local d, dt = x:dim(), x:dtype()
  if d ~= 3 and d ~= 4 then
    error(string.format("%s: expected an image (C,H,W) or a batch (N,C,H,W), got %d dimensions", name, d), 3)
  end
  if dt ~= "float32" and dt ~= "float64" then
    error(string.format("%s: expected a float32 or float64 image, got %s", name, dt), 3)
  end
  local s = x:shape()
  if d == 3 then return 1, s[1], s[2], s[3] end
  return s[1], s[2], s[3], s[4]
end

-- a 1-d contiguous tensor of dtype from a tensor or a table (apply with fixed parameters)
local function as_param(v, dtype)
  if core.is_tensor(v) then return v:reshape(-1):to(dtype):contiguous() end
  return core.tensor(v, {dtype = dtype})
end

------------------------------------------------------------------------- Normalize
local Normalize = class("Normalize")

-- per channel: a number for every channel, or a list of one or C numbers
local function channel_list(what, v)
  local list = type(v) == "table" and v or {v}
  if #list == 0 then error("Normalize: " .. what .. " must be a number or a non-empty table", 3) end
  for i, x in ipairs(list) do
    if type(x) ~= "number" or x ~= x or x == math.huge or x == -math.huge then
      error(string.format("Normalize: %s[%d] must be a finite number, got %s", what, i, tostring(x)), 3)
    end
    if what == "std" and x <= 0 then
      error(string.format("Normalize: std[%d] must be positive, got %s", i, fmt(x)), 3)
    end
  end
  return list
end

function data.Normalize(mean, std)
  local m, s = channel_list("mean", mean), channel_list("std", std)
  return setmetatable({mean = m, std = s}, Normalize)
end

function Normalize:forward(x)
  local _, C = check_image("Normalize", x)
  for _, list in ipairs{self.mean, self.std} do
    if #list ~= 1 and #list ~= C then
      error(string.format("Normalize: %d values per statistic for an image of %d channels (expected 1 or %d)",
        #list, C, C), 2)
    end
  end
  return tf.normalize(x, self.mean, self.std)
end

function Normalize:repr() return string.format("Normalize(mean=%s, std=%s)", fmt(self.mean), fmt(self.std)) end

------------------------------------------------------------- RandomHorizontalFlip
local Flip = class("RandomHorizontalFlip")

function data.RandomHorizontalFlip(p)
  if p == nil then p = 0.5 end
  check_number("RandomHorizontalFlip", "p", p, 0)
  if p > 1 then error("RandomHorizontalFlip: p must be in [0, 1], got " .. fmt(p), 2) end
  return setmetatable({p = p}, Flip)
end

-- flags (int64, n): 1 where a sample is flipped
function Flip:get_params(n) return core.rand(n, {dtype = "float64"}):lt(self.p) end
function Flip:apply(x, flags)
  check_image("RandomHorizontalFlip", x)
  return tf.hflip(x, as_param(flags, "int64"))
end
function Flip:forward(x) return self:apply(x, self:get_params((check_image("RandomHorizontalFlip", x)))) end
function Flip:repr() return string.format("RandomHorizontalFlip(p=%s)", fmt(self.p)) end

----------------------------------------------------------------------- RandomCrop
local Crop = class("RandomCrop")

function data.RandomCrop(size, opts)
  local h, w = pair("RandomCrop", "size", size, check_int, 1)
  local o = options("RandomCrop", opts, {padding = 0, fill = 0})
  local pad = check_int("RandomCrop", "padding", o.padding, 0)
  check_number("RandomCrop", "fill", o.fill)
  return setmetatable({h = h, w = w, padding = pad, fill = o.fill}, Crop)
end

function Crop:check(x)
  local n, _, H, W = check_image("RandomCrop", x)
  local ph, pw = H + 2 * self.padding, W + 2 * self.padding
  if self.h > ph or self.w > pw then
    error(string.format("RandomCrop: crop size %dx%d is larger than the padded image %dx%d", self.h, self.w, ph, pw), 3)
  end
  return n, H, W
end

-- top, left (int64, n): 0-based corner of each crop in the padded image
function Crop:get_params(n, H, W)
  local top = core.randint(0, H + 2 * self.padding - self.h + 1, n)
  local left = core.randint(0, W + 2 * self.padding - self.w + 1, n)
  return top, left
end

function Crop:apply(x, top, left)
  self:check(x)
  local p = self.padding
  return tf.translate(x, self.h, self.w, as_param(top, "int64") - p, as_param(left, "int64") - p, self.fill)
end

function Crop:forward(x)
  local n, H, W = self:check(x)
  return self:apply(x, self:get_params(n, H, W))
end

function Crop:repr()
  return string.format("RandomCrop(size={%d, %d}, padding=%d, fill=%s)", self.h, self.w, self.padding, fmt(self.fill))
end

---------------------------------------------------------------------- RandomShift
local Shift = class("RandomShift")

-- max_shift: pixels (an integer), a fraction of the size (below 1), or {rows, cols}
function data.RandomShift(max_shift, opts)
  local my, mx = pair("RandomShift", "max_shift", max_shift, check_number, 0)
  local o = options("RandomShift", opts, {fill = 0})
  check_number("RandomShift", "fill", o.fill)
  return setmetatable({max_y = my, max_x = mx, fill = o.fill}, Shift)
end

-- a limit below 1 is a fraction of the size (Keras's width_shift_range)
local function limit(m, size)
  if m < 1 and m > 0 then return math.floor(m * size) end
  return math.floor(m)
end

-- dy, dx (int64, n): how far each sample's content moves down and right
function Shift:get_params(n, H, W)
  local my, mx = limit(self.max_y, H), limit(self.max_x, W)
  return core.randint(-my, my + 1, n), core.randint(-mx, mx + 1, n)
end

function Shift:apply(x, dy, dx)
  local _, _, H, W = check_image("RandomShift", x)
  return tf.translate(x, H, W, -as_param(dy, "int64"), -as_param(dx, "int64"), self.fill)
end

function Shift:forward(x)
  local n, _, H, W = check_image("RandomShift", x)
  return self:apply(x, self:get_params(n, H, W))
end

function Shift:repr()
  return string.format("RandomShift(max_shift={%s, %s}, fill=%s)", fmt(self.max_y), fmt(self.max_x), fmt(self.fill))
end

------------------------------------------------------------------- RandomRotation
local Rotation = class("RandomRotation")

-- degrees: d for a range [-d, d], or {lo, hi}; counter-clockwise is positive
function data.RandomRotation(degrees, opts)
  local lo, hi
  if type(degrees) == "table" then
    if #degrees ~= 2 then error("RandomRotation: degrees must be a number or {min, max}", 2) end
    lo = check_number("RandomRotation", "degrees[1]", degrees[1])
    hi = check_number("RandomRotation", "degrees[2]", degrees[2])
    if lo > hi then error(string.format("RandomRotation: degrees {%s, %s} has min > max", fmt(lo), fmt(hi)), 2) end
  else
    hi = check_number("RandomRotation", "degrees", degrees, 0)
    lo = -hi
  end
  local o = options("RandomRotation", opts, {fill = 0})
  check_number("RandomRotation", "fill", o.fill)
  return setmetatable({lo = lo, hi = hi, fill = o.fill}, Rotation)
end

-- angles (float64, n) in degrees, uniform in [lo, hi)
function Rotation:get_params(n)
  return core.rand(n, {dtype = "float64"}) * (self.hi - self.lo) + self.lo
end

function Rotation:apply(x, angles)
  check_image("RandomRotation", x)
  return tf.rotate(x, as_param(angles, "float64"), self.fill)
end

function Rotation:forward(x) return self:apply(x, self:get_params((check_image("RandomRotation", x)))) end

function Rotation:repr()
  return string.format("RandomRotation(degrees={%s, %s}, fill=%s)", fmt(self.lo), fmt(self.hi), fmt(self.fill))
end

------------------------------------------------------------------------- AddNoise
local Noise = class("AddNoise")

function data.AddNoise(std)
  return setmetatable({std = check_number("AddNoise", "std", std, 0)}, Noise)
end

-- x + std * N(0, 1), one draw per element in row-major order (any shape)
function Noise:forward(x)
  if not core.is_tensor(x) then error("AddNoise: expected a tensor, got " .. type(x), 2) end
  local dt = x:dtype()
  if dt ~= "float32" and dt ~= "float64" then error("AddNoise: expected a float tensor, got " .. dt, 2) end
  return x + core.randn(x:shape(), {dtype = dt}) * self.std
end

function Noise:repr() return string.format("AddNoise(std=%s)", fmt(self.std)) end

--------------------------------------------------------------------------- OneHot
local OneHot = class("OneHot")

function data.OneHot(num_classes)
  return setmetatable({num_classes = check_int("OneHot", "num_classes", num_classes, 1)}, OneHot)
end

-- labels 1..num_classes (int64, any shape) -> float32 (..., num_classes)
function OneHot:forward(y)
  if not core.is_tensor(y) then error("OneHot: expected an int64 tensor of labels, got " .. type(y), 2) end
  if y:dtype() ~= "int64" then error("OneHot: labels must be int64, got " .. y:dtype(), 2) end
  local ok, out = pcall(tf.one_hot, y, self.num_classes)
  if not ok then error((tostring(out):gsub("^one_hot", "OneHot")), 2) end
  return out
end

function OneHot:repr() return string.format("OneHot(num_classes=%d)", self.num_classes) end

-------------------------------------------------------------------------- Compose
local Compose = class("Compose")

function data.Compose(list)
  if type(list) ~= "table" then error("Compose: expected a table of transforms, got " .. type(list), 2) end
  for i = 1, #list do
    local t = list[i]
    local mt = getmetatable(t)
    if type(t) ~= "function" and not (mt and mt.__call) then
      error(string.format("Compose: element %d is a %s, expected a transform (callable)", i, type(t)), 2)
    end
  end
  return setmetatable({transforms = table.move(list, 1, #list, 1, {})}, Compose)
end

function Compose:forward(x)
  for _, t in ipairs(self.transforms) do x = t(x) end
  return x
end

function Compose:repr()
  local lines = {"Compose("}
  for _, t in ipairs(self.transforms) do
    lines[#lines + 1] = "    " .. (type(t) == "function" and "function" or tostring(t)):gsub("\n", "\n    ")
  end
  lines[#lines + 1] = ")"
  return table.concat(lines, "\n")
end

--------------------------------------------------------------------------- Lambda
local Lambda = class("Lambda")

function data.Lambda(fn)
  if type(fn) ~= "function" then error("Lambda: expected a function, got " .. type(fn), 2) end
  return setmetatable({fn = fn}, Lambda)
end

function Lambda:forward(x) return self.fn(x) end
function Lambda:repr() return "Lambda()" end

end
