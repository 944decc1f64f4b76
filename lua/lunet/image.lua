-- lunet.image: tensors to PNG files and back, and a batch of images laid out as
-- one grid picture (torchvision's make_grid / save_image). See docs/image.md.
-- The PNG codec is C (require("lunet.core")._image); this file decides shapes,
-- scaling and layout.
local core = require "lunet.core"
local args = require "lunet.nn.args"
local png = core._image

local image = {}

local GRID_DEFAULTS = {nrow = 8, padding = 2, pad_value = 0, normalize = false, range = false, scale_each = false}
local SAVE_DEFAULTS = {grid = false}
for k, v in pairs(GRID_DEFAULTS) do SAVE_DEFAULTS[k] = v end

-- float32 with values in [0, 1] units: int64 pixels are bytes 0..255
local function to_float(t)
  if t:dtype() == "int64" then return t:float() / 255 end
  return t:float()
end

-- `level` (as for error) points the message at the user's call
local function shape_error(fname, what, t, expected, level)
  error(string.format("%s: %s must have shape %s, got %s", fname, what, expected, args.shape_str(t)), level + 1)
end

-- one image (H,W) or (C,H,W) with C = 1 or 3 -> a (C,H,W) view
local function as_image(fname, what, t, level)
  if not core.is_tensor(t) then error(string.format("%s: %s must be a tensor, got %s", fname, what, type(t)), level + 1) end
  if t:dim() == 2 then return t:unsqueeze(1) end
  if t:dim() == 3 and (t:size(1) == 1 or t:size(1) == 3) then return t end
  shape_error(fname, what, t, "(H,W), (1,H,W) or (3,H,W)", level + 1)
end

-- a batch as the user gives it -> float32 (N,C,H,W): a (N,C,H,W) tensor, a (N,H,W)
-- tensor of grey images, or a Lua array of images of one shape
local function as_batch(fname, what, batch)
  local b
  if core.is_tensor(batch) then
    if batch:dim() == 3 then b = batch:unsqueeze(2)
    elseif batch:dim() == 4 then b = batch
    else shape_error(fname, what, batch, "(N,C,H,W) or (N,H,W)", 3) end
    if b:size(2) ~= 1 and b:size(2) ~= 3 then
      error(string.format("%s: %s must have 1 or 3 channels, got shape %s", fname, what, args.shape_str(batch)), 3)
    end
  elseif type(batch) == "table" then
    if #batch == 0 then error(fname .. ": " .. what .. " is an empty list (expected at least one image)", 3) end
    local list = {}
    for i, t in ipairs(batch) do
      list[i] = as_image(fname, what .. "[" .. i .. "]", t, 3)
      if args.shape_str(list[i]) ~= args.shape_str(list[1]) then
        error(string.format("%s: %s[%d] has shape %s, but %s[1] has %s (images must share one shape)",
          fname, what, i, args.shape_str(t), what, args.shape_str(batch[1])), 3)
      end
    end
    b = core.stack(list)
  else
    error(string.format("%s: %s must be a tensor or a list of tensors, got %s", fname, what, type(batch)), 3)
  end
  if b:size(1) == 0 then error(fname .. ": " .. what .. " is empty (0 images)", 3) end
  if b:size(3) == 0 or b:size(4) == 0 then
    error(string.format("%s: images must be at least 1x1, got shape %s", fname, args.shape_str(batch)), 3)
  end
  return to_float(b)
end

-- the smallest and largest value of t, NaN left out (nil when t is all NaN)
local function value_range(t)
  local nan = t:ne(t)
  local lo = t:masked_fill(nan, math.huge):min():item()
  local hi = t:masked_fill(nan, -math.huge):max():item()
  if lo > hi then return nil end
  return lo, hi
end

-- in place: [lo, hi] -> [0, 1], clamping outside values (torchvision's norm_ip)
local function rescale_(t, lo, hi)
  if not lo then return end
  t:clamp_(lo, hi):sub_(lo):div_(math.max(hi - lo, 1e-5))
end

local function check_grid_options(fname, o)
  args.int(fname, "nrow", o.nrow, 1, 3)
  args.int(fname, "padding", o.padding, 0, 3)
  args.number(fname, "pad_value", o.pad_value, nil, nil, 3)
  for _, k in ipairs{"normalize", "scale_each"} do
    if type(o[k]) ~= "boolean" then error(string.format("%s: %s must be a boolean, got %s", fname, k, tostring(o[k])), 3) end
  end
  local r = o.range
  if r then
    if not o.normalize then error(fname .. ": range is used only with normalize = true", 3) end
    if type(r) ~= "table" or #r ~= 2 or type(r[1]) ~= "number" or type(r[2]) ~= "number" or not (r[1] <= r[2]) then
      local shown = tostring(r)
      if type(r) == "table" then
        local parts = {}
        for i, v in ipairs(r) do parts[i] = tostring(v) end
        shown = "{" .. table.concat(parts, ", ") .. "}"
      end
      error(string.format("%s: range must be {lo, hi} with lo <= hi, got %s", fname, shown), 3)
    end
  end
end

-- float32 (N,C,H,W) -> (C,H',W'); one image comes back as it is (as torchvision)
local function layout(b, o)
  if o.normalize then
    b = b:clone()
    local imgs = o.scale_each and b:split(1) or {b}
    for _, t in ipairs(imgs) do
      if o.range then rescale_(t, o.range[1], o.range[2]) else rescale_(t, value_range(t)) end
    end
  end
  local n, c, h, w = table.unpack(b:shape())
  if n == 1 then return b[1] end
  local pad = o.padding
  local cols = math.min(o.nrow, n)
  local rows = (n + cols - 1) // cols
  local grid = core.full({c, rows * (h + pad) + pad, cols * (w + pad) + pad}, o.pad_value, {dtype = "float32"})
  for k = 0, n - 1 do
    local y = (k // cols) * (h + pad) + pad
    local x = (k % cols) * (w + pad) + pad
    grid[{{}, {y + 1, y + h}, {x + 1, x + w}}] = b[k + 1]
  end
  return grid
end

--- image.grid(batch [, opts]) -> float32 (C, H', W'): the images side by side,
-- nrow per row, `padding` pixels of pad_value between and around them
function image.grid(batch, opts)
  local fname = "image.grid"
  local o = args.options(fname, opts, GRID_DEFAULTS)
  local b = as_batch(fname, "batch", batch)
  check_grid_options(fname, o)
  return layout(b, o)
end

--- image.save(x, path [, opts]) -> path: one image or a batch (through grid) as a
-- PNG file; values are clamped to [0, 1], NaN becomes 0
function image.save(x, path, opts)
  local fname = "image.save"
  local o = args.options(fname, opts, SAVE_DEFAULTS)
  if type(path) ~= "string" then
    error(string.format("%s: path (argument 2) must be a string, got %s", fname, type(path)), 2)
  end
  local b
  if core.is_tensor(x) and not o.grid and x:dim() < 4 then
    if x:dim() < 2 then
      error(string.format("%s: x must be an image (H,W), (1,H,W), (3,H,W) or a batch (N,C,H,W), got shape %s",
        fname, args.shape_str(x)), 2)
    end
    if x:dim() == 3 and x:size(1) ~= 1 and x:size(1) ~= 3 then
      error(string.format("%s: a 3-d tensor is one image (1,H,W) or (3,H,W), got %s; " ..
        "for a batch of %d grey images pass {grid = true} or x:unsqueeze(2)", fname, args.shape_str(x), x:size(1)), 2)
    end
    b = to_float(as_image(fname, "x", x, 2)):unsqueeze(1)
    if b:numel() == 0 then error(string.format("%s: the image must be at least 1x1, got %s", fname, args.shape_str(x)), 2) end
  else
    b = as_batch(fname, "x", x)
  end
  o.grid = nil
  check_grid_options(fname, o)
  local pic = layout(b, o)
  pic = pic:masked_fill(pic:ne(pic), 0):clamp(0, 1)
  local ok, err = pcall(png.write_png, path, pic)
  if not ok then error((tostring(err):gsub("^image%.write_png", fname)), 2) end
  return path
end

--- image.load(path) -> float32 (H,W) for a grey PNG or (3,H,W), values in [0, 1]
function image.load(path)
  if type(path) ~= "string" then
    error(string.format("image.load: path must be a string, got %s", type(path)), 2)
  end
  local ok, err, _, t = pcall(png.read_png, path)
  if not ok then error((tostring(err):gsub("^image%.read_png", "image.load")), 2) end
  return t
end

return image
