-- lunet.train: the Keras-like training loop for the common case (fit), the
-- matching evaluation (evaluate), callbacks and the progress bar. fit is the
-- loop of examples/mlp.lua plus hooks; custom loops (GAN, VAE) stay plain Lua
-- and can use train.Progress. See docs/train.md.
local core = require "lunet.core"
local args = require "lunet.nn.args"
local nn_metrics = require "lunet.nn.metrics"
local callbacks = require "lunet.train.callbacks"
local Progress = require "lunet.train.progress"

local train = {
  Progress = Progress,
  EarlyStopping = callbacks.EarlyStopping,
  ModelCheckpoint = callbacks.ModelCheckpoint,
  LRScheduler = callbacks.LRScheduler,
  LambdaCallback = callbacks.LambdaCallback,
}

-- ---- checks ----------------------------------------------------------------------

-- raises at the caller of fit/evaluate (level 3: need <- fit <- user; 4 through a helper)
local function need(fname, name, ok, expected, v, level)
  -- (a missing option reads as false, its default)
  if not ok then
    error(string.format("%s: %s must be %s, got %s", fname, name, expected, v == false and "nothing" or type(v)), level or 3)
  end
  return v
end

local function check_model(fname, m)
  return need(fname, "model", type(m) == "table" and type(m.eval) == "function", "an nn.Module", m, 4)
end

local function check_loader(fname, name, l)
  return need(fname, name, type(l) == "table" and type(l.batches) == "function",
              "a data loader (lunet.data.DataLoader, with a batches method)", l, 4)
end

