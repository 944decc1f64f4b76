-- data transforms: exact values on small hand-made images, references computed
-- here from the drawn parameters, reproducibility, batch vs sample, errors.
local data = lunet.data

-- a (N,C,H,W) float tensor with distinct values 1, 2, 3, ...
local function ramp(...)
  local shape = {...}
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return lunet.arange(1, n + 1):float():view(shape)
end

-- x with its last dimension reversed (a reference flip on tables)
local function flip_last(x)
  local t = x:totable()
  local function rev(v)
    if type(v[1]) ~= "table" then
      local r = {}
      for i = 1, #v do r[i] = v[#v + 1 - i] end
      return r
    end
    local out = {}
    for i = 1, #v do out[i] = rev(v[i]) end
    return out
  end
  return lunet.tensor(rev(t), {dtype = x:dtype()})
end

-- reference translate on nested tables: out[i][j] = x[i+dy][j+dx] or fill (1-based tables)
local function translate_ref(img, oh, ow, dy, dx, fill)
  local out = {}
  for c = 1, #img do
    out[c] = {}
    for i = 1, oh do
      out[c][i] = {}
      for j = 1, ow do
        local row = img[c][i + dy]
        out[c][i][j] = row and row[j + dx] or fill
      end
    end
  end
  return out
end

describe("data.Normalize", function()
  it("matches (x - mean) / std per channel, for a sample and a batch", function()
    local x = ramp(2, 2, 2, 2)
    local t = data.Normalize({1, 2}, {2, 4})
    local want = ((x - lunet.tensor{1, 2}:view(1, 2, 1, 1)) / lunet.tensor{2, 4}:view(1, 2, 1, 1)):totable()
    T.values(t(x), want, 1e-6, "float32")
    T.values(t(x[2]), want[2], 1e-6)
    T.values(data.Normalize(0.5, 0.25)(x:double()), ((x:double() - 0.5) / 0.25):totable(), 1e-12, "float64")
  end)

  it("reads non-contiguous input", function()
    local x = ramp(1, 1, 3, 2):transpose(3, 4)
    T.values(data.Normalize(1, 1)(x), {{{{0, 2, 4}, {1, 3, 5}}}})
  end)

  it("checks its arguments", function()
    T.errors(function() data.Normalize({0.5}, {0}) end, "Normalize: std[1] must be positive")
    T.errors(function() data.Normalize("a", 1) end, "Normalize: mean[1] must be a finite number")
    T.errors(function() data.Normalize({1, 2, 3}, 1)(ramp(2, 2, 2)) end, "3 values per statistic for an image of 2 channels")
    T.errors(function() data.Normalize(0, 1)(ramp(4)) end, "Normalize: expected an image (C,H,W) or a batch (N,C,H,W), got 1 dimensions")
    T.errors(function() data.Normalize(0, 1)(lunet.zeros(1, 2, 2, {dtype = "int64"})) end, "expected a float32 or float64 image, got int64")
  end)
end)

describe("data.RandomHorizontalFlip", function()
  it("reverses the columns with p = 1 and copies with p = 0", function()
    local x = ramp(1, 2, 3)
    T.values(data.RandomHorizontalFlip(1)(x), {{{3, 2, 1}, {6, 5, 4}}})
    T.values(data.RandomHorizontalFlip(0)(x), x:totable())
  end)

  it("flips the samples its drawn flags say, one draw per sample", function()
    local t = data.RandomHorizontalFlip()
    local x = ramp(16, 2, 2, 3)
    lunet.manual_seed(7)
    local flags = t:get_params(16)
    lunet.manual_seed(7)
    local y = t(x)
    local n = 0
    for i = 1, 16 do
      local want = flags[i] == 1 and flip_last(x[i]) or x[i]
      T.close(y[i], want, 0)
      n = n + flags[i]
    end
    T.truthy(n > 0 and n < 16, "some samples flipped and some not")
  end)

  it("repeats under manual_seed and treats a sample as a batch of one", function()
    local t = data.RandomHorizontalFlip()
    local x = ramp(8, 1, 2, 2)
    lunet.manual_seed(3); local a = t(x)
    lunet.manual_seed(3); local b = t(x)
    T.close(a, b, 0)
    lunet.manual_seed(3); local s = t(x[1])
    T.close(s, a[1], 0)
  end)

  it("checks p", function()
    T.errors(function() data.RandomHorizontalFlip(1.5) end, "p must be in [0, 1], got 1.5")
    T.errors(function() data.RandomHorizontalFlip("x") end, "RandomHorizontalFlip: p must be a finite number")
    T.errors(function() data.RandomHorizontalFlip()(lunet.zeros(2, 2)) end, "got 2 dimensions")
  end)
end)

