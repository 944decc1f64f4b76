-- lunet.optim.optimizer: what every optimizer shares. Parameter groups with
-- their own options, step (one fused C update per parameter), zero_grad,
-- state_dict / load_state_dict, and save / load of that state in a
-- safetensors file.
--
-- An optimizer class is made by Optimizer.define(spec):
--   spec.name        "Adam", used in every error message
--   spec.defaults    option -> default (Optimizer.REQUIRED: the caller must give it)
--   spec.check(c)    validates one group's options through the checker c
--   spec.required(g) the names of the state tensors a parameter of group g has
--                    once it has been stepped (load_state_dict checks them)
--   spec.optional    state tensors that may also be present
--   spec.has_step    the state counts steps in `step`
--   spec.update(p, grad, state, group) does one step of parameter p; state is
--                    its table ({} on the first step), kept between steps
--
-- Parameters are identified by their position in the flattened list of all
-- groups' parameters (1-based), as PyTorch's state_dict numbers them: opt.state[k]
-- is the state of the k-th parameter.
local core = require "lunet.core"
local codec = require "lunet.optim.codec"

local Optimizer = {}
Optimizer.__index = Optimizer
Optimizer.REQUIRED = setmetatable({}, {__tostring = function() return "<required>" end})

-- keys a parameter group may hold besides its options: the parameters, a
-- scheduler's starting lr, and a label for the user
local GROUP_EXTRAS = {params = true, initial_lr = true, name = true}

local function copy(v)
  if type(v) ~= "table" or v == Optimizer.REQUIRED then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

local function show(v)
  if type(v) == "table" then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = show(x) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  if v ~= v then return "nan" end
  return tostring(v)
end

-- ---- option checks ---------------------------------------------------------

-- A checker validates one group: c:number("lr", 0) raises
-- "Adam: lr must be a number >= 0, got -1 (parameter group 2)".
local Checker = {}
Checker.__index = Checker

function Checker:fail(msg)
  error(self.name .. ": " .. msg .. self.where, 0)
end

function Checker:number(key, lo, hi, hi_open)
  local v = self.group[key]
  local ok = type(v) == "number" and v == v and (lo == nil or v >= lo)
  if ok and hi then ok = hi_open and v < hi or (not hi_open and v <= hi) end
  if not ok then
    local range = lo and hi and string.format("in [%s, %s%s", lo, hi, hi_open and ")" or "]")
      or lo and (">= " .. lo) or "finite"
    self:fail(string.format("%s must be a number %s, got %s", key, range, show(v)))
  end
  return v
end

function Checker:boolean(key)
  local v = self.group[key]
  if type(v) ~= "boolean" then self:fail(string.format("%s must be true or false, got %s", key, show(v))) end
  return v
end

function Checker:betas(key)
  local v = self.group[key]
  if type(v) ~= "table" or #v ~= 2 then
    self:fail(string.format("%s must be a table of two numbers {beta1, beta2}, got %s", key, show(v)))
  end
  for i = 1, 2 do
    local b = v[i]
    if type(b) ~= "number" or not (b >= 0 and b < 1) then
      self:fail(string.format("%s[%d] must be a number in [0, 1), got %s", key, i, show(b)))
    end
  end
  return v
end

local function where_of(ngroups, index)
  return ngroups > 1 and string.format(" (parameter group %d)", index) or ""
end

