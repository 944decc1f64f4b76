-- Torch7-style printing of tensors: values right-aligned in columns, one
-- shared number format, a footer with dtype and shape; tensors of more than
-- THRESHOLD elements show EDGE values at each end of every long dimension.
local EDGE, THRESHOLD, WIDTH = 3, 1000, 80

local function shape_str(shape)
  if #shape == 0 then return "scalar" end
  return table.concat(shape, "x")
end

-- every printed value goes through one formatter chosen from all of them
local function formatter(values, dtype)
  if dtype == "int64" then return function(v) return string.format("%d", v) end end
  local all_int, maxabs, minabs = true, 0, math.huge
  for _, v in ipairs(values) do
    if v == v and v ~= math.huge and v ~= -math.huge then
      if v ~= math.floor(v) then all_int = false end
      maxabs = math.max(maxabs, math.abs(v))
      if v ~= 0 then minabs = math.min(minabs, math.abs(v)) end
    end
  end
  local fmt
  if all_int and maxabs < 1e9 then fmt = "%.0f"
  -- fixed point only when even the smallest non-zero value keeps two digits
  -- (with the largest alone, {1e-5, 1} printed its 1e-5 as 0.0000)
  elseif maxabs < 1e5 and minabs >= 1e-3 then fmt = "%.4f"
  else fmt = "%.4e" end
  return function(v)
    if v ~= v then return "nan" end
    if v == math.huge then return "inf" end
    if v == -math.huge then return "-inf" end
    local s = string.format(fmt, v)
    if s == "-0" then s = "0" end
    return s
  end
end

-- positions to show along a dimension of size n (0 marks the "..." gap)
local function positions(n, summarise)
  local p = {}
  if summarise and n > 2 * EDGE then
    for i = 1, EDGE do p[#p + 1] = i end
    p[#p + 1] = 0
    for i = n - EDGE + 1, n do p[#p + 1] = i end
  else
    for i = 1, n do p[i] = i end
  end
  return p
end

-- all matrices (or the vector) as rows of cells; cells are numbers or "..."
local function collect(t, summarise)
  local shape, blocks = t:shape(), {}
  local nd = #shape
  local function matrix(m, title)
    local rows = {}
    if m:dim() == 1 then
      local row = {}
      for _, j in ipairs(positions(shape[nd], summarise)) do row[#row + 1] = j == 0 and "..." or m[j] end
      rows[1] = row
    else
      for _, i in ipairs(positions(shape[nd - 1], summarise)) do
        local row = {}
        if i == 0 then
          row.gap = true
        else
          local r = m[i]
          for _, j in ipairs(positions(shape[nd], summarise)) do row[#row + 1] = j == 0 and "..." or r[j] end
        end
        rows[#rows + 1] = row
      end
    end
    blocks[#blocks + 1] = {title = title, rows = rows}
  end
  local function walk(x, prefix, depth)
    if nd - depth <= 2 then return matrix(x, prefix) end
    for _, i in ipairs(positions(shape[depth + 1], summarise)) do
      if i == 0 then blocks[#blocks + 1] = {gap = true}
      else walk(x:select(1, i), prefix .. i .. ",", depth + 1) end
    end
  end
  walk(t, "", 0)
  return blocks
end

local function format_tensor(t)
  -- a closed tensor still prints (print and error messages reach here)
  local open, shape = pcall(t.shape, t)
  if not open then return "[closed tensor]" end
  local dtype = t:dtype()
  local footer = string.format("[%s tensor of shape %s]", dtype, shape_str(shape))
  if #shape == 0 then
    return formatter({t:item()}, dtype)(t:item()) .. "\n" .. footer
  end
  if t:numel() == 0 then return string.format("[%s tensor with no elements of shape %s]", dtype, shape_str(shape)) end
  local blocks = collect(t, t:numel() > THRESHOLD)
  local values = {}
  for _, b in ipairs(blocks) do
    for _, row in ipairs(b.rows or {}) do
      for _, v in ipairs(row) do if type(v) == "number" then values[#values + 1] = v end end
    end
  end
  local fmt = formatter(values, dtype)
  local width = 3
  for _, v in ipairs(values) do width = math.max(width, #fmt(v)) end
  local out = {}
  local cells_per_line = math.max(1, (WIDTH - 1) // (width + 2))
  for bi, b in ipairs(blocks) do
    if b.gap then
      out[#out + 1] = "..."
    else
      if #shape > 2 then out[#out + 1] = "(" .. b.title .. ".,.) = " end
      for _, row in ipairs(b.rows) do
        if row.gap then
          out[#out + 1] = " ..."
        else
          local cells = {}
          for _, v in ipairs(row) do
            cells[#cells + 1] = string.format("%" .. width .. "s", type(v) == "number" and fmt(v) or v)
          end
          -- a long 1-d row wraps; matrices stay one line per row
          if #shape == 1 and #cells > cells_per_line then
            for k = 1, #cells, cells_per_line do
              out[#out + 1] = " " .. table.concat(cells, "  ", k, math.min(#cells, k + cells_per_line - 1))
            end
          else
            out[#out + 1] = " " .. table.concat(cells, "  ")
          end
        end
      end
      if #shape > 2 and bi < #blocks then out[#out + 1] = "" end
    end
  end
  out[#out + 1] = footer
  return table.concat(out, "\n")
end

return function(Tensor, metatable)
  metatable.__tostring = format_tensor
  Tensor.tostring = format_tensor
end
