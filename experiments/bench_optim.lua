-- bench_optim.lua -- one Adam step over the parameters of the MLP 784-256-128-10
-- (235146 float32 numbers in 6 tensors), lunet's fused C update; the PyTorch
-- twin is bench_optim.py. Prints the best and the median time per step of 7
-- samples, each ~0.2 s of steps.
--
--   LUNET_NUM_THREADS=1 ./lunet experiments/bench_optim.lua
--   LUNET_NUM_THREADS=2 ./lunet experiments/bench_optim.lua
local lunet = lunet or require "lunet"

local shapes = {{256, 784}, {256}, {128, 256}, {128}, {10, 128}, {10}}
lunet.manual_seed(1)
local params, numel = {}, 0
for i, s in ipairs(shapes) do
  params[i] = lunet.randn(s):requires_grad_()
  params[i].grad = lunet.randn(s)
  numel = numel + params[i]:numel()
end
local opt = lunet.optim.Adam(params, {lr = 1e-3})

local function sample(reps)
  local t0 = lunet.clock()
  for _ = 1, reps do opt:step() end
  return (lunet.clock() - t0) / reps
end

sample(10)
local reps = math.max(1, math.floor(0.2 / sample(20)))
local times = {}
for i = 1, 7 do times[i] = sample(reps) end
table.sort(times)
print(string.format("lunet Adam step, %d floats, %d thread(s): best %.1f us, median %.1f us",
  numel, lunet.get_num_threads(), times[1] * 1e6, times[4] * 1e6))
