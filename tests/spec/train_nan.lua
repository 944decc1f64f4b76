-- train.fit when the loss becomes nan or inf: it stops before the bad step,
-- the run it logs to ends 'failed' with the metrics logged so far and the
-- message, and the last good checkpoint keeps its bytes and loads.
local files = require "tests.files"
local read = files.read
local nn, F, optim, train = lunet.nn, lunet.nn.F, lunet.optim, lunet.train
local R = require("lunet.core")._runs

local function tmpfile(suffix)
  local p = os.tmpname()
  os.remove(p)
  return p .. (suffix or "")
end

local function remove_db(db) for _, suffix in ipairs{"", "-wal", "-shm"} do os.remove(db .. suffix) end end

-- 16 separable points in batches of 4, in order; in epoch `bad_epoch` batch
-- `bad_step` carries a nan in its data (a corrupt record)
local function loader_with_nan(bad_epoch, bad_step)
  lunet.manual_seed(11)
  local x = lunet.randn(16, 2)
  local y = x:select(2, 1):gt(0):long() + 1
  local epoch = 0
  return {batches = function()
    epoch = epoch + 1
    local step = 0
    return function()
      step = step + 1
      if step > 4 then return nil end
      local xb, yb = x:narrow(1, 4 * step - 3, 4), y:narrow(1, 4 * step - 3, 4)
      if epoch == bad_epoch and step == bad_step then
        xb = xb:clone()
        xb[{2, 1}] = 0 / 0
      end
      return xb, yb
    end
  end}
end

-- name -> {steps}, {values} of a run's metric in db
local function series(db, run_id, name)
  local h = R.open(db, {readonly = true})
  local rows = h:query([[SELECT m.step, m.value FROM metrics m JOIN metric_keys k ON k.id = m.key_id
                         WHERE m.run_id = ?1 AND k.name = ?2 ORDER BY m.step]], {run_id, name})
  h:close()
  local steps, values = {}, {}
  for i, r in ipairs(rows) do steps[i], values[i] = r.step, r.value end
  return steps, values
end

describe("train.fit stops on a nan loss", function()
  it("from nan data at epoch 2, step 3: run failed with its metrics, checkpoint bytes unchanged", function()
    local db, ckpt = tmpfile(".db"), tmpfile(".safetensors")
    lunet.manual_seed(2)
    local model = nn.Sequential{nn.Linear(2, 2)}
    local run = lunet.runs.start{db = db, name = "nan-data"}
    local saved_bytes
    local watch = train.LambdaCallback{on_epoch_end = function() saved_bytes = read(ckpt) end}
    local before_bad_step
    local spy = train.LambdaCallback{on_batch_end = function()
      before_bad_step = {}
      for k, t in pairs(model:state_dict()) do before_bad_step[k] = t:clone() end
    end}
    local expected = "train.fit: the loss became nan at epoch 2, step 3 (the last good checkpoint is " .. ckpt .. ")"
    T.errors(function()
      train.fit{model = model, optimizer = optim.SGD(model:parameters(), {lr = 0.1}), loss = F.cross_entropy,
                train = loader_with_nan(2, 3), epochs = 3, run = run, log_every = 1, verbose = false,
                callbacks = {train.ModelCheckpoint{path = ckpt, monitor = "loss"}, watch, spy}}
    end, expected)
    -- the run: failed, with the message, and every metric logged before the nan
    T.eq(run:status(), "failed")
    local h = R.open(db, {readonly = true})
    local row = h:query("SELECT id, status, error, exit_status FROM runs")[1]
    local art = h:query("SELECT path, size FROM artifacts WHERE run_id = ?1", {row.id})
    h:close()
    T.eq(row.status, "failed")
    T.eq(row.error, expected)
    T.eq(row.exit_status, 1)
    local steps = series(db, row.id, "batch_loss")
    T.eq(T.show(steps), "{1, 2, 3, 4, 5, 6}", "batch_loss: epoch 1 and the two good steps of epoch 2")
    steps = series(db, row.id, "train_loss")
    T.eq(T.show(steps), "{1}", "train_loss of the finished epoch")
    -- the checkpoint: written after epoch 1, untouched since, loadable, recorded with the run
    T.truthy(saved_bytes and #saved_bytes > 0, "a checkpoint was written")
    T.truthy(read(ckpt) == saved_bytes, "checkpoint bytes unchanged")
    local state, meta = lunet.load(ckpt)
    T.eq(meta.epoch, "1")
    local fresh = nn.Sequential{nn.Linear(2, 2)}
    fresh:load_state_dict(state)
    T.eq(#art, 1, "the checkpoint is an artifact of the run")
    T.eq(art[1].size, #saved_bytes)
    -- no step was taken with the nan: the weights are those after step 2
    for k, t in pairs(model:state_dict()) do T.close(t, before_bad_step[k], 0) end
    os.remove(ckpt)
    remove_db(db)
  end)

  it("from a learning rate that makes the weights blow up: stops at the first inf or nan loss", function()
    local db = tmpfile(".db")
    lunet.manual_seed(4)
    local x, y = lunet.randn(32, 4), lunet.randn(32, 1)
    local loader = lunet.data.DataLoader(lunet.data.TensorDataset(x, y), {batch_size = 8})
    local model = nn.Sequential{nn.Linear(4, 1)}
    local run = lunet.runs.start{db = db, name = "huge-lr"}
    local losses = {}
    local ok, err = pcall(train.fit, {model = model, optimizer = optim.SGD(model:parameters(), {lr = 1e6}),
      loss = F.mse_loss, train = loader, epochs = 20, run = run, verbose = false,
      callbacks = {train.LambdaCallback{on_batch_end = function(_, logs) losses[#losses + 1] = logs.loss end}}})
    T.eq(ok, false, "fit raised")
    T.truthy(tostring(err):find("^train%.fit: the loss became %-?[naif]+ at epoch %d+, step %d %(no checkpoint was saved%)$"),
             tostring(err))
    for i, v in ipairs(losses) do T.truthy(v == v and math.abs(v) < math.huge, "loss " .. i .. " was finite") end
    T.truthy(#losses >= 1 and #losses < 80, "stopped early, after " .. #losses .. " good steps")
    T.eq(run:status(), "failed")
    for _, t in pairs(model:state_dict()) do
      local m = t:abs():max():item()
      T.truthy(m == m and m < math.huge, "the weights before the bad step are finite")
    end
    remove_db(db)
  end)
end)
