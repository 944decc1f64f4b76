-- tests/files.lua -- the file helpers the specs share (and a wait for what child processes do)
local M = {}

-- the bytes of the file at p, or nil when it cannot be opened
function M.read(p)
  local f = io.open(p, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- writes bytes to p (raises if it cannot); returns p
function M.write(p, bytes)
  local f = assert(io.open(p, "wb"))
  f:write(bytes)
  f:close()
  return p
end

function M.exists(p)
  local f = io.open(p)
  if f then f:close() end
  return f ~= nil
end

-- a new directory under $TMPDIR (default /tmp) whose name starts with `prefix`
function M.scratch_dir(prefix)
  local dir = string.format("%s/%s-%d-%d", os.getenv("TMPDIR") or "/tmp", prefix, os.time(), math.random(1 << 30))
  assert(os.execute("mkdir -p '" .. dir .. "'"))
  return dir
end

-- polls cond every 20 ms, for at most 60 s (a cap, never an expectation): for a file a
-- child process writes, or any other sign of its progress
function M.wait_until(cond, what)
  for _ = 1, 3000 do
    if cond() then return end
    os.execute("sleep 0.02")
  end
  error("gave up waiting for " .. what)
end

return M
