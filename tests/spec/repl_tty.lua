-- The REPL driven the way a person drives it: lunet runs in a tmux pane (a real
-- pseudo-terminal), the test types keys and reads the screen. Waits poll the
-- screen until the text appears (up to 20 s), so nothing depends on speed.
local exe = arg and arg[-1] or "./lunet"
local tmp = (os.getenv("TMPDIR") or "/tmp") .. "/lunet-repl-" .. math.random(1 << 30)
local socket = "lunet-test-" .. math.random(1 << 30) -- a private tmux server

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return out, ok
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local have_tmux = select(2, sh("command -v tmux >/dev/null"))
if not have_tmux then
  describe("REPL under a terminal", function()
    it("is skipped: tmux is not installed (make deps installs it)", function() end)
  end)
  return
end

local Term = {}
Term.__index = Term

local function tmux(args) return sh("tmux -L " .. socket .. " " .. args) end

-- a session that outlives the tests' own, so closing one never stops the server
-- while the next is starting (tmux exits when its last session ends)
tmux("new-session -d -s keeper -x 20 -y 5 'sleep 600'")

-- a session running `command` in a 120x40 terminal. The shell around it
-- catches SIGINT (so a Ctrl-C typed to lunet does not end it too; lunet gets
-- the default action back at exec) and writes lunet's exit status to a file.
local function start(command, env)
  local name = "s" .. math.random(1 << 30)
  local status_file = tmp .. "." .. name .. ".status"
  local vars = "LUNET_HISTORY=" .. quote(tmp .. ".history") .. " LUNET_DB=" .. quote(tmp .. ".db") .. " " .. (env or "")
  local line = "trap : INT; env " .. vars .. " " .. command .. "; echo $? > " .. quote(status_file) .. "; sleep 60"
  local _, ok = tmux("new-session -d -s " .. name .. " -x 120 -y 40 " .. quote("sh -c " .. quote(line)))
  assert(ok, "tmux could not start a session")
  return setmetatable({name = name, status_file = status_file}, Term)
end

function Term:screen() return (tmux("capture-pane -p -t " .. self.name)) end
function Term:type(text) tmux("send-keys -l -t " .. self.name .. " " .. quote(text)) end
function Term:keys(...) tmux("send-keys -t " .. self.name .. " " .. table.concat({...}, " ")) end
function Term:line(text) self:type(text); self:keys("Enter") end
-- types at the prompt and waits until the line shows it, so a key sent next
-- (Tab, Ctrl-C) reaches the line editor and not the terminal's type-ahead
function Term:prompt_type(text)
  self:idle()
  self:type(text)
  self:wait("> " .. text)
end
-- the exit status of lunet, once it has ended
function Term:exit_status()
  for _ = 1, 400 do
    local f = io.open(self.status_file)
    local code = f and tonumber(f:read("a"))
    if f then f:close() end
    if code then os.remove(self.status_file); return code end
    sh("sleep 0.05")
  end
  error("lunet did not exit; the screen shows:\n" .. self:screen(), 2)
end
function Term:close() tmux("kill-session -t " .. self.name) end

-- waits until the screen has `text` (plain) `count` times; fails showing the screen
function Term:wait(text, count)
  count = count or 1
  local screen
  for _ = 1, 400 do
    screen = self:screen()
    local n, from = 0, 1
    while true do
      local s, e = screen:find(text, from, true)
      if not s then break end
      n, from = n + 1, e + 1
    end
    if n >= count then return screen end
    sh("sleep 0.05")
  end
  error(string.format("the screen never showed %q (x%d); it shows:\n%s", text, count, screen), 2)
end

-- waits until the REPL waits for input: the last line shown is the prompt. (A
-- Ctrl-D typed while code still runs is taken by the terminal, as in a shell.)
function Term:idle()
  local screen
  for _ = 1, 400 do
    screen = self:screen()
    if screen:gsub("%s+$", ""):match("\n>$") then return screen end
    sh("sleep 0.05")
  end
  error("the REPL never came back to its prompt; the screen shows:\n" .. screen, 2)
end

-- the text of the screen after the last prompt line that starts with `marker`
local function after(screen, marker)
  local s = screen:find(marker, 1, true)
  return s and screen:sub(s) or ""
end

