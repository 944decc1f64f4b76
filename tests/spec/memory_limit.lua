-- Out of memory: a tensor larger than memory is a Lua error naming its size,
-- not an abort; LUNET_MAX_MEMORY and lunet.set_memory_limit cap the bytes
-- the allocator holds, emptying its cache before refusing; lunet keeps
-- working after either failure.
local exe = arg and arg[-1] or "./lunet"
local MiB = 1 << 20

-- stdout and stderr of `exe -e code` with LUNET_MAX_MEMORY set (nil: unset)
local function child(limit, code)
  local env = limit and ("LUNET_MAX_MEMORY='" .. limit .. "' ") or "env -u LUNET_MAX_MEMORY "
  local p = io.popen(env .. "LUNET_NO_RUN=1 " .. exe .. " -e '" .. code .. "' 2>&1")
  local text = p:read("a")
  p:close()
  return text
end

local function has(text, part) T.truthy(text:find(part, 1, true), "'" .. part .. "' in: " .. text) end

-- the limit as it was, restored however a test ends
local function with_limit(limit, fn)
  local was = lunet.memory_limit()
  collectgarbage()
  lunet.empty_cache()
  lunet.set_memory_limit(limit)
  local ok, err = pcall(fn)
  lunet.set_memory_limit(was)
  if not ok then error(err, 0) end
end

local function still_works()
  local a = lunet.ones(1000, 100)
  T.eq((a * 2):sum():item(), 200000, "lunet computes after the failure")
end

describe("allocation failures", function()
  it("a 4 TiB tensor is an error naming its size and shape, and lunet goes on", function()
    if io.open("/proc/sys/vm/overcommit_memory") then
      local f = io.open("/proc/sys/vm/overcommit_memory")
      local mode = f:read("n")
      f:close()
      if mode == 1 then print("  (skipped: vm.overcommit_memory = 1 grants any malloc)") return end
    end
    local text = child(nil, [[
local ok, err = pcall(lunet.empty, 1 << 40)
print(ok, err)
print((lunet.ones(3) * 2):sum():item())]])
    if text:find("AddressSanitizer", 1, true) and not text:find("false\tempty: ", 1, true) then
      print("  (skipped: ASan aborts on a 4 TiB malloc unless ASAN_OPTIONS has allocator_may_return_null=1)")
      return
    end
    has(text, "false\tempty: cannot allocate 4 TiB (4398046511104 bytes) for a float32 tensor of shape 1099511627776: out of memory")
    T.truthy(text:find("\n6%.0\n$"), "lunet computes afterwards: " .. text)
  end)

  it("a tensor past the limit is refused with its size and shape; freed and cached memory make room", function()
    with_limit(nil, function()
      local base = lunet.memory().in_use
      lunet.set_memory_limit(base + 8 * MiB)
      T.eq(lunet.memory_limit(), base + 8 * MiB)
      local ok, err = pcall(lunet.empty, 512, 1000000)
      T.eq(ok, false, "2 GB under an 8 MiB limit")
      has(err, "empty: cannot allocate 1.9 GiB (2048000000 bytes) for a float32 tensor of shape 512x1000000: the memory limit is ")
      has(err, "(LUNET_MAX_MEMORY or lunet.set_memory_limit) and ")
      T.eq(lunet.memory().in_use, base, "the refused tensor holds nothing")
      -- live tensors count: a second 5 MiB tensor does not fit beside the first
      local a = lunet.zeros(5 * MiB // 4)
      T.errors(function() return lunet.zeros(5 * MiB // 4) end, "5242880 bytes")
      a = nil -- luacheck: ignore
      collectgarbage()
      local b = lunet.zeros(5 * MiB // 4) -- the first one's block (cached or not) makes room
      T.eq(b:numel(), 5 * MiB // 4)
      b = nil -- luacheck: ignore
      collectgarbage()
      -- cached blocks do not: a 7 MiB tensor fits once the 5 MiB cached block is let go
      local c = lunet.zeros(7 * MiB // 4)
      T.eq(lunet.memory().cached, 0, "the cache was emptied to make room")
      T.eq(c:numel(), 7 * MiB // 4)
      still_works()
    end)
  end)

  it("set_memory_limit takes bytes, a size string, or nil / false / 0 for none", function()
    with_limit(nil, function()
      lunet.set_memory_limit("2G")
      T.eq(lunet.memory_limit(), 2 * 1024 * MiB)
      lunet.set_memory_limit(1.5e9)
      T.eq(lunet.memory_limit(), 1500000000)
      for _, none in ipairs{0, false} do
        lunet.set_memory_limit(none)
        T.eq(lunet.memory_limit(), nil, tostring(none))
      end
      lunet.set_memory_limit(1024)
      lunet.set_memory_limit()
      T.eq(lunet.memory_limit(), nil, "no argument")
      T.errors(function() lunet.set_memory_limit("lots") end, "'lots' is not a size")
      T.errors(function() lunet.set_memory_limit(-1) end, "a whole number of bytes >= 0 expected, got -1")
      T.errors(function() lunet.set_memory_limit(0.5) end, "a whole number of bytes >= 0 expected, got 0.5")
      T.errors(function() lunet.set_memory_limit(0 / 0) end, "a whole number of bytes >= 0 expected")
      T.errors(function() lunet.set_memory_limit({}) end, "bad argument #1 to")
      T.eq(lunet.memory_limit(), nil, "a refused call changes nothing")
    end)
  end)
end)

describe("LUNET_MAX_MEMORY", function()
  it("reads bytes and K, M, G, T sizes (powers of 1024)", function()
    for _, case in ipairs{{"1048576", 1048576}, {"512M", 512 * MiB}, {"2G", 2048 * MiB}, {"1.5GiB", 1536 * MiB},
                          {" 64 kb ", 65536}, {"1T", 1 << 40}} do
      local text = child(case[1], "print(lunet.memory_limit())")
      T.eq(text, case[2] .. "\n", "LUNET_MAX_MEMORY=" .. case[1])
    end
    T.eq(child(nil, "print(lunet.memory_limit())"), "nil\n", "unset: no limit")
    T.eq(child("0", "print(lunet.memory_limit())"), "nil\n", "0: no limit")
  end)

  it("a value that is not a size warns and sets no limit", function()
    local text = child("12XB", "print(lunet.memory_limit())")
    has(text, "lunet: warning: LUNET_MAX_MEMORY: '12XB' is not a size")
    has(text, "no memory limit is set")
    T.truthy(text:find("\nnil\n$"), text)
  end)

  it("caps the process: an allocation past it is an error the script can catch", function()
    local text = child("64M", [[
local ok, err = pcall(lunet.zeros, 100, 1 << 20)
print(ok, err)
print(lunet.zeros(1000):add(1):sum():item())]])
    has(text, "false\tzeros: cannot allocate 400 MiB (419430400 bytes) for a float32 tensor of shape 100x1048576: "
              .. "the memory limit is 64 MiB (LUNET_MAX_MEMORY or lunet.set_memory_limit) and ")
    T.truthy(text:find("\n1000%.0\n$"), "lunet computes afterwards: " .. text)
  end)
end)
