-- IDX files (the MNIST format): files written here with known contents,
-- plain and gzip-compressed, and every kind of damage a reader must refuse.
local dir = os.getenv("TMPDIR") or "/tmp"
local function path(name) return string.format("%s/lunet-spec-%d-%s", dir, math.random(1 << 30), name) end

local function be32(n) return string.pack(">I4", n) end
local function write(p, bytes)
  local f = assert(io.open(p, "wb")); f:write(bytes); f:close()
  return p
end
local function idx(type_byte, dims, payload)
  local h = "\0\0" .. string.char(type_byte, #dims)
  for _, d in ipairs(dims) do h = h .. be32(d) end
  return h .. payload
end

describe("data.idx", function()
  it("reads unsigned bytes as int64 in their shape", function()
    local p = write(path("u8"), idx(0x08, {2, 3}, string.char(0, 1, 2, 253, 254, 255)))
    local t = lunet.data.idx(p)
    T.values(t, {{0, 1, 2}, {253, 254, 255}}, 0, "int64")
    os.remove(p)
  end)

  it("reads signed bytes, shorts, ints, floats and doubles (big-endian)", function()
    local cases = {
      {0x09, string.char(0x80, 0x7f), {-128, 127}, "int64"},
      {0x0B, string.pack(">i2>i2", -2, 300), {-2, 300}, "int64"},
      {0x0C, string.pack(">i4>i4", -70000, 2^31 - 1), {-70000, 2^31 - 1}, "int64"},
      {0x0D, string.pack(">f>f", 1.5, -0.25), {1.5, -0.25}, "float32"},
      {0x0E, string.pack(">d>d", math.pi, -1e300), {math.pi, -1e300}, "float64"},
    }
    for _, c in ipairs(cases) do
      local p = write(path("t"), idx(c[1], {2}, c[2]))
      T.values(lunet.data.idx(p), c[3], 1e-12, c[4])
      os.remove(p)
    end
  end)

  it("reads the same file gzip-compressed", function()
    local p = write(path("gz"), idx(0x08, {4}, string.char(9, 8, 7, 6)))
    assert(os.execute("gzip -f " .. p), "gzip is needed for this spec")
    T.values(lunet.data.idx(p .. ".gz"), {9, 8, 7, 6}, 0, "int64")
    os.remove(p .. ".gz")
  end)

  it("refuses missing, foreign, truncated and oversized files with the path named", function()
    T.errors(function() lunet.data.idx("/nonexistent/x.idx") end, "/nonexistent/x.idx")
    local p = write(path("bad"), "PK\3\4 not an idx file")
    T.errors(function() lunet.data.idx(p) end, "not an IDX file")
    write(p, idx(0x08, {2, 3}, string.char(1, 2, 3)))
    T.errors(function() lunet.data.idx(p) end, "truncated")
    write(p, idx(0x08, {2}, string.char(1, 2, 3)))
    T.errors(function() lunet.data.idx(p) end, "more data than its header declares")
    write(p, "\0\0\8\0")
    T.errors(function() lunet.data.idx(p) end, "0 dimensions")
    write(p, idx(0x08, {65535, 65535, 65535}, ""))
    T.errors(function() lunet.data.idx(p) end, "too many elements")
    write(p, "\0\0")
    T.errors(function() lunet.data.idx(p) end, "truncated")
    T.errors(function() lunet.data.idx({}) end, "string expected, got table")
    os.remove(p)
  end)
end)

describe("data.fashion_mnist", function()
  it("gives images in [0, 1] as N x 1 x 28 x 28 and 1-based labels", function()
    local root = dir .. "/lunet-spec-fmnist-" .. math.random(1 << 30)
    os.execute("mkdir -p " .. root)
    local n = 3
    local pixels = {}
    for i = 1, n * 28 * 28 do pixels[i] = string.char((i * 7) % 256) end
    write(root .. "/t10k-images-idx3-ubyte", idx(0x08, {n, 28, 28}, table.concat(pixels)))
    write(root .. "/t10k-labels-idx1-ubyte", idx(0x08, {n}, string.char(0, 9, 4)))
    local d = lunet.data.fashion_mnist{split = "test", root = root}
    T.shape(d.images, {3, 1, 28, 28})
    T.eq(d.images:dtype(), "float32")
    T.near(d.images[{1, 1, 1, 2}], 14 / 255, 1e-7, "pixel (1, 1, 2)")
    T.values(d.labels, {1, 10, 5}, 0, "int64")
    T.eq(d.classes[d.labels[2]], "Ankle boot")
    os.execute("rm -rf " .. root)
  end)

  it("names the missing file and how to install the data", function()
    T.errors(function() lunet.data.fashion_mnist{root = "/nonexistent"} end,
             "apt-get install dataset-fashion-mnist")
    T.errors(function() lunet.data.fashion_mnist{split = "validation"} end, "split must be")
  end)
end)
