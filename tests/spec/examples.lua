-- The examples run end to end on the packaged Fashion-MNIST in --quick mode.
local exe = arg and arg[-1] or "./lunet"

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  T.truthy(out:find("exit=0", 1, true), "the example exits with 0:\n" .. out)
  return out
end

describe("examples", function()
  it("mlp.lua (nn, autograd, Adam) learns and saves a model that loads back", function()
    local prefix = os.tmpname()
    local out = run(exe .. " examples/mlp.lua --quick --epochs 3 --save " .. prefix)
    local acc = tonumber(out:match("final test accuracy: ([%d.]+)"))
    T.truthy(acc and acc > 0.65, "final test accuracy above 0.65 (chance is 0.1), got " .. tostring(acc))
    local model = lunet.nn.Sequential{lunet.nn.Linear(784, 256), lunet.nn.ReLU(), lunet.nn.Linear(256, 128),
                                      lunet.nn.ReLU(), lunet.nn.Linear(128, 10)}
    model:load(prefix .. ".safetensors")
    local test = lunet.data.fashion_mnist{split = "test"}
    local x, y = test.images:narrow(1, 1, 1000):reshape(1000, 784), test.labels:narrow(1, 1, 1000)
    local got = lunet.no_grad(function() return model(x):argmax(2):eq(y):sum():item() / 1000 end)
    T.near(got, acc, 1e-9, "accuracy of the reloaded model")
    local state = lunet.load(prefix .. ".optim.safetensors")
    T.truthy(state["state.1.exp_avg"], "the optimizer state holds Adam's moments")
    os.remove(prefix); os.remove(prefix .. ".safetensors"); os.remove(prefix .. ".optim.safetensors")
  end)

  it("mlp_tensor.lua learns: test accuracy well above chance after 3 quick epochs", function()
    local p = io.popen(exe .. " examples/mlp_tensor.lua --quick --epochs 3 2>&1; echo \"exit=$?\"")
    local out = p:read("a")
    p:close()
    T.truthy(out:find("exit=0", 1, true), "the example exits with 0:\n" .. out)
    local acc = tonumber(out:match("final test accuracy: ([%d.]+)"))
    T.truthy(acc and acc > 0.6, "final test accuracy above 0.6 (chance is 0.1), got " .. tostring(acc))
  end)
end)