describe("REPL under a terminal", function()
  local term = start(exe)

  it("shows a banner and prints the value of an expression", function()
    term:wait("Ctrl-D to quit")
    term:line("1 + 2")
    local screen = term:wait("\n3\n")
    T.truthy(screen:find("> 1 + 2\n3\n", 1, true), "the value follows the line:\n" .. screen)
  end)

  it("runs statements and keeps globals between lines", function()
    term:line("answer = 6 * 7")
    term:line("answer")
    local screen = term:wait("\n42\n")
    T.truthy(not after(screen, "> answer = 6 * 7"):find("nil", 1, true), "a statement prints nothing")
  end)

  it("continues an incomplete chunk over several lines", function()
    term:line("function twice(x)")
    term:wait("\n>>") -- (capture-pane drops the space after a prompt)
    term:line("  return 2 * x")
    term:line("end")
    term:line("twice(21.5)")
    local screen = term:wait("\n43.0\n")
    T.truthy(screen:find(">>   return 2 * x", 1, true), "continuation prompt shown:\n" .. screen)
  end)

  it("completes a name with Tab", function()
    term:prompt_type("lunet.zeros_l")
    term:keys("Tab")
    term:wait("> lunet.zeros_like")
    term:line("(lunet.ones(2, 3)):sum():item()")
    local screen = term:wait("\n0.0\n")
    T.truthy(screen:find("> lunet.zeros_like(lunet.ones(2, 3)):sum():item()", 1, true), "the completed line ran:\n" .. screen)
  end)

  it("completes methods after ':'", function()
    term:line("x = lunet.ones(2, 2)")
    term:prompt_type("x:mat")
    term:keys("Tab")
    term:type("(x)")
    term:keys("Enter")
    local screen = term:wait("[float32 tensor of shape 2x2]")
    T.truthy(screen:find("> x:matmul(x)", 1, true), "completed to x:matmul:\n" .. screen)
  end)

  it("prints an error with its traceback and goes on", function()
    term:line("local function inner() error('boom') end inner()")
    local screen = term:wait("error: stdin:1: boom")
    T.truthy(after(screen, "error: stdin:1: boom"):find("in local 'inner'", 1, true), "traceback names the function:\n" .. screen)
    term:line("100 + 1")
    term:wait("\n101\n")
  end)

  it("interrupts a running loop with Ctrl-C and keeps the session", function()
    term:line("print('looping'); while true do end")
    term:wait("looping\n")
    term:keys("C-c")
    local screen = term:wait("error: interrupted")
    term:line("answer + 1")
    screen = term:wait("\n43\n")
    T.truthy(screen:find("looping", 1, true), screen)
  end)

  it("drops the line being typed on Ctrl-C", function()
    term:prompt_type("this is not lua")
    term:keys("C-c")
    term:wait("this is not lua^C")
    term:line("answer - 2")
    local screen = term:wait("\n40\n")
    T.truthy(not screen:find("syntax error near 'is'", 1, true), "the dropped line did not run:\n" .. screen)
  end)

  it("times code with %time", function()
    term:line("%time lunet.ones(100):sum():item()")
    local screen = term:wait("wall time: ")
    T.truthy(after(screen, "> %time"):find("\n100.0\nwall time: %d"), "value, then the time:\n" .. screen)
  end)

  it("pretty-prints a table, a module tree with parameter counts, and help", function()
    term:line("{lr = 0.001, layers = {784, 10}}")
    term:wait("{layers = {784, 10}, lr = 0.001}")
    term:line("nn.Sequential{nn.Linear(4, 3), nn.ReLU()}")
    term:wait("15 parameters")
    term:line("?nn.Linear")
    term:wait("weight (out, in)")
  end)

  it("ends with Ctrl-D and exit status 0", function()
    term:idle()
    term:keys("C-d")
    T.eq(term:exit_status(), 0, "exit status")
  end)

  it("keeps the history in a file and recalls it with the Up arrow", function()
    local f = assert(io.open(tmp .. ".history"))
    local history = f:read("a")
    f:close()
    T.truthy(history:find("answer = 6 * 7\n", 1, true), "typed lines saved:\n" .. history)
    T.truthy(history:find("  return 2 * x\n", 1, true), "continuation lines saved")
    local t2 = start(exe)
    t2:wait("Ctrl-D to quit")
    t2:idle()
    t2:keys("Up")
    t2:wait("> ?nn.Linear") -- the last line typed before
    t2:close()
  end)
  term:close()
end)

describe("REPL and SIGTERM", function()
  it("ends the session when code is terminated, and marks a started run killed", function()
    local term = start(exe)
    term:wait("Ctrl-D to quit")
    term:line("run = lunet.runs.start{name = 'repl-sigterm'}")
    term:line("'pid=' .. io.open('/proc/self/stat'):read('n')")
    local pid = term:wait('"pid='):match('"pid=(%d+)"')
    T.truthy(pid, "the REPL printed its pid")
    term:line("print('looping'); while true do end")
    term:wait("looping\n")
    sh("kill -TERM " .. pid)
    T.eq(term:exit_status(), 143, "exit status 128 + SIGTERM")
    term:close()
    local runs = lunet.runs.query{db = tmp .. ".db", where = "name = 'repl-sigterm'"}
    T.eq(#runs, 1, "the run was recorded")
    T.eq(runs[1].status, "killed", "the run's status")
  end)
end)

describe("REPL after a script (lunet -i)", function()
  it("runs the script, then opens the session with its globals", function()
    local f = assert(io.open(tmp .. ".lua", "w"))
    f:write("model_size = 128\n")
    f:close()
    local term = start(exe .. " -i " .. quote(tmp .. ".lua"))
    term:wait("Ctrl-D to quit")
    term:line("model_size * 2")
    term:wait("\n256\n")
    term:idle()
    term:keys("C-d")
    T.eq(term:exit_status(), 0, "exit status")
    term:close()
  end)
end)

tmux("kill-server")
os.remove(tmp .. ".history")
os.remove(tmp .. ".lua")
for _, s in ipairs{"", "-wal", "-shm"} do os.remove(tmp .. ".db" .. s) end