describe("data.RandomCrop", function()
  it("takes the window at fixed offsets, padding with fill", function()
    local t = data.RandomCrop(2, {padding = 1, fill = -1})
    local x = ramp(1, 1, 2, 2)
    -- top = 0, left = 0 in the padded 4x4 image: a corner of padding
    T.values(t:apply(x, {0}, {0}), {{{{-1, -1}, {-1, 1}}}})
    T.values(t:apply(x, {1}, {1}), {{{{1, 2}, {3, 4}}}})
    T.values(t:apply(x, {2}, {1}), {{{{3, 4}, {-1, -1}}}})
  end)

  it("matches a reference computed from the drawn offsets", function()
    local t = data.RandomCrop({3, 4}, {padding = 2})
    local x = ramp(10, 2, 5, 6)
    lunet.manual_seed(11)
    local top, left = t:get_params(10, 5, 6)
    lunet.manual_seed(11)
    local y = t(x)
    T.shape(y, {10, 2, 3, 4})
    local xs = x:totable()
    for n = 1, 10 do
      local dy, dx = top[n] - 2, left[n] - 2
      T.truthy(dy >= -2 and dy <= 5 + 2 - 3 and dx >= -2 and dx <= 6 + 2 - 4, "offset in range")
      T.values(y[n], translate_ref(xs[n], 3, 4, dy, dx, 0), 0)
    end
  end)

  it("with no padding and the full size is the identity", function()
    local x = ramp(3, 1, 4, 4)
    T.close(data.RandomCrop(4)(x), x, 0)
  end)

  it("repeats under manual_seed; a sample is a batch of one", function()
    local t = data.RandomCrop(28, {padding = 2})
    local x = lunet.rand(4, 1, 28, 28)
    lunet.manual_seed(5); local a = t(x)
    lunet.manual_seed(5); local b = t(x)
    T.close(a, b, 0)
    lunet.manual_seed(5); local s = t(x[1])
    lunet.manual_seed(5); local one = t(x:narrow(1, 1, 1))
    T.close(s, one[1], 0)
  end)

  it("checks its arguments", function()
    T.errors(function() data.RandomCrop(0) end, "RandomCrop: size must be >= 1, got 0")
    T.errors(function() data.RandomCrop(2.5) end, "RandomCrop: size must be an integer")
    T.errors(function() data.RandomCrop(2, {padding = -1}) end, "padding must be >= 0")
    T.errors(function() data.RandomCrop(2, {pad = 1}) end, "RandomCrop: unknown option 'pad'")
    T.errors(function() data.RandomCrop(6, {padding = 1})(ramp(1, 3, 3)) end,
      "crop size 6x6 is larger than the padded image 5x5")
  end)
end)

describe("data.RandomShift", function()
  it("moves the content by the drawn shift, filling with fill", function()
    local t = data.RandomShift(1, {fill = 0})
    local x = ramp(1, 3, 3)
    T.values(t:apply(x, {1}, {-1}), {{{0, 0, 0}, {2, 3, 0}, {5, 6, 0}}})
    T.values(t:apply(x, {0}, {0}), x:totable())
  end)

  it("matches a reference from the drawn shifts, within the limits", function()
    local t = data.RandomShift({1, 2})
    local x = ramp(12, 1, 4, 5)
    lunet.manual_seed(2)
    local dy, dx = t:get_params(12, 4, 5)
    lunet.manual_seed(2)
    local y = t(x)
    local xs = x:totable()
    for n = 1, 12 do
      local sy, sx = dy[n], dx[n]
      T.truthy(math.abs(sy) <= 1 and math.abs(sx) <= 2, "shift within max_shift")
      T.values(y[n], translate_ref(xs[n], 4, 5, -sy, -sx, 0), 0)
    end
  end)

  it("takes a fraction of the size below 1", function()
    local t = data.RandomShift(0.25)
    lunet.manual_seed(1)
    local dy = t:get_params(200, 8, 8)
    T.eq(dy:max():item(), 2, "largest shift")
    T.eq(dy:min():item(), -2, "smallest shift")
  end)

  it("checks its arguments", function()
    T.errors(function() data.RandomShift(-1) end, "RandomShift: max_shift must be a finite number >= 0")
    T.errors(function() data.RandomShift({1, 2, 3}) end, "max_shift must be a number or {h, w}")
  end)
end)

