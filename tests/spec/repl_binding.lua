-- lunet.core._repl, the C side of the REPL: argument checks and the calls that
-- do not need a terminal (the terminal itself is tested in repl_tty.lua).
local R = require("lunet.core")._repl

describe("_repl bindings", function()
  it("refuse bad arguments with the function and argument named", function()
    T.errors(function() R.readline() end, "bad argument #1 to 'readline'")
    T.errors(function() R.readline({}) end, "bad argument #1 to 'readline'")
    T.errors(function() R.add_history(nil) end, "bad argument #1 to 'add_history'")
    T.errors(function() R.set_completer(5) end, "bad argument #1 to 'set_completer'")
    T.errors(function() R.isatty("x") end, "bad argument #1 to 'isatty'")
    T.errors(function() R.isatty(-1) end, "expected a file descriptor (0 to 1023)")
    T.errors(function() R.isatty(1 << 40) end, "expected a file descriptor (0 to 1023)")
    T.errors(function() R.call() end, "bad argument #1 to 'call'")
  end)

  it("call returns true and the results, or false and the message with a traceback", function()
    local ok, a, b = R.call(function(x, y) return x + y, "two" end, 1, 2)
    T.eq(ok, true, "ok"); T.eq(a, 3, "first result"); T.eq(b, "two", "second result")
    local ok2, err = R.call(function() error("boom") end)
    T.eq(ok2, false, "failed")
    T.truthy(err:find("boom", 1, true) and err:find("stack traceback:", 1, true), "message and traceback: " .. err)
    local ok3, err3 = R.call(5)
    T.eq(ok3, false, "calling a number fails inside call, not outside")
    T.truthy(err3:find("attempt to call a number value", 1, true), err3)
  end)

  it("answers isatty, terminal_size and docs without a terminal", function()
    T.eq(type(R.isatty(0)), "boolean", "isatty")
    local cols, rows = R.terminal_size()
    T.truthy(cols == nil or (math.type(cols) == "integer" and cols > 0 and rows >= 0), "columns, rows or nothing")
    local docs = R.docs()
    T.truthy(docs["docs/nn.md"]:find("# Neural networks", 1, true), "docs/nn.md compiled in")
    T.truthy(docs["docs/repl.md"] ~= nil, "docs/repl.md compiled in")
    R.set_completer(function() return {} end)
    R.set_completer(nil) -- clearing is allowed
  end)
end)
