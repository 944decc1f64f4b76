-- lunet.image: grid layout pixel by pixel on tiny batches, normalisation, the
-- accepted input forms, PNG round trips through temporary files, clamping, errors.
local image = lunet.image

-- a (N,C,H,W) float32 tensor holding 1, 2, 3, ... in row-major order
local function ramp(...)
  local shape = {...}
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return lunet.arange(1, n + 1):float():view(shape)
end

local tmp_count = 0
local function tmp_png()
  tmp_count = tmp_count + 1
  return string.format("%s/lunet-image-spec-%d-%d.png", os.getenv("TMPDIR") or "/tmp", math.floor(lunet.clock() * 1e6) % 1000000, tmp_count)
end

-- save x at a fresh path, load it back, remove the file
local function round_trip(x, opts)
  local path = tmp_png()
  T.eq(image.save(x, path, opts), path, "save's result")
  local back = image.load(path)
  os.remove(path)
  return back
end

describe("image.grid layout", function()
  it("places 3 images of 1x2x2 two per row with 1 pixel of padding, every pixel", function()
    local g = image.grid(ramp(3, 1, 2, 2), {nrow = 2, padding = 1})
    T.values(g, {{
      {0, 0, 0, 0, 0, 0, 0},
      {0, 1, 2, 0, 5, 6, 0},
      {0, 3, 4, 0, 7, 8, 0},
      {0, 0, 0, 0, 0, 0, 0},
      {0, 9, 10, 0, 0, 0, 0},
      {0, 11, 12, 0, 0, 0, 0},
      {0, 0, 0, 0, 0, 0, 0},
    }}, 0, "float32")
  end)

  it("uses min(nrow, N) columns and ceil(N / nrow) rows", function()
    T.shape(image.grid(ramp(3, 1, 2, 2)), {1, 6, 14})          -- defaults nrow 8, padding 2: one row of 3
    T.shape(image.grid(ramp(5, 1, 3, 4), {nrow = 2}), {1, 17, 14}) -- 3 rows, 2 columns
    T.shape(image.grid(ramp(4, 3, 2, 2), {nrow = 4, padding = 0}), {3, 2, 8})
  end)

  it("returns a single image as it is, without padding", function()
    T.values(image.grid(ramp(1, 1, 2, 2), {padding = 3}), {{{1, 2}, {3, 4}}}, 0)
  end)

  it("fills padding and empty cells with pad_value", function()
    local g = image.grid(ramp(3, 1, 1, 1), {nrow = 2, padding = 1, pad_value = 0.5})
    T.values(g, {{
      {0.5, 0.5, 0.5, 0.5, 0.5},
      {0.5, 1, 0.5, 2, 0.5},
      {0.5, 0.5, 0.5, 0.5, 0.5},
      {0.5, 3, 0.5, 0.5, 0.5},
      {0.5, 0.5, 0.5, 0.5, 0.5},
    }}, 0)
  end)

  it("keeps the three channels of RGB images", function()
    local b = lunet.tensor{{{{1}}, {{2}}, {{3}}}, {{{4}}, {{5}}, {{6}}}}:float() -- 2x3x1x1
    T.values(image.grid(b, {padding = 0}), {{{1, 4}}, {{2, 5}}, {{3, 6}}}, 0)
    T.values(image.grid(b, {padding = 1, nrow = 1, pad_value = 9})[2],
      {{9, 9, 9}, {9, 2, 9}, {9, 9, 9}, {9, 5, 9}, {9, 9, 9}}, 0)
  end)
end)

describe("image.grid normalize", function()
  it("maps the batch's [min, max] to [0, 1] and leaves pad_value alone", function()
    local g = image.grid(ramp(3, 1, 2, 2), {nrow = 2, padding = 1, normalize = true})
    T.near(g[{1, 2, 2}], 0, 1e-6, "min")
    T.near(g[{1, 6, 3}], 1, 1e-6, "max")
    T.near(g[{1, 2, 5}], 4 / 11, 1e-6, "value 5")
    T.eq(g[{1, 1, 1}], 0, "padding")
    T.eq(g[{1, 7, 7}], 0, "empty cell")
    local padded = image.grid(ramp(2, 1, 1, 1), {padding = 1, normalize = true, pad_value = 7})
    T.values(padded, {{{7, 7, 7, 7, 7}, {7, 0, 7, 1, 7}, {7, 7, 7, 7, 7}}}, 1e-6)
  end)

  it("scales each image on its own with scale_each", function()
    local g = image.grid(ramp(2, 1, 2, 2), {padding = 0, normalize = true, scale_each = true})
    T.values(g, {{{0, 1 / 3, 0, 1 / 3}, {2 / 3, 1, 2 / 3, 1}}}, 1e-6)
  end)

  it("uses a given range, clamping values outside it", function()
    local g = image.grid(ramp(2, 1, 2, 2), {padding = 0, normalize = true, range = {2, 6}})
    T.values(g, {{{0, 0, 0.75, 1}, {0.25, 0.5, 1, 1}}}, 1e-6)
  end)

  it("leaves NaN out of the minimum and maximum", function()
    local b = lunet.tensor{{{{0 / 0, 2}, {4, 6}}}}
    local g = image.grid(b, {normalize = true})
    T.values(g, {{{0 / 0, 0}, {0.5, 1}}}, 1e-6)
  end)

  it("does not change the batch it was given", function()
    local b = ramp(2, 1, 2, 2)
    image.grid(b, {normalize = true})
    T.values(b[2], {{{5, 6}, {7, 8}}}, 0)
  end)

  it("divides a constant image by 1e-5 after subtracting, as torchvision (giving 0)", function()
    T.values(image.grid(lunet.full({1, 1, 1, 2}, 3), {normalize = true}), {{{0, 0}}}, 0)
  end)
end)