describe("data.RandomRotation", function()
  it("by 0 degrees is the identity", function()
    local x = lunet.rand(2, 3, 5, 4)
    T.close(data.RandomRotation({0, 0})(x), x, 0)
  end)

  it("by 90 degrees turns a square image counter-clockwise (transpose + flip)", function()
    local x = ramp(2, 1, 4, 4)
    local y = data.RandomRotation({90, 90})(x)
    -- out[i][j] = x[j][W + 1 - i]: columns reversed, then transposed
    local want = flip_last(x):transpose(3, 4)
    T.close(y, want, 1e-5)
    T.close(data.RandomRotation({-90, -90})(y), x, 1e-5)
  end)

  it("interpolates bilinearly and fills outside the image", function()
    local x = lunet.tensor{{{0, 0, 0}, {0, 1, 0}, {0, 0, 0}}}:float()
    local y = data.RandomRotation({45, 45}, {fill = 0})(x)
    T.near(y[1][2][2], 1, 1e-6, "centre stays")
    -- the corner (row 1, col 1) samples row 2 - sqrt 2, col 2: between the fill above
    -- the image (weight sqrt 2 - 1) and the 0 in row 1
    T.near(y[1][1][1], 0, 1e-6, "corner")
    -- the top middle (row 1, col 2) samples column 2 + 0.7071, row 2 - 0.7071 (1-based):
    -- the centre pixel gets weight (1 - 0.7071) * (1 - 0.7071)
    local w = (1 - math.sqrt(0.5)) ^ 2
    T.near(y[1][1][2], w, 1e-5, "bilinear weight")
    local f = data.RandomRotation({45, 45}, {fill = 1})(x)
    T.near(f[1][1][1], math.sqrt(2) - 1, 1e-6, "filled corner")
  end)

  it("draws angles in range; batch equals per-sample apply", function()
    local t = data.RandomRotation(30)
    local x = lunet.rand(6, 2, 7, 7, {dtype = "float64"})
    lunet.manual_seed(9)
    local a = t:get_params(6)
    lunet.manual_seed(9)
    local y = t(x)
    for n = 1, 6 do
      local deg = a[n]
      T.truthy(deg >= -30 and deg < 30, "angle in [-30, 30)")
      T.close(y[n], t:apply(x[n], {deg}), 1e-12)
    end
    T.errors(function() data.RandomRotation({10, -10}) end, "has min > max")
    T.errors(function() data.RandomRotation(-5) end, "degrees must be a finite number >= 0")
    T.errors(function() data.RandomRotation(math.huge) end, "RandomRotation: degrees must be a finite number >= 0, got inf")
  end)
end)

describe("data.AddNoise", function()
  it("adds std * the seeded normal draws", function()
    local x = ramp(2, 1, 3, 3)
    lunet.manual_seed(4)
    local noise = lunet.randn(2, 1, 3, 3)
    lunet.manual_seed(4)
    T.close(data.AddNoise(0.5)(x), x + noise * 0.5, 1e-6)
    T.close(data.AddNoise(0)(x), x, 0)
    T.errors(function() data.AddNoise(-1) end, "AddNoise: std must be a finite number >= 0")
    T.errors(function() data.AddNoise(1)(lunet.tensor{1, 2}) end, "AddNoise: expected a float tensor, got int64")
  end)
end)