function Optimizer:_check_group(group, index, ngroups)
  local c = {name = self._spec.name, group = group, where = where_of(ngroups or #self.param_groups, index)}
  self._spec.check(setmetatable(c, Checker))
end

-- ---- construction -----------------------------------------------------------

local function is_tensor(v) return core.is_tensor(v) end

-- A group from the user's table: its options over the defaults, its
-- parameters checked. Returns the group and the ids of its parameters; the
-- optimizer is not changed.
function Optimizer:_make_group(spec_group, gindex)
  local name = self._spec.name
  local group = {}
  for k, v in pairs(spec_group) do
    if type(k) ~= "string" then
      error(string.format("%s: parameter group %d has a %s key; options are named", name, gindex, type(k)), 0)
    end
    if self.defaults[k] == nil and not GROUP_EXTRAS[k] then
      error(string.format("%s: unknown option '%s' in parameter group %d", name, k, gindex), 0)
    end
    if k ~= "params" then group[k] = copy(v) end
  end
  for k, v in pairs(self.defaults) do
    if group[k] == nil then
      if v == Optimizer.REQUIRED then error(string.format("%s: option %s is required", name, k), 0) end
      group[k] = copy(v)
    end
  end
  local params = spec_group.params
  if is_tensor(params) then params = {params} end
  if type(params) ~= "table" then
    error(string.format("%s: parameter group %d needs params, an array of tensors (got %s)", name, gindex, type(params)), 0)
  end
  local n = 0
  for _ in pairs(params) do n = n + 1 end
  if n ~= #params then
    error(string.format("%s: params of parameter group %d must be an array (keys 1..n)", name, gindex), 0)
  end
  group.params = {}
  local ids = {}
  for i, p in ipairs(params) do
    local pos = self._count + i
    if not is_tensor(p) then
      error(string.format("%s: parameter %d is a %s, not a tensor", name, pos, type(p)), 0)
    end
    local dt = p:dtype()
    if dt ~= "float32" and dt ~= "float64" then
      error(string.format("%s: parameter %d is %s; only float32 and float64 tensors can be optimized", name, pos, dt), 0)
    end
    if not p.is_leaf then
      error(string.format("%s: parameter %d is not a leaf (it was computed by %s); optimize the tensors it came from",
        name, pos, p.grad_fn), 0)
    end
    local id = core._optim.id(p)
    local before = self._ids[id] or ids[id]
    if before then
      error(string.format("%s: parameter %d is parameter %d again; a tensor may appear only once", name, pos, before), 0)
    end
    ids[id] = pos
    group.params[i] = p
  end
  return group, ids
end

-- Adds a group (a table {params = {...}, option = value, ...}) whose missing
-- options take the optimizer's defaults, as torch's add_param_group.
-- (ngroups: how many groups the constructor is adding, for messages)
function Optimizer:add_param_group(spec_group, ngroups)
  if type(spec_group) ~= "table" or is_tensor(spec_group) then
    error(self._spec.name .. ": add_param_group expects a table {params = {...}, ...}", 0)
  end
  local index = #self.param_groups + 1
  local group, ids = self:_make_group(spec_group, index)
  self:_check_group(group, index, math.max(index, ngroups or 0))
  for id, pos in pairs(ids) do self._ids[id] = pos end
  self._count = self._count + #group.params
  self.param_groups[index] = group
end

local function new(class, params, opts)
  local spec = class._spec
  if opts ~= nil and (type(opts) ~= "table" or is_tensor(opts)) then
    error(string.format("%s: options must be a table, got %s", spec.name, type(opts)), 0)
  end
  opts = opts or {}
  for k in pairs(opts) do
    if spec.defaults[k] == nil then error(string.format("%s: unknown option '%s'", spec.name, tostring(k)), 0) end
  end
  local self = setmetatable({param_groups = {}, state = {}, _ids = {}, _count = 0}, class)
  self.defaults = {}
  for k, v in pairs(spec.defaults) do
    if opts[k] == nil then self.defaults[k] = copy(v) else self.defaults[k] = copy(opts[k]) end
  end
  if type(params) ~= "table" or is_tensor(params) then
    error(string.format("%s: params must be an array of tensors or of parameter groups, got %s",
      spec.name, is_tensor(params) and "a tensor (wrap it in a table: {t})" or type(params)), 0)
  end
  if #params == 0 then error(spec.name .. ": got an empty parameter list", 0) end
  local has_tensor, groups = false, false
  for _, g in ipairs(params) do
    if is_tensor(g) then has_tensor = true elseif type(g) == "table" then groups = true end
  end
  if has_tensor and groups then
    error(spec.name .. ": params mixes tensors and parameter groups; give one or the other", 0)
  end
  if groups then
    for _, g in ipairs(params) do self:add_param_group(g, #params) end
  else
    self:add_param_group({params = params})
  end
  return self
end

-- a new optimizer class from spec (see the top of this file)
function Optimizer.define(spec)
  local class = {_spec = spec, name = spec.name}
  class.__index = class
  class.__tostring = Optimizer.__tostring
  return setmetatable(class, {__index = Optimizer, __call = new})
end

-- ---- stepping ------------------------------------------------------------------

-- One update of every parameter that has a gradient. With a closure, calls it
-- first (with gradients recorded) and returns what it returns, as torch's
-- step(closure): the closure re-evaluates the model and returns the loss.
function Optimizer:step(closure)
  local loss
  if closure ~= nil then
    if type(closure) ~= "function" then
      error(self._spec.name .. ": step(closure): closure must be a function, got " .. type(closure), 0)
    end
    loss = core.enable_grad(closure)
  end
  local update, state, k = self._spec.update, self.state, 0
  for gi, group in ipairs(self.param_groups) do
    self:_check_group(group, gi)
    for _, p in ipairs(group.params) do
      k = k + 1
      local g = p.grad
      if g ~= nil then
        local st = state[k]
        if st == nil then
          st = {}
          state[k] = st
        end
        update(p, g, st, group)
      end
    end
  end
  return loss
end

-- Clears every parameter's gradient: sets .grad to nil (PyTorch's default
-- set_to_none = true), or fills it with zeros with {set_to_none = false}.
function Optimizer:zero_grad(opts)
  local to_none = true
  if opts ~= nil then
    if type(opts) ~= "table" then error(self._spec.name .. ": zero_grad takes an options table {set_to_none = bool}", 0) end
    for key in pairs(opts) do
      if key ~= "set_to_none" then error(self._spec.name .. ": zero_grad: unknown option '" .. tostring(key) .. "'", 0) end
    end
    if opts.set_to_none ~= nil then to_none = opts.set_to_none and true or false end
  end
  for _, group in ipairs(self.param_groups) do
    for _, p in ipairs(group.params) do
      if to_none then
        p.grad = nil
      else
        local g = p.grad
        if g ~= nil then g:zero_() end
      end
    end
  end
end

-- ---- state ------------------------------------------------------------------------

-- {optimizer = name, state = {[k] = {step = n, <buffer> = tensor, ...}},
--  param_groups = {{<options>, params = {k, ...}}, ...}}: a snapshot (the
-- tensors are copies), parameters named by their position. (save passes
-- keep = true to get the live tensors: it only writes them out.)
function Optimizer:state_dict(keep)
  local groups, k = {}, 0
  for gi, group in ipairs(self.param_groups) do
    local g = {}
    for key, v in pairs(group) do
      if key ~= "params" then g[key] = copy(v) end
    end
    g.params = {}
    for i = 1, #group.params do
      k = k + 1
      g.params[i] = k
    end
    groups[gi] = g
  end
  local state = {}
  for idx, st in pairs(self.state) do
    local s = {}
    for key, v in pairs(st) do
      if is_tensor(v) then s[key] = keep and v or v:clone() else s[key] = copy(v) end
    end
    state[idx] = s
  end
  return {optimizer = self._spec.name, state = state, param_groups = groups}
end

local function shape_str(t)
  local s = t:shape()
  return #s == 0 and "scalar" or table.concat(s, "x")
end

-- Loads a state_dict: the same number of groups and of parameters in each,
-- state tensors of the parameters' shapes (cast to their dtype). The groups'
-- options come from sd (as in PyTorch); the parameters stay this optimizer's.
-- Everything is checked before anything changes.
function Optimizer:load_state_dict(sd)
  local spec = self._spec
  local function fail(fmt, ...) error(spec.name .. ": load_state_dict: " .. string.format(fmt, ...), 0) end
  if type(sd) ~= "table" then fail("expected a state table, got %s", type(sd)) end
  if sd.optimizer ~= nil and sd.optimizer ~= spec.name then
    fail("the state is from %s, not %s", tostring(sd.optimizer), spec.name)
  end
  if type(sd.param_groups) ~= "table" or type(sd.state) ~= "table" then
    fail("expected a table with param_groups and state (from state_dict())")
  end
  local saved = sd.param_groups
  if #saved ~= #self.param_groups then
    fail("the state has %d parameter group(s), this optimizer has %d", #saved, #self.param_groups)
  end
  -- the groups: sd's options, our parameters; saved ids -> our positions
  local groups, position, k = {}, {}, 0
  for gi, sg in ipairs(saved) do
    local mine = self.param_groups[gi]
    if type(sg) ~= "table" or type(sg.params) ~= "table" then fail("parameter group %d has no params list", gi) end
    if #sg.params ~= #mine.params then
      fail("parameter group %d has %d parameter(s) in the state, %d in this optimizer", gi, #sg.params, #mine.params)
    end
    local g = {}
    for key, v in pairs(sg) do
      if type(key) ~= "string" then fail("parameter group %d has a %s key", gi, type(key)) end
      if key ~= "params" then g[key] = copy(v) end
    end
    for key, v in pairs(self.defaults) do
      if g[key] == nil then
        if v == Optimizer.REQUIRED then fail("parameter group %d has no %s", gi, key) end
        g[key] = copy(v)
      end
    end
    g.params = mine.params
    for i, id in ipairs(sg.params) do
      k = k + 1
      if position[id] then fail("parameter id %s appears twice in param_groups", tostring(id)) end
      position[id] = {k = k, p = mine.params[i], group = g, gi = gi}
    end
    spec.check(setmetatable({name = spec.name .. ": load_state_dict", group = g, where = where_of(#saved, gi)}, Checker))
    groups[gi] = g
  end
  -- the state, checked against the parameters
  local state = {}
  for id, st in pairs(sd.state) do
    local at = position[id] or position[math.tointeger(tonumber(id)) or id]
    if not at then fail("there is state for parameter id %s, which no parameter group lists", tostring(id)) end
    if type(st) ~= "table" then fail("the state of parameter %d is a %s, not a table", at.k, type(st)) end
    local p, s = at.p, {}
    local allowed = {}
    for _, name in ipairs(spec.required(at.group)) do
      allowed[name] = true
      if not is_tensor(st[name]) then fail("the state of parameter %d has no tensor %s", at.k, name) end
    end
    for _, name in ipairs(spec.optional or {}) do allowed[name] = true end
    local keys = {}
    for key in pairs(st) do keys[#keys + 1] = tostring(key) end
    table.sort(keys) -- report the first problem in a fixed order
    for _, key in ipairs(keys) do
      local v = st[key]
      if key == "step" and spec.has_step then
        local n = math.tointeger(v)
        if not n or n < 0 then fail("the step of parameter %d must be an integer >= 0, got %s", at.k, tostring(v)) end
        s.step = n
      elseif not allowed[key] then
        fail("the state of parameter %d has an unexpected entry '%s'", at.k, tostring(key))
      elseif not is_tensor(v) then
        fail("the state of parameter %d: %s is a %s, not a tensor", at.k, key, type(v))
      else
        if shape_str(v) ~= shape_str(p) then
          fail("the state of parameter %d: %s has shape %s, the parameter has shape %s", at.k, key, shape_str(v), shape_str(p))
        end
        s[key] = v:to(p:dtype()):clone()
      end
    end
    if spec.has_step and s.step == nil then fail("the state of parameter %d has no step", at.k) end
    state[at.k] = s
  end
  self.param_groups = groups
  self.state = state
end

-- ---- files --------------------------------------------------------------------------

local FORMAT = "lunet.optim"

-- Writes the state to a safetensors file: tensors "state.<k>.<name>", and in
-- the metadata the optimizer, the groups and the other state as JSON.
function Optimizer:save(path)
  if type(path) ~= "string" then error(self._spec.name .. ": save expects a path, got " .. type(path), 0) end
  local sd = self:state_dict(true)
  local tensors, rest = {}, {}
  for k, st in pairs(sd.state) do
    local r = {}
    for key, v in pairs(st) do
      if is_tensor(v) then tensors[string.format("state.%d.%s", k, key)] = v else r[key] = v end
    end
    rest[tostring(k)] = r
  end
  core.save(path, tensors, {
    format = FORMAT, optimizer = sd.optimizer,
    param_groups = codec.encode(sd.param_groups, "param_groups"),
    state = codec.encode(rest, "state"),
  })
end

-- Reads a file written by save and loads it (load_state_dict's checks apply).
function Optimizer:load(path)
  local name = self._spec.name
  if type(path) ~= "string" then error(name .. ": load expects a path, got " .. type(path), 0) end
  local tensors, meta = core.load(path)
  if meta.format ~= FORMAT then
    error(string.format("%s: load: %s holds no optimizer state (its metadata has no format = %s)", name, path, FORMAT), 0)
  end
  local ok, groups = pcall(codec.decode, meta.param_groups)
  local ok2, rest = pcall(codec.decode, meta.state)
  if not ok or not ok2 or type(groups) ~= "table" or type(rest) ~= "table" then
    error(string.format("%s: load: %s: unreadable optimizer metadata (%s)", name, path,
      not ok and groups or not ok2 and rest or "param_groups and state must be JSON tables"), 0)
  end
  local state = {}
  for k, r in pairs(rest) do
    local idx = math.tointeger(tonumber(k))
    if not idx or type(r) ~= "table" then error(string.format("%s: load: %s: bad state entry '%s'", name, path, k), 0) end
    state[idx] = r
  end
  for tname, t in pairs(tensors) do
    local k, key = tname:match("^state%.(%d+)%.(.+)$")
    k = k and math.tointeger(tonumber(k))
    if not k then error(string.format("%s: load: %s: unexpected tensor '%s'", name, path, tname), 0) end
    state[k] = state[k] or {}
    state[k][key] = t
  end
  self:load_state_dict({optimizer = meta.optimizer, param_groups = groups, state = state})
end

-- ---- printing --------------------------------------------------------------------------

function Optimizer:__tostring()
  local lines = {self._spec.name .. " ("}
  for gi, group in ipairs(self.param_groups) do
    lines[#lines + 1] = string.format("  parameter group %d: %d tensor(s)", gi, #group.params)
    local keys = {}
    for key in pairs(group) do if key ~= "params" then keys[#keys + 1] = key end end
    table.sort(keys)
    for _, key in ipairs(keys) do lines[#lines + 1] = string.format("    %s: %s", key, show(group[key])) end
  end
  lines[#lines + 1] = ")"
  return table.concat(lines, "\n")
end

return Optimizer
