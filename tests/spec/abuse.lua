-- The Lua API under abuse (issue 7, part 3): tests/abuse/run.lua calls every
-- function and method of the bindings and of the Lua library with bad
-- arguments, in a child lunet in a scratch directory. Here we prove the child
-- lived through all of it (a crash, a sanitizer report or a missing summary
-- fails, naming the last call), and check what its errors say.
local exe = arg and arg[-1] or "./lunet"
local cwd = os.getenv("PWD") or "."
if exe:sub(1, 1) ~= "/" then exe = cwd .. "/" .. exe end
local script = cwd .. "/tests/abuse/run.lua"
local dir = string.format("%s/lunet-abuse-%d-%d", os.getenv("TMPDIR") or "/tmp", os.time(), math.random(1 << 30))

-- the child's stderr (the protocol) and exit status. A memory cap turns huge
-- sizes into errors instead of 16 GB allocations that succeed: LUNET_MAX_MEMORY
-- for tensors, ASan's own limit under a sanitizer. (Not ulimit -v: OpenBLAS
-- retries a failed buffer malloc forever once set_num_threads(100) ran.)
-- timeout -k: a process stuck in C only notes SIGTERM
local function run_child(env, filter)
  assert(os.execute("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "'"))
  local cmd = string.format(
    "cd '%s' && LUNET_DB='%s/runs.db' LUNET_MAX_MEMORY=2G " ..
    "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1:max_allocation_size_mb=2048\" " ..
    "%s timeout -k 10 600 '%s' '%s' %s 2>&1 >/dev/null; echo \"EXIT $?\"",
    dir, dir, env or "", exe, script, filter and ("'" .. filter .. "'") or "")
  local p = assert(io.popen(cmd))
  local r = {last_call = "(none)", unnamed = {}, reports = {}, lines = 0}
  for line in p:lines() do
    r.lines = r.lines + 1
    local call = line:match("^CALL (.*)$")
    if call then r.last_call = call
    elseif line:match("^SUMMARY ") then
      r.summary = {}
      for k, v in line:gmatch("([%w_]+)=(%d+)") do r.summary[k] = tonumber(v) end
    elseif line:match("^UNNAMED ") then r.unnamed[#r.unnamed + 1] = line:sub(9)
    elseif line:match("^EXIT %d+$") then r.exit = tonumber(line:match("%d+"))
    elseif line:match("^STALE ") or line:match("^NONSTRING ") or line:match("^HANG ")
        or line:match("ERROR: AddressSanitizer") or line:match("runtime error:") or line:match("ERROR: LeakSanitizer") then
      r.reports[#r.reports + 1] = line
    end
  end
  p:close()
  os.execute("rm -rf '" .. dir .. "'")
  return r
end

-- nil if the child lived, else why not (naming the last call)
local function death(r)
  if r.exit == 0 and r.summary then return nil end
  return string.format("the child died (exit %s, %s) during CALL %s", tostring(r.exit),
                       r.summary and "after its summary" or "no summary line", r.last_call)
end

local r = run_child()
local s = r.summary or {}
print(string.format("abuse: %d functions (%d C, %d Lua), %d vectors, %d calls, %d errors (%d naming neither "
                    .. "the function nor the argument), %d returned", (s.functions_c or 0) + (s.functions_lua or 0),
                    s.functions_c or 0, s.functions_lua or 0, s.vectors or 0, s.calls or 0, s.errors or 0,
                    s.unnamed or 0, s.ok or 0))

describe("the Lua API under abuse", function()
  it("survives every call: no crash, no sanitizer report, a summary line", function()
    local why = death(r)
    if why then error(why .. (#r.reports > 0 and "\n" .. table.concat(r.reports, "\n") or "")) end
    for _, line in ipairs(r.reports) do
      if line:match("Sanitizer") or line:match("runtime error:") then error("sanitizer: " .. line) end
    end
  end)

  it("reached every binding table and the Lua library", function()
    -- the walk is generated: these floors catch a walk that silently stopped
    assert(s.functions_c >= 200, "C functions enumerated: " .. tostring(s.functions_c))
    assert(s.functions_lua >= 300, "Lua functions enumerated: " .. tostring(s.functions_lua))
    assert(s.calls >= 50000, "calls made: " .. tostring(s.calls))
    assert(s.ok > 1000 and s.errors > 10000, "both successes and errors happen")
  end)

  it("raises only string errors, and no call runs away", function()
    T.eq(s.nonstring, 0, "non-string error values")
    T.eq(s.hangs, 0, "calls stopped by the watchdog")
  end)

  it("keeps every exclusion pointing at an existing function", function()
    assert(s.excluded >= 1, "the exclusion list is read")
    T.eq(s.stale, 0, "exclusions that name nothing: " .. table.concat(r.reports, "; "))
  end)

  it("gives errors from the C entry points that name the function or the argument", function()
    local bad = {}
    for _, u in ipairs(r.unnamed) do
      if u:match("^core%.") or u:match("^registry%.") or u:match("^canvas:") or u:match("^db:") or u:match("^run:") then
        bad[#bad + 1] = u
      end
    end
    if #bad > 0 then error(#bad .. " unnamed errors, e.g.\n" .. table.concat(bad, "\n", 1, math.min(#bad, 10))) end
  end)

  -- bugs the abuse found, kept as plain regression tests
  it("prints a closed tensor instead of raising from __tostring", function()
    local x = lunet.zeros(2)
    getmetatable(x).__close(x)
    T.eq(tostring(x), "[closed tensor]")
  end)

  it("names a bad canvas size without calling the argument's __tostring", function()
    local x = lunet.zeros(2)
    getmetatable(x).__close(x)
    T.errors(function() require("lunet.core")._image.canvas(x, 4) end, "image.canvas: argument 1 (width) must be an integer 1..")
    T.errors(function() require("lunet.core")._image.canvas(4, setmetatable({}, {__tostring = function() error("no") end})) end,
             "got table")
  end)

  it("refuses a non-table options argument of the MNIST readers before reading anything", function()
    T.errors(function() lunet.data.fashion_mnist("test") end, "fashion_mnist: expected an options table")
    T.errors(function() lunet.data.mnist(7) end, "mnist: expected an options table")
  end)

  it("builds its message about a malformed shape instead of failing in table.concat", function()
    T.errors(function() lunet.nn.F.layer_norm(lunet.randn(2, 3), {1, nil, 3}) end,
             "layer_norm: input of shape 2x3 does not end with normalized_shape 1xnilx3")
    T.errors(function() lunet.nn.F.layer_norm(lunet.randn(2, 3), {{1}, 2}) end, "layer_norm: input of shape 2x3")
  end)

  it("notices a child that dies, and names the call it died in", function()
    local d = run_child("ABUSE_CRASH_AT=7", "core.Tensor:add")
    local why = death(d)
    assert(why ~= nil, "the self-inflicted crash went unnoticed")
    assert(why:find("CALL core.Tensor:add", 1, true) ~= nil, why)
  end)
end)
