-- bench_runs.lua -- the run history (issue 5) against its targets:
--   logging one metric < 2 us per call; `runs ls` with a filter and sort over 10,000 runs
--   x 10 metrics < 100 ms; `runs show` of a run with 100,000 points < 50 ms.
-- Run from the repository root:  LUNET_NO_RUN=1 build-perf/lunet experiments/bench_runs.lua
-- (LUNET_BIN: the lunet for the child-process case, default arg[-1]; BENCH_RUNS_FULL: how many
-- runs get their full 10 x 1,000 metric points, default 100; BENCH_KEEP_DB=1 keeps the file.)
--
-- The database is generated into a temporary file: 10,000 runs (status, times, 5 params
-- each, 10 metrics each in metric_summary -- what ls reads), the first BENCH_RUNS_FULL of
-- them with all 10 x 1,000 points in `metrics`, and run 10,001 with 100,000 points of one
-- metric. All 10^8 points (10,000 x 10 x 1,000) would take minutes to insert and ~4 GB on
-- disk, and no ls query reads `metrics`, so only the summaries are generated for all runs.
local lunet = require "lunet"
local core = require "lunet.core"
local dir = arg and arg[0] and arg[0]:match("^(.*/)") or "experiments/"
local B = dofile(dir .. "bench_lib.lua")
local now = B.now

local RUNS, METRICS, STEPS, BIG = 10000, 10, 1000, 100000
local FULL = tonumber(os.getenv("BENCH_RUNS_FULL")) or 100
local NAMES = {"loss", "val_loss", "acc", "val_acc", "f1", "lr", "grad_norm", "time", "auc", "bleu"}

local path = os.tmpname()
os.remove(path)
local function remove_db(p) for _, s in ipairs{"", "-wal", "-shm"} do os.remove(p .. s) end end

-- bulk inserts: rows of `width` values, `per` rows per statement
local function inserter(db, head, width, per)
  local marks = "(" .. string.rep("?, ", width - 1) .. "?)"
  local full_sql = head .. string.rep(marks .. ", ", per - 1) .. marks
  local vals, n = {}, 0
  local function flush()
    if n == 0 then return end
    local sql = n == per and full_sql or head .. string.rep(marks .. ", ", n - 1) .. marks
    vals.n = n * width
    db:exec(sql, vals)
    vals, n = {}, 0
  end
  return function(...)
    local k = n * width
    for i = 1, width do vals[k + i] = select(i, ...) end
    n = n + 1
    if n == per then flush() end
  end, flush
end