describe("data.OneHot", function()
  it("turns 1-based labels of any shape into float32 (..., k)", function()
    local y = data.OneHot(3)(lunet.tensor{{1, 3}, {2, 2}})
    T.values(y, {{{1, 0, 0}, {0, 0, 1}}, {{0, 1, 0}, {0, 1, 0}}}, 0, "float32")
    T.values(data.OneHot(2)(lunet.tensor(2)), {0, 1}, 0)
  end)

  it("names a label out of range", function()
    T.errors(function() data.OneHot(3)(lunet.tensor{1, 4, 2}) end, "OneHot: label 4 at element 2 is outside 1..3")
    T.errors(function() data.OneHot(3)(lunet.tensor{0}) end, "label 0 at element 1")
    T.errors(function() data.OneHot(3)(lunet.tensor{1.0}) end, "OneHot: labels must be int64, got float32")
    T.errors(function() data.OneHot(0) end, "OneHot: num_classes must be >= 1")
  end)
end)

describe("data.Compose and data.Lambda", function()
  it("chains transforms in order and prints like PyTorch", function()
    local t = data.Compose{data.RandomHorizontalFlip(1), data.Normalize(1, 2), data.Lambda(function(x) return x * 2 end)}
    T.values(t(ramp(1, 1, 2)), {{{1, 0}}})
    T.eq(tostring(t), "Compose(\n    RandomHorizontalFlip(p=1)\n    Normalize(mean={1}, std={2})\n    Lambda()\n)")
    T.eq(tostring(data.RandomCrop(28, {padding = 2})), "RandomCrop(size={28, 28}, padding=2, fill=0)")
    T.eq(tostring(data.RandomRotation(10)), "RandomRotation(degrees={-10, 10}, fill=0)")
    T.eq(tostring(data.OneHot(10)), "OneHot(num_classes=10)")
    T.errors(function() data.Compose{data.Normalize(0, 1), 3} end, "Compose: element 2 is a number")
    T.errors(function() data.Lambda(3) end, "Lambda: expected a function")
  end)

  it("the C kernels refuse bad parameters directly", function()
    local c = require("lunet.core")._transforms
    T.errors(function() c.hflip(ramp(2, 1, 2, 2), lunet.tensor{1}) end, "hflip: argument #2 must be a contiguous 1-d int64 tensor of 2 values")
    T.errors(function() c.translate(ramp(1, 1, 2, 2), 0, 2, lunet.tensor{0}, lunet.tensor{0}) end, "translate: output size must be positive")
    T.errors(function() c.rotate(ramp(1, 2, 2), lunet.tensor{1}) end, "rotate: argument #2 must be a contiguous 1-d float64 tensor")
    T.errors(function() c.normalize(ramp(1, 2, 2), {1}, {0}) end, "std must be positive")
    T.errors(function() c.rotate(ramp(1, 2, 2), lunet.tensor({0 / 0}, {dtype = "float64"})) end, "rotate: angle 1 is")
    -- offsets far outside the image (even the int64 extremes) give all fill
    local big, small = math.maxinteger, math.mininteger
    for _, d in ipairs{{big, 0}, {0, big}, {small, 0}, {0, small}, {3, 0}, {0, -3}} do
      T.values(c.translate(ramp(1, 2, 2), 2, 3, lunet.tensor{d[1]}, lunet.tensor{d[2]}, 7), {{{7, 7, 7}, {7, 7, 7}}})
    end
  end)

  it("passes an empty batch through", function()
    local t = data.Compose{data.RandomHorizontalFlip(), data.RandomCrop(3, {padding = 1}), data.RandomShift(1),
                           data.RandomRotation(10), data.Normalize(0, 1), data.AddNoise(1)}
    T.shape(t(lunet.zeros(0, 1, 4, 4)), {0, 1, 3, 3})
    T.shape(data.OneHot(3)(lunet.zeros(0, {dtype = "int64"})), {0, 3})
  end)

  it("gives the same batch for any thread count", function()
    local t = data.Compose{data.RandomHorizontalFlip(), data.RandomCrop(28, {padding = 2}),
                           data.RandomRotation(20), data.Normalize(0.5, 0.25)}
    local x = lunet.rand(400, 1, 28, 28)
    local threads = lunet.get_num_threads()
    lunet.set_num_threads(1); lunet.manual_seed(8); local a = t(x)
    lunet.set_num_threads(2); lunet.manual_seed(8); local b = t(x)
    lunet.set_num_threads(threads)
    T.close(a, b, 0)
  end)
end)
