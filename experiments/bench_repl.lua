-- bench_repl.lua -- how quickly the REPL answers: start-up of its modules, the
-- first help() (which indexes the docs), a help lookup, Tab completion, and
-- printing big values. Milliseconds per call, best and median of B.SAMPLES.
--   ./lunet --no-run experiments/bench_repl.lua
local dir = arg[0]:match("^(.*/)") or "./"
local B = dofile(dir .. "bench_lib.lua")

local function ms(name, fn)
  local best, med = B.measure(fn)
  print(string.format("%-44s best %9.3f ms   median %9.3f ms", name, best * 1e3, med * 1e3))
end

-- loading (compiling) the REPL's modules: dropped from package.loaded and required again
local REPL_MODULES = {"lunet.repl", "lunet.repl.pretty", "lunet.repl.complete", "lunet.repl.help", "lunet.repl.help_index"}
ms("loading the REPL's modules", function()
  for _, m in ipairs(REPL_MODULES) do package.loaded[m] = nil end
  for _, m in ipairs(REPL_MODULES) do require(m) end
end)

local help = require "lunet.repl.help"
local t0 = B.now()
help.lookup("nn.Linear")
print(string.format("%-44s %9.3f ms (indexing the docs once)", "first help lookup", (B.now() - t0) * 1e3))
ms("help lookup nn.Linear", function() help.lookup("nn.Linear") end)
ms("help lookup of a value (lunet.Tensor.matmul)", function() help.lookup(lunet.Tensor.matmul) end)

local complete = require "lunet.repl.complete"
local env = setmetatable({x = lunet.ones(2, 2), model = lunet.nn.Sequential{lunet.nn.Linear(4, 3)}}, {__index = _G})
ms("Tab on 'lunet.' (all of lunet)", function() complete.candidates("lunet.", env, "lunet.", 1) end)
ms("Tab on 'x:' (tensor methods)", function() complete.candidates("x:", env, "x:", 1) end)
ms("Tab on 'model.' (a module)", function() complete.candidates("model.", env, "model.", 1) end)
local big = {}
for i = 1, 100000 do big["key" .. i] = i end
env.big = big
ms("Tab on 'big.key99' (100,000 keys)", function() complete.candidates("big.key99", env, "big.key99", 1) end)

local pretty = require "lunet.repl.pretty"
local t = {}
for i = 1, 10000 do t[i] = {id = i, name = "run" .. i} end
ms("print a table of 10,000 tables (100 shown)", function() pretty.format(t, {width = 100}) end)
local mlp = lunet.nn.Sequential{lunet.nn.Linear(784, 256), lunet.nn.ReLU(), lunet.nn.Linear(256, 10)}
ms("print an MLP's module tree", function() pretty.format(mlp, {width = 100}) end)
