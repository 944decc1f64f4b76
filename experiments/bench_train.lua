-- bench_train.lua -- one training step (forward + backward + Adam) of the three
-- models issue 3 names, the lunet side of `experiments/bench.sh` section "train":
--   mlp   784-256-128-10, ReLU, batch 128
--   cnn   the Keras example: Conv32-Pool-Conv64-Pool-Conv64-Dense64-Dense10, batch 64, 1x28x28
--   lstm  1 layer, input 128, hidden 256, 20 steps, batch 64; Linear(256, 10) on the last step
-- Cross-entropy loss, Adam(lr 1e-3); the data is one fixed random batch. Same
-- BENCH lines as bench_tensor.lua, unit ms per step.
--   lunet experiments/bench_train.lua [mlp|cnn|lstm ...]
local lunet = lunet or require "lunet"
local B = dofile((arg and arg[0] or ""):match("^(.*/)") .. "bench_lib.lua")
local nn, F, optim = lunet.nn, lunet.nn.F, lunet.optim

local LstmHead = nn.Module:extend("LstmHead")
function LstmHead:init() self.lstm = nn.LSTM(128, 256); self.fc = nn.Linear(256, 10) end
function LstmHead:forward(x)
  local out = self.lstm(x)
  return self.fc(out[out:size(1)])
end

local models = {
  mlp = function()
    return nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)},
      lunet.randn(128, 784), 128
  end,
  cnn = function()
    return nn.Sequential{nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
      nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(), nn.Linear(576, 64), nn.ReLU(),
      nn.Linear(64, 10)}, lunet.randn(64, 1, 28, 28), 64
  end,
  lstm = function() return LstmHead(), lunet.randn(20, 64, 128), 64 end,
}

local wanted = {...}
if #wanted == 0 then wanted = {"mlp", "cnn", "lstm"} end
print(string.format("# lunet bench_train: threads=%d blas=%s", B.threads, lunet.blas_info()))
for _, name in ipairs(wanted) do
  assert(models[name], "unknown model " .. name .. " (expected mlp, cnn or lstm)")
  lunet.manual_seed(1)
  local model, x, n = models[name]()
  local y = lunet.randint(1, 11, {n})
  local opt = optim.Adam(model:parameters(), {lr = 1e-3})
  local best, med, reps = B.measure(function()
    opt:zero_grad()
    local loss = F.cross_entropy(model(x), y)
    loss:backward()
    opt:step()
  end)
  B.emit("train", name, "step", 1, "ms", best, med, reps)
end
