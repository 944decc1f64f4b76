-- lunet.nn.Module: the base class of layers and models.
--
-- A module keeps its parameters, buffers and child modules in three ordered
-- registries, so that parameters(), state_dict() and tostring() walk them in
-- the order they were created (Lua tables have no order of their own).
-- Assigning a module to a field registers a child; self:param() and
-- self:buffer() register tensors; reading self.x looks in the registries
-- before the class.
local core = require "lunet.core"

local Module = {__name = "Module"}

-- metamethods are not inherited through __index: extend() copies these
local METAMETHODS = {"__index", "__newindex", "__call", "__tostring", "__len"}

local function is_module(v)
  local mt = getmetatable(v)
  return type(v) == "table" and type(mt) == "table" and rawget(mt, "_is_module_class") == true
end

-- an ordered registry: names in insertion order, values by name
local function registry() return {order = {}, values = {}} end

local function reg_set(r, name, v)
  if v == nil then
    if r.values[name] ~= nil then
      for i, n in ipairs(r.order) do
        if n == name then table.remove(r.order, i) break end
      end
    end
  elseif r.values[name] == nil then
    r.order[#r.order + 1] = name
  end
  r.values[name] = v
end

-- integer keys (Sequential's model[2]) address children named "2"
local function key_name(k)
  if math.type(k) == "integer" then return tostring(k) end
  return k
end

function Module.__index(self, k)
  local name = key_name(k)
  local v = rawget(self, "_parameters").values[name]
  if v ~= nil then return v end
  v = rawget(self, "_buffers").values[name]
  if v ~= nil then return v end
  v = rawget(self, "_modules").values[name]
  if v ~= nil then return v end
  return getmetatable(self)[k]
end

function Module.__newindex(self, k, v)
  local name = key_name(k)
  local params, buffers, modules = rawget(self, "_parameters"), rawget(self, "_buffers"), rawget(self, "_modules")
  if is_module(v) then
    reg_set(params, name, nil); reg_set(buffers, name, nil)
    reg_set(modules, name, v)
  elseif params.values[name] ~= nil then
    -- replacing a parameter keeps it registered (in its place)
    if v ~= nil and not core.is_tensor(v) then
      error(string.format("%s: parameter '%s' can only be set to a tensor or nil, got %s",
                          getmetatable(self).__name, name, type(v)), 2)
    end
    if v == nil then reg_set(params, name, nil) else self:param(name, v) end
  elseif buffers.values[name] ~= nil then
    reg_set(buffers, name, v)
  elseif modules.values[name] ~= nil then
    if v ~= nil then
      error(string.format("%s: child '%s' can only be set to a module or nil, got %s",
                          getmetatable(self).__name, name, type(v)), 2)
    end
    reg_set(modules, name, nil)
  else
    rawset(self, k, v)
  end
end

function Module.__call(self, ...)
  local hooks = rawget(self, "_forward_hooks")
  if not hooks or next(hooks) == nil then return self:forward(...) end
  local inputs = table.pack(...)
  local out = table.pack(self:forward(...))
  for _, id in ipairs(rawget(self, "_hook_order")) do
    local h = hooks[id]
    if h then h(self, inputs, table.unpack(out, 1, out.n)) end
  end
  return table.unpack(out, 1, out.n)
end

function Module.__len(self) return #rawget(self, "_modules").order end

--- Module:extend(name) -> a new class. Calling the class creates an instance
-- and runs its init(self, ...).
function Module:extend(name)
  if type(name) ~= "string" then error("Module:extend: expected a class name (a string), got " .. type(name), 2) end
  local cls = {__name = name, super = self, _is_module_class = true}
  for _, mm in ipairs(METAMETHODS) do cls[mm] = self[mm] end
  return setmetatable(cls, {
    __index = self,
    __call = function(c, ...) return c:new(...) end,
    __tostring = function() return "class " .. name end,
  })
end

-- a new instance with empty registries, then the class's init
function Module:new(...)
  local obj = {
    _parameters = registry(), _buffers = registry(), _modules = registry(),
    _non_persistent = {}, training = true,
  }
  setmetatable(obj, self)
  obj:init(...)
  return obj
end

function Module:init() end

function Module:forward()
  error(getmetatable(self).__name .. ": forward is not defined (define " .. getmetatable(self).__name .. ":forward)", 2)
end

--- self:param(name, tensor): registers a parameter; tensor nil registers nothing
-- (a layer without bias), so self.bias reads nil.
function Module:param(name, t)
  local cls = getmetatable(self).__name
  if type(name) ~= "string" or name == "" or name:find(".", 1, true) then
    error(cls .. ":param: the name must be a non-empty string without '.', got " .. tostring(name), 2)
  end
  if t == nil then reg_set(self._parameters, name, nil) return nil end
  if not core.is_tensor(t) then error(string.format("%s:param: '%s' must be a tensor, got %s", cls, name, type(t)), 2) end
  if t:dtype() == "int64" then error(string.format("%s:param: '%s' is int64; parameters must be float32 or float64", cls, name), 2) end
  if not t.is_leaf then t = t:detach() end -- a parameter is a leaf, as PyTorch's Parameter
  if not t.requires_grad then t:requires_grad_(true) end
  rawset(self, name, nil)
  reg_set(rawget(self, "_buffers"), name, nil)
  reg_set(rawget(self, "_modules"), name, nil)
  reg_set(rawget(self, "_parameters"), name, t)
  return t
end

--- self:buffer(name, tensor [, persistent]): a tensor saved in state_dict
-- (unless persistent is false) that is not a parameter: running statistics.
function Module:buffer(name, t, persistent)
  local cls = getmetatable(self).__name
  if type(name) ~= "string" or name == "" or name:find(".", 1, true) then
    error(cls .. ":buffer: the name must be a non-empty string without '.', got " .. tostring(name), 2)
  end
  if t ~= nil and not core.is_tensor(t) then error(string.format("%s:buffer: '%s' must be a tensor or nil, got %s", cls, name, type(t)), 2) end
  rawset(self, name, nil)
  reg_set(rawget(self, "_parameters"), name, nil)
  reg_set(rawget(self, "_modules"), name, nil)
  reg_set(rawget(self, "_buffers"), name, t)
  rawget(self, "_non_persistent")[name] = persistent == false or nil
  return t
end

--- self:add_module(name, module): registers a child under a name that is not
-- an identifier (Sequential's "1", "2", ...)
function Module:add_module(name, m)
  name = key_name(name)
  if type(name) ~= "string" or name == "" or name:find(".", 1, true) then
    error(getmetatable(self).__name .. ":add_module: the name must be a non-empty string without '.', got " .. tostring(name), 2)
  end
  if not is_module(m) then error(getmetatable(self).__name .. ":add_module: '" .. name .. "' is not a module", 2) end
  self[name] = m
  return m
end

-- ---- walking the tree ------------------------------------------------------

--- named_children() -> {{name, module}, ...}; children() -> {module, ...}
function Module:named_children()
  local out, r = {}, rawget(self, "_modules")
  for _, n in ipairs(r.order) do out[#out + 1] = {n, r.values[n]} end
  return out
end

function Module:children()
  local out = {}
  for i, p in ipairs(self:named_children()) do out[i] = p[2] end
  return out
end

--- named_modules() -> {{"", self}, {"fc", ...}, {"fc.sub", ...}}: self first, then
-- depth-first in registration order; a module reached twice is listed once
function Module:named_modules()
  local out, seen = {}, {}
  local function walk(m, prefix)
    if seen[m] then return end
    seen[m] = true
    out[#out + 1] = {prefix, m}
    for _, c in ipairs(m:named_children()) do
      walk(c[2], prefix == "" and c[1] or prefix .. "." .. c[1])
    end
  end
  walk(self, "")
  return out
end

function Module:modules()
  local out = {}
  for i, p in ipairs(self:named_modules()) do out[i] = p[2] end
  return out
end

-- (name, tensor) pairs of one registry over the whole tree; a tensor shared
-- by two modules is listed once, under its first name (as PyTorch)
local function named_tensors(self, field, persistent_only)
  local out, seen = {}, {}
  for _, pm in ipairs(self:named_modules()) do
    local prefix, m = pm[1], pm[2]
    local r, np = rawget(m, field), rawget(m, "_non_persistent")
    for _, n in ipairs(r.order) do
      local t = r.values[n]
      if not seen[t] and not (persistent_only and np[n]) then
        seen[t] = true
        out[#out + 1] = {prefix == "" and n or prefix .. "." .. n, t}
      end
    end
  end
  return out
end

--- named_parameters() -> {{"fc.weight", tensor}, ...} in registration order
function Module:named_parameters() return named_tensors(self, "_parameters") end

function Module:parameters()
  local out = {}
  for i, p in ipairs(self:named_parameters()) do out[i] = p[2] end
  return out
end

function Module:named_buffers() return named_tensors(self, "_buffers") end

function Module:buffers()
  local out = {}
  for i, p in ipairs(self:named_buffers()) do out[i] = p[2] end
  return out
end

--- apply(fn): fn(m) on every module, children before their parent; returns self
function Module:apply(fn)
  for _, c in ipairs(self:children()) do c:apply(fn) end
  fn(self)
  return self
end

--- train([mode]) / eval(): sets .training on the whole tree; returns self
function Module:train(mode)
  if mode == nil then mode = true end
  for _, m in ipairs(self:modules()) do rawset(m, "training", mode and true or false) end
  return self
end

function Module:eval() return self:train(false) end

--- requires_grad_([flag]): switches gradients on or off for every parameter
function Module:requires_grad_(flag)
  if flag == nil then flag = true end
  for _, p in ipairs(self:parameters()) do p.requires_grad = flag and true or false end
  return self
end

--- zero_grad(): clears .grad of every parameter (to nil, as PyTorch's set_to_none)
function Module:zero_grad()
  for _, p in ipairs(self:parameters()) do p.grad = nil end
end

--- is_a(class): whether self is an instance of class or of a subclass of it
function Module:is_a(cls)
  local c = getmetatable(self)
  while c do
    if c == cls then return true end
    c = rawget(c, "super")
  end
  return false
end

--- to(dtype) / double() / float(): converts the floating-point parameters and
-- buffers in place (new parameter tensors; make optimizers afterwards)
function Module:to(dtype)
  dtype = core.zeros(0, {dtype = dtype}):dtype() -- canonical name ("double" -> "float64"); raises on a bad one
  if dtype == "int64" then error("Module:to: parameters must be float32 or float64, got int64", 2) end
  for _, m in ipairs(self:modules()) do
    local params = rawget(m, "_parameters")
    for _, n in ipairs(params.order) do
      local p = params.values[n]
      if p:dtype() ~= dtype then
        local q = p:detach():to(dtype)
        q:requires_grad_(p.requires_grad)
        params.values[n] = q
      end
    end
    local bufs = rawget(m, "_buffers")
    for _, n in ipairs(bufs.order) do
      local b = bufs.values[n]
      if b:dtype() ~= "int64" then bufs.values[n] = b:to(dtype) end
    end
  end
  return self
end

function Module:double() return self:to("float64") end
function Module:float() return self:to("float32") end

--- register_forward_hook(fn): fn(module, inputs, outputs...) after every
-- forward; inputs is a packed table. Returns a handle with :remove().
function Module:register_forward_hook(fn)
  local hooks = rawget(self, "_forward_hooks")
  if not hooks then
    hooks = {}
    rawset(self, "_forward_hooks", hooks)
    rawset(self, "_hook_order", {})
  end
  local order = rawget(self, "_hook_order")
  local id = #order + 1
  order[id] = id
  hooks[id] = fn
  return {remove = function() hooks[id] = nil end}
end

-- ---- checkpoints -------------------------------------------------------------

--- state_dict() -> {name = tensor}: parameters and persistent buffers, flat,
-- with dotted names ("1.weight", "bn.running_mean"); tensors share storage
-- with the model (detached).
function Module:state_dict()
  local sd = {}
  for _, p in ipairs(self:named_parameters()) do sd[p[1]] = p[2]:detach() end
  for _, pm in ipairs(self:named_modules()) do
    local prefix, m = pm[1], pm[2]
    local r, np = rawget(m, "_buffers"), rawget(m, "_non_persistent")
    for _, n in ipairs(r.order) do
      if not np[n] then sd[prefix == "" and n or prefix .. "." .. n] = r.values[n] end
    end
  end
  return sd
end

local function shape_str(t)
  local s = t:shape()
  return #s == 0 and "scalar" or table.concat(s, "x")
end

-- every parameter and persistent buffer, in model order: {{name, tensor}, ...}
local function state_entries(self)
  local out, seen = {}, {}
  for _, p in ipairs(self:named_parameters()) do out[#out + 1] = p; seen[p[1]] = true end
  for _, pm in ipairs(self:named_modules()) do
    local prefix, m = pm[1], pm[2]
    local r, np = rawget(m, "_buffers"), rawget(m, "_non_persistent")
    for _, n in ipairs(r.order) do
      local name = prefix == "" and n or prefix .. "." .. n
      if not np[n] and not seen[name] then out[#out + 1] = {name, r.values[n]}; seen[name] = true end
    end
  end
  return out
end

--- load_state_dict(sd [, {strict = true}]): copies sd's tensors into the
-- model's. Shape mismatches always raise; with strict (the default) missing
-- and unexpected names raise too; the error lists all of them at once.
-- Returns {missing_keys = {...}, unexpected_keys = {...}}.
function Module:load_state_dict(sd, opts)
  local cls = getmetatable(self).__name
  if type(sd) ~= "table" then error("load_state_dict: expected a table of tensors, got " .. type(sd), 2) end
  opts = opts or {}
  local strict = opts.strict ~= false
  local entries = state_entries(self)
  local known, missing, unexpected, mismatched = {}, {}, {}, {}
  for _, e in ipairs(entries) do
    local name, t = e[1], e[2]
    known[name] = true
    local src = sd[name]
    if src == nil then
      missing[#missing + 1] = name
    elseif not core.is_tensor(src) then
      mismatched[#mismatched + 1] = string.format("%s: checkpoint has a %s, not a tensor", name, type(src))
    elseif shape_str(src) ~= shape_str(t) then
      mismatched[#mismatched + 1] = string.format("%s: checkpoint %s, model %s", name, shape_str(src), shape_str(t))
    end
  end
  for name in pairs(sd) do
    if not known[name] then unexpected[#unexpected + 1] = tostring(name) end
  end
  table.sort(unexpected)
  if #mismatched > 0 or (strict and (#missing > 0 or #unexpected > 0)) then
    local lines = {string.format("load_state_dict: the checkpoint does not match the model (%s):", cls)}
    if strict and #missing > 0 then lines[#lines + 1] = "  missing keys: " .. table.concat(missing, ", ") end
    if strict and #unexpected > 0 then lines[#lines + 1] = "  unexpected keys: " .. table.concat(unexpected, ", ") end
    if #mismatched > 0 then lines[#lines + 1] = "  shape mismatches:\n    " .. table.concat(mismatched, "\n    ") end
    error(table.concat(lines, "\n"), 2)
  end
  core.no_grad(function()
    for _, e in ipairs(entries) do
      local src = sd[e[1]]
      if src ~= nil then e[2]:copy_(src) end
    end
  end)
  return {missing_keys = missing, unexpected_keys = unexpected}
end

--- save(path [, metadata]): state_dict() to a safetensors file
function Module:save(path, metadata)
  core.save(path, self:state_dict(), metadata)
end

--- load(path [, {strict = true}]): reads a safetensors file into the model;
-- returns self and the file's metadata
function Module:load(path, opts)
  local tensors, metadata = core.load(path)
  local ok, err = pcall(self.load_state_dict, self, tensors, opts)
  if not ok then error((tostring(err):gsub("^load_state_dict: ", "load: " .. path .. ": ")), 2) end
  return self, metadata
end

-- ---- printing ----------------------------------------------------------------

--- extra_repr(): the text between the parentheses of a module's name; layers
-- override it (Linear: "in_features=784, out_features=256, bias=true")
function Module:extra_repr() return "" end

-- PyTorch's repr as lines {text, module}: Name(extra) for a leaf, else one
-- indented line per child; `module` is set on the first line of each module, so
-- the REPL can put each module's parameter count on its line. A module class
-- with its own __tostring shows as that text.
function Module.tree_lines(self)
  if getmetatable(self).__tostring ~= Module.__tostring then
    local lines = {}
    for l in (tostring(self) .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = {l} end
    lines[1][2] = self
    return lines
  end
  local name, extra = getmetatable(self).__name, self:extra_repr()
  local children = self:named_children()
  if #children == 0 then return {{name .. "(" .. extra .. ")", self}} end
  local lines = {{name .. "(", self}}
  if extra ~= "" then lines[#lines + 1] = {"  " .. extra} end
  for _, c in ipairs(children) do
    for i, l in ipairs(Module.tree_lines(c[2])) do
      lines[#lines + 1] = {(i == 1 and "  (" .. c[1] .. "): " or "  ") .. l[1], l[2]}
    end
  end
  lines[#lines + 1] = {")"}
  return lines
end

function Module.__tostring(self)
  local text = {}
  for i, l in ipairs(Module.tree_lines(self)) do text[i] = l[1] end
  return table.concat(text, "\n")
end

-- the parameters a module registered itself (not its children's), in order
function Module.own_parameters(self)
  local r, list = rawget(self, "_parameters"), {}
  for i, name in ipairs(r.order) do list[i] = r.values[name] end
  return list
end

Module._is_module_class = true
Module.is_module = is_module
return setmetatable(Module, {
  __call = function(c, ...) return c:new(...) end,
  __tostring = function() return "class Module" end,
})
