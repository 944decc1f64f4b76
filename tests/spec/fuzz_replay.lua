-- The fuzz seeds of the Lua parsers, replayed: every file of tests/fuzz/corpus/filter/
-- and tests/fuzz/corpus/tokenizer/ (the seeds, and each input a fuzzer found a bug
-- with, kept once fixed) through the very checks the libFuzzer targets run
-- (tests/fuzz/checks.lua): no error or a clear one, and the round trips hold.
local files = require "tests.files"
local read = files.read
local checks = require "tests.fuzz.checks"

local function files(dir)
  local p = io.popen("ls -A '" .. dir .. "'")
  local names = {}
  for l in p:lines() do names[#names + 1] = dir .. "/" .. l end
  p:close()
  table.sort(names)
  return names
end

describe("fuzz checks", function()
  it("tell clear errors from Lua's own", function()
    T.truthy(checks.clear_error("filter: unexpected ')' at column 3", {"filter: "}), "a filter error")
    T.truthy(checks.clear_error("tests/x.lua:12: Tokenizer: invalid UTF-8 at byte 2", {"Tokenizer: "}),
      "a position before the name")
    T.truthy(not checks.clear_error("lua/lunet/runs/filter.lua:80: attempt to index a nil value (local 't')",
      {"filter: "}), "attempt to index")
    T.truthy(not checks.clear_error("stack overflow", {"filter: "}), "stack overflow")
    T.truthy(not checks.clear_error("lua/lunet/data/text.lua:77: bad argument #1 to 'codepoint' (out of bounds)",
      {"Tokenizer: "}), "a bad argument from the standard library")
    T.truthy(not checks.clear_error(nil, {"filter: "}), "no message")
  end)

  it("report a finding when the code under test misbehaves", function()
    -- a tokenizer that drops a character must be caught by the round trip
    local data = require "lunet.data"
    local tok = data.Tokenizer{level = "char"}
    local real = getmetatable(tok).tokenize
    getmetatable(tok).tokenize = function(self, text) local t = real(self, text); t[#t] = nil; return t end
    local finding = checks.tokenizer("abc")
    getmetatable(tok).tokenize = real
    T.truthy(finding and finding:find("do not make the text", 1, true), "finding: " .. tostring(finding))
  end)
end)

for _, name in ipairs{"filter", "tokenizer"} do
  describe("fuzz corpus " .. name, function()
    local seeds = files("tests/fuzz/corpus/" .. name)
    it("has seeds", function() T.truthy(#seeds >= 10, #seeds .. " seeds") end)
    for _, path in ipairs(seeds) do
      it(path, function() T.eq(checks[name](read(path)), nil, "finding") end)
    end
  end)
end

describe("fuzz cleanup", function()
  it("removes the temporary files", function() checks.cleanup() end)
end)
