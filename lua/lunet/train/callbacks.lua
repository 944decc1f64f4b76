-- lunet.train callbacks: objects whose hooks train.fit calls as methods,
-- cb:on_epoch_end(epoch, logs, ctx) and so on (see docs/train.md). A hook
-- returning "stop", or setting ctx.stop_training = true, ends training after
-- the current epoch. Any table with some of these hooks is a callback.
local args = require "lunet.nn.args"
local goal = require("lunet.runs.report").goal

local callbacks = {}

-- the hooks fit calls, with their arguments after self
callbacks.HOOKS = {
  on_train_begin = "ctx", on_epoch_begin = "epoch, ctx", on_batch_end = "step, logs, ctx",
  on_epoch_end = "epoch, logs, ctx", on_train_end = "ctx",
}

local function check_mode(fname, mode, monitor)
  if type(monitor) ~= "string" then error(string.format("%s: monitor must be a metric name, got %s", fname, tostring(monitor)), 3) end
  if mode == "auto" then return goal(monitor) end -- "max" for accuracy-like names, as the run history guesses
  if mode ~= "min" and mode ~= "max" then
    error(string.format('%s: mode must be "auto", "min" or "max", got %s', fname, tostring(mode)), 3)
  end
  return mode
end

-- the monitored value of an epoch's logs, or an error saying what is there
local function monitored(fname, logs, monitor)
  local v = logs[monitor]
  if type(v) == "number" then return v end
  local have = {}
  for k in pairs(logs) do have[#have + 1] = k end
  table.sort(have)
  local hint = monitor:sub(1, 4) == "val_" and " (val_ values need train.fit{val = loader})" or ""
  error(string.format("%s: monitor '%s' is not in the epoch's logs, which have %s%s", fname, monitor,
                      table.concat(have, ", "), hint), 0)
end

-- v beats best by more than min_delta in the mode's direction (NaN never does)
local function improves(mode, v, best, min_delta)
  if v ~= v then return false end
  if best == nil then return true end
  if mode == "min" then return v < best - min_delta end
  return v > best + min_delta
end

local function snapshot(model)
  local copy = {}
  for k, t in pairs(model:state_dict()) do copy[k] = t:clone() end
  return copy
end

-- ---- EarlyStopping ---------------------------------------------------------------

local EarlyStopping = {}
EarlyStopping.__index = EarlyStopping

--- train.EarlyStopping{monitor = "val_loss", patience = 3, mode = "auto",
-- min_delta = 0, restore_best = false}: stops when `monitor` has not improved
-- for `patience` epochs; restore_best puts back the best epoch's weights at the end
function callbacks.EarlyStopping(opts)
  local fname = "train.EarlyStopping"
  local o = args.options(fname, opts, {monitor = "val_loss", patience = 3, mode = "auto", min_delta = 0,
                                       restore_best = false}, 2)
  args.int(fname, "patience", o.patience, 0, 2)
  args.number(fname, "min_delta", o.min_delta, 0, nil, 2)
  local mode = check_mode(fname, o.mode, o.monitor)
  return setmetatable({monitor = o.monitor, patience = o.patience, mode = mode, min_delta = o.min_delta,
                       restore_best = o.restore_best and true or false}, EarlyStopping)
end

function EarlyStopping:on_train_begin()
  self.best, self.best_epoch, self.wait, self.stopped_epoch, self.best_weights = nil, nil, 0, nil, nil
end

function EarlyStopping:on_epoch_end(epoch, logs, ctx)
  local v = monitored("train.EarlyStopping", logs, self.monitor)
  if improves(self.mode, v, self.best, self.min_delta) then
    self.best, self.best_epoch, self.wait = v, epoch, 0
    if self.restore_best then self.best_weights = snapshot(ctx.model) end
    return
  end
  self.wait = self.wait + 1
  if self.wait >= self.patience then
    self.stopped_epoch = epoch
    ctx.say(string.format("EarlyStopping: stopped after epoch %d: %s has not improved for %d epochs (best %.4f at epoch %s)",
                          epoch, self.monitor, self.wait, self.best or 0 / 0, tostring(self.best_epoch)))
    return "stop"
  end
end

function EarlyStopping:on_train_end(ctx)
  if self.best_weights and self.best_epoch ~= ctx.epoch then
    ctx.model:load_state_dict(self.best_weights)
    ctx.say(string.format("EarlyStopping: restored the weights of epoch %d", self.best_epoch))
  end
end

-- ---- ModelCheckpoint -------------------------------------------------------------

local ModelCheckpoint = {}
ModelCheckpoint.__index = ModelCheckpoint

--- train.ModelCheckpoint{path = "best.safetensors", monitor = "val_loss",
-- mode = "auto", save_best_only = true}: saves model:state_dict() (atomically)
-- when `monitor` improves, or every epoch; with a run, the file is recorded
-- as an artifact when training ends
function callbacks.ModelCheckpoint(opts)
  local fname = "train.ModelCheckpoint"
  local o = args.options(fname, opts, {path = "best.safetensors", monitor = "val_loss", mode = "auto",
                                       save_best_only = true}, 2)
  if type(o.path) ~= "string" or o.path == "" then error(fname .. ": path must be a file name, got " .. tostring(o.path), 2) end
  local mode = check_mode(fname, o.mode, o.monitor)
  return setmetatable({path = o.path, monitor = o.monitor, mode = mode, save_best_only = o.save_best_only and true or false},
                      ModelCheckpoint)
end

function ModelCheckpoint:on_train_begin() self.best, self.best_epoch, self.last_saved = nil, nil, nil end

function ModelCheckpoint:on_epoch_end(epoch, logs, ctx)
  local v = logs[self.monitor]
  if self.save_best_only then
    v = monitored("train.ModelCheckpoint", logs, self.monitor)
    if not improves(self.mode, v, self.best, 0) then return end
    self.best, self.best_epoch = v, epoch
  end
  local meta = {epoch = tostring(epoch)}
  if type(v) == "number" then meta.monitor, meta[self.monitor] = self.monitor, string.format("%.17g", v) end
  ctx.model:save(self.path, meta)
  self.last_saved = self.path
end

function ModelCheckpoint:on_train_end(ctx)
  if self.last_saved and ctx.run and ctx.run.artifact then ctx.run:artifact(self.last_saved, "checkpoint") end
end

-- ---- LRScheduler -----------------------------------------------------------------

local LRScheduler = {}
LRScheduler.__index = LRScheduler

--- train.LRScheduler(scheduler [, {monitor = "val_loss"}]): scheduler:step()
-- after every epoch; a ReduceLROnPlateau gets the monitored value
function callbacks.LRScheduler(scheduler, opts)
  local fname = "train.LRScheduler"
  if type(scheduler) ~= "table" or type(scheduler.step) ~= "function" then
    error(fname .. ": expected a scheduler from lunet.optim.lr_scheduler, got " .. type(scheduler), 2)
  end
  local o = args.options(fname, opts, {monitor = "val_loss"}, 2)
  return setmetatable({scheduler = scheduler, monitor = o.monitor,
                       plateau = scheduler.name == "ReduceLROnPlateau"}, LRScheduler)
end

function LRScheduler:on_epoch_end(_, logs)
  if self.plateau then
    self.scheduler:step(monitored("train.LRScheduler", logs, self.monitor))
  else
    self.scheduler:step()
  end
end

-- ---- LambdaCallback --------------------------------------------------------------

--- train.LambdaCallback{on_epoch_end = function(epoch, logs, ctx) ... end, ...}:
-- a callback from plain functions (called without self)
function callbacks.LambdaCallback(fns)
  local fname = "train.LambdaCallback"
  args.opts(fname, fns, callbacks.HOOKS, 2)
  local cb = {}
  for hook, fn in pairs(fns or {}) do
    if type(fn) ~= "function" then error(string.format("%s: %s must be a function, got %s", fname, hook, type(fn)), 2) end
    cb[hook] = function(_, ...) return fn(...) end
  end
  return cb
end

return callbacks
