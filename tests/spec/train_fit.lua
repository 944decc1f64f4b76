-- lunet.train: fit and evaluate on tiny synthetic problems, the callbacks
-- (monitored values scripted by a callback that writes them into the logs),
-- the NaN stop, run logging, and the progress bar in both output modes with
-- a fake clock and a fake output file.
local nn, F, data, optim, train = lunet.nn, lunet.nn.F, lunet.data, lunet.optim, lunet.train
local R = require("lunet.core")._runs
local exe = arg and arg[-1] or "./lunet"

-- an output file that keeps what is written
local function fake_out()
  local f = {text = ""}
  function f.write(self, ...) for _, s in ipairs{...} do self.text = self.text .. s end return self end
  function f.flush() end
  return f
end

-- n points of 2 classes split by x1 = 0 with a margin of 1 on each side
local function separable(n)
  local pts = lunet.randn(n, 2):totable()
  local labels = {}
  for i, p in ipairs(pts) do
    p[1] = p[1] + (p[1] >= 0 and 1 or -1)
    labels[i] = p[1] > 0 and 2 or 1
  end
  return lunet.tensor(pts):float(), lunet.tensor(labels, {dtype = "int64"})
end

local function setup(n, batch)
  lunet.manual_seed(3)
  local x, y = separable(n or 64)
  local loader = data.DataLoader(data.TensorDataset(x, y), {batch_size = batch or 16, shuffle = true})
  local model = nn.Sequential{nn.Linear(2, 2)}
  local opt = optim.SGD(model:parameters(), {lr = 0.5})
  return model, opt, loader, x, y
end

local function weights(model)
  local w = {}
  for k, t in pairs(model:state_dict()) do w[k] = t:clone() end
  return w
end

local function same_weights(a, b)
  for k, t in pairs(a) do T.close(b[k], t, 0) end
end

-- a callback writing scripted values into the epoch's logs as `name`
local function script(name, values)
  return train.LambdaCallback{on_epoch_end = function(epoch, logs) logs[name] = values[epoch] end}
end

local function tmpfile(suffix)
  local p = os.tmpname()
  os.remove(p)
  return p .. (suffix or "")
end

