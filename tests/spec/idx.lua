-- IDX files (the MNIST format): files written here with known contents,
-- plain and gzip-compressed, and every kind of damage a reader must refuse.
local files = require "tests.files"
local write = files.write
local dir = os.getenv("TMPDIR") or "/tmp"
local function path(name) return string.format("%s/lunet-spec-%d-%s", dir, math.random(1 << 30), name) end

local function be32(n) return string.pack(">I4", n) end
-- p compressed by the gzip program into p .. ".gz" (p is kept)
local function gzip(p)
  assert(os.execute("gzip -c " .. p .. " > " .. p .. ".gz"), "gzip is needed for this spec")
  return p .. ".gz"
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
    local gz = gzip(p)
    T.values(lunet.data.idx(gz), {9, 8, 7, 6}, 0, "int64")
    T.values(lunet.data.idx(gz, {scale = 0.5}), {4.5, 4, 3.5, 3}, 0, "float32")
    os.remove(p); os.remove(gz)
  end)

  it("with scale gives float32 values times scale, for every type", function()
    local cases = {
      {0x08, {2, 2}, string.char(0, 51, 128, 255), {{0, 51 / 255}, {128 / 255, 1}}},
      {0x09, {2}, string.char(0x80, 0x7f), {-128 / 255, 127 / 255}},
      {0x0B, {2}, string.pack(">i2>i2", -2, 300), {-2 / 255, 300 / 255}},
      {0x0C, {2}, string.pack(">i4>i4", -70000, 7), {-70000 / 255, 7 / 255}},
      {0x0D, {2}, string.pack(">f>f", 1.5, -0.25), {1.5 / 255, -0.25 / 255}},
      {0x0E, {2}, string.pack(">d>d", 510, -1), {2, -1 / 255}},
    }
    for _, c in ipairs(cases) do
      local p = write(path("s"), idx(c[1], c[2], c[3]))
      local t = lunet.data.idx(p, {scale = 1 / 255})
      T.values(t, c[4], 1e-7, "float32")
      os.remove(p)
    end
    -- the bytes divided by 255 and rounded once, as x:float() / 255 rounds them
    local all = {}
    for v = 0, 255 do all[#all + 1] = string.char(v) end
    local p = write(path("all"), idx(0x08, {256}, table.concat(all)))
    T.eq(lunet.data.idx(p, {scale = 1 / 255}):eq(lunet.data.idx(p):float() / 255):sum():item(), 256)
    T.errors(function() lunet.data.idx(p, {scale = 0}) end, "scale must be a nonzero finite number")
    T.errors(function() lunet.data.idx(p, {scale = "x"}) end, "scale must be a number, got string")
    T.errors(function() lunet.data.idx(p, 5) end, "table of options expected, got number")
    os.remove(p)
  end)

  it("refuses missing, foreign, truncated and oversized files with the path and offset named", function()
    T.errors(function() lunet.data.idx("/nonexistent/x.idx") end, "idx: /nonexistent/x.idx: No such file or directory")
    T.errors(function() lunet.data.idx(dir) end, "is a directory")
    local p = write(path("bad"), "PK\3\4 not an idx file")
    T.errors(function() lunet.data.idx(p) end, p .. ": not an IDX file: bad magic number 50 4b 03 04 at byte offset 0")
    write(p, idx(0x07, {2}, "ab"))
    T.errors(function() lunet.data.idx(p) end, p .. ": not an IDX file: unknown type code 0x07 at byte offset 2")
    write(p, idx(0x08, {2, 3}, string.char(1, 2, 3)))
    T.errors(function() lunet.data.idx(p) end,
      "file is truncated in the data: it ends at byte offset 15, but the 12-byte header declares 6 bytes of data (18 in all)")
    write(p, idx(0x08, {2}, string.char(1, 2, 3)))
    T.errors(function() lunet.data.idx(p) end, "file has more data than its header declares: extra bytes from byte offset 10 on")
    write(p, "\0\0\8\0")
    T.errors(function() lunet.data.idx(p) end, "0 dimensions at byte offset 3")
    write(p, idx(0x08, {65535, 65535, 65535}, ""))
    T.errors(function() lunet.data.idx(p) end, "too many elements (more than 2^36) by dimension 3 at byte offset 12")
    write(p, idx(0x08, {1 << 18, 1 << 18, 1 << 28}, ""))
    T.errors(function() lunet.data.idx(p) end, "too many elements")
    write(p, "\0\0")
    T.errors(function() lunet.data.idx(p) end, "truncated in the header: it ends at byte offset 2, the header needs 4 bytes")
    write(p, "\0\0\8\2\0\0\0\1\0\0")
    T.errors(function() lunet.data.idx(p) end, "truncated in the header: it ends at byte offset 10, the header needs 12 bytes")
    T.errors(function() lunet.data.idx({}) end, "string expected, got table")
    os.remove(p)
  end)

  it("refuses the same damage inside gzip files, and corrupt gzip streams", function()
    local p = path("dmg")
    write(p, idx(0x08, {2, 3}, string.char(1, 2, 3)))
    local gz = gzip(p)
    T.errors(function() lunet.data.idx(gz) end, gz .. ": file is truncated in the data: it ends at byte offset 15")
    write(p, idx(0x08, {2}, string.char(1, 2, 3))); gz = gzip(p)
    T.errors(function() lunet.data.idx(gz) end, "more data than its header declares: extra bytes from byte offset 10 on")
    -- a damaged header in a small gzip file: refused without allocating 4 GB
    write(p, idx(0x0E, {1 << 29}, string.char(1, 2, 3))); gz = gzip(p)
    T.errors(function() lunet.data.idx(gz) end, "truncated in the data: it ends at byte offset 11, but the 8-byte header declares 4294967296 bytes")
    write(p, "PK\3\4 not an idx file"); gz = gzip(p)
    T.errors(function() lunet.data.idx(gz) end, "bad magic number 50 4b 03 04 at byte offset 0")
    -- a corrupt stream: flip bytes in the middle of the compressed data
    local pixels = {}
    for i = 1, 4000 do pixels[i] = string.char((i * 37 + i // 7) % 256) end
    write(p, idx(0x08, {4000}, table.concat(pixels))); gz = gzip(p)
    local f = assert(io.open(gz, "rb")); local bytes = f:read("a"); f:close()
    local mid = #bytes // 2
    write(gz, bytes:sub(1, mid) .. string.char(~bytes:byte(mid + 1) & 255, ~bytes:byte(mid + 2) & 255) .. bytes:sub(mid + 3))
    T.errors(function() lunet.data.idx(gz) end, gz .. ": corrupt gzip stream (")
    T.errors(function() lunet.data.idx(gz) end, "of the compressed file (")
    -- a gzip file cut short, and one whose checksum does not match
    write(gz, bytes:sub(1, #bytes - 20))
    T.errors(function() lunet.data.idx(gz) end, ": corrupt gzip stream (unexpected end of file)")
    write(gz, bytes:sub(1, #bytes - 8) .. string.char(~bytes:byte(#bytes - 7) & 255) .. bytes:sub(#bytes - 6))
    T.errors(function() lunet.data.idx(gz) end, "corrupt gzip stream (incorrect data check) near byte offset ")
    os.remove(p); os.remove(gz)
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
    -- and it is a dataset: #d, d[i], d:batch(idx)
    T.eq(#d, 3)
    local x, y = d[2][1], d[2][2]
    T.shape(x, {1, 28, 28})
    T.near(x[{1, 1, 1}], ((28 * 28 + 1) * 7 % 256) / 255, 1e-7, "first pixel of image 2")
    T.eq(y, 10)
    local xb, yb = d:batch(lunet.tensor{3, 1})
    T.shape(xb, {2, 1, 28, 28})
    T.values(yb, {5, 1}, 0, "int64")
    T.errors(function() return d[4] end, "out of range")
    local nb = 0
    for bx, by in lunet.data.DataLoader(d, {batch_size = 2}):batches() do nb = nb + 1 end
    T.eq(nb, 2)
    os.execute("rm -rf " .. root)
  end)

  it("names the missing file and how to install the data", function()
    T.errors(function() lunet.data.fashion_mnist{root = "/nonexistent"} end,
             "apt-get install dataset-fashion-mnist")
    T.errors(function() lunet.data.fashion_mnist{split = "validation"} end, "split must be")
  end)
end)
