-- lunet.data.csv: a CSV file as a TensorDataset of features (N x F) and,
-- with a label column, labels. Numbers are parsed in C (src/csv.c).
local core = require "lunet.core"

return function(data)

local OPTIONS = {header = "boolean", columns = "table", label = "label", sep = "string", dtype = "string"}

-- data.csv(path, {header = true, columns = {...}, label = name|number, sep = ",", dtype = "float32"})
function data.csv(path, opts)
  if type(path) ~= "string" then error("csv: argument 1 must be a file path, got " .. type(path), 2) end
  opts = opts or {}
  if type(opts) ~= "table" then error("csv: argument 2 must be an options table", 2) end
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then error(string.format("csv: unknown option '%s'", tostring(k)), 2) end
    local okv = want == "label" and (type(v) == "string" or math.type(v) == "integer") or type(v) == want
    if not okv then
      error(string.format("csv: option %s must be %s, got %s", k,
        want == "label" and "a column name or number" or "a " .. want, type(v)), 2)
    end
  end
  local header = opts.header
  if header == nil then header = true end
  local ok, x, y, classes, names = pcall(core._csv.read, path, opts.sep or ",", header, opts.columns,
                                         opts.label, opts.dtype or "float32")
  if not ok then error(x, 2) end
  local ds = y and data.TensorDataset(x, y) or data.TensorDataset(x)
  ds.classes = classes
  ds.columns = names
  return ds
end

end
