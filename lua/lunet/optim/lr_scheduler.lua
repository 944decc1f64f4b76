-- lunet.optim.lr_scheduler: learning-rate schedules, as torch.optim.lr_scheduler
-- in PyTorch 1.13. Each scheduler sets param_groups[i].lr of its optimizer.
--
-- The epoch-based ones (StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR,
-- LinearLR, LambdaLR) compute the next lr from the current one (PyTorch's
-- "chainable" form), so two of them on one optimizer compose, for example a
-- LinearLR warm-up with an ExponentialLR decay. Creating one takes its first
-- step (epoch 0), as in PyTorch; call sched:step() after each epoch's
-- opt:step(). ReduceLROnPlateau instead reads a metric: sched:step(val_loss).
local core = require "lunet.core"

local lr_scheduler = {}

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

-- options: the user's table checked against the known names and defaults
-- (lr_scheduler.REQUIRED marks one that must be given)
local REQUIRED = {}

local function options(name, opts, defaults)
  if opts ~= nil and type(opts) ~= "table" then error(name .. ": options must be a table, got " .. type(opts), 0) end
  opts = opts or {}
  for k in pairs(opts) do
    if defaults[k] == nil then error(string.format("%s: unknown option '%s'", name, tostring(k)), 0) end
  end
  local o = {}
  for k, v in pairs(defaults) do
    if opts[k] ~= nil then o[k] = opts[k]
    elseif v == REQUIRED then error(string.format("%s: option %s is required", name, k), 0)
    else o[k] = v end
  end
  return o
end

local function check_number(name, key, v, ok, what)
  if type(v) ~= "number" or v ~= v or not ok(v) then
    error(string.format("%s: %s must be %s, got %s", name, key, what, tostring(v)), 0)
  end
end

local function check_optimizer(name, opt)
  if type(opt) ~= "table" or type(opt.param_groups) ~= "table" then
    error(name .. ": the first argument must be an optimizer, got " .. type(opt), 0)
  end
end

-- ---- the chainable schedulers ------------------------------------------------------

local Scheduler = {}
Scheduler.__index = Scheduler

-- class with get_lr(self) -> new lr of each group, and init(self, o) reading
-- the checked options o
local function define(name, defaults, init, get_lr)
  local class = setmetatable({name = name, get_lr = get_lr}, {__index = Scheduler})
  class.__index = class
  defaults.last_epoch = -1
  return function(opt, opts)
    check_optimizer(name, opt)
    local o = options(name, opts, defaults)
    check_number(name, "last_epoch", o.last_epoch, function(v) return math.tointeger(v) and v >= -1 end,
      "an integer >= -1")
    local self = setmetatable({optimizer = opt}, class)
    init(self, o)
    if o.last_epoch == -1 then
      for _, group in ipairs(opt.param_groups) do
        if group.initial_lr == nil then group.initial_lr = group.lr end
      end
    else -- resuming: the groups must remember where they started
      for i, group in ipairs(opt.param_groups) do
        if group.initial_lr == nil then
          error(string.format("%s: resuming at last_epoch = %d needs initial_lr in parameter group %d "
            .. "(load the optimizer's state first)", name, o.last_epoch, i), 0)
        end
      end
    end
    self.base_lrs = {}
    for i, group in ipairs(opt.param_groups) do self.base_lrs[i] = group.initial_lr end
    self.last_epoch = math.tointeger(o.last_epoch)
    self._step_count = 0
    self:step()
    return self
  end
end

-- Advances one epoch and sets each group's lr.
function Scheduler:step(...)
  if select("#", ...) > 0 then error(self.name .. ": step takes no epoch (call it once per epoch)", 0) end
  self._step_count = self._step_count + 1
  self.last_epoch = self.last_epoch + 1
  local values = self:get_lr()
  self._last_lr = {}
  for i, group in ipairs(self.optimizer.param_groups) do
    group.lr = values[i]
    self._last_lr[i] = values[i]
  end
end

-- the lr of each group after the last step, as a new table
function Scheduler:get_last_lr() return copy(self._last_lr) end

-- every field but the optimizer and LambdaLR's functions (PyTorch's state_dict)
function Scheduler:state_dict()
  local sd = {}
  for k, v in pairs(self) do
    if k ~= "optimizer" and k ~= "_lambdas" then sd[k] = copy(v) end
  end
  return sd
end

function Scheduler:load_state_dict(sd)
  if type(sd) ~= "table" then error(self.name .. ": load_state_dict expects a table, got " .. type(sd), 0) end
  for k, v in pairs(sd) do
    if k ~= "optimizer" and k ~= "_lambdas" then self[k] = copy(v) end
  end
end

function Scheduler:__tostring()
  return string.format("%s(last_epoch = %d, lr = {%s})", self.name, self.last_epoch,
    table.concat(self._last_lr or {}, ", "))
end

local function current(self)
  local lrs = {}
  for i, group in ipairs(self.optimizer.param_groups) do lrs[i] = group.lr end
  return lrs
end

