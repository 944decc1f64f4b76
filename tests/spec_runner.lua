-- A small spec runner that runs inside lunet: describe/it blocks, assertions
-- that say what differed, and a last line "N passed, N failed".
-- usage: lunet tests/spec_runner.lua [spec files...]  (default: tests/spec/*.lua)
local passed, failed, failures = 0, 0, {}
local stack = {}

local function fullname(name)
  local parts = {}
  for _, s in ipairs(stack) do parts[#parts + 1] = s end
  parts[#parts + 1] = name
  return table.concat(parts, " / ")
end

function describe(name, fn)
  stack[#stack + 1] = name
  fn()
  stack[#stack] = nil
end

function it(name, fn)
  local ok, err = xpcall(fn, function(e) return debug.traceback(tostring(e), 2) end)
  if ok then passed = passed + 1
  else
    failed = failed + 1
    failures[#failures + 1] = fullname(name) .. "\n    " .. err:gsub("\n", "\n    ")
  end
end

local spec_files = {...}
if #spec_files == 0 then
  local p = io.popen("ls tests/spec/*.lua 2>/dev/null")
  for f in p:lines() do spec_files[#spec_files + 1] = f end
  p:close()
end

-- assertions, shared by every spec file as the global T
package.path = "./?.lua;" .. package.path
T = require "tests.assert"
for _, file in ipairs(spec_files) do
  local chunk, err = loadfile(file)
  if not chunk then
    failed = failed + 1
    failures[#failures + 1] = file .. ": " .. err
  else
    stack = {file:match("([^/]+)%.lua$")}
    local ok, e = xpcall(chunk, debug.traceback)
    if not ok then
      failed = failed + 1
      failures[#failures + 1] = file .. " (top level)\n    " .. e
    end
  end
end

for _, f in ipairs(failures) do io.stderr:write("FAIL ", f, "\n") end
print(string.format("lua specs: %d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1, true) -- close the state, so leak checkers see only real leaks