describe("image.grid inputs", function()
  it("takes an (N,H,W) tensor as N grey images", function()
    local b = ramp(3, 2, 2)
    T.close(image.grid(b, {nrow = 2, padding = 1}), image.grid(b:view(3, 1, 2, 2), {nrow = 2, padding = 1}), 0)
  end)

  it("takes a Lua list of (H,W) or (C,H,W) tensors", function()
    local b = ramp(3, 1, 2, 2)
    local want = image.grid(b, {nrow = 2})
    T.close(image.grid({b[1][1], b[2][1], b[3][1]}, {nrow = 2}), want, 0)
    T.close(image.grid({b[1], b[2], b[3]}, {nrow = 2}), want, 0)
  end)

  it("gives float32 for float64 input and reads int64 as bytes 0..255", function()
    T.values(image.grid(lunet.tensor{{{{0.25, 1}}}}:double()), {{{0.25, 1}}}, 0, "float32")
    T.values(image.grid(lunet.tensor{{{{0, 51, 255}}}}), {{{0, 0.2, 1}}}, 1e-6, "float32")
  end)
end)

describe("image.save and image.load", function()
  it("round-trips a grey (H,W) image to 1/255", function()
    local x = lunet.rand(5, 7)
    local back = round_trip(x)
    T.shape(back, {5, 7})
    T.close(back, x, 0.5 / 255 + 1e-6)
  end)

  it("writes (1,H,W) as a grey PNG and (3,H,W) as RGB", function()
    T.shape(round_trip(lunet.rand(1, 4, 3)), {4, 3})
    local x = lunet.rand(3, 4, 6)
    local back = round_trip(x)
    T.shape(back, {3, 4, 6})
    T.close(back, x, 0.5 / 255 + 1e-6)
  end)

  it("saves a batch as its grid, with the grid options", function()
    local b = lunet.rand(3, 1, 2, 2)
    local want = image.grid(b, {nrow = 2, padding = 1, pad_value = 1})
    local back = round_trip(b, {nrow = 2, padding = 1, pad_value = 1})
    T.shape(back, {7, 7})
    T.close(back, want[1], 0.5 / 255 + 1e-6)
    T.shape(round_trip(lunet.rand(4, 3, 2, 2), {padding = 0}), {3, 2, 8})
  end)

  it("saves an (N,H,W) tensor as a batch only with grid = true", function()
    T.errors(function() image.save(lunet.rand(5, 2, 2), tmp_png()) end,
      "image.save: a 3-d tensor is one image (1,H,W) or (3,H,W), got 5x2x2; for a batch of 5 grey images pass {grid = true}")
    T.shape(round_trip(lunet.rand(5, 2, 2), {grid = true, padding = 0}), {2, 10})
    T.shape(round_trip(lunet.rand(3, 2, 2), {grid = true, padding = 0}), {2, 6}) -- 3 grey images, not RGB
  end)

  it("clamps values to [0, 1] and writes NaN as 0", function()
    local back = round_trip(lunet.tensor{{-1, 2, 0 / 0, 0.5}})
    T.values(back, {{0, 1, 0, 128 / 255}}, 1e-6)
  end)

  it("normalizes a single image when asked", function()
    T.values(round_trip(lunet.tensor{{10, 12, 14}}, {normalize = true}), {{0, 128 / 255, 1}}, 1e-6)
  end)

  it("writes int64 as bytes 0..255 and float64 as floats", function()
    T.values(round_trip(lunet.tensor{{0, 7, 255, 300}}), {{0, 7 / 255, 1, 1}}, 1e-6)
    T.values(round_trip(lunet.tensor{{0.2, 1}}:double()), {{51 / 255, 1}}, 1e-6)
  end)
end)