local function scaled(self, factor)
  local lrs = {}
  for i, group in ipairs(self.optimizer.param_groups) do lrs[i] = group.lr * factor end
  return lrs
end

local positive_int = function(v) return math.tointeger(v) and v > 0 end

-- lr * gamma every step_size epochs
lr_scheduler.StepLR = define("StepLR", {step_size = REQUIRED, gamma = 0.1},
  function(self, o)
    check_number("StepLR", "step_size", o.step_size, positive_int, "an integer > 0")
    check_number("StepLR", "gamma", o.gamma, function() return true end, "a number")
    self.step_size, self.gamma = math.tointeger(o.step_size), o.gamma
  end,
  function(self)
    if self.last_epoch == 0 or self.last_epoch % self.step_size ~= 0 then return current(self) end
    return scaled(self, self.gamma)
  end)

-- lr * gamma at each epoch listed in milestones (listed twice: gamma^2)
lr_scheduler.MultiStepLR = define("MultiStepLR", {milestones = REQUIRED, gamma = 0.1},
  function(self, o)
    if type(o.milestones) ~= "table" then
      error("MultiStepLR: milestones must be an array of epochs, got " .. type(o.milestones), 0)
    end
    self.milestones = {}
    for i, m in ipairs(o.milestones) do
      check_number("MultiStepLR", "milestones[" .. i .. "]", m, positive_int, "an integer > 0")
      self.milestones[i] = math.tointeger(m)
    end
    check_number("MultiStepLR", "gamma", o.gamma, function() return true end, "a number")
    self.gamma = o.gamma
  end,
  function(self)
    local times = 0
    for _, m in ipairs(self.milestones) do if m == self.last_epoch then times = times + 1 end end
    if times == 0 then return current(self) end
    return scaled(self, self.gamma ^ times)
  end)

-- lr * gamma every epoch
lr_scheduler.ExponentialLR = define("ExponentialLR", {gamma = REQUIRED},
  function(self, o)
    check_number("ExponentialLR", "gamma", o.gamma, function() return true end, "a number")
    self.gamma = o.gamma
  end,
  function(self)
    if self.last_epoch == 0 then return current(self) end
    return scaled(self, self.gamma)
  end)

-- eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2, by PyTorch's recursion
lr_scheduler.CosineAnnealingLR = define("CosineAnnealingLR", {T_max = REQUIRED, eta_min = 0},
  function(self, o)
    check_number("CosineAnnealingLR", "T_max", o.T_max, function(v) return v > 0 end, "a number > 0")
    check_number("CosineAnnealingLR", "eta_min", o.eta_min, function() return true end, "a number")
    self.T_max, self.eta_min = o.T_max, o.eta_min
  end,
  function(self)
    local e, T, eta_min, groups = self.last_epoch, self.T_max, self.eta_min, self.optimizer.param_groups
    local lrs = {}
    for i, group in ipairs(groups) do
      local base = self.base_lrs[i]
      if e == 0 then
        lrs[i] = group.lr
      elseif self._step_count == 1 and e > 0 then -- resumed: the closed form
        lrs[i] = eta_min + (base - eta_min) * (1 + math.cos(e * math.pi / T)) / 2
      elseif (e - 1 - T) % (2 * T) == 0 then
        lrs[i] = group.lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
      else
        lrs[i] = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
          * (group.lr - eta_min) + eta_min
      end
    end
    return lrs
  end)

-- linear warm-up (or decay): the factor goes from start_factor to end_factor
-- over total_iters epochs, then stays
lr_scheduler.LinearLR = define("LinearLR", {start_factor = 1 / 3, end_factor = 1.0, total_iters = 5},
  function(self, o)
    check_number("LinearLR", "start_factor", o.start_factor, function(v) return v > 0 and v <= 1 end, "in (0, 1]")
    check_number("LinearLR", "end_factor", o.end_factor, function(v) return v >= 0 and v <= 1 end, "in [0, 1]")
    check_number("LinearLR", "total_iters", o.total_iters, positive_int, "an integer > 0")
    self.start_factor, self.end_factor, self.total_iters = o.start_factor, o.end_factor, math.tointeger(o.total_iters)
  end,
  function(self)
    local e, s, f, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
    if e == 0 then return scaled(self, s) end
    if e > n then return current(self) end
    return scaled(self, 1 + (f - s) / (n * s + (e - 1) * (f - s)))
  end)

