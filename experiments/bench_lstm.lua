-- bench_lstm.lua -- one training step of an LSTM classifier, the lunet side of
-- experiments/bench_lstm.py (issue: recurrent layers; target: lunet >= 1.5x PyTorch
-- at the same thread count).
--
--   LUNET_NUM_THREADS=1 lunet experiments/bench_lstm.lua [--steps N] [--warmup W] [--profile]
--
-- Model: LSTM(input 128, hidden 256, 1 layer) over a sequence of 20 steps, batch 64,
-- then Linear(256, 10) on the last output and cross-entropy; one step is
-- zero_grad + forward + backward + Adam (lunet.optim.Adam, lr 1e-3). The step time is
-- the median (and best) over N timed steps after W warm-up steps, on a wall clock.
-- Prints one line, the same format as bench_lstm.py:
--
--   BENCH impl=lunet cfg=T<threads> sec=lstm case=T20xB64x128->256 var=train_step \
--         unit=ms t_best=<s> t_med=<s> reps=<N> cpu_med=<s>
--
-- cpu_med is the median CPU time of a step (os.clock, summed over threads): on a
-- shared machine it is a steadier figure of the work done than wall time.
--
-- --profile also times the phases of a step (forward, backward, optimizer).
-- Interleaved runs against PyTorch, from the repository root:
--
--   for r in 1 2 3; do for t in 1 2; do
--     LUNET_NUM_THREADS=$t ./lunet experiments/bench_lstm.lua
--     OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t /usr/bin/python3 experiments/bench_lstm.py --threads $t
--   done; done
local lunet = lunet or require "lunet"
local nn, F = lunet.nn, lunet.nn.F

local T, B, IN, H, C = 20, 64, 128, 256, 10
local steps, warmup, profile = 30, 5, false
local i = 1
while i <= #arg do
  if arg[i] == "--steps" then steps = tonumber(arg[i + 1]); i = i + 1
  elseif arg[i] == "--warmup" then warmup = tonumber(arg[i + 1]); i = i + 1
  elseif arg[i] == "--profile" then profile = true
  else error("bench_lstm: unknown argument " .. arg[i]) end
  i = i + 1
end

lunet.manual_seed(0)
local lstm, fc = nn.LSTM(IN, H), nn.Linear(H, C)
local params = lstm:parameters()
for _, p in ipairs(fc:parameters()) do params[#params + 1] = p end
local opt = lunet.optim.Adam(params, {lr = 1e-3})
local x = lunet.randn(T, B, IN)
local y = lunet.randint(1, C + 1, B)

local now = lunet.clock
local phases = {forward = {}, backward = {}, optimizer = {}}

local function step()
  local c0, t0 = os.clock(), now()
  opt:zero_grad()
  local out = lstm(x)
  local loss = F.cross_entropy(fc(out[T]), y)
  local t1 = now()
  loss:backward()
  local t2 = now()
  opt:step()
  local t3 = now()
  return t3 - t0, t1 - t0, t2 - t1, t3 - t2, os.clock() - c0
end

local function median(xs)
  local s = {table.unpack(xs)}
  table.sort(s)
  local n = #s
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

for _ = 1, warmup do step() end
local ts, cpu, best = {}, {}, math.huge
for s = 1, steps do
  local dt, fwd, bwd, optim, c = step()
  ts[s], cpu[s] = dt, c
  phases.forward[s], phases.backward[s], phases.optimizer[s] = fwd, bwd, optim
  best = math.min(best, dt)
end
print(string.format("BENCH impl=lunet cfg=T%d sec=lstm case=T%dxB%dx%d->%d var=train_step unit=ms t_best=%.6e t_med=%.6e reps=%d cpu_med=%.6e",
  lunet.get_num_threads(), T, B, IN, H, best, median(ts), steps, median(cpu)))
if profile then
  for _, name in ipairs{"forward", "backward", "optimizer"} do
    print(string.format("# %-9s median %.3f ms", name, 1e3 * median(phases[name])))
  end
end