local function generate()
  local t0 = now()
  local db = core._runs.open(path)
  db:exec("BEGIN")
  for k, name in ipairs(NAMES) do
    local goal = (name:find("acc") or name == "f1" or name == "auc" or name == "bleu") and "max" or "min"
    db:exec("INSERT INTO metric_keys (id, name, goal) VALUES (?, ?, ?)", {k, name, goal})
  end
  local run, run_done = inserter(db, "INSERT INTO runs (id, name, status, started, ended, heartbeat) VALUES ", 6, 1) -- before its rows (foreign keys)
  local param, param_done = inserter(db, "INSERT INTO params (run_id, key, value, num) VALUES ", 4, 200)
  local summ, summ_done = inserter(db, "INSERT INTO metric_summary (run_id, key_id, count, first, first_step, " ..
    "last, last_step, min, min_step, max, max_step) VALUES ", 11, 80)
  local seed = 12345
  local function rand() seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 end
  for id = 1, RUNS do
    local t = 1e9 + id * 60
    run(id, "run" .. id, id % 7 == 0 and "failed" or "finished", t, t + 30, t + 30)
    local lr = ({0.1, 0.01, 0.001, 0.0001})[id % 4 + 1]
    param(id, "lr", tostring(lr), lr)
    param(id, "batch", tostring(32 * (id % 4 + 1)), 32 * (id % 4 + 1))
    param(id, "opt", id % 2 == 0 and "adam" or "sgd", nil)
    param(id, "seed", tostring(id), id)
    param(id, "layers", tostring(id % 5), id % 5)
    for k = 1, METRICS do
      local v = rand()
      summ(id, k, STEPS, v * 2, 1, v, STEPS, v * 0.9, STEPS // 2, v * 1.1, STEPS // 4)
    end
  end
  run_done(); param_done(); summ_done()
  db:exec("COMMIT")
  -- the points: FULL runs x 10 metrics x 1,000 steps, and the big run
  local point, point_done = inserter(db, "INSERT INTO metrics (run_id, key_id, step, value, time) VALUES ", 5, 400)
  db:exec("BEGIN")
  for id = 1, FULL do
    for k = 1, METRICS do
      for s = 1, STEPS do point(id, k, s, 1 / (s + k), 1e9 + id * 60 + s * 0.01) end
    end
  end
  point_done()
  db:exec("COMMIT")
  db:exec("BEGIN")
  db:exec("INSERT INTO runs (id, name, status, started, ended, heartbeat) VALUES (?, 'big', 'finished', 2e9, ?, ?)",
    {RUNS + 1, 2e9 + BIG * 0.01, 2e9 + BIG * 0.01})
  for s = 1, BIG do point(RUNS + 1, 1, s, 1 / s, 2e9 + s * 0.01) end
  point_done()
  db:exec("INSERT INTO metric_summary VALUES (?, 1, ?, 1, 1, ?, ?, ?, ?, 1, 1)", {RUNS + 1, BIG, 1 / BIG, BIG, 1 / BIG, BIG})
  db:exec("COMMIT")
  local points = db:query("SELECT count(*) AS c FROM metrics")[1].c
  db:close()
  local f = io.open(path, "rb")
  local size = f:seek("end")
  f:close()
  io.stderr:write(string.format("generated %s: %d runs, %d summaries, %d points, %.0f MB in %.1f s\n",
    path, RUNS + 1, RUNS * METRICS + 1, points, size / 2^20, now() - t0))
end

generate()
local cli = require "lunet.runs.cli"
local query = require "lunet.runs.query"
local WHERE, SORT = "metrics.val_acc > 0.9", "metrics.val_acc desc"

-- the command's output size, and a discarding sink
local function lines_of(args)
  local buf = {}
  cli.main(args, {write = function(_, s) buf[#buf + 1] = s end})
  return select(2, table.concat(buf):gsub("\n", ""))
end
local sink = {write = function() end}

-- 1. logging: 200,000 calls of run:log{loss = x} (auto step), flushes included
do
  local runs = require "lunet.runs"
  local ts = {}
  for s = 1, 3 do
    local lp = os.tmpname()
    os.remove(lp)
    local run = runs.start{db = lp, name = "log-bench"}
    local N = 200000
    local t0 = now()
    for i = 1, N do run:log{loss = 1 / i} end
    ts[s] = (now() - t0) / N
    run:finish()
    remove_db(lp)
  end
  table.sort(ts)
  B.emit("runs", "log", "loss", 1, "call", ts[1], B.median(ts), 200000)
end

-- 2. ls with a filter and sort, in process (output discarded) and as a child process
local ls = {"--db", path, "ls", "--where", WHERE, "--sort", SORT}
local listed = lines_of(ls) - 1
local best, med, reps = B.measure(function() cli.main(ls, sink) end)
B.emit("runs", "ls", "filter_sort", listed, "runs", best, med, reps)
local all = {"--db", path, "ls", "--sort", SORT}
best, med, reps = B.measure(function() cli.main(all, sink) end)
B.emit("runs", "ls", "all_sorted", lines_of(all) - 1, "runs", best, med, reps)

local bin = os.getenv("LUNET_BIN") or arg[-1] or "lunet"
local cmd = string.format("LUNET_DB=%s LUNET_NO_RUN=1 %s runs ls --where '%s' --sort '%s' > /dev/null",
  path, bin, WHERE, SORT)
best, med, reps = B.measure(function() assert(os.execute(cmd), "child ls failed") end)
B.emit("runs", "ls_process", "filter_sort", listed, "runs", best, med, reps)
best, med, reps = B.measure(function() assert(os.execute(bin .. " -e '' > /dev/null")) end)
B.emit("runs", "startup", "empty", 1, "process", best, med, reps)

-- 3. show of the 100,000-point run, and its history as arrays and as tensors
local show = {"--db", path, "show", tostring(RUNS + 1)}
best, med, reps = B.measure(function() cli.main(show, sink) end)
B.emit("runs", "show", "100k_points", BIG, "points", best, med, reps)
local big = query.get(RUNS + 1, path)
assert(#big:history("loss") == BIG, "history length")
best, med, reps = B.measure(function() big:history("loss") end)
B.emit("runs", "history", "arrays", BIG, "points", best, med, reps)
best, med, reps = B.measure(function() big:history("loss", {tensor = true}) end)
B.emit("runs", "history", "tensors", BIG, "points", best, med, reps)

if os.getenv("BENCH_KEEP_DB") == "1" then io.stderr:write("kept " .. path .. "\n") else remove_db(path) end
