-- The shape of a spec file: describe/it blocks and the T assertions (tests/assert.lua).
describe("basics", function()
  it("builds a tensor from nested tables", function()
    local x = lunet.tensor{{1, 2}, {3, 4}}
    T.shape(x, {2, 2})
    T.eq(x:dtype(), "int64")
    T.values(x, {{1, 2}, {3, 4}})
  end)

  it("runs the architecture sketch", function()
    local x = lunet.tensor{{1, 2}, {3, 4}}
    T.values((x + 1) * x:t(), {{2, 9}, {8, 20}})
  end)

  it("names the function and the shapes when matmul shapes differ", function()
    local a, b = lunet.randn(128, 784), lunet.randn(256, 10)
    T.errors(function() return a:matmul(b) end, "matmul: shapes 128x784 and 256x10 do not match (784 ~= 256)")
  end)
end)
