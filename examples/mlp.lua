-- A DNN 784-256-128-10 on Fashion-MNIST: nn layers, autograd, Adam. The
-- trained model and the optimizer state are saved as safetensors checkpoints.
--
--   ./lunet examples/mlp.lua [--epochs N] [--quick] [--save PREFIX]
-- --quick trains on 2,000 images and tests on 1,000 (the tests use it).
local nn, F, optim = lunet.nn, lunet.nn.F, lunet.optim

local epochs, quick, save = 5, false, nil
for i = 1, #arg do
  if arg[i] == "--epochs" then epochs = assert(tonumber(arg[i + 1]), "--epochs needs a number")
  elseif arg[i] == "--quick" then quick = true
  elseif arg[i] == "--save" then save = assert(arg[i + 1], "--save needs a path prefix") end
end

lunet.manual_seed(1)
local function flat(split, n)
  local d = lunet.data.fashion_mnist{split = split}
  n = math.min(n, d.images:size(1))
  return d.images:narrow(1, 1, n):reshape(n, 784), d.labels:narrow(1, 1, n)
end
local xtrain, ytrain = flat("train", quick and 2000 or 60000)
local xtest, ytest = flat("test", quick and 1000 or 10000)

local model = nn.Sequential{
  nn.Linear(784, 256), nn.ReLU(),
  nn.Linear(256, 128), nn.ReLU(),
  nn.Linear(128, 10),
}
local opt = optim.Adam(model:parameters(), {lr = 1e-3})

local function accuracy(x, y)
  model:eval()
  local correct = lunet.no_grad(function()
    local c = 0
    for s = 1, x:size(1), 1000 do
      local n = math.min(1000, x:size(1) - s + 1)
      c = c + model(x:narrow(1, s, n)):argmax(2):eq(y:narrow(1, s, n)):sum():item()
    end
    return c
  end)
  model:train()
  return correct / x:size(1)
end

local batch, nparams = 128, 0
for _, p in ipairs(model:parameters()) do nparams = nparams + p:numel() end
print(string.format("mlp: %d training and %d test images, %d epochs, %d threads, %d parameters",
                    xtrain:size(1), xtest:size(1), epochs, lunet.get_num_threads(), nparams))
for epoch = 1, epochs do
  local t0 = lunet.clock()
  local perm = lunet.randperm(xtrain:size(1))
  local total, steps = 0, 0
  for s = 1, xtrain:size(1) - batch + 1, batch do
    local idx = perm:narrow(1, s, batch)
    local loss = F.cross_entropy(model(xtrain:index_select(1, idx)), ytrain:index_select(1, idx))
    opt:zero_grad()
    loss:backward()
    opt:step()
    total, steps = total + loss:item(), steps + 1
  end
  print(string.format("epoch %d/%d  loss %.4f  test accuracy %.4f  (%.2f s)",
                      epoch, epochs, total / steps, accuracy(xtest, ytest), lunet.clock() - t0))
end
print(string.format("final test accuracy: %.4f", accuracy(xtest, ytest)))
if save then
  model:save(save .. ".safetensors")
  opt:save(save .. ".optim.safetensors")
  print("saved " .. save .. ".safetensors and " .. save .. ".optim.safetensors")
end
