-- Concurrency (issue 7, part 7): 8 lunet processes train tiny models and log
-- to ONE runs.db at once, each committing a transaction per step so that the
-- writers really contend; then every metric of every run is there with its
-- value, every run is finished, and the database passes integrity_check.
-- With checkpoints, each process also saves its own file and all of them
-- overwrite one shared file: every file is complete, the shared one is one
-- of theirs, and no temporary file is left.
local files = require "tests.files"
local wait_until, write, exists = files.wait_until, files.write, files.exists
local exe = arg and arg[-1] or "./lunet"
local R = require("lunet.core")._runs
local dir = files.scratch_dir("lunet-conc")
local function path(name) return dir .. "/" .. name end

local PROCS, STEPS = 8, 50

-- a worker: a Linear(4, 1) fitted by SGD to random data of its own seed; it
-- logs loss, worker and step_sq at every step, prints its losses (full
-- precision) and the sums of its final weights
local worker = write(path("worker.lua"), ([[
local id, ready, go, ckpt, shared = tonumber(arg[1]), arg[2], arg[3], arg[4], arg[5]
local nn, F = lunet.nn, lunet.nn.F
lunet.manual_seed(id)
local model = nn.Linear(4, 1)
local opt = lunet.optim.SGD(model:parameters(), {lr = 0.05})
local x, y = lunet.randn(32, 4), lunet.randn(32, 1)
local run = lunet.runs.start{name = "worker", params = {worker = id}}
io.open(ready, "w"):close()
for _ = 1, 3000 do local f = io.open(go) if f then f:close() break end os.execute("sleep 0.01") end
local losses = {}
for step = 1, %d do
  local loss = F.mse_loss(model(x), y)
  opt:zero_grad(); loss:backward(); opt:step()
  losses[step] = ("%%.17g"):format(loss:item())
  run:log{loss = loss:item(), worker = id, step_sq = step * step}
  assert(run:flush())              -- a transaction per step: the 8 writers contend for the lock
end
if ckpt ~= "" then
  model:save(ckpt)
  lunet.save(shared, model:state_dict(), {worker = tostring(id)})
  run:artifact(ckpt, "model")
end
assert(run:finish())
print("run", run:id())
print("losses", table.concat(losses, " "))
]]):format(STEPS))

