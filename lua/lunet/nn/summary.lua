-- nn.summary(model, input_shape [, opts]): a Keras-style table of the layers
-- (name and class, output shape, parameters) from one forward pass on a
-- dummy input, and the totals.
local core = require "lunet.core"
local args = require "lunet.nn.args"

local commas = args.commas

-- the shapes of every tensor among a forward's results (one level of tables)
local function shapes_of(out)
  local list = {}
  local function add(v)
    if core.is_tensor(v) then list[#list + 1] = args.shape_str(v)
    elseif type(v) == "table" and getmetatable(v) == nil then
      for _, e in ipairs(v) do if core.is_tensor(e) then list[#list + 1] = args.shape_str(e) end end
    end
  end
  for i = 1, out.n do add(out[i]) end
  return #list > 0 and table.concat(list, ", ") or "-"
end

local function own_params(m)
  local n = 0
  for _, p in ipairs(m:own_parameters()) do n = n + p:numel() end
  return n
end

local function dummy(shape, dtype, fname)
  if type(shape) ~= "table" or #shape == 0 then
    error(fname .. ": input_shape must be a table of sizes (batch included), e.g. {1, 1, 28, 28}", 4)
  end
  for _, v in ipairs(shape) do
    if math.type(v) ~= "integer" or v < 1 then error(fname .. ": sizes in input_shape must be positive integers, got " .. tostring(v), 4) end
  end
  -- ones for int64: a valid 1-based token id
  if dtype == "int64" then return core.ones(shape, {dtype = "int64"}) end
  return core.zeros(shape, {dtype = dtype})
end

--- summary(model, input_shape [, {dtype = "float32", print = true}]) -> total, trainable, text
-- input_shape includes the batch ({1, 1, 28, 28}); a list of shapes gives
-- several inputs. The forward runs in eval mode without recording, and the
-- model's modes are restored afterwards.
return function(model, input_shape, opts)
  local fname = "summary"
  if not (type(model) == "table" and model.named_modules) then error(fname .. ": expected a module, got " .. type(model), 2) end
  local o = args.opts(fname, opts, args.set("dtype", "print"))
  local shapes = type(input_shape) == "table" and type(input_shape[1]) == "table" and input_shape or {input_shape}
  local inputs = {}
  for i, s in ipairs(shapes) do inputs[i] = dummy(s, o.dtype or "float32", fname) end

  -- rows: modules that hold parameters themselves or have no children
  local rows, handles, modes = {}, {}, {}
  for _, pm in ipairs(model:named_modules()) do
    local name, m = pm[1], pm[2]
    modes[m] = m.training
    if own_params(m) > 0 or #m:children() == 0 then
      local row = {name = name == "" and getmetatable(m).__name or name, class = getmetatable(m).__name,
                   params = own_params(m), shape = "-"}
      rows[#rows + 1] = row
      handles[#handles + 1] = m:register_forward_hook(function(_, _, ...)
        if row.shape == "-" then row.shape = shapes_of(table.pack(...)) end
      end)
    end
  end
  model:eval()
  local ok, err = pcall(core.no_grad, function() return model(table.unpack(inputs)) end)
  for _, h in ipairs(handles) do h.remove() end
  for m, mode in pairs(modes) do rawset(m, "training", mode) end
  if not ok then error(fname .. ": the forward pass failed: " .. tostring(err), 2) end

  local total, trainable = 0, 0
  for _, p in ipairs(model:parameters()) do
    total = total + p:numel()
    if p.requires_grad then trainable = trainable + p:numel() end
  end

  local head = {"Layer (type)", "Output Shape", "Param #"}
  local w1, w2, w3 = #head[1], #head[2], #head[3]
  local cells = {}
  for i, r in ipairs(rows) do
    cells[i] = {r.name .. " (" .. r.class .. ")", r.shape, commas(r.params)}
    w1, w2, w3 = math.max(w1, #cells[i][1]), math.max(w2, #cells[i][2]), math.max(w3, #cells[i][3])
  end
  local function line(c) return string.format("%-" .. w1 .. "s   %-" .. w2 .. "s   %" .. w3 .. "s", c[1], c[2], c[3]) end
  local width = w1 + w2 + w3 + 6
  local out = {'Model: "' .. getmetatable(model).__name .. '"', string.rep("_", width), line(head), string.rep("=", width)}
  for _, c in ipairs(cells) do out[#out + 1] = line(c) end
  out[#out + 1] = string.rep("=", width)
  out[#out + 1] = "Total params: " .. commas(total)
  out[#out + 1] = "Trainable params: " .. commas(trainable)
  out[#out + 1] = "Non-trainable params: " .. commas(total - trainable)
  out[#out + 1] = string.rep("_", width)
  local text = table.concat(out, "\n")
  if o.print ~= false then print(text) end
  return total, trainable, text
end
