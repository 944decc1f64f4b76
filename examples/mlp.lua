-- A DNN 784-256-128-10 on Fashion-MNIST: a DataLoader of shuffled batches, nn
-- layers, autograd, Adam. The trained model and the optimizer state can be
-- saved as safetensors checkpoints.
--
--   ./lunet examples/mlp.lua [--epochs N] [--quick] [--save PREFIX]
-- --quick trains on 2,000 images and tests on 1,000 (the tests use it).
local nn, F, optim, data = lunet.nn, lunet.nn.F, lunet.optim, lunet.data

local epochs, quick, save = 5, false, nil
for i = 1, #arg do
  if arg[i] == "--epochs" then epochs = assert(tonumber(arg[i + 1]), "--epochs needs a number")
  elseif arg[i] == "--quick" then quick = true
  elseif arg[i] == "--save" then save = assert(arg[i + 1], "--save needs a path prefix") end
end

lunet.manual_seed(1)
local lr, batch = 1e-3, 128
local function flat(split, n)
  local d = data.fashion_mnist{split = split}
  n = math.min(n, d.images:size(1))
  return data.TensorDataset(d.images:narrow(1, 1, n):reshape(n, 784), d.labels:narrow(1, 1, n))
end
local train = data.DataLoader(flat("train", quick and 2000 or 60000), {batch_size = batch, shuffle = true})
local test = data.DataLoader(flat("test", quick and 1000 or 10000), {batch_size = 1000})

local model = nn.Sequential{
  nn.Linear(784, 256), nn.ReLU(),
  nn.Linear(256, 128), nn.ReLU(),
  nn.Linear(128, 10),
}
local opt = optim.Adam(model:parameters(), {lr = lr})
-- `lunet examples/mlp.lua` is recorded in runs.db already; this names the run and adds what it trains with
local run = lunet.runs.start{name = "mlp", experiment = "fashion-mnist",
                             params = {lr = lr, batch = batch, epochs = epochs, optimizer = "Adam", quick = quick}}

local function accuracy(loader)
  model:eval()
  local correct, n = lunet.no_grad(function()
    local c, n = 0, 0
    for x, y in loader:batches() do
      c, n = c + model(x):argmax(2):eq(y):sum():item(), n + y:size(1)
    end
    return c, n
  end)
  model:train()
  return correct / n
end

local nparams = 0
for _, p in ipairs(model:parameters()) do nparams = nparams + p:numel() end
print(string.format("mlp: %d training and %d test images, %d epochs, %d threads, %d parameters",
                    #train.dataset, #test.dataset, epochs, lunet.get_num_threads(), nparams))
for epoch = 1, epochs do
  local t0 = lunet.clock()
  local total, steps = 0, 0
  for x, y in train:batches() do
    local loss = F.cross_entropy(model(x), y)
    opt:zero_grad()
    loss:backward()
    opt:step()
    total, steps = total + loss:item(), steps + 1
  end
  local acc = accuracy(test)
  run:log({loss = total / steps, test_acc = acc}, epoch)
  print(string.format("epoch %d/%d  loss %.4f  test accuracy %.4f  (%.2f s)",
                      epoch, epochs, total / steps, acc, lunet.clock() - t0))
end
print(string.format("final test accuracy: %.4f", accuracy(test)))
if save then
  model:save(save .. ".safetensors")
  opt:save(save .. ".optim.safetensors")
  print("saved " .. save .. ".safetensors and " .. save .. ".optim.safetensors")
end
