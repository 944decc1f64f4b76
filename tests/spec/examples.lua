-- The examples run end to end on the packaged Fashion-MNIST in --quick mode.
local exe = arg and arg[-1] or "./lunet"

describe("examples", function()
  it("mlp_tensor.lua learns: test accuracy well above chance after 3 quick epochs", function()
    local p = io.popen(exe .. " examples/mlp_tensor.lua --quick --epochs 3 2>&1; echo \"exit=$?\"")
    local out = p:read("a")
    p:close()
    T.truthy(out:find("exit=0", 1, true), "the example exits with 0:\n" .. out)
    local acc = tonumber(out:match("final test accuracy: ([%d.]+)"))
    T.truthy(acc and acc > 0.6, "final test accuracy above 0.6 (chance is 0.1), got " .. tostring(acc))
  end)
end)