-- the nn.metrics functions usable by name: those taking (output, target)
local function named_metrics()
  local names = {}
  for k, f in pairs(nn_metrics) do
    if type(f) == "function" and debug.getinfo(f, "u").nparams == 2 then names[#names + 1] = k end
  end
  table.sort(names)
  return names
end

-- metrics = {"accuracy", top5 = fn} -> {{"accuracy", fn}, {"top5", fn}}:
-- names first in the order given, then the named functions by name
local function resolve_metrics(fname, list)
  need(fname, "metrics", type(list) == "table" and not core.is_tensor(list), "a table of metric names and name = function pairs", list)
  local out, keyed = {}, {}
  for k, m in pairs(list) do
    if math.type(k) == "integer" then
      if type(m) ~= "string" then
        error(string.format("%s: metrics[%d] must be a metric name (a function goes in as {name = fn}), got %s", fname, k, type(m)), 3)
      end
      local f = nn_metrics[m]
      if type(f) ~= "function" or debug.getinfo(f, "u").nparams ~= 2 then
        error(string.format("%s: unknown metric '%s' (by name: %s; or give {name = function(output, target) -> number})",
                            fname, m, table.concat(named_metrics(), ", ")), 3)
      end
      out[k] = {m, f}
    elseif type(k) == "string" and type(m) == "function" then
      keyed[#keyed + 1] = {k, m}
    else
      error(string.format("%s: metrics.%s must be a function(output, target) -> number, got %s", fname, tostring(k), type(m)), 3)
    end
  end
  table.sort(keyed, function(a, b) return a[1] < b[1] end)
  for _, m in ipairs(keyed) do out[#out + 1] = m end
  for _, m in ipairs(out) do
    if m[1] == "loss" or m[1]:sub(1, 4) == "val_" then error(string.format("%s: a metric may not be named '%s'", fname, m[1]), 3) end
  end
  return out
end

-- callbacks: tables whose on_* keys are known hooks (a misspelt hook raises)
local function check_callbacks(fname, list)
  need(fname, "callbacks", type(list) == "table", "an array of callbacks", list)
  for i, cb in ipairs(list) do
    if type(cb) ~= "table" then error(string.format("%s: callbacks[%d] must be a table of hooks, got %s", fname, i, type(cb)), 3) end
    for k, v in pairs(cb) do
      if type(k) == "string" and k:sub(1, 3) == "on_" and type(v) == "function" and not callbacks.HOOKS[k] then
        local hooks = {}
        for h in pairs(callbacks.HOOKS) do hooks[#hooks + 1] = h end
        table.sort(hooks)
        error(string.format("%s: callbacks[%d] has an unknown hook '%s' (hooks: %s)", fname, i, k, table.concat(hooks, ", ")), 3)
      end
    end
  end
  return list
end

-- ---- one pass over a loader ----------------------------------------------------------

-- a loss or metric value as a number
local function number(what, v)
  if core.is_tensor(v) then
    if v:numel() ~= 1 then error(string.format("train: %s returned a tensor of shape %s, expected one value", what, args.shape_str(v)), 0) end
    return v:item()
  end
  if type(v) ~= "number" then error(string.format("train: %s returned %s, expected a number or a one-element tensor", what, type(v)), 0) end
  return v
end

-- how many samples a batch holds, the weight of its values in the epoch's mean
local function batch_size(output, target)
  for _, t in ipairs{target, output} do
    if core.is_tensor(t) and t:dim() > 0 then return t:size(1) end
  end
  return 1
end

-- running means weighted by batch size
local function Means() return {sums = {}, n = 0} end

local function add(means, values, n)
  for k, v in pairs(values) do means.sums[k] = (means.sums[k] or 0) + v * n end
  means.n = means.n + n
end

local function current(means)
  local out = {}
  for k, s in pairs(means.sums) do out[k] = s / means.n end
  return out
end

local function metric_values(values, metrics, output, target)
  core.no_grad(function()
    for _, m in ipairs(metrics) do values[m[1]] = number("metric " .. m[1], m[2](output, target)) end
  end)
  return values
end

-- calls fn(step, ...batch fields) for each batch until it returns true
local function each_batch(loader, fn)
  local next_batch = loader:batches()
  local step = 0
  while true do
    local batch = table.pack(next_batch())
    if batch[1] == nil then return end
    step = step + 1
    if fn(step, table.unpack(batch, 1, batch.n)) then return end
  end
end

-- the number of batches, when the loader knows it
local function length(loader)
  local ok, n = pcall(function() return #loader end)
  return ok and math.type(n) == "integer" and n or nil
end

-- loss and metrics over a loader, in eval mode without recording gradients
local function measure(model, loss_fn, loader, metrics, forward, bar)
  local was_training = model.training
  model:eval()
  local means = Means()
  core.no_grad(function()
    each_batch(loader, function(i, ...)
      local output, target = forward(...)
      local values = loss_fn and {loss = number("loss", loss_fn(output, target))} or {}
      add(means, metric_values(values, metrics, output, target), batch_size(output, target))
      if bar then bar:update(i, current(means)) end
    end)
  end)
  model:train(was_training ~= false)
  return current(means)
end

-- ---- evaluate --------------------------------------------------------------------

local EVAL_DEFAULTS = {model = false, loss = false, data = false, metrics = {}, step = false, verbose = true, out = false}

--- train.evaluate{model =, loss =, data = loader, metrics = {...}, step =,
-- verbose = true, out = io.stdout} -> {loss = ..., accuracy = ...}: means over
-- the samples, in eval mode and without gradients
function train.evaluate(opts)
  local fname = "train.evaluate"
  local o = args.options(fname, opts, EVAL_DEFAULTS, 2)
  local model = check_model(fname, o.model)
  check_loader(fname, "data", o.data)
  if o.loss then need(fname, "loss", type(o.loss) == "function", "a function(output, target) -> loss", o.loss) end
  if o.step then need(fname, "step", type(o.step) == "function", "a function(...batch) -> output, target", o.step) end
  local metrics = resolve_metrics(fname, o.metrics)
  local forward = o.step or function(x, y) return model(x), y end
  local bar = o.verbose and Progress{total = length(o.data), title = "Evaluate", out = o.out or io.stdout} or nil
  local logs = measure(model, o.loss or nil, o.data, metrics, forward, bar)
  if bar then bar:finish(logs) end
  return logs
end

-- ---- fit -------------------------------------------------------------------------

local FIT_DEFAULTS = {model = false, optimizer = false, loss = false, train = false, val = false, epochs = 1,
                      metrics = {}, callbacks = {}, run = false, verbose = true, step = false, log_every = false,
                      out = false}

local function nonfinite(v) return v ~= v or v == math.huge or v == -math.huge end

--- train.fit{model =, optimizer =, loss = fn(output, target) -> scalar tensor,
-- train = loader, val = loader, epochs = 1, metrics = {...}, callbacks = {...},
-- run =, verbose = true, step = fn(...batch) -> output, target, log_every = k,
-- out = io.stdout} -> history {epoch = {1, 2, ...}, loss = {...}, val_loss = {...}, ...}
function train.fit(opts)
  local fname = "train.fit"
  local o = args.options(fname, opts, FIT_DEFAULTS, 2)
  local model = check_model(fname, o.model)
  local opt = need(fname, "optimizer", type(o.optimizer) == "table" and type(o.optimizer.step) == "function",
                   "an optimizer (lunet.optim)", o.optimizer)
  local loss_fn = need(fname, "loss", type(o.loss) == "function", "a function(output, target) -> scalar tensor", o.loss)
  check_loader(fname, "train", o.train)
  if o.val then check_loader(fname, "val", o.val) end
  args.int(fname, "epochs", o.epochs, 1, 2)
  if o.log_every then args.int(fname, "log_every", o.log_every, 1, 2) end
  if o.step then need(fname, "step", type(o.step) == "function", "a function(...batch) -> output, target", o.step) end
  if o.run then need(fname, "run", type(o.run) == "table" or type(o.run) == "userdata", "a run (lunet.runs.start)", o.run) end
  local metrics = resolve_metrics(fname, o.metrics)
  local cbs = check_callbacks(fname, o.callbacks)
  local out = o.out or io.stdout
  local forward = o.step or function(x, y) return model(x), y end
  local run = o.run or nil

  local history = {epoch = {}}
  local ctx = {model = model, optimizer = opt, run = run, epochs = o.epochs, history = history, epoch = 0,
               stop_training = false}
  function ctx.say(msg) if o.verbose then out:write(msg, "\n") end end
  local function call(hook, ...)
    for _, cb in ipairs(cbs) do
      local f = cb[hook]
      if f and f(cb, ...) == "stop" then ctx.stop_training = true end
    end
  end

  local total, global_step = length(o.train), 0
  call("on_train_begin", ctx)
  for epoch = 1, o.epochs do
    ctx.epoch = epoch
    call("on_epoch_begin", epoch, ctx)
    local bar = o.verbose and Progress{total = total, title = string.format("Epoch %d/%d", epoch, o.epochs), out = out} or nil
    local means = Means()
    model:train()
    each_batch(o.train, function(i, ...)
      local output, target = forward(...)
      local loss = loss_fn(output, target)
      local value = number("loss", loss)
      if nonfinite(value) then
        -- stop before the step spoils the weights; the checkpoint on disk is untouched
        local saved
        for _, cb in ipairs(cbs) do saved = cb.last_saved or saved end
        local msg = string.format("train.fit: the loss became %s at epoch %d, step %d (%s)",
          value ~= value and "nan" or (value > 0 and "inf" or "-inf"), epoch, i,
          saved and "the last good checkpoint is " .. saved or "no checkpoint was saved")
        if bar then bar:update(i, {loss = value}); bar:finish() end
        ctx.stop_training, ctx.error = true, msg
        call("on_train_end", ctx) -- (ModelCheckpoint records its file with the run here)
        -- the run ends failed with what it logged so far; a run fit was not given is the script's to end
        if run then run:finish("failed", 1, msg) end
        error(msg, 0)
      end
      opt:zero_grad()
      loss:backward()
      opt:step()
      local values = metric_values({loss = value}, metrics, output, target)
      add(means, values, batch_size(output, target))
      global_step = global_step + 1
      if run and o.log_every and global_step % o.log_every == 0 then run:log({batch_loss = value}, global_step) end
      if bar then bar:update(i, current(means)) end
      call("on_batch_end", i, values, ctx)
      return ctx.stop_training
    end)

    local logs = current(means)
    if o.val then
      for k, v in pairs(measure(model, loss_fn, o.val, metrics, forward)) do logs["val_" .. k] = v end
    end
    if bar then bar:finish(logs) end
    call("on_epoch_end", epoch, logs, ctx)
    history.epoch[#history.epoch + 1] = epoch
    for k, v in pairs(logs) do
      history[k] = history[k] or {}
      history[k][#history[k] + 1] = v
    end
    if run then
      local points = {}
      for k, v in pairs(logs) do points[k:sub(1, 4) == "val_" and k or "train_" .. k] = v end
      run:log(points, epoch)
    end
    if ctx.stop_training then break end
  end
  call("on_train_end", ctx)
  return history
end

train.parse_args = require("lunet.train.cli").parse_args

return train
