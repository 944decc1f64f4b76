-- Containers: Sequential (runs its children in order) and ModuleList (holds
-- them). Children are named "1", "2", ... and read as model[1], #model.
return function(nn)
  local is_module = nn.Module.is_module

  -- the modules of nn.X{a, b} or nn.X(a, b)
  local function module_list(cls, first, ...)
    local list = first
    if first == nil then list = {}
    elseif is_module(first) then list = {first, ...}
    elseif type(first) ~= "table" then
      error(cls .. ": expected a list of modules, got " .. type(first), 4)
    end
    for i = 1, #list do
      if not is_module(list[i]) then
        error(string.format("%s: element %d is a %s, not a module", cls, i, type(list[i])), 4)
      end
    end
    return list
  end

  local function append(self, m)
    local cls = getmetatable(self).__name
    if not is_module(m) then error(cls .. ":append: expected a module, got " .. type(m), 2) end
    self:add_module(tostring(#self + 1), m)
    return self
  end

  --- Sequential{m1, m2, ...} (or Sequential(m1, m2, ...)): forward(x) feeds x
  -- through the children in order
  local Sequential = nn.Module:extend("Sequential")
  nn.Sequential = Sequential

  function Sequential:init(...)
    for _, m in ipairs(module_list("Sequential", ...)) do append(self, m) end
  end

  Sequential.append = append

  function Sequential:forward(x, ...)
    local n = #self
    if n == 0 then return x end
    local out = table.pack(self[1](x, ...))
    for i = 2, n do out = table.pack(self[i](table.unpack(out, 1, out.n))) end
    return table.unpack(out, 1, out.n)
  end

  --- ModuleList{m1, m2, ...}: registers modules for parameters() and
  -- state_dict(); iterate with `for i = 1, #list do list[i] ... end` or ipairs
  local ModuleList = nn.Module:extend("ModuleList")
  nn.ModuleList = ModuleList

  function ModuleList:init(...)
    for _, m in ipairs(module_list("ModuleList", ...)) do append(self, m) end
  end

  ModuleList.append = append

  function ModuleList:forward()
    error("ModuleList: it has no forward; call its modules (list[i](x)) in your own forward", 2)
  end
end
