-- bench_data.lua -- the lunet side of the data benchmarks (issue 4: data).
--
--   lunet experiments/bench_data.lua [CASE...]      CASE: load epoch (default: both)
--
--   load   data.fashion_mnist{split = "train"}: the 60,000 training images and
--          labels from Debian's .gz files (dataset-fashion-mnist), decompressed,
--          scaled to float32 in [0, 1] and shaped N x 1 x 28 x 28.
--   epoch  one epoch of shuffled batches of 128 (no model) over those tensors,
--          through data.DataLoader(data.TensorDataset(images, labels), ...).
--
-- Same BENCH lines as bench_tensor.lua (t_best / t_med in seconds per op) and
-- as the Python twin, bench_data.py:
--   BENCH impl=lunet cfg=T1 sec=data case=load var=fashion_train work=1 unit=ms t_best=... t_med=... reps=...
-- Environment: BENCH_TARGET, BENCH_SAMPLES (see bench_lib.lua), FASHION_ROOT.
local lunet = lunet or require "lunet"
local data = lunet.data

local B = dofile((arg and arg[0] or ""):match("^(.*/)") .. "bench_lib.lua")
local root = os.getenv("FASHION_ROOT")

local function load()
  return data.fashion_mnist{split = "train", root = root}
end

local cases = {}

function cases.load()
  local best, med, reps = B.measure(function()
    local d = load()
    -- give the buffers back at once, as a second load in a script would
    local images <close> = d.images
    local labels <close> = d.labels
  end)
  B.emit("data", "load", "fashion_train", 1, "ms", best, med, reps)
end

function cases.epoch()
  if not (data.DataLoader and data.TensorDataset) then
    io.stderr:write("bench_data: epoch skipped (data.DataLoader / data.TensorDataset not there yet)\n")
    return
  end
  local d = load()
  lunet.manual_seed(1)
  local loader = data.DataLoader(data.TensorDataset(d.images, d.labels), {batch_size = 128, shuffle = true})
  local best, med, reps = B.measure(function()
    local n = 0
    for xb, yb in loader:batches() do n = n + 1 end
    assert(n == #loader)
  end)
  B.emit("data", "epoch", "fashion_train_b128", 1, "ms", best, med, reps)
end

local wanted = arg and #arg > 0 and arg or {"load", "epoch"}
for _, c in ipairs(wanted) do
  assert(cases[c], "bench_data: unknown case " .. tostring(c) .. " (load, epoch)")
  cases[c]()
end