-- starts PROCS workers, lets them go together, waits for all; returns their outputs
local function round(db, r, with_ckpt)
  local cmds, outs = {}, {}
  local go = path(("go-%d"):format(r))
  for id = 1, PROCS do
    local ready = path(("ready-%d-%d"):format(r, id))
    local ckpt = with_ckpt and path(("ckpt-%d-%d.safetensors"):format(r, id)) or ""
    outs[id] = path(("out-%d-%d"):format(r, id))
    cmds[#cmds + 1] = ("LUNET_NO_RUN= LUNET_DB='%s' OMP_NUM_THREADS=1 LUNET_NUM_THREADS=1 %s '%s' %d '%s' '%s' '%s' '%s' > '%s' 2>&1 &")
      :format(db, exe, worker, id, ready, go, ckpt, path(("shared-%d.safetensors"):format(r)), outs[id])
  end
  -- the shell waits for its workers; it runs in the background so this process can say go
  os.execute("( " .. table.concat(cmds, " ") .. " wait; touch '" .. path("done-" .. r) .. "' ) &")
  wait_until(function()
    if exists(path("done-" .. r)) then return true end -- all gone already: their outputs say why
    for id = 1, PROCS do if not exists(path(("ready-%d-%d"):format(r, id))) then return false end end
    return true
  end, "every worker to start")
  write(go, "")
  wait_until(function() return exists(path("done-" .. r)) end, "every worker to end")
  local results = {}
  for id = 1, PROCS do
    local f = assert(io.open(outs[id]))
    local out = f:read("a")
    f:close()
    local run, losses = out:match("run\t(%d+)\n"), out:match("losses\t([^\n]*)")
    T.truthy(run and losses, ("worker %d printed: %s"):format(id, out))
    local values = {}
    for v in losses:gmatch("%S+") do values[#values + 1] = tonumber(v) end
    results[id] = {run = tonumber(run), losses = values}
  end
  return results
end

-- every metric of every worker's run, with its value
local function check_runs(db, results)
  local h = R.open(db, {readonly = true})
  T.eq(h:query("PRAGMA integrity_check")[1].integrity_check, "ok")
  for id, res in ipairs(results) do
    local run = h:query("SELECT status FROM runs WHERE id = ?1", {res.run})[1]
    T.eq(run.status, "finished", "worker " .. id)
    T.eq(h:query("SELECT value FROM params WHERE run_id = ?1 AND key = 'worker'", {res.run})[1].value, tostring(id))
    local rows = h:query([[SELECT k.name, m.step, m.value FROM metrics m JOIN metric_keys k ON k.id = m.key_id
                           WHERE m.run_id = ?1 ORDER BY k.name, m.step]], {res.run})
    T.eq(#rows, 3 * STEPS, ("worker %d: metrics stored"):format(id))
    local want = {}
    for step = 1, STEPS do
      want["loss " .. step] = res.losses[step]
      want["step_sq " .. step] = step * step
      want["worker " .. step] = id
    end
    for _, r in ipairs(rows) do
      T.eq(r.value, want[r.name .. " " .. r.step], ("worker %d: %s at step %d"):format(id, r.name, r.step))
    end
    local sums = h:query("SELECT count(*) AS n, sum(count) AS points FROM metric_summary WHERE run_id = ?1", {res.run})[1]
    T.eq(sums.n, 3, "summary rows")
    T.eq(sums.points, 3 * STEPS, "summary counts")
  end
  h:close()
end

describe("8 processes training and logging to one runs.db at once", function()
  local db = path("runs.db")
  local totals = {runs = 0, points = 0}

  it("keeps every metric of every run, every run finished, integrity ok", function()
    local results = round(db, 1, false)
    check_runs(db, results)
    totals.runs, totals.points = totals.runs + PROCS, totals.points + PROCS * 3 * STEPS
  end)

  it("with checkpoints: each file complete, the shared one a whole file of one worker, no temporary files", function()
    for r = 2, 3 do
      local results = round(db, r, true)
      check_runs(db, results)
      totals.runs, totals.points = totals.runs + PROCS, totals.points + PROCS * 3 * STEPS
      local own = {}
      for id = 1, PROCS do
        own[id] = lunet.load(path(("ckpt-%d-%d.safetensors"):format(r, id)))
        T.shape(own[id].weight, {1, 4})
      end
      local shared, meta = lunet.load(path(("shared-%d.safetensors"):format(r)))
      local id = tonumber(meta.worker)
      T.truthy(id and own[id], "the shared checkpoint names its worker: " .. tostring(meta.worker))
      for name, t in pairs(own[id]) do
        T.eq(shared[name]:eq(t):sum():item(), t:numel(), "shared " .. name .. " equals worker " .. id .. "'s")
      end
      local p = io.popen("ls -A '" .. dir .. "' | grep -c '\\.tmp-'")
      T.eq(p:read("l"), "0", "temporary files left")
      p:close()
    end
    -- all rounds in one database
    local h = R.open(db, {readonly = true})
    local all = h:query("SELECT count(DISTINCT run_id) AS runs, count(*) AS points FROM metrics")[1]
    h:close()
    T.eq(all.runs, totals.runs)
    T.eq(all.points, totals.points)
    io.stderr:write(("  concurrency: %d processes x %d rounds, %d runs, %d metric points checked\n")
                    :format(PROCS, 3, totals.runs, totals.points))
  end)
end)

os.execute("rm -rf '" .. dir .. "'")