describe("image errors", function()
  local b = ramp(2, 1, 2, 2)
  it("names the function and the argument", function()
    T.errors(function() image.grid("x") end, "image.grid: batch must be a tensor or a list of tensors, got string")
    T.errors(function() image.grid(lunet.zeros(2, 2)) end, "image.grid: batch must have shape (N,C,H,W) or (N,H,W), got 2x2")
    T.errors(function() image.grid(lunet.zeros(2, 2, 2, 2)) end, "image.grid: batch must have 1 or 3 channels, got shape 2x2x2x2")
    T.errors(function() image.grid(lunet.zeros(0, 1, 2, 2)) end, "image.grid: batch is empty (0 images)")
    T.errors(function() image.grid({}) end, "image.grid: batch is an empty list")
    T.errors(function() image.grid(lunet.zeros(2, 1, 0, 2)) end, "image.grid: images must be at least 1x1, got shape 2x1x0x2")
    T.errors(function() image.grid({lunet.zeros(2, 2), 5}) end, "image.grid: batch[2] must be a tensor, got number")
    T.errors(function() image.grid({lunet.zeros(2, 2, 2)}) end, "image.grid: batch[1] must have shape (H,W), (1,H,W) or (3,H,W), got 2x2x2")
    T.errors(function() image.grid({lunet.zeros(2, 2), lunet.zeros(1, 3, 3)}) end,
      "image.grid: batch[2] has shape 1x3x3, but batch[1] has 2x2")
  end)

  it("checks every option", function()
    T.errors(function() image.grid(b, {nrows = 2}) end, "image.grid: unknown option 'nrows'")
    T.errors(function() image.grid(b, {nrow = 0}) end, "image.grid: nrow must be >= 1, got 0")
    T.errors(function() image.grid(b, {nrow = 1.5}) end, "image.grid: nrow must be an integer, got 1.5")
    T.errors(function() image.grid(b, {padding = -1}) end, "image.grid: padding must be >= 0, got -1")
    T.errors(function() image.grid(b, {pad_value = "white"}) end, "image.grid: pad_value must be a number, got white")
    T.errors(function() image.grid(b, {normalize = 1}) end, "image.grid: normalize must be a boolean, got 1")
    T.errors(function() image.grid(b, {scale_each = "yes"}) end, "image.grid: scale_each must be a boolean, got yes")
    T.errors(function() image.grid(b, {range = {0, 1}}) end, "image.grid: range is used only with normalize = true")
    T.errors(function() image.grid(b, {normalize = true, range = {1, 0}}) end,
      "image.grid: range must be {lo, hi} with lo <= hi, got {1, 0}")
    T.errors(function() image.grid(b, {normalize = true, range = 1}) end, "image.grid: range must be {lo, hi} with lo <= hi, got 1")
    T.errors(function() image.grid(b, 3) end, "image.grid: options must be a table, got number")
  end)

  it("checks save's image, path and options", function()
    T.errors(function() image.save(nil, tmp_png()) end, "image.save: x must be a tensor or a list of tensors, got nil")
    T.errors(function() image.save(lunet.zeros(4), tmp_png()) end, "image.save: x must be an image (H,W), (1,H,W), (3,H,W) or a batch (N,C,H,W), got shape 4")
    T.errors(function() image.save(lunet.zeros(2, 0), tmp_png()) end, "image.save: the image must be at least 1x1, got 2x0")
    T.errors(function() image.save(lunet.zeros(2, 2, 2, 2), tmp_png()) end, "image.save: x must have 1 or 3 channels, got shape 2x2x2x2")
    T.errors(function() image.save(lunet.zeros(2, 2), 5) end, "image.save: path (argument 2) must be a string, got number")
    T.errors(function() image.save(lunet.zeros(2, 2), tmp_png(), {gird = true}) end, "image.save: unknown option 'gird'")
    T.errors(function() image.save(lunet.zeros(2, 2), "/nonexistent-dir/x.png") end,
      "image.save: /nonexistent-dir/x.png: cannot create a file there")
  end)

  it("checks load's path", function()
    T.errors(function() image.load(42) end, "image.load: path must be a string, got number")
    T.errors(function() image.load("/nonexistent-dir/x.png") end, "image.load: /nonexistent-dir/x.png: cannot open")
    local path = tmp_png()
    local f = assert(io.open(path, "wb"))
    f:write("not a png")
    f:close()
    local ok, err = pcall(image.load, path)
    os.remove(path)
    T.eq(ok, false, "loading a file that is not a PNG succeeded")
    T.truthy(tostring(err):find("image.load: " .. path, 1, true), "the error names image.load and the path: " .. tostring(err))
  end)
end)
