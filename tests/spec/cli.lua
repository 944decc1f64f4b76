-- The lunet program itself: arguments, -e, -v, --help, errors, piped input.
local exe = arg and arg[-1] or "./lunet"
local tmp = (os.getenv("TMPDIR") or "/tmp") .. "/lunet-cli-" .. math.random(1 << 30)

-- run a shell command; returns its stdout+stderr and exit status
local function run(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  local body, code = out:match("^(.*)exit=(%d+)\n$")
  return body, tonumber(code)
end

local function script(src)
  local f = assert(io.open(tmp .. ".lua", "w")); f:write(src); f:close()
  return tmp .. ".lua"
end

describe("lunet program", function()
  it("runs a script with arg set as the lua program does", function()
    local s = script('print(arg[0], arg[1], arg[2], #arg, select("#", ...), ...)')
    local out, code = run(exe .. " " .. s .. " a 'b c'")
    T.eq(code, 0, "exit status")
    T.eq(out, s .. "\ta\tb c\t2\t2\ta\tb c\n", "output")
  end)

  it("runs -e code in order, with lunet preloaded as a global", function()
    local out, code = run(exe .. " -e 'x = lunet.ones(2):sum():item()' -e 'print(x)'")
    T.eq(code, 0, "exit status")
    T.eq(out, "2.0\n", "output")
  end)

  it("prints a Lua error with a traceback and exits non-zero", function()
    local s = script("local function f() error('boom') end\nf()\n")
    local out, code = run(exe .. " " .. s)
    T.eq(code, 1, "exit status")
    T.truthy(out:find("boom", 1, true), "message shown")
    T.truthy(out:find("stack traceback:", 1, true), "traceback shown")
    T.truthy(out:find(":1: in local 'f'", 1, true), "the failing function's line is in the traceback")
  end)

  it("names the function and the problem for a bad tensor call", function()
    local out, code = run(exe .. " -e 'lunet.zeros(2, 3):matmul(lunet.zeros(4, 5))'")
    T.eq(code, 1, "exit status")
    T.truthy(out:find("matmul: shapes 2x3 and 4x5 do not match (3 ~= 4)", 1, true), out)
  end)

  it("reports versions, BLAS and threads with -v and --version", function()
    for _, flag in ipairs{"-v", "--version"} do
      local out, code = run("LUNET_NUM_THREADS=1 " .. exe .. " " .. flag)
      T.eq(code, 0, flag .. " exit status")
      T.truthy(out:match("^lunet %d+%.%d+%.%d+\n"), flag .. " lunet version")
      T.truthy(out:find("Lua 5.4", 1, true), flag .. " Lua version")
      T.truthy(out:find("BLAS: OpenBLAS", 1, true) and out:find("(openmp)", 1, true), flag .. " BLAS build")
      T.truthy(out:find("threads: 1\n", 1, true), flag .. " thread count from LUNET_NUM_THREADS")
    end
  end)

  it("prints usage for --help, and refuses unknown options and a missing script", function()
    local out, code = run(exe .. " --help")
    T.eq(code, 0, "--help exit status")
    T.truthy(out:find("usage: lunet", 1, true), "usage")
    out, code = run(exe .. " --bogus")
    T.eq(code, 1, "unknown option exit status")
    T.truthy(out:find("unknown option '--bogus'", 1, true), "names the option")
    out, code = run(exe .. " /nonexistent/script.lua")
    T.eq(code, 1, "missing script exit status")
    T.truthy(out:find("cannot open /nonexistent/script.lua", 1, true), "names the file")
    out, code = run(exe .. " -e")
    T.eq(code, 1, "-e without code")
  end)

  it("runs piped standard input as a script, without prompts", function()
    local out, code = run("printf 'print(1 + 1)\\nprint(lunet.tensor{3}:item())\\n' | " .. exe)
    T.eq(code, 0, "exit status")
    T.eq(out, "2\n3\n", "output")
  end)

  os.remove(tmp .. ".lua")
end)
