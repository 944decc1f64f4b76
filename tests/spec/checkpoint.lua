-- Checkpoints: lunet.save / lunet.load in the safetensors format. Round trips,
-- byte-exact agreement with files laid out as the reference writer lays them
-- out from PyTorch tensors (tests/fixtures, made by make_safetensors_fixture.py),
-- atomic replacement, argument errors, and damaged files.
local files = require "tests.files"
local read, write, exists = files.read, files.write, files.exists
local TMP = os.getenv("TMPDIR") or "/tmp"
local dir = string.format("%s/lunet-ckpt-%d-%d", TMP, os.time(), math.random(1 << 30))
assert(os.execute("mkdir -p '" .. dir .. "'"))
local function path(name) return dir .. "/" .. name end

-- the names in a directory, sorted, as one string
local function listing(d)
  local p = io.popen("ls -A '" .. d .. "'")
  local names = {}
  for l in p:lines() do names[#names + 1] = l end
  p:close()
  table.sort(names)
  return table.concat(names, " ")
end
-- a safetensors image from a header text and data bytes
local function image(json, data) return string.pack("<I8", #json) .. json .. (data or "") end

-- fn raises an error containing every one of the strings
local function errors(fn, ...)
  local ok, err = pcall(fn)
  if ok then error("expected an error, but the call succeeded", 2) end
  err = tostring(err)
  for _, s in ipairs{...} do
    if not err:find(s, 1, true) then error(string.format("expected an error containing '%s', got: %s", s, err), 2) end
  end
  return err
end

-- exact comparison of nested tables of numbers: same bits for floats (so -0
-- differs from 0 and NaN equals NaN), same value and kind for integers
local function key(v)
  if math.type(v) == "float" then return "f" .. string.pack("<d", v) end
  return "i" .. tostring(v)
end
local function same(got, want, where)
  where = where or "tensor"
  if type(want) == "table" then
    T.eq(type(got), "table", where)
    T.eq(#got, #want, where .. " length")
    for i = 1, #want do same(got[i], want[i], where .. "[" .. i .. "]") end
  elseif key(got) ~= key(want) then
    error(string.format("%s: expected %s (%s), got %s (%s)", where, tostring(want), math.type(want),
                        tostring(got), math.type(got)), 2)
  end
end

local function f32(x) return (string.unpack("<f", string.pack("<f", x))) end
local NAN = string.unpack("<d", "\0\0\0\0\0\0\xf8\x7f") -- the positive quiet NaN PyTorch writes
local INF = math.huge

-- the tensors of tests/fixtures/torch_small.safetensors, built in Lua
local W = {{1.5, -2.25, f32(1 / 3)}, {f32(3.4028234663852886e38), 2.0 ^ -149, -0.0}}
local function small_tensors()
  local w = lunet.tensor(W, {dtype = "float32"})
  return {
    ["fc.weight"] = w,
    ["fc.bias"] = lunet.tensor({0.5, -1.0, 2.0}, {dtype = "float32"}),
    ["fc.weight.T"] = w:t(), -- a view: written row-major like torch's .contiguous()
    specials = lunet.tensor({INF, -INF, NAN}, {dtype = "float32"}),
    running_mean = lunet.tensor({0.1, -1e300}, {dtype = "float64"}),
    scale = lunet.tensor(0.1, {dtype = "float64"}),
    step = lunet.tensor(1234567890123),
    ids = lunet.tensor{math.mininteger, math.maxinteger, 0, -1, (1 << 53) + 1},
    empty = lunet.zeros(0, 3),
    ["层.权重"] = lunet.tensor({7.0, 8.0}, {dtype = "float32"}),
    ['quote"back\\slash\n'] = lunet.tensor{42},
  }
end

local PYTHON = exists("/usr/bin/python3") and "/usr/bin/python3" or "python3" -- Debian's, which has python3-torch

-- lunet flushes subnormal floats to zero by default (even in Lua arithmetic);
-- this file compares them, so it turns that off and back on at its end
lunet.set_flush_denormal(false)

describe("lunet.save and lunet.load", function()
  it("round-trip float32, float64 and int64 values bit for bit", function()
    local p = path("dtypes.safetensors")
    local vals = {1.5, -0.0, INF, -INF, NAN, 2.0 ^ -149, f32(0.1)}
    lunet.save(p, {
      f = lunet.tensor({{1, 2, 3, 4, 5, 6, 7}, vals}, {dtype = "float32"}),
      d = lunet.tensor({0.1, -1e300, 2.0 ^ -1074, -0.0, NAN}, {dtype = "float64"}),
      i = lunet.tensor{{math.mininteger, -1}, {0, math.maxinteger}},
    })
    local t, meta = lunet.load(p)
    T.eq(t.f:dtype(), "float32", "f dtype")
    T.eq(t.d:dtype(), "float64", "d dtype")
    T.eq(t.i:dtype(), "int64", "i dtype")
    T.shape(t.f, {2, 7})
    same(t.f:totable(), {{1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0}, vals})
    same(t.d:totable(), {0.1, -1e300, 2.0 ^ -1074, -0.0, NAN})
    same(t.i:totable(), {{math.mininteger, -1}, {0, math.maxinteger}})
    T.eq(next(meta), nil, "metadata of a file saved without any")
  end)

  it("keep 0-dim and empty tensors with their shapes", function()
    local p = path("shapes.safetensors")
    lunet.save(p, {
      s32 = lunet.tensor(2.5), s64 = lunet.tensor(-0.5, {dtype = "float64"}), si = lunet.tensor(7),
      e1 = lunet.zeros(0), e2 = lunet.zeros(0, 3, {dtype = "float64"}), e3 = lunet.zeros(2, 0, 4, {dtype = "int64"}),
    })
    local t = lunet.load(p)
    for _, name in ipairs{"s32", "s64", "si"} do T.shape(t[name], {}) end
    T.eq(t.s32:item(), 2.5, "s32")
    T.eq(t.s64:item(), -0.5, "s64")
    T.eq(math.type(t.si:item()), "integer", "si is an integer")
    T.eq(t.si:item(), 7, "si")
    T.shape(t.e1, {0})
    T.shape(t.e2, {0, 3})
    T.shape(t.e3, {2, 0, 4})
    T.eq(t.e2:dtype(), "float64", "e2 dtype")
    T.eq(t.e3:dtype(), "int64", "e3 dtype")
  end)

  it("write non-contiguous views as their values, row-major", function()
    local x = lunet.arange(1, 25):view(2, 3, 4):double()
    local views = {
      transposed = x:transpose(1, 3),
      permuted = x:permute(2, 3, 1),
      narrowed = x:narrow(3, 2, 2),
      stepped = x[{{}, {1, 3, 2}, {2, 4, 2}}],
      expanded = lunet.tensor({1, 2, 3}):view(3, 1):expand(3, 4),
      row = x[2],
    }
    for name, v in pairs(views) do
      if name ~= "row" then T.truthy(not v:is_contiguous(), name .. " is a non-contiguous view") end
    end
    local p = path("views.safetensors")
    lunet.save(p, views)
    local t = lunet.load(p)
    for name, v in pairs(views) do
      T.truthy(t[name]:is_contiguous(), name .. " loads contiguous")
      T.shape(t[name], v:shape())
      same(t[name]:totable(), v:totable(), name)
    end
  end)

  it("store metadata strings and give them back", function()
    local p = path("meta.safetensors")
    local meta = {format = "pt", epoch = "12", note = "UTF-8: 中文, é, \u{1F600}; \"quoted\"\n\ttab", [""] = ""}
    lunet.save(p, {w = lunet.zeros(1)}, meta)
    local _, got = lunet.load(p)
    local n = 0
    for k, v in pairs(got) do
      n = n + 1
      T.eq(v, meta[k], "metadata " .. k)
    end
    T.eq(n, 4, "number of metadata entries")
    lunet.save(p, {w = lunet.zeros(1)}, {}) -- an empty table is no metadata
    T.truthy(not read(p):find("__metadata__", 1, true), "no __metadata__ key for {}")
  end)

  it("accept any UTF-8 name: unicode, dots, spaces, quotes, control characters", function()
    local names = {"层.权重", "encoder.layers.0.attn.q_proj.weight", "with space", 'q"uo\\te', "new\nline",
                   "\u{1F600}", "/slash/", ""}
    local ts = {}
    for i, name in ipairs(names) do ts[name] = lunet.full({1}, i) end
    local p = path("names.safetensors")
    lunet.save(p, ts)
    local t = lunet.load(p)
    for i, name in ipairs(names) do
      T.truthy(t[name], "tensor named " .. name)
      T.eq(t[name][1], i, "value of " .. name)
    end
  end)

  it("return fresh tensors: no requires_grad, nothing shared", function()
    local p = path("fresh.safetensors")
    local w = lunet.ones(2, 2, {requires_grad = true})
    lunet.save(p, {w = w, v = w})
    local a = lunet.load(p)
    local b = lunet.load(p)
    T.truthy(not a.w.requires_grad, "loaded tensors do not require grad")
    a.w:fill_(5)
    same(a.v:totable(), {{1.0, 1.0}, {1.0, 1.0}}, "a.v after writing a.w")
    same(b.w:totable(), {{1.0, 1.0}, {1.0, 1.0}}, "b.w after writing a.w")
  end)

  it("replace an existing file whole", function()
    local p = path("replace.safetensors")
    lunet.save(p, {a = lunet.zeros(1000), b = lunet.zeros(3)}, {k = "v"})
    lunet.save(p, {c = lunet.tensor{1}})
    local t, meta = lunet.load(p)
    T.eq(t.a, nil, "old tensor a")
    T.eq(t.c[1], 1, "new tensor c")
    T.eq(meta.k, nil, "old metadata")
    T.eq(#read(p), 8 + 56 + 8, "file size")
  end)
end)

describe("interop with PyTorch's safetensors", function()
  local fixture = "tests/fixtures/torch_small.safetensors"

  it("loads a file laid out by the reference writer from torch tensors", function()
    local t, meta = lunet.load(fixture)
    T.eq(meta.format, "pt", "metadata format")
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    T.eq(n, 11, "number of tensors")
    T.eq(t["fc.weight"]:dtype(), "float32", "fc.weight dtype")
    same(t["fc.weight"]:totable(), W, "fc.weight")
    same(t["fc.weight.T"]:totable(), {{W[1][1], W[2][1]}, {W[1][2], W[2][2]}, {W[1][3], W[2][3]}}, "fc.weight.T")
    same(t["fc.bias"]:totable(), {0.5, -1.0, 2.0}, "fc.bias")
    same(t.specials:totable(), {INF, -INF, NAN}, "specials")
    T.eq(t.running_mean:dtype(), "float64", "running_mean dtype")
    same(t.running_mean:totable(), {0.1, -1e300}, "running_mean")
    T.shape(t.scale, {})
    same(t.scale:item(), 0.1, "scale")
    same(t.step:item(), 1234567890123, "step")
    same(t.ids:totable(), {math.mininteger, math.maxinteger, 0, -1, (1 << 53) + 1}, "ids")
    T.shape(t.empty, {0, 3})
    same(t["层.权重"]:totable(), {7.0, 8.0}, "unicode name")
    same(t['quote"back\\slash\n']:totable(), {42}, "escaped name")
  end)

  it("saves the same tensors to the very same bytes", function()
    local want = read(fixture)
    local p = path("same.safetensors")
    lunet.save(p, small_tensors(), {format = "pt"})
    T.truthy(read(p) == want, "lunet.save of the tensors built in Lua is byte-identical to the fixture")
    local t, meta = lunet.load(fixture)
    lunet.save(p, t, meta)
    T.truthy(read(p) == want, "load then save is byte-identical to the fixture")
    lunet.set_flush_denormal(true) -- the bytes pass through untouched even when arithmetic flushes
    t, meta = lunet.load(fixture)
    lunet.save(p, t, meta)
    lunet.set_flush_denormal(false)
    T.truthy(read(p) == want, "load then save with subnormals flushed is byte-identical to the fixture")
  end)

  it("loads the narrower dtypes PyTorch writes as float32 or int64", function()
    local t, meta = lunet.load("tests/fixtures/torch_dtypes.safetensors")
    T.eq(next(meta), nil, "no metadata")
    local want = {
      half = {"float32", {1.0, -2.0, 65504.0, 2.0 ^ -24, INF}},
      bf16 = {"float32", {{1.0, -5.0}, {3.140625, -INF}}},
      i32 = {"int64", {-2147483648, 2147483647, -2}},
      i16 = {"int64", {-32768, 32767}},
      i8 = {"int64", {-128, 127}},
      u8 = {"int64", {0, 200, 255}},
      mask = {"int64", {{1, 0}, {0, 1}}},
      w = {"float32", {0.25}},
    }
    for name, w in pairs(want) do
      T.eq(t[name]:dtype(), w[1], name .. " dtype")
      same(t[name]:totable(), w[2], name)
    end
  end)

  it("writes files that torch reads with frombuffer and json (skipped without python3-torch)", function()
    local p = path("for_torch.safetensors")
    local ts = {
      w = lunet.tensor({{1.5, -2}, {0.25, 3}}, {dtype = "float32"}):t(),
      d = lunet.tensor({0.1, -1e300}, {dtype = "float64"}),
      i = lunet.tensor{math.mininteger, 7},
      s = lunet.tensor(3),
      e = lunet.zeros(0, 2),
      ["层"] = lunet.tensor({1}, {dtype = "float32"}),
    }
    lunet.save(p, ts, {format = "pt"})
    local cmd = string.format("%s tests/fixtures/make_safetensors_fixture.py --check '%s' 2>&1; echo \"exit=$?\"",
                              PYTHON, p)
    local out = io.popen(cmd):read("a")
    local status = tonumber(out:match("exit=(%d+)%s*$"))
    if status == 77 or status == 127 then
      io.stderr:write("checkpoint spec: python3-torch not found, torch interop check skipped\n")
      return
    end
    local want = table.concat({
      "d\tF64\t2\t0.1,-1e+300",
      "e\tF32\t0,2\t",
      "i\tI64\t2\t-9223372036854775808,7",
      "s\tI64\t\t3",
      "w\tF32\t2,2\t1.5,0.25,-2.0,3.0",
      "层\tF32\t1\t1.0",
      "__metadata__\tformat\tpt",
      "rewritten: identical",
      "fixture torch_dtypes.safetensors: up to date",
      "fixture torch_small.safetensors: up to date",
      "exit=0",
    }, "\n")
    local function sorted_lines(s)
      local l = {}
      for line in s:gmatch("[^\n]+") do l[#l + 1] = line end
      table.sort(l)
      return table.concat(l, "\n")
    end
    T.eq(sorted_lines(out), sorted_lines(want), "what torch read")
  end)
end)

describe("atomic save", function()
  it("leaves the old file as it was and no temporary file when a save fails", function()
    local p = path("atomic.safetensors")
    lunet.save(p, {w = lunet.ones(4)})
    local before, files = read(p), listing(dir)
    local closed
    do
      local c <close> = lunet.zeros(2)
      closed = c
    end
    local bad = {
      function() lunet.save(p, {w = lunet.zeros(8), x = "not a tensor"}) end,
      function() lunet.save(p, {w = closed}) end,
      function() lunet.save(p, {__metadata__ = lunet.zeros(1)}) end,
      function() lunet.save(p, {["bad\xff"] = lunet.zeros(1)}) end,
      function() lunet.save(p, {w = lunet.zeros(1)}, {k = "\xc3"}) end,
      function() lunet.save(p, {w = lunet.zeros(1)}, {k = 1}) end,
    }
    for i, fn in ipairs(bad) do
      errors(fn, "save")
      T.truthy(read(p) == before, "file unchanged after failed save " .. i)
      T.eq(listing(dir), files, "directory after failed save " .. i)
    end
  end)

  it("removes its temporary file when the final rename fails", function()
    local target = path("a_directory")
    assert(os.execute("mkdir -p '" .. target .. "'"))
    local files = listing(dir)
    errors(function() lunet.save(target, {w = lunet.zeros(1000)}) end, "save: " .. target .. ": cannot replace it")
    T.eq(listing(dir), files, "directory after the failed rename")
  end)

  it("fails cleanly in a directory it cannot write", function()
    local ro = path("readonly")
    assert(os.execute("mkdir -p '" .. ro .. "' && chmod 555 '" .. ro .. "'"))
    local probe = io.open(ro .. "/probe", "w")
    if probe then -- root ignores permissions: nothing to test
      probe:close()
      os.remove(ro .. "/probe")
      return
    end
    errors(function() lunet.save(ro .. "/x.safetensors", {w = lunet.zeros(1)}) end,
           "save: " .. ro .. "/x.safetensors: cannot create a temporary file beside it: Permission denied")
    T.eq(listing(ro), "", "read-only directory stays empty")
  end)
end)

describe("bad arguments", function()
  it("to save name the function and the argument", function()
    local t = lunet.zeros(1)
    local p = path("args.safetensors")
    errors(function() lunet.save() end, "#1", "save", "string expected, got no value")
    errors(function() lunet.save({}, {}) end, "#1", "save", "string expected, got table")
    errors(function() lunet.save("a\0b", {}) end, "#1", "save", "the path must not contain a zero byte")
    errors(function() lunet.save(p) end, "#2", "save", "table expected, got no value")
    errors(function() lunet.save(p, t) end, "#2", "save", "table expected, got lunet.Tensor")
    errors(function() lunet.save(p, {w = 1}) end, "#2", "save", "'w' is a number, not a tensor")
    errors(function() lunet.save(p, {t}) end, "#2", "save", "tensor names must be strings, got number 1")
    errors(function() lunet.save(p, {["a\0b"] = t}) end, "#2", "save", "tensor names must not contain a zero byte")
    errors(function() lunet.save(p, {w = t}, "format=pt") end, "#3", "save", "table expected, got string")
    errors(function() lunet.save(p, {w = t}, {epoch = 3}) end, "#3", "save",
           "metadata value of 'epoch' must be a string, got number")
    errors(function() lunet.save(p, {w = t}, {[1] = "x"}) end, "#3", "save", "metadata keys must be strings, got number 1")
    errors(function() lunet.save(p, {w = t}, {k = "a\0b"}) end, "#3", "save",
           "metadata value of 'k' must not contain a zero byte")
    errors(function() lunet.save("", {w = t}) end, "save: the path is empty")
    errors(function() lunet.save(p, {__metadata__ = t}) end, "save: " .. p .. ": '__metadata__' cannot name a tensor")
    errors(function() lunet.save(p, {["\xff"] = t}) end, "save: " .. p .. ": tensor name '\xff' is not valid UTF-8")
    errors(function() lunet.save(p, {w = t}, {["\xc3"] = "v"}) end, "is not valid UTF-8")
    errors(function() lunet.save(path("no/such/dir/x.safetensors"), {w = t}) end,
           "save: " .. path("no/such/dir/x.safetensors") .. ": cannot create a temporary file beside it: No such file")
  end)

  it("to load name the function and the argument", function()
    errors(function() lunet.load() end, "#1", "load", "string expected, got no value")
    errors(function() lunet.load({}) end, "#1", "load", "string expected, got table")
    errors(function() lunet.load("a\0b") end, "#1", "load", "the path must not contain a zero byte")
    errors(function() lunet.load(path("missing.safetensors")) end,
           "load: " .. path("missing.safetensors") .. ": No such file or directory")
    errors(function() lunet.load(dir) end, "load: " .. dir .. ": not a regular file")
  end)
end)

describe("damaged files", function()
  local good = read("tests/fixtures/torch_small.safetensors")
  local hlen = string.unpack("<I8", good)

  it("refuse every truncation of a valid file, saying what is missing", function()
    local p = path("cut.safetensors")
    for n = 0, #good - 1 do
      write(p, good:sub(1, n))
      local prefix = "load: " .. p .. ": "
      if n < 8 then
        errors(function() lunet.load(p) end, prefix .. "file is too short to be a safetensors file (" .. n .. " bytes)")
      elseif n < 8 + hlen then
        errors(function() lunet.load(p) end, prefix .. "header length " .. hlen .. " runs past the end of the file (" ..
               n .. " bytes): the file is truncated")
      else
        errors(function() lunet.load(p) end, prefix, "run past the end of the data section", "the file is truncated")
      end
    end
  end)

  it("refuse garbage and files that are not safetensors", function()
    local p = path("garbage.safetensors")
    write(p, "")
    errors(function() lunet.load(p) end, "load: " .. p .. ": file is too short to be a safetensors file (0 bytes)")
    write(p, "This is a text file, not a checkpoint.\n")
    errors(function() lunet.load(p) end, "load: " .. p .. ": header length", "is over the 100 MB limit (not a safetensors file?)")
    write(p, "PK\3\4\0\0\0\0" .. string.rep("x", 100)) -- a zip (torch.save) with a small number in front
    errors(function() lunet.load(p) end, "load: " .. p .. ": header length", "runs past the end of the file")
    write(p, string.pack("<I8", 4) .. "\0\0\0\0")
    errors(function() lunet.load(p) end, "load: " .. p .. ": the header is not a JSON object (not a safetensors file?)")
    local seed = 7 -- a private generator: reseeding math.random would change other specs' numbers
    local function rand(n) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % (n + 1) end
    for _ = 1, 200 do
      local bytes = {}
      for i = 1, rand(64) do bytes[i] = string.char(rand(255)) end
      write(p, table.concat(bytes))
      errors(function() lunet.load(p) end, "load: " .. p .. ": ")
    end
  end)

  it("refuse a header length that does not fit the header", function()
    local p = path("len.safetensors")
    local json = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    local data = "\0\0\128\63"
    T.eq(lunet.load(write(p, image(json, data))).a[1], 1.0, "the well-formed file")
    write(p, string.pack("<I8", #json - 3) .. json .. data)
    errors(function() lunet.load(p) end, "load: " .. p .. ": malformed JSON header: it ends early")
    write(p, string.pack("<I8", #json + 2) .. json .. data)
    errors(function() lunet.load(p) end, "load: " .. p .. ": the header has bytes after its JSON object (at byte " ..
           8 + #json .. ")")
    write(p, string.pack("<I8", 1 << 40) .. json .. data)
    errors(function() lunet.load(p) end, "header length 1099511627776 is over the 100 MB limit")
    write(p, string.pack("<I8", #json + 100) .. json .. data)
    errors(function() lunet.load(p) end, "header length " .. #json + 100 .. " runs past the end of the file")
  end)

  it("refuse malformed JSON and inconsistent headers with the fault named", function()
    local p = path("bad.safetensors")
    local function T4(name, dtype, shape, b, e)
      return string.format('"%s":{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}', name, dtype, shape, b, e)
    end
    local z = string.rep("\0", 64)
    local cases = {
      {"[1,2]", "", "the header is not a JSON object"},
      {'{"a" {}}', "", "malformed JSON header at byte 13: expected ':' after a key"},
      {"{" .. T4("a", "F32", "[1]", 0, 4) .. ",}", z:sub(1, 4), "malformed JSON header at byte 62: expected a string"},
      {'{"a\xff":{}}', "", "invalid UTF-8 in a string"},
      {'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}', z:sub(1, 4), "tensor 'a': unknown field 'extra'"},
      {"{" .. T4("a", "F99", "[1]", 0, 4) .. "}", z:sub(1, 4), "tensor 'a': unknown dtype 'F99'"},
      {"{" .. T4("a", "U64", "[1]", 0, 8) .. "}", z:sub(1, 8), "tensor 'a': dtype U64 is not supported by lunet"},
      {"{" .. T4("a", "F32", "[1.5]", 0, 4) .. "}", z:sub(1, 4), "tensor 'a': shape must be integers"},
      {"{" .. T4("a", "F32", "[-1]", 0, 4) .. "}", z:sub(1, 4), "tensor 'a': shape must be non-negative"},
      {"{" .. T4("a", "F32", "[4294967296,4294967296]", 0, 4) .. "}", z:sub(1, 4),
       "shape 4294967296x4294967296 has too many elements (the product overflows)"},
      {"{" .. T4("a", "F32", "[2]", 0, 4) .. "}", z:sub(1, 4), "data_offsets [0, 4] do not match F32 of shape 2 (8 bytes)"},
      {"{" .. T4("a", "F32", "[1]", 4, 0) .. "}", z:sub(1, 4), "data_offsets [4, 0] end before they begin"},
      {"{" .. T4("a", "F32", "[1]", 0, 4) .. "," .. T4("b", "F32", "[1]", 2, 6) .. "}", z:sub(1, 8),
       "tensors 'a' and 'b' overlap"},
      {"{" .. T4("a", "F32", "[1]", 0, 4) .. "," .. T4("b", "F32", "[1]", 8, 12) .. "}", z:sub(1, 12),
       "bytes 4 to 8 of the data section belong to no tensor"},
      {"{" .. T4("a", "F32", "[1]", 0, 4) .. "}", z:sub(1, 6), "the data section has 2 bytes after the last tensor"},
      {"{" .. T4("a", "F32", "[1]", 0, 4) .. "," .. T4("a", "F32", "[1]", 4, 8) .. "}", z:sub(1, 8),
       "tensor name 'a' appears twice"},
      {'{"__metadata__":{"epoch":3}}', "", "__metadata__: every value must be a string"},
      {'{"__metadata__":{"k":"v","k":"w"}}', "", "__metadata__: key 'k' appears twice"},
    }
    for _, c in ipairs(cases) do
      write(p, image(c[1], c[2]))
      errors(function() lunet.load(p) end, "load: " .. p .. ": ", c[3])
    end
  end)
end)

lunet.set_flush_denormal(true)
os.execute("chmod -R u+w '" .. dir .. "' && rm -rf '" .. dir .. "'")
