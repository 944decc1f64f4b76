-- bench_tensor.lua -- the lunet side of experiments/bench.sh (issue 2: tensor core).
--
--   lunet experiments/bench_tensor.lua SECTION...
--       SECTION: matmul ew small smallgen (default "all": matmul ew small)
--
-- Threads come from LUNET_NUM_THREADS (or lunet.set_num_threads). Every result is
-- one machine-readable line, the same format as bench_tensor.py and the C baselines:
--
--   BENCH impl=lunet cfg=T1 sec=matmul case=128x784x256 var=A@B work=<flop|byte|op> \
--         unit=GFLOP/s|GB/s|us t_best=<s per op> t_med=<s per op> reps=<ops per sample>
--
-- t_best / t_med are the best and the median of SAMPLES timed samples, each a loop
-- of `reps` ops lasting about TARGET seconds. bench.sh turns them into rates.
-- Environment: BENCH_TARGET (seconds per sample, default 0.06), BENCH_SAMPLES (5),
-- BENCH_SMALL_N (ops per small-op sample, default 10^6).

local lunet = lunet or require "lunet"

local B = dofile((arg and arg[0] or ""):match("^(.*/)") .. "bench_lib.lua")
local now, clock_name, median, emit, measure = B.now, B.clock_name, B.median, B.emit, B.measure
local SAMPLES, threads = B.SAMPLES, B.threads
local SMALL_N = tonumber(os.getenv("BENCH_SMALL_N")) or 1000000

-- ---- 1. matmul --------------------------------------------------------------
local function bench_matmul()
  lunet.manual_seed(1)
  for _, mkn in ipairs{{128, 784, 256}, {1024, 1024, 1024}} do
    local m, k, n = mkn[1], mkn[2], mkn[3]
    local case = string.format("%dx%dx%d", m, k, n)
    local flop = 2 * m * k * n
    local a = lunet.randn(m, k)
    local at = lunet.randn(k, m) -- at:t() is an m x k transposed view (strides 1, m)
    local b = lunet.randn(k, n)
    local ta = at:t()
    assert(not ta:is_contiguous())
    local best, med, reps = measure(function() return a:matmul(b) end)
    emit("matmul", case, "A@B", flop, "GFLOP/s", best, med, reps)
    best, med, reps = measure(function() return ta:matmul(b) end)
    emit("matmul", case, "At.t()@B", flop, "GFLOP/s", best, med, reps)
    -- the same with the result released at once (`<close>`): its buffer is
    -- reused warm instead of waiting for the GC
    best, med, reps = measure(function() local c <close> = a:matmul(b) end)
    emit("matmul", case, "A@B/close", flop, "GFLOP/s", best, med, reps)
    a, at, b, ta = nil, nil, nil, nil
    collectgarbage()
  end
end

-- ---- 2. elementwise ---------------------------------------------------------
-- effective bytes: add reads 2 and writes 1 float32 (12 B/element), exp 8 B/element
local function bench_ew()
  lunet.manual_seed(1)
  for _, n in ipairs{1000000, 10000000} do
    local case = n == 1000000 and "1e6" or "1e7"
    local x, y = lunet.randn(n), lunet.randn(n)
    local best, med, reps = measure(function() return x + y end)
    emit("ew", case, "add", 12 * n, "GB/s", best, med, reps)
    best, med, reps = measure(function() return x:exp() end)
    emit("ew", case, "exp", 8 * n, "GB/s", best, med, reps)
    -- result released at once (`<close>`), as a loop that cares about memory would
    best, med, reps = measure(function() local z <close> = x + y end)
    emit("ew", case, "add/close", 12 * n, "GB/s", best, med, reps)
    best, med, reps = measure(function() local z <close> = x:exp() end)
    emit("ew", case, "exp/close", 8 * n, "GB/s", best, med, reps)
    x, y = nil, nil
    collectgarbage()
  end
end

-- ---- 3. small-op overhead ---------------------------------------------------
-- explicit loops (no closure call per op); the empty loop is reported too.
-- Every kind starts from a full collection, so it does not pay for the garbage
-- of the one before (but the C heap keeps the shape the earlier kinds left).
-- Section "smallgen" (run in a fresh process) switches to Lua's generational
-- collector first and repeats two ops as "/genGC": switching in the middle of a
-- process that has already piled up garbage gives erratic figures.
local function bench_small(gen)
  local x, y = lunet.randn(2, 2), lunet.randn(2, 2)
  local function sample(kind, N)
    local t0 = now()
    if kind == "x+y" then
      for _ = 1, N do local z = x + y end
    elseif kind == "x:add(y)" then
      for _ = 1, N do local z = x:add(y) end
    elseif kind == "x:add_(y)" then
      for _ = 1, N do x:add_(y) end
    elseif kind == "x*2" then
      for _ = 1, N do local z = x * 2 end
    elseif kind == "empty-loop" then
      for _ = 1, N do local z = x end
    end
    return (now() - t0) / N
  end
  local function run(kind, label)
    collectgarbage()
    sample(kind, SMALL_N // 10) -- warm up (and let the GC reach its steady state)
    local ts, best = {}, math.huge
    for s = 1, math.max(3, SAMPLES - 2) do
      ts[s] = sample(kind, SMALL_N)
      if ts[s] < best then best = ts[s] end
    end
    x:zero_() -- add_ loops grow x; keep it finite
    emit("small", "2x2", label or kind, 1, "us", best, median(ts), SMALL_N)
  end
  if gen then
    run("x+y", "x+y/genGC")
    run("x:add(y)", "x:add(y)/genGC")
    return
  end
  for _, kind in ipairs{"x+y", "x:add(y)", "x:add_(y)", "x*2", "empty-loop"} do run(kind) end
end

local sections = {matmul = bench_matmul, ew = bench_ew, small = bench_small,
                  smallgen = function() collectgarbage("generational"); bench_small(true) end}
local wanted = {}
for i = 1, #arg do wanted[#wanted + 1] = arg[i] end
if #wanted == 0 or wanted[1] == "all" then wanted = {"matmul", "ew", "small"} end
print(string.format("# lunet bench: threads=%d clock=%s blas=%s", threads, clock_name, lunet.blas_info()))
for _, s in ipairs(wanted) do
  local f = sections[s]
  if not f then error("unknown section '" .. s .. "' (expected matmul, ew, small, smallgen or all)") end
  f()
end
