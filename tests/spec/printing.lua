-- Printing (lua/lunet/tensor.lua): Torch7-style columns with one number
-- format per tensor, a footer "[dtype tensor of shape AxB]", and '...'
-- summaries for tensors of more than 1000 elements.

local function lines(s)
  local out = {}
  for l in (s .. "\n"):gmatch("(.-)\n") do out[#out + 1] = l end
  return out
end

local function count(s, plain)
  local n, at = 0, 1
  while true do
    local i, j = s:find(plain, at, true)
    if not i then return n end
    n, at = n + 1, j + 1
  end
end

describe("printing", function()
  describe("small tensors, exact strings", function()
    it("0-dim", function()
      T.eq(tostring(lunet.tensor(3)), "3\n[int64 tensor of shape scalar]", "int64")
      T.eq(tostring(lunet.tensor(2.5)), "2.5000\n[float32 tensor of shape scalar]", "float32")
      T.eq(tostring(lunet.tensor(0 / 0)), "nan\n[float32 tensor of shape scalar]", "nan")
      T.eq(tostring(lunet.tensor(-0.0)), "0\n[float32 tensor of shape scalar]", "negative zero")
    end)

    it("1-d", function()
      T.eq(tostring(lunet.tensor{1, 2, 3}), "   1    2    3\n[int64 tensor of shape 3]", "int64")
      T.eq(tostring(lunet.tensor{-1, 10, 100}), "  -1   10  100\n[int64 tensor of shape 3]", "right-aligned")
      T.eq(tostring(lunet.tensor{0.5, -0.25}), "  0.5000  -0.2500\n[float32 tensor of shape 2]", "float32")
      T.eq(tostring(lunet.tensor({1.5, 2}, {dtype = "float64"})), " 1.5000  2.0000\n[float64 tensor of shape 2]", "float64")
      T.eq(tostring(lunet.tensor{0.1}), " 0.1000\n[float32 tensor of shape 1]", "float32 0.1")
    end)

    it("2-d with the footer", function()
      T.eq(tostring(lunet.zeros(2, 3)), "   0    0    0\n   0    0    0\n[float32 tensor of shape 2x3]", "zeros")
      T.eq(tostring(lunet.tensor{{1.5, 2, 3}, {4, 5, 6}}),
        " 1.5000  2.0000  3.0000\n 4.0000  5.0000  6.0000\n[float32 tensor of shape 2x3]", "floats")
      T.eq(tostring(lunet.tensor{{1, 2, 3}, {4, 5, 6}}:t()),
        "   1    4\n   2    5\n   3    6\n[int64 tensor of shape 3x2]", "a transposed view prints its own order")
    end)

    it("3-d as a list of matrices", function()
      T.eq(tostring(lunet.arange(8):view(2, 2, 2)),
        "(1,.,.) = \n   0    1\n   2    3\n\n(2,.,.) = \n   4    5\n   6    7\n[int64 tensor of shape 2x2x2]", "3-d")
    end)

    it("4-d names both leading positions", function()
      local s = tostring(lunet.arange(16):view(2, 2, 2, 2))
      T.truthy(s:find("(1,1,.,.) = \n   0    1\n   2    3\n", 1, true), "first block")
      T.truthy(s:find("(2,2,.,.) = \n  12   13\n  14   15\n[int64 tensor of shape 2x2x2x2]", 1, true), "last block")
      T.eq(count(s, ",.,.) = "), 4, "four blocks")
    end)

    it("empty tensors", function()
      T.eq(tostring(lunet.zeros(0)), "[float32 tensor with no elements of shape 0]", "0")
      T.eq(tostring(lunet.zeros(2, 0, {dtype = "int64"})), "[int64 tensor with no elements of shape 2x0]", "2x0")
      T.eq(tostring(lunet.zeros(1, 1, 0)), "[float32 tensor with no elements of shape 1x1x0]", "1x1x0")
    end)
  end)

  describe("number formats", function()
    it("special values", function()
      T.eq(tostring(lunet.tensor{0 / 0, math.huge, -math.huge, 1}),
        "  nan   inf  -inf     1\n[float32 tensor of shape 4]", "nan and inf")
    end)

    it("large and small magnitudes switch to scientific notation", function()
      T.eq(tostring(lunet.tensor{1e10, 1}), " 1.0000e+10  1.0000e+00\n[float32 tensor of shape 2]", "large")
      T.eq(tostring(lunet.tensor{123456.5}), " 1.2346e+05\n[float32 tensor of shape 1]", "over 1e5")
      T.eq(tostring(lunet.tensor{0.0001, 0}), " 1.0000e-04  0.0000e+00\n[float32 tensor of shape 2]", "tiny")
    end)

    it("a tiny value next to a large one is not printed as 0", function()
      T.eq(tostring(lunet.tensor({1e-5, 1}, {dtype = "float64"})),
        " 1.0000e-05  1.0000e+00\n[float64 tensor of shape 2]", "1e-5 beside 1")
      T.eq(tostring(lunet.tensor{0.5, 0, 1}), " 0.5000  0.0000  1.0000\n[float32 tensor of shape 3]",
        "zero does not force scientific notation")
    end)

    it("int64 prints every digit", function()
      T.eq(tostring(lunet.tensor{math.maxinteger}),
        " 9223372036854775807\n[int64 tensor of shape 1]", "max int64")
    end)
  end)

  describe("long and large tensors", function()
    it("a long 1-d row wraps at 80 columns", function()
      local s = tostring(lunet.arange(30))
      local ls = lines(s)
      T.eq(#ls, 3, "two rows and the footer")
      T.eq(ls[1], "   0    1    2    3    4    5    6    7    8    9   10   11   12   13   14", "first row")
      T.eq(ls[2], "  15   16   17   18   19   20   21   22   23   24   25   26   27   28   29", "second row")
      T.eq(ls[3], "[int64 tensor of shape 30]", "footer")
      for i = 1, 2 do T.truthy(#ls[i] <= 80, "row " .. i .. " fits in 80 columns") end
    end)

    it("1000 elements print in full, more are summarised with '...'", function()
      local full = tostring(lunet.arange(1000))
      T.eq(count(full, "..."), 0, "no summary at 1000")
      T.truthy(full:find(" 500 ", 1, true), "a middle value is shown")
      T.eq(tostring(lunet.arange(2000)), "    0     1     2   ...  1997  1998  1999\n[int64 tensor of shape 2000]", "2000")
    end)

    it("a large matrix shows 3 rows and columns at each edge", function()
      local s = tostring(lunet.arange(1600):view(40, 40))
      local ls = lines(s)
      T.eq(#ls, 8, "3 rows, a gap, 3 rows, the footer")
      T.eq(ls[1], "    0     1     2   ...    37    38    39", "first row")
      T.eq(ls[4], " ...", "row gap")
      T.eq(ls[7], " 1560  1561  1562   ...  1597  1598  1599", "last row")
      T.eq(ls[8], "[int64 tensor of shape 40x40]", "footer")
    end)

    it("a large 3-d tensor summarises its leading dim too", function()
      local s = tostring(lunet.arange(1100):view(10, 10, 11):float())
      T.truthy(s:find("(3,.,.) = ", 1, true), "block 3 shown")
      T.truthy(s:find("(8,.,.) = ", 1, true), "block 8 shown")
      T.truthy(not s:find("(4,.,.)", 1, true), "block 4 elided")
      T.truthy(not s:find("(7,.,.)", 1, true), "block 7 elided")
      T.truthy(s:find("\n...\n", 1, true), "a line of '...' between blocks")
      local tail = " 1099\n[float32 tensor of shape 10x10x11]"
      T.eq(s:sub(-#tail), tail, "ends with the last value and the footer")
      T.truthy(#lines(s) < 70, "the summary is short, got " .. #lines(s) .. " lines")
    end)

    it("a tall column is summarised by rows", function()
      local ls = lines(tostring(lunet.arange(1100):view(1100, 1)))
      T.eq(#ls, 8, "3 rows, a gap, 3 rows, the footer")
      T.eq(ls[1], "    0", "first row")
      T.eq(ls[4], " ...", "gap")
      T.eq(ls[7], " 1099", "last row")
    end)
  end)

  describe("entry points", function()
    it("tostring, %s, the method and lunet.tostring agree", function()
      local x = lunet.tensor{{1, 2}, {3, 4}}
      local want = "   1    2\n   3    4\n[int64 tensor of shape 2x2]"
      T.eq(tostring(x), want, "tostring")
      T.eq(x:tostring(), want, "method")
      -- print and %s go through luaL_tolstring, which calls __tostring
      T.eq(string.format("%s", x), want, "string.format %s")
      T.eq(lunet.tostring(x), want, "functional form")
    end)

    it("printing a view or expanded tensor does not change it", function()
      local v = lunet.tensor{{1}, {2}}:expand(2, 3)
      T.eq(tostring(v), "   1    1    1\n   2    2    2\n[int64 tensor of shape 2x3]", "expanded")
      T.eq(T.show(v:stride()), "{1, 0}", "strides unchanged")
    end)
  end)
end)