describe("train.fit", function()
  it("fits a linear model to separable data: accuracy 1.0, one history entry per epoch", function()
    local model, opt, loader = setup()
    local out = fake_out()
    local h = train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, epochs = 15,
                        metrics = {"accuracy"}, out = out}
    T.eq(#h.epoch, 15, "epochs in history")
    T.eq(#h.loss, 15, "losses")
    T.eq(#h.accuracy, 15, "accuracies")
    T.eq(h.epoch[15], 15)
    T.eq(h.accuracy[15], 1.0, "final accuracy")
    T.truthy(h.loss[15] < 0.1 and h.loss[15] < h.loss[1], "loss went down to " .. h.loss[15])
    T.eq(model.training, true, "model left in train mode")
  end)

  it("writes one plain line per epoch when the output is not a terminal", function()
    local model, opt, loader = setup()
    local val = data.DataLoader(loader.dataset, {batch_size = 32})
    local out = fake_out()
    train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, val = val, epochs = 3,
              metrics = {"accuracy"}, out = out}
    T.truthy(not out.text:find("\r", 1, true), "no carriage return")
    T.truthy(not out.text:find("\27", 1, true), "no escape")
    local lines = {}
    for line in out.text:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
    T.eq(#lines, 3, "lines")
    for e, line in ipairs(lines) do
      T.eq(line:sub(1, 15), ("Epoch %d/3  4/4 "):format(e), "line head")
      T.truthy(line:find(" %- loss: %d%.%d%d%d%d %- accuracy: %d%.%d%d%d%d %- val_loss: [%d.]+ %- val_accuracy: "),
               "values in order: " .. line)
    end
    local quiet = fake_out()
    train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, epochs = 1, verbose = false, out = quiet}
    T.eq(quiet.text, "", "verbose = false writes nothing")
  end)

  it("averages loss and metrics over samples, validating in eval mode without gradients", function()
    local model, opt, loader, x, y = setup(10, 4)     -- batches of 4, 4 and 2
    local modes, grads = {}, {}
    local forward = function(xb, yb)
      modes[#modes + 1] = model.training
      local out = model(xb)
      grads[#grads + 1] = out.requires_grad
      return out, yb
    end
    local val = data.DataLoader(data.TensorDataset(x, y), {batch_size = 4})
    local h = train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, val = val, epochs = 1,
                        step = forward, verbose = false}
    T.eq(T.show(modes), T.show{true, true, true, false, false, false}, "train then eval mode")
    T.eq(T.show(grads), T.show{true, true, true, false, false, false}, "recording then no_grad")
    T.near(h.val_loss[1], F.cross_entropy(model(x), y):item(), 1e-5, "val_loss is the mean over samples")
  end)
end)

describe("train.evaluate", function()
  it("returns the loss and metrics over all samples (batches of unequal size)", function()
    local model, _, _, x, y = setup(10, 4)
    local loader = data.DataLoader(data.TensorDataset(x, y), {batch_size = 4})
    local out = fake_out()
    local r = train.evaluate{model = model, loss = F.cross_entropy, data = loader, out = out,
      metrics = {"accuracy", wrong = function(o, t) return o:argmax(2):ne(t):sum() end}}
    local scores = model(x)
    T.near(r.loss, F.cross_entropy(scores, y):item(), 1e-5, "loss")
    T.near(r.accuracy, nn.metrics.accuracy(scores, y), 1e-12, "accuracy")
    -- a sum per batch, averaged with batch-size weights: sum over b of n_b * wrong_b / 10
    local n, want = {4, 4, 2}, 0
    for b = 1, 3 do
      local s, t = scores:narrow(1, (b - 1) * 4 + 1, n[b]), y:narrow(1, (b - 1) * 4 + 1, n[b])
      want = want + n[b] * s:argmax(2):ne(t):sum():item()
    end
    T.near(r.wrong, want / 10, 1e-12, "custom metric")
    T.eq(model.training, true, "training mode restored")
    T.truthy(out.text:find("^Evaluate  3/3 %- .* %- loss: "), "one line: " .. out.text)
  end)
end)

describe("train callbacks", function()
  it("EarlyStopping stops after `patience` epochs without improvement and restores the best weights", function()
    local model, opt, loader = setup()
    local seen = {}
    local keep = train.LambdaCallback{on_epoch_end = function(epoch) seen[epoch] = weights(model) end}
    local stop = train.EarlyStopping{monitor = "score", patience = 2, mode = "min", restore_best = true}
    local out = fake_out()
    local h = train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, epochs = 10, out = out,
                        callbacks = {script("score", {5, 4, 4.5, 3, 3.5, 3.2, 1, 0}), keep, stop}}
    T.eq(#h.epoch, 6, "stopped after epoch 6")
    T.eq(T.show(h.score), T.show{5, 4, 4.5, 3, 3.5, 3.2}, "scripted values in history")
    T.eq(stop.best_epoch, 4)
    T.eq(stop.stopped_epoch, 6)
    same_weights(seen[4], weights(model))
    T.truthy(out.text:find("EarlyStopping: stopped after epoch 6", 1, true), "says why")
    -- without restore_best the last weights stay; min_delta makes small gains not count
    model, opt, loader = setup()
    stop = train.EarlyStopping{monitor = "score", mode = "min", patience = 1, min_delta = 0.5}
    h = train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, epochs = 10, verbose = false,
                  callbacks = {script("score", {5, 4.8, 4, 3.9}), keep, stop}}
    T.eq(#h.epoch, 2, "4.8 is not 0.5 better than 5")
    same_weights(seen[2], weights(model))
  end)

  it("EarlyStopping guesses max for accuracy and says when the monitored value is missing", function()
    T.eq(train.EarlyStopping{monitor = "val_accuracy"}.mode, "max")
    T.eq(train.EarlyStopping{}.mode, "min")
    local model, opt, loader = setup()
    T.errors(function()
      train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, verbose = false,
                callbacks = {train.EarlyStopping{}}}
    end, "train.EarlyStopping: monitor 'val_loss' is not in the epoch's logs, which have loss (val_ values need")
  end)

  it("ModelCheckpoint writes only when the monitored value improves", function()
    local model, opt, loader = setup()
    local path = tmpfile(".safetensors")
    local seen, on_disk = {}, {}
    local check = train.LambdaCallback{on_epoch_end = function(epoch)
      seen[epoch] = weights(model)
      local _, meta = lunet.load(path)
      on_disk[epoch] = tonumber(meta.epoch)
    end}
    local ckpt = train.ModelCheckpoint{path = path, monitor = "score", mode = "min"}
    train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, epochs = 4, verbose = false,
              callbacks = {script("score", {3, 2, 2.5, 1}), ckpt, check}}
    T.eq(T.show(on_disk), T.show{1, 2, 2, 4}, "epoch in the file after each epoch")
    local t, meta = lunet.load(path)
    same_weights(seen[4], t)
    T.eq(meta.monitor, "score")
    T.eq(tonumber(meta.score), 1)
    T.eq(ckpt.last_saved, path)
    -- save_best_only = false saves every epoch
    ckpt = train.ModelCheckpoint{path = path, monitor = "score", mode = "min", save_best_only = false}
    train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, epochs = 3, verbose = false,
              callbacks = {script("score", {3, 4, 5}), ckpt, check}}
    T.eq(T.show(on_disk), T.show{1, 2, 3, 4}, "every epoch (the 4th is left from before)")
    os.remove(path)
  end)

  it("LRScheduler steps once per epoch; ReduceLROnPlateau gets the monitored value", function()
    local model, opt, loader = setup()
    local lrs = {}
    local record = train.LambdaCallback{on_epoch_begin = function(epoch, ctx) lrs[epoch] = ctx.optimizer.param_groups[1].lr end}
    local sched = optim.lr_scheduler.StepLR(opt, {step_size = 1, gamma = 0.5})
    train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, epochs = 3, verbose = false,
              callbacks = {record, train.LRScheduler(sched)}}
    T.eq(T.show(lrs), T.show{0.5, 0.25, 0.125}, "lr at each epoch's start (4 batches per epoch)")
    T.eq(opt.param_groups[1].lr, 0.0625)
    model, opt, loader = setup()
    local plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, {patience = 0, factor = 0.5})
    train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, epochs = 4, verbose = false,
              callbacks = {script("score", {1, 0.5, 2, 3}), train.LRScheduler(plateau, {monitor = "score"})}}
    T.eq(opt.param_groups[1].lr, 0.125, "halved after epochs 3 and 4")
  end)

  it("plain tables get the hooks as methods; returning 'stop' ends training after the epoch", function()
    local model, opt, loader = setup()
    local calls = {}
    local cb = {name = "mine"}
    function cb:on_train_begin(ctx) calls[#calls + 1] = self.name .. " begin " .. ctx.epochs end
    function cb:on_batch_end(step, logs)
      if step == 2 then calls[#calls + 1] = "batch " .. step .. (logs.loss > 0 and " loss" or "") end
    end
    function cb:on_epoch_end(epoch) calls[#calls + 1] = "epoch " .. epoch; if epoch == 2 then return "stop" end end
    function cb:on_train_end(ctx) calls[#calls + 1] = "end " .. #ctx.history.epoch end
    local h = train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, epochs = 5,
                        verbose = false, callbacks = {cb}}
    T.eq(#h.epoch, 2)
    T.eq(table.concat(calls, ", "), "mine begin 5, batch 2 loss, epoch 1, batch 2 loss, epoch 2, end 2")
    -- stopping in a batch ends the epoch early, still with its epoch end
    local steps = 0
    h = train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, epochs = 5, verbose = false,
                  callbacks = {train.LambdaCallback{on_batch_end = function(step, _, ctx)
                    steps = steps + 1
                    if step == 3 then ctx.stop_training = true end
                  end}}}
    T.eq(steps, 3, "batches run")
    T.eq(#h.epoch, 1)
  end)
end)

describe("train.fit and NaN", function()
  it("stops with a message naming the epoch, step and checkpoint, which stays intact", function()
    local model, opt, loader = setup()
    local path = tmpfile(".safetensors")
    local calls, after_epoch1 = 0, nil
    local function loss(o, t)
      calls = calls + 1
      local l = F.cross_entropy(o, t)
      if calls == 4 + 3 then return l * (0 / 0) end        -- epoch 2, step 3
      return l
    end
    local keep = train.LambdaCallback{on_epoch_end = function(epoch) if epoch == 1 then after_epoch1 = weights(model) end end}
    local before
    local spy = train.LambdaCallback{on_batch_end = function() before = weights(model) end}
    local out = fake_out()
    T.errors(function()
      train.fit{model = model, optimizer = opt, loss = loss, train = loader, epochs = 3, out = out,
                callbacks = {train.ModelCheckpoint{path = path, monitor = "loss"}, keep, spy}}
    end, "train.fit: the loss became nan at epoch 2, step 3 (the last good checkpoint is " .. path .. ")")
    local t, meta = lunet.load(path)
    T.eq(meta.epoch, "1")
    same_weights(after_epoch1, t)
    same_weights(before, weights(model))   -- no step was taken with the NaN
    T.truthy(out.text:find("Epoch 2/3  3/4 %- .*loss: nan\n$"), "the epoch's line ends the output: " .. out.text)
    os.remove(path)
  end)

  it("marks the script's run failed", function()
    local db, s = tmpfile(".db"), tmpfile(".lua")
    local f = assert(io.open(s, "w"))
    f:write([[
local nn, F = lunet.nn, lunet.nn.F
local x, y = lunet.randn(8, 2), lunet.tensor({1, 2, 1, 2, 1, 2, 1, 2}, {dtype = "int64"})
local model = nn.Sequential{nn.Linear(2, 2)}
lunet.train.fit{model = model, optimizer = lunet.optim.SGD(model:parameters(), {lr = 0.1}),
  loss = function(o, t) return F.cross_entropy(o, t) / 0 end, verbose = false,
  train = lunet.data.DataLoader(lunet.data.TensorDataset(x, y), {batch_size = 4})}
]])
    f:close()
    local p = io.popen(("LUNET_NO_RUN= LUNET_DB=%s %s %s 2>&1; echo \"exit=$?\""):format(db, exe, s))
    local text = p:read("a")
    p:close()
    T.truthy(text:find("exit=1\n$"), text)
    local h = R.open(db, {readonly = true})
    local run = h:query("SELECT status, error FROM runs")[1]
    h:close()
    T.eq(run.status, "failed")
    T.truthy(run.error:find("the loss became inf at epoch 1, step 1 (no checkpoint was saved)", 1, true), run.error)
    for _, suffix in ipairs{"", "-wal", "-shm"} do os.remove(db .. suffix) end
    os.remove(s)
  end)
end)

describe("train.fit with a run", function()
  it("logs the epoch's metrics (train_ and val_) and the batch loss every k steps", function()
    local db = tmpfile(".db")
    local model, opt, loader = setup()
    local run = lunet.runs.start{db = db, name = "fit-spec"}
    local h = train.fit{model = model, optimizer = opt, loss = F.cross_entropy, train = loader, val = loader,
                        epochs = 2, metrics = {"accuracy"}, run = run, log_every = 3, verbose = false}
    run:finish()
    local r = R.open(db, {readonly = true})
    local function series(key)
      local rows = r:query([[SELECT m.step, m.value FROM metrics m JOIN metric_keys k ON k.id = m.key_id
                             WHERE k.name = ?1 ORDER BY m.step]], {key})
      local steps, values = {}, {}
      for i, row in ipairs(rows) do steps[i], values[i] = row.step, row.value end
      return steps, values
    end
    for _, pair in ipairs{{"train_loss", "loss"}, {"train_accuracy", "accuracy"}, {"val_loss", "val_loss"},
                          {"val_accuracy", "val_accuracy"}} do
      local steps, values = series(pair[1])
      T.eq(T.show(steps), "{1, 2}", pair[1] .. " steps")
      for i = 1, 2 do T.near(values[i], h[pair[2]][i], 1e-12, pair[1]) end
    end
    local steps = series("batch_loss")
    T.eq(T.show(steps), "{3, 6}", "batch_loss every 3 of 8 steps")
    r:close()
    for _, suffix in ipairs{"", "-wal", "-shm"} do os.remove(db .. suffix) end
  end)
end)

describe("train.Progress", function()
  it("redraws a terminal line with \\r at most every interval and ends with a newline", function()
    local now = 0
    local out = fake_out()
    local p = train.Progress{total = 10, title = "Epoch 1/2", out = out, tty = true, width = 140,
                             clock = function() return now end}
    for step = 1, 10 do
      now = step * 0.04
      p:update(step, {loss = 1 / step, accuracy = step / 10})
    end
    p:finish({val_loss = 0.25})
    local _, draws = out.text:gsub("\r", "")
    T.eq(draws, 5, "drawn at steps 1, 4, 7, 10 and at finish")
    T.eq(out.text:sub(-1), "\n")
    T.eq(select(2, out.text:gsub("\n", "")), 1, "one newline")
    local frames = {}
    for frame in out.text:gmatch("\r([^\r]*)") do frames[#frames + 1] = frame end
    T.truthy(frames[1]:find("^Epoch 1/2   1/10 %[=*>%.+%] ETA: ") , frames[1])
    T.eq(frames[5], "Epoch 1/2  10/10 [==============================] 0.4s 40.0ms/step - loss: 0.1000"
                    .. " - accuracy: 1.0000 - val_loss: 0.2500\n")
    for _, frame in ipairs(frames) do T.truthy(#frame:gsub("%s+$", "") < 140, "fits the width: " .. frame) end
  end)

  it("on a narrow terminal cuts the frames being redrawn and drops the bar from the final line", function()
    local now = 0
    local out = fake_out()
    local p = train.Progress{total = 100, title = "Epoch 10/10", out = out, tty = true, width = 60,
                             clock = function() return now end}
    local values = {loss = 0.5, accuracy = 0.5, top5 = 0.9}
    now = 0.5
    p:update(50, values)
    now = 1
    p:update(100)
    p:finish({val_loss = 0.25, val_accuracy = 0.75})
    local frames = {}
    for frame in out.text:gmatch("\r([^\r]*)") do frames[#frames + 1] = frame end
    T.eq(#frames[1], 59, "cut to the width - 1")
    T.truthy(frames[1]:find("^Epoch 10/10   50/100 %[====>%.%.%.%.%.%] ETA: 0%.5s %- loss"), frames[1])
    T.eq(#frames, 3, "frames")
    T.eq(frames[3], "Epoch 10/10  100/100 1.0s 10.0ms/step - loss: 0.5000 - accuracy: 0.5000 - top5: 0.9000"
                    .. " - val_loss: 0.2500 - val_accuracy: 0.7500\n")
  end)

  it("in plain mode writes nothing until finish, then one line", function()
    local now = 0
    local out = fake_out()
    local p = train.Progress{total = 4, out = out, clock = function() return now end}
    for step = 1, 4 do now = step; p:update(step, {loss = 0.5}) end
    T.eq(out.text, "", "nothing before finish")
    p:finish()
    T.eq(out.text, "4/4 - 4.0s 1.00s/step - loss: 0.5000\n")
  end)
end)

describe("train option checks", function()
  it("raises on unknown options, metrics and hooks, naming them", function()
    local model, opt, loader = setup()
    local base = {model = model, optimizer = opt, loss = F.cross_entropy, train = loader, verbose = false}
    local function with(k, v)
      local o = {}
      for a, b in pairs(base) do o[a] = b end
      o[k] = v
      return o
    end
    T.errors(function() train.fit(with("epoch", 3)) end, "train.fit: unknown option 'epoch'")
    T.errors(function() train.fit(with("metrics", {"acc"})) end, "train.fit: unknown metric 'acc' (by name: accuracy")
    T.errors(function() train.fit(with("metrics", {function() end})) end, "train.fit: metrics[1] must be a metric name")
    T.errors(function() train.fit(with("callbacks", {{on_epoch_ends = function() end}})) end,
             "train.fit: callbacks[1] has an unknown hook 'on_epoch_ends'")
    T.errors(function() train.fit(with("epochs", 0)) end, "train.fit: epochs must be >= 1, got 0")
    T.errors(function() train.fit(with("train", {})) end, "train.fit: train must be a data loader")
    T.errors(function() train.fit(with("model", nil)) end, "train.fit: model must be an nn.Module, got nothing")
    T.errors(function() train.evaluate{model = model, data = loader, lossfn = F.cross_entropy} end,
             "train.evaluate: unknown option 'lossfn'")
    T.errors(function() train.EarlyStopping{patience = -1} end, "train.EarlyStopping: patience must be >= 0")
    T.errors(function() train.ModelCheckpoint{mode = "up"} end, 'train.ModelCheckpoint: mode must be "auto", "min" or "max"')
    T.errors(function() train.LRScheduler(3) end, "train.LRScheduler: expected a scheduler")
    T.errors(function() train.Progress{total = 3, colour = true} end, "train.Progress: unknown option 'colour'")
  end)
end)
