-- bench_lib.lua -- timing and output shared by the lunet benchmark scripts:
--   local B = dofile(dir .. "bench_lib.lua")
--   B.measure(fn) -> best, median seconds per call, calls per sample
--   B.emit(sec, case, var, work, unit, best, med, reps) prints one BENCH line
-- Environment: BENCH_TARGET (seconds per sample, default 0.06), BENCH_SAMPLES (5).
local lunet = lunet or require "lunet"
local B = {}

-- os.clock() is process CPU time (summed over OpenMP threads), so time with
-- lunet.clock(), a monotonic wall clock.
B.now, B.clock_name = lunet.clock, "lunet.clock"
B.TARGET = tonumber(os.getenv("BENCH_TARGET")) or 0.06
B.SAMPLES = tonumber(os.getenv("BENCH_SAMPLES")) or 5
B.threads = lunet.get_num_threads()
B.cfg = "T" .. B.threads
local now = B.now

function B.median(xs)
  local s = {}
  for i, v in ipairs(xs) do s[i] = v end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

function B.emit(sec, case, var, work, unit, best, med, reps)
  print(string.format("BENCH impl=lunet cfg=%s sec=%s case=%s var=%s work=%.17g unit=%s t_best=%.6e t_med=%.6e reps=%d",
    B.cfg, sec, case, var, work, unit, best, med, reps))
  io.stdout:flush()
end

-- time fn (one op per call): warm up, size the loop to about TARGET seconds,
-- then SAMPLES samples; returns best and median seconds per op, and reps
function B.measure(fn)
  fn(); fn()
  local reps = 1
  while true do
    local t0 = now()
    for _ = 1, reps do fn() end
    local dt = now() - t0
    if dt >= B.TARGET / 8 then
      reps = math.max(1, math.ceil(reps * B.TARGET / dt))
      break
    end
    reps = reps * 4
  end
  local ts, best = {}, math.huge
  for s = 1, B.SAMPLES do
    local t0 = now()
    for _ = 1, reps do fn() end
    ts[s] = (now() - t0) / reps
    if ts[s] < best then best = ts[s] end
  end
  return best, B.median(ts), reps
end

return B
