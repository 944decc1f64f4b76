-- lunet.train.parse_args: the command line of an example script.
--
--   local o = lunet.train.parse_args(arg, {epochs = 5, quick = false, save = "cnn"})
--   ./lunet examples/cnn.lua --epochs 2 --quick --save /tmp/cnn
--
-- The defaults say each option's kind: a number takes a number (--epochs 2,
-- --lr=0.01), a boolean is a flag (--quick; --no-quick turns it off), a string
-- takes a value. Dashes in names are underscores in the table (--latent-dim ->
-- latent_dim). --help prints the options and exits; a mistake raises an error
-- that lists them.
local M = {}

local function usage(script, defaults)
  local names = {}
  for k in pairs(defaults) do names[#names + 1] = k end
  table.sort(names)
  local lines = {"usage: lunet " .. (script or "script.lua") .. " [options]"}
  for _, k in ipairs(names) do
    local v, flag = defaults[k], "--" .. k:gsub("_", "-")
    if type(v) == "boolean" then
      lines[#lines + 1] = string.format("  %-22s (default: %s)", flag, v and "on" or "off")
    else
      lines[#lines + 1] = string.format("  %-22s (default: %s)", flag .. (type(v) == "number" and " N" or " VALUE"), tostring(v))
    end
  end
  return table.concat(lines, "\n")
end

--- parse_args(arg, defaults) -> options, given: a copy of defaults with the command line
-- applied, and the set of names the command line gave (given.epochs is true after --epochs 3)
function M.parse_args(argv, defaults)
  if type(argv) ~= "table" then error("train.parse_args: argument 1 must be the arg table, got " .. type(argv), 2) end
  if type(defaults) ~= "table" then error("train.parse_args: argument 2 must be a table of defaults, got " .. type(defaults), 2) end
  local opts, given = {}, {}
  for k, v in pairs(defaults) do
    if type(k) ~= "string" or not (type(v) == "number" or type(v) == "boolean" or type(v) == "string") then
      error("train.parse_args: defaults must map names to numbers, booleans or strings, got " .. tostring(k) .. " = " .. type(v), 2)
    end
    opts[k] = v
  end
  local script = argv[0]
  local function fail(msg) error(msg .. "\n" .. usage(script, defaults), 0) end
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--help" or a == "-h" then
      print(usage(script, defaults))
      os.exit(0)
    end
    local name, value = a:match("^%-%-([%w%-_]+)=(.*)$")
    if not name then name = a:match("^%-%-([%w%-_]+)$") end
    if not name then fail(string.format("%s: unexpected argument '%s'", script or "script", a)) end
    local key = name:gsub("%-", "_")
    local negated = defaults[key] == nil and key:match("^no_(.+)$")
    if negated and type(defaults[negated]) == "boolean" and value == nil then
      opts[negated], given[negated] = false, true
    elseif defaults[key] == nil then
      fail(string.format("%s: unknown option --%s", script or "script", name))
    elseif type(defaults[key]) == "boolean" then
      if value ~= nil then fail(string.format("%s: --%s is a flag and takes no value", script or "script", name)) end
      opts[key], given[key] = true, true
    else
      if value == nil then
        i = i + 1
        value = argv[i]
        if value == nil then fail(string.format("%s: --%s needs a value", script or "script", name)) end
      end
      if type(defaults[key]) == "number" then
        local n = tonumber(value)
        if not n then fail(string.format("%s: --%s needs a number, got '%s'", script or "script", name, value)) end
        if math.type(defaults[key]) == "integer" then
          n = math.tointeger(n)
          if not n then fail(string.format("%s: --%s needs an integer, got '%s'", script or "script", name, value)) end
        end
        value = n
      end
      opts[key], given[key] = value, true
    end
    i = i + 1
  end
  return opts, given
end

return M