-- base_lr * lr_lambda(epoch), one function for all groups or one per group
lr_scheduler.LambdaLR = define("LambdaLR", {lr_lambda = REQUIRED},
  function(self, o)
    local fns = o.lr_lambda
    if type(fns) == "function" then
      fns = {}
      for i = 1, #self.optimizer.param_groups do fns[i] = o.lr_lambda end
    elseif type(fns) ~= "table" or #fns ~= #self.optimizer.param_groups then
      error(string.format("LambdaLR: lr_lambda must be a function or an array of %d functions (one per group)",
        #self.optimizer.param_groups), 0)
    end
    for i, fn in ipairs(fns) do
      if type(fn) ~= "function" then error("LambdaLR: lr_lambda[" .. i .. "] is a " .. type(fn) .. ", not a function", 0) end
    end
    self._lambdas = fns
  end,
  function(self)
    local lrs = {}
    for i in ipairs(self.optimizer.param_groups) do
      local f = self._lambdas[i](self.last_epoch)
      if type(f) ~= "number" then error("LambdaLR: lr_lambda[" .. i .. "] returned a " .. type(f) .. ", not a number", 0) end
      lrs[i] = self.base_lrs[i] * f
    end
    return lrs
  end)

-- ---- ReduceLROnPlateau -------------------------------------------------------------------

local Plateau = {name = "ReduceLROnPlateau"}
Plateau.__index = Plateau
Plateau.get_last_lr = Scheduler.get_last_lr
Plateau.state_dict = Scheduler.state_dict
Plateau.__tostring = Scheduler.__tostring

-- lr * factor (not below min_lr) once the metric has not improved for more
-- than `patience` steps; then `cooldown` steps during which nothing counts
function lr_scheduler.ReduceLROnPlateau(opt, opts)
  local name = "ReduceLROnPlateau"
  check_optimizer(name, opt)
  local o = options(name, opts, {mode = "min", factor = 0.1, patience = 10, threshold = 1e-4,
                                 threshold_mode = "rel", cooldown = 0, min_lr = 0, eps = 1e-8})
  if o.mode ~= "min" and o.mode ~= "max" then error(name .. ": mode must be 'min' or 'max', got " .. tostring(o.mode), 0) end
  if o.threshold_mode ~= "rel" and o.threshold_mode ~= "abs" then
    error(name .. ": threshold_mode must be 'rel' or 'abs', got " .. tostring(o.threshold_mode), 0)
  end
  check_number(name, "factor", o.factor, function(v) return v >= 0 and v < 1 end, "in [0, 1)")
  check_number(name, "patience", o.patience, function(v) return math.tointeger(v) and v >= 0 end, "an integer >= 0")
  check_number(name, "cooldown", o.cooldown, function(v) return math.tointeger(v) and v >= 0 end, "an integer >= 0")
  check_number(name, "threshold", o.threshold, function(v) return v >= 0 end, "a number >= 0")
  check_number(name, "eps", o.eps, function(v) return v >= 0 end, "a number >= 0")
  local min_lrs = {}
  if type(o.min_lr) == "table" then
    if #o.min_lr ~= #opt.param_groups then
      error(string.format("%s: min_lr has %d entries, the optimizer has %d parameter groups", name, #o.min_lr,
        #opt.param_groups), 0)
    end
    for i, v in ipairs(o.min_lr) do
      check_number(name, "min_lr[" .. i .. "]", v, function(x) return x >= 0 end, "a number >= 0")
      min_lrs[i] = v
    end
  else
    check_number(name, "min_lr", o.min_lr, function(x) return x >= 0 end, "a number >= 0")
    for i = 1, #opt.param_groups do min_lrs[i] = o.min_lr end
  end
  local self = setmetatable({optimizer = opt, mode = o.mode, factor = o.factor, patience = o.patience,
    threshold = o.threshold, threshold_mode = o.threshold_mode, cooldown = o.cooldown, min_lrs = min_lrs,
    eps = o.eps, last_epoch = 0, cooldown_counter = 0, num_bad_epochs = 0,
    best = o.mode == "min" and math.huge or -math.huge}, Plateau)
  self._last_lr = current(self)
  return self
end

function Plateau:is_better(a, best)
  local t = self.threshold
  if self.mode == "min" then
    return self.threshold_mode == "rel" and a < best * (1 - t) or self.threshold_mode == "abs" and a < best - t
  end
  return self.threshold_mode == "rel" and a > best * (t + 1) or self.threshold_mode == "abs" and a > best + t
end

-- one epoch's metric: a number or a one-element tensor
function Plateau:step(metric)
  if core.is_tensor(metric) then metric = metric:item() end
  if type(metric) ~= "number" then
    error("ReduceLROnPlateau: step expects the metric (a number or a one-element tensor), got " .. type(metric), 0)
  end
  self.last_epoch = self.last_epoch + 1
  if self:is_better(metric, self.best) then
    self.best = metric
    self.num_bad_epochs = 0
  else
    self.num_bad_epochs = self.num_bad_epochs + 1
  end
  if self.cooldown_counter > 0 then
    self.cooldown_counter = self.cooldown_counter - 1
    self.num_bad_epochs = 0 -- bad epochs in cooldown do not count
  end
  if self.num_bad_epochs > self.patience then
    for i, group in ipairs(self.optimizer.param_groups) do
      local old = group.lr
      local new = math.max(old * self.factor, self.min_lrs[i])
      if old - new > self.eps then group.lr = new end
    end
    self.cooldown_counter = self.cooldown
    self.num_bad_epochs = 0
  end
  self._last_lr = current(self)
end

function Plateau:load_state_dict(sd)
  Scheduler.load_state_dict(self, sd)
end

return lr_scheduler
