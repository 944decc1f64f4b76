-- lunet.repl: the interactive session (`lunet`, or `lunet -i script.lua`).
-- Reads a line with editing and history (src/l_repl.c), runs it as an
-- expression if it is one (so its value prints) or else as a statement,
-- continues while the chunk is incomplete, and prints values with
-- lunet.repl.pretty. Ctrl-C cancels a line or interrupts running code; Ctrl-D
-- ends the session. See docs/repl.md.
local core = require "lunet.core"
local R = core._repl
local pretty = require "lunet.repl.pretty"

local M = {}

M.HISTORY_LINES = 1000 -- kept in the history file and offered by the arrow keys

local function history_path()
  local p = os.getenv("LUNET_HISTORY")
  if p then return p ~= "" and p or nil end
  local home = os.getenv("HOME")
  return home and home ~= "" and home .. "/.lunet_history" or nil
end

-- the last HISTORY_LINES lines of the file, oldest first; a file twice that long is
-- rewritten (temp file + rename) with just those, so it cannot grow without bound
local function load_history(path)
  local f = path and io.open(path, "r")
  if not f then return end
  local lines = {}
  for line in f:lines() do lines[#lines + 1] = line end
  f:close()
  local first = math.max(1, #lines - M.HISTORY_LINES + 1)
  for i = first, #lines do R.add_history(lines[i]) end
  if #lines > 2 * M.HISTORY_LINES then
    local tmp = path .. ".tmp"
    local out = io.open(tmp, "w")
    if out then
      out:write(table.concat(lines, "\n", first, #lines), "\n")
      if out:close() then os.rename(tmp, path) else os.remove(tmp) end
    end
  end
end

-- every line goes to the file as it is typed, so a crash loses nothing
local function remember(path, line)
  if not line:find("%S") then return end
  R.add_history(line)
  local f = path and io.open(path, "a")
  if f then f:write(line, "\n"); f:close() end
end

-- a chunk compiled as an expression (so its values print) or else as statements;
-- returns fn, or nil and "incomplete", or nil and the syntax error
local function compile(src, env)
  local fn = load("return " .. src, "=stdin", "t", env)
  if fn then return fn end
  local err
  fn, err = load(src, "=stdin", "t", env)
  if fn then return fn end
  if err:sub(-5) == "<eof>" then return nil, "incomplete" end
  return nil, err
end
M.compile = compile

-- the error message and the frames of the typed code, without the REPL's own
local function short_error(err)
  err = tostring(err)
  local msg, tb = err:match("^(.-)\nstack traceback:\n(.*)$")
  if not msg then return err end
  local frames = {}
  for frame in tb:gmatch("[^\n]+") do
    frames[#frames + 1] = frame
    if frame:find("^%s*stdin:%d+: in main chunk") then break end
    if frame:find("^%s*%[C%]: in function 'lunet%.core%._repl%.call'") then frames[#frames] = nil; break end
  end
  if frames[#frames] and frames[#frames]:find("^%s*%[C%]: in %?$") then frames[#frames] = nil end
  if #frames > 8 then
    local n = #frames - 6
    frames = {frames[1], frames[2], frames[3], "\t... (" .. n .. " more)", frames[#frames - 2], frames[#frames - 1], frames[#frames]}
  end
  if #frames == 0 then return msg end
  return msg .. "\n" .. table.concat(frames, "\n")
end
M.short_error = short_error

local function show_error(err)
  -- after a Ctrl-C the terminal shows "^C" where the cursor was
  if tostring(err):match("^interrupted") and R.isatty(1) then io.stdout:write("\n"); io.stdout:flush() end
  io.stderr:write("error: ", short_error(err), "\n")
  io.stderr:flush()
end

-- prints the values of a chunk; a Ctrl-C while printing a huge value stops it
local function show_values(n, values)
  if n == 0 then return end
  local ok, err = R.call(function()
    local parts, multiline = {}, false
    for i = 1, n do
      parts[i] = pretty.format(values[i])
      if parts[i]:find("\n") then multiline = true end
    end
    io.stdout:write(table.concat(parts, multiline and "\n" or "\t"), "\n")
  end)
  if not ok then show_error(err) end
  io.stdout:flush()
end

local function run_chunk(fn, timed)
  local t0 = core.clock()
  local results = table.pack(R.call(fn))
  local elapsed = core.clock() - t0
  if results[1] then
    show_values(results.n - 1, table.move(results, 2, results.n, 1, {}))
  else
    show_error(results[2])
  end
  if timed then
    io.stdout:write(string.format("wall time: %s\n", pretty.duration(elapsed)))
    io.stdout:flush()
  end
end

-- "%time code" times it; "?name" is help(name)
local function directive(src)
  local code = src:match("^%s*%%time%s+(.*)$")
  if code then return "time", code end
  if src:match("^%s*%%time%s*$") then return "usage", "%time needs code to run: %time model(x)" end
  local what = src:match("^%s*%?%s*(.-)%s*$")
  if what then return "help", what end
  local other = src:match("^%s*(%%%S*)")
  if other then return "usage", "unknown command " .. other .. " (the commands are %time CODE and ?NAME)" end
end

-- globals of the session: lunet's parts by short names, help and dir
local function session_globals(env)
  local lunet = env.lunet or require "lunet"
  env.lunet = lunet
  local aliases = {nn = lunet.nn, F = lunet.nn.F, optim = lunet.optim, data = lunet.data, runs = lunet.runs}
  for k, v in pairs(aliases) do if env[k] == nil then env[k] = v end end
  local help = require "lunet.repl.help"
  local complete = require "lunet.repl.complete"
  if env.help == nil then env.help = help.help end
  if env.dir == nil then
    -- dir() with no argument lists the session's globals
    env.dir = function(...)
      if select("#", ...) == 0 then return complete.names(complete.members(env)) end
      return complete.dir(...)
    end
  end
  return help, complete
end

--- run{env = _G}: the session; returns at Ctrl-D or when stdin ends
function M.run(opts)
  opts = opts or {}
  local env = opts.env or _G
  local help, complete = session_globals(env)
  R.set_completer(function(word, line, start) return complete.candidates(word, env, line, start) end)
  local hist = history_path()
  load_history(hist)
  io.stdout:write(string.format("lunet %s (%s) -- help() for help, Ctrl-D to quit\n", core.version, _VERSION))
  io.stdout:flush()
  local pending -- the lines of an incomplete chunk
  while true do
    local line = R.readline(pending and ">> " or "> ")
    if line == nil then io.stdout:write("\n"); break end
    if line == false then
      pending = nil
    else
      remember(hist, line)
      local src = pending and pending .. "\n" .. line or line
      local kind, arg = directive(src)
      if kind == "usage" then
        io.stderr:write(arg, "\n")
      elseif kind == "help" then
        local ok, err = R.call(help.help_for_text, arg, env)
        if not ok then show_error(err) end
      elseif src:find("%S") then
        local code = kind == "time" and arg or src
        local fn, err = compile(code, env)
        if fn then
          pending = nil
          run_chunk(fn, kind == "time")
        elseif err == "incomplete" then
          pending = src
        else
          pending = nil
          show_error(err)
        end
      end
    end
  end
  R.set_completer(nil)
end

return M
