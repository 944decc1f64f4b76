-- The REPL's pretty printer (lua/lunet/repl/pretty.lua): exact text for every
-- kind of value, table layout against a fixed width, module trees with
-- parameter counts, and values whose metatables misbehave (printing never fails).
local P = require "lunet.repl.pretty"
local core = require "lunet.core"
local nn = lunet.nn

local function fmt(v, opts) return P.format(v, opts or {width = 80}) end

local function lines(s)
  local out = {}
  for l in (s .. "\n"):gmatch("(.-)\n") do out[#out + 1] = l end
  return out
end

-- the counts on a module print's lines ("   200,960 params"), as numbers
local function line_counts(s)
  local out = {}
  for _, l in ipairs(lines(s)) do
    local c = l:match("%s([%d,]+) params?$")
    if c then out[#out + 1] = tonumber((c:gsub(",", ""))) end
  end
  return out
end

local function numel_sum(model)
  local n = 0
  for _, p in ipairs(model:parameters()) do n = n + p:numel() end
  return n
end

describe("repl pretty", function()
  describe("scalars and strings", function()
    it("nil, booleans, integers and floats as Lua prints them", function()
      T.eq(fmt(nil), "nil"); T.eq(fmt(true), "true"); T.eq(fmt(false), "false")
      T.eq(fmt(42), "42"); T.eq(fmt(-7), "-7"); T.eq(fmt(math.mininteger), "-9223372036854775808")
      T.eq(fmt(0.1), "0.1"); T.eq(fmt(1e-5), "1e-05"); T.eq(fmt(3.0), "3.0")
      T.eq(fmt(0 / 0), "nan", "nan (not -nan)"); T.eq(fmt(math.huge), "inf"); T.eq(fmt(-math.huge), "-inf")
    end)

    it("strings quoted, control bytes escaped, UTF-8 kept", function()
      T.eq(fmt("abc"), '"abc"')
      T.eq(fmt(""), '""')
      T.eq(fmt('a\nb\tc"d\\e'), '"a\\nb\\tc\\"d\\\\e"')
      T.eq(fmt("\0\1\27\127\r"), '"\\x00\\x01\\x1B\\x7F\\r"')
      T.eq(fmt("损失 loss"), '"损失 loss"', "Chinese stays as is")
      T.eq(fmt("ok\255\200中"), '"ok\\xFF\\xC8中"', "invalid UTF-8 bytes escaped, valid ones kept")
    end)
  end)

  describe("tables", function()
    it("short tables on one line", function()
      T.eq(fmt({}), "{}")
      T.eq(fmt({1, 2, 3}), "{1, 2, 3}")
      T.eq(fmt({lr = 0.001, epochs = 5}), "{epochs = 5, lr = 0.001}")
      T.eq(fmt({"a", {true, false}, {x = {}}}), '{"a", {true, false}, {x = {}}}')
    end)

    it("keys: array part, sorted strings, then numbers, booleans", function()
      local t = {3, 1, b = 1, a = 2, [10] = 0, [-1] = 0, [2.5] = 0, [true] = 1, [false] = 0,
                 ["a b"] = 1, ["end"] = 1, _x = 1}
      T.eq(fmt(t, {width = 200}),
        '{3, 1, _x = 1, a = 2, ["a b"] = 1, b = 1, ["end"] = 1, [-1] = 0, [2.5] = 0, [10] = 0, [false] = 0, [true] = 1}')
      T.eq(fmt({1, nil, 3}), "{1, [3] = 3}", "the array part stops at the first hole")
      T.eq(fmt({[{}] = 1}), "{[{}] = 1}", "a table key")
    end)

    it("a width that forces one entry per line", function()
      local t = {alpha = 1, beta = 2}
      T.eq(fmt(t, {width = 21}), "{alpha = 1, beta = 2}", "fits exactly")
      T.eq(fmt(t, {width = 20}), "{\n  alpha = 1,\n  beta = 2\n}", "one column short")
      T.eq(fmt({name = "x", sub = {1, 2, 3}}, {width = 20}), '{\n  name = "x",\n  sub = {1, 2, 3}\n}',
        "an inner table that fits stays on one line")
      T.eq(fmt({sub = {first = 1, second = 2}}, {width = 20}), "{\n  sub = {\n    first = 1,\n    second = 2\n  }\n}",
        "nested indentation")
    end)

    it("a nested table with a cycle, and a repeated table", function()
      local t = {name = "a"}
      t.child = {parent = t}
      t.self = t
      T.eq(fmt(t), '{child = {parent = <cycle>}, name = "a", self = <cycle>}')
      local shared = {1}
      T.eq(fmt({shared, shared}), "{{1}, {1}}", "a repeated table that is not an ancestor prints again")
      T.eq(fmt({[t] = 1}, {width = 200}), '{[{child = {parent = <cycle>}, name = "a", self = <cycle>}] = 1}')
    end)

    it("depth: deeper tables show {...} and their entry count", function()
      local t = {1, {2, {3, {4, 5}}}}
      T.eq(fmt(t, {width = 80, depth = 2}), "{1, {2, {...} (2 entries)}}")
      T.eq(fmt(t, {width = 80, depth = 4}), "{1, {2, {3, {4, 5}}}}")
      T.eq(fmt({{a = 1}}, {width = 80, depth = 1}), "{{...} (1 entry)}")
      T.eq(fmt({{}}, {width = 80, depth = 1}), "{{}}", "nothing hidden in an empty table")
      T.eq(fmt({a = {b = {c = {d = {e = {}}}}}}), "{a = {b = {c = {d = {...} (1 entry)}}}}", "default depth 4")
    end)

    it("150 entries with items = 100", function()
      local t = {}
      for i = 1, 150 do t[i] = i end
      local l = lines(fmt(t, {width = 80, items = 100}))
      T.eq(#l, 103, "lines: brace, 100 entries, the rest, brace")
      T.eq(l[1], "{"); T.eq(l[2], "  1,"); T.eq(l[101], "  100,")
      T.eq(l[102], "  ... (50 more)"); T.eq(l[103], "}")
      T.eq(fmt(t, {width = 80, items = 3}), "{1, 2, 3, ... (147 more)}")
      T.eq(fmt({a = 1, b = 2, c = 3}, {width = 80, items = 2}), "{a = 1, b = 2, ... (1 more)}")
    end)

    it("many paths to the same tables stay bounded", function()
      local t = {}
      for i = 1, 100 do t[i] = i end
      local wide = {}
      for i = 1, 100 do wide[i] = t end
      local top = {}
      for i = 1, 100 do top[i] = wide end
      local s = fmt(top, {width = 80})
      T.truthy(#s < 2000000, "output of " .. #s .. " bytes stays bounded")
      T.truthy(s:find("{...} (100 entries)", 1, true), "tables past the budget are hidden")
    end)

    it("a metatable without __tostring: the contents, never __index or __pairs", function()
      local t = setmetatable({x = 1, 2}, {
        __index = function() error("__index called") end,
        __pairs = function() error("__pairs called") end,
        __len = function() error("__len called") end,
        __metatable = "locked",
      })
      T.eq(fmt(t), "{2, x = 1}")
      T.eq(fmt(setmetatable({a = 1}, {})), "{a = 1}")
    end)
  end)

  describe("values with their own print", function()
    it("tensors as tostring", function()
      local t = lunet.tensor{{1, 2}, {3, 4}}
      T.eq(fmt(t), tostring(t))
      T.eq(fmt({w = lunet.tensor{1, 2, 3}}), "{\n  w =\n       1    2    3\n    [int64 tensor of shape 3]\n}",
        "a tensor in a table goes under its key, its columns intact")
    end)

    it("module classes, optimizers and other __tostring values", function()
      T.eq(fmt(nn.Linear), "class Linear")
      local opt = lunet.optim.SGD(nn.Linear(2, 2):parameters(), {lr = 0.1})
      T.eq(fmt(opt), tostring(opt))
    end)

    it("a __tostring that raises or returns a non-string falls back to the type name", function()
      T.eq(fmt(setmetatable({}, {__name = "Broken", __tostring = function() error("boom") end})), "<Broken>")
      T.eq(fmt(setmetatable({}, {__name = "Weird", __tostring = function() return 42 end})), "<Weird>")
      T.eq(fmt(setmetatable({}, {__tostring = function() return {} end})), "<table>")
      T.eq(fmt({setmetatable({}, {__name = "Broken", __tostring = function() error("boom") end})}), "{<Broken>}")
    end)

    it("functions", function()
      T.eq(fmt(string.format), "builtin function")
      T.eq(fmt(load("return function() end", "=stdin")()), "function <stdin:1>")
      T.eq(fmt(load("\nlocal x\nreturn function() end", "@lua/lunet/nn/layers.lua")()),
        "function <lua/lunet/nn/layers.lua:3>")
    end)

    it("userdata and coroutines", function()
      local path = os.tmpname()
      local db = core._runs.open(path)
      T.eq(fmt(db), "<userdata lunet.runs_db>")
      db = nil
      collectgarbage()
      for _, s in ipairs{"", "-wal", "-shm"} do os.remove(path .. s) end
      local co = coroutine.create(function() coroutine.yield() end)
      T.eq(fmt(co), "coroutine (suspended)")
      coroutine.resume(co); coroutine.resume(co)
      T.eq(fmt(co), "coroutine (dead)")
    end)
  end)

  describe("modules", function()
    it("the tree with counts right-aligned and the total", function()
      local model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
      T.eq(fmt(model), table.concat({
        "Sequential(",
        "  (1): Linear(in_features=784, out_features=256, bias=true)    200,960 params",
        "  (2): ReLU()",
        "  (3): Linear(in_features=256, out_features=10, bias=true)       2,570 params",
        ")",
        "203,530 parameters (203,530 trainable), float32",
      }, "\n"))
      local sum = 0
      for _, c in ipairs(line_counts(fmt(model))) do sum = sum + c end
      T.eq(sum, numel_sum(model), "line counts add up to the parameters")
      T.eq(203530, numel_sum(model), "total")
    end)

    it("the tree text is tostring(module) with the counts removed", function()
      local model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Sequential(nn.Linear(3, 2), nn.ReLU()))
      local shown = lines(fmt(model))
      table.remove(shown) -- the total
      for i, l in ipairs(shown) do shown[i] = l:gsub("%s+[%d,]+ params?$", "") end
      T.eq(table.concat(shown, "\n"), tostring(model))
    end)

    it("a shared parameter counted once, frozen parameters not trainable", function()
      local a, b = nn.Linear(4, 4), nn.Linear(4, 4)
      b.weight = a.weight
      local model = nn.Sequential(a, b)
      T.eq(numel_sum(model), 24, "named_parameters dedupes")
      local s = fmt(model)
      T.eq(table.concat(line_counts(s), ","), "20,4", "b shows only its bias")
      T.eq(lines(s)[#lines(s)], "24 parameters (24 trainable), float32")
      a.bias.requires_grad = false
      local l = lines(fmt(model))
      T.eq(l[#l], "24 parameters (20 trainable), float32")
    end)

    it("a module used twice, and one with its own parameters and children", function()
      local l = nn.Linear(2, 2)
      T.eq(fmt(nn.Sequential(l, l)), table.concat({
        "Sequential(",
        "  (1): Linear(in_features=2, out_features=2, bias=true)    6 params",
        "  (2): Linear(in_features=2, out_features=2, bias=true)",
        ")",
        "6 parameters (6 trainable), float32",
      }, "\n"))
      local Net = nn.Module:extend("Net")
      function Net:init() self:param("scale", lunet.ones(1)); self.fc = nn.Linear(2, 3) end
      T.eq(fmt(Net():double()), table.concat({
        "Net(" .. string.rep(" ", 56) .. "1 param", -- 1 ends under the 9: ")    9" past the Linear line's 56 columns
        "  (fc): Linear(in_features=2, out_features=3, bias=true)    9 params",
        ")",
        "10 parameters (10 trainable), float64",
      }, "\n"))
      T.eq(fmt(nn.ReLU()), "ReLU()\n0 parameters (0 trainable)")
    end)

    it("a module whose extra_repr raises falls back", function()
      local Bad = nn.Module:extend("Bad")
      function Bad:extra_repr() error("no repr") end
      T.eq(fmt(Bad()), "<Bad>")
    end)
  end)

  describe("options", function()
    it("bad options raise with the option named", function()
      T.errors(function() P.format(1, {width = 0}) end, "pretty.format: opts.width must be an integer >= 1")
      T.errors(function() P.format(1, {depth = "x"}) end, "pretty.format: opts.depth")
      T.errors(function() P.format(1, 5) end, "pretty.format: opts must be a table")
    end)

    it("the default width is used without opts", function()
      T.eq(P.format({1, 2}), "{1, 2}")
    end)
  end)

  describe("duration", function()
    it("three significant digits below a minute, then minutes and hours", function()
      T.eq(P.duration(0), "0 ns")
      T.eq(P.duration(850e-9), "850 ns")
      T.eq(P.duration(12.34e-6), "12.3 us")
      T.eq(P.duration(12.34e-3), "12.3 ms")
      T.eq(P.duration(1.236), "1.24 s")
      T.eq(P.duration(0.99996), "1 s", "rounding carries into the next unit")
      T.eq(P.duration(123.4), "2 min 3.4 s")
      T.eq(P.duration(3720), "1 h 2 min")
      T.eq(P.duration(-0.5), "-500 ms")
      T.errors(function() P.duration("1") end, "pretty.duration: seconds must be a number")
    end)
  end)
end)
