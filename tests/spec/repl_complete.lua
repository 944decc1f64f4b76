-- The REPL's Tab completion and dir(): lunet.repl.complete reads values without
-- calling any metamethod, and completes paths, methods and globals.
local complete = require "lunet.repl.complete"
local nn = lunet.nn

local function has(list, name)
  for _, v in ipairs(list) do if v == name then return true end end
  return false
end

local function same_list(got, want, what)
  T.eq(T.show(got), T.show(want), what)
end

-- an env as the REPL has: lunet, the short aliases, a tensor, a model, some Lua globals
local Net = nn.Module:extend("CompleteNet")
function Net:init()
  self.fc1 = nn.Linear(3, 2)
  self:buffer("scale", lunet.ones(1))
  self.note = "a raw field"
end
function Net:forward(x) return self.fc1(x) end

local function new_env()
  return {lunet = lunet, nn = nn, string = string, print = print, pairs = pairs,
          x = lunet.zeros(2, 3), model = Net(), t = {alpha = 1, beta = 2, _hidden = 3}}
end

describe("complete.candidates", function()
  local env = new_env()

  it("completes globals and keywords for a bare word", function()
    same_list(complete.candidates("pri", env), {"print"})
    same_list(complete.candidates("fun", env), {"function"})
    same_list(complete.candidates("pa", env), {"pairs"})
  end)

  it("offers keywords only for a bare word", function()
    T.eq(#complete.candidates("t.fun", env), 0, "keywords after a dot")
  end)

  it("completes a path of tables", function()
    same_list(complete.candidates("lunet.ze", env), {"lunet.zeros", "lunet.zeros_like"})
    same_list(complete.candidates("nn.Lin", env), {"nn.Linear"})
    same_list(complete.candidates("string.for", env), {"string.format"})
  end)

  it("completes tensor methods after ':'", function()
    local got = complete.candidates("x:si", env)
    for _, want in ipairs{"x:sigmoid", "x:sin", "x:size"} do T.truthy(has(got, want), want .. " offered") end
    for _, c in ipairs(got) do T.eq(c:sub(1, 4), "x:si", "candidate " .. c) end
    T.truthy(has(complete.candidates("x.", env), "x.requires_grad"), "tensor properties after '.'")
    T.truthy(not has(complete.candidates("x:", env), "x:requires_grad"), "properties are not methods")
  end)

  it("completes parameters and children of modules", function()
    same_list(complete.candidates("model.fc1.we", env), {"model.fc1.weight"})
    same_list(complete.candidates("model.fc", env), {"model.fc1"})
    same_list(complete.candidates("model.sc", env), {"model.scale"})
    T.truthy(has(complete.candidates("model.fc1.", env), "model.fc1.bias"), "bias offered")
  end)

  it("offers only functions after ':'", function()
    local got = complete.candidates("model:", env)
    T.truthy(has(got, "model:parameters"), "parameters offered")
    T.truthy(has(got, "model:forward"), "forward offered")
    for _, c in ipairs{"model:fc1", "model:note", "model:training", "model:scale"} do
      T.truthy(not has(got, c), c .. " is not a method")
    end
  end)

  it("offers every member after a dot, hiding '_' names unless typed", function()
    same_list(complete.candidates("t.", env), {"t.alpha", "t.beta"})
    same_list(complete.candidates("t._", env), {"t._hidden"})
    same_list(complete.candidates("model._mod", env), {"model._modules"})
  end)

  it("completes nothing inside a string literal or for an unknown path", function()
    T.eq(#complete.candidates("pri", env, 'x = "pri', 6), 0, "inside double quotes")
    T.eq(#complete.candidates("pri", env, "x = [[pri", 7), 0, "inside a long string")
    T.eq(#complete.candidates("pri", env, 'x = "a" .. pri', 12), 1, "after a closed string")
    T.eq(#complete.candidates("nothing.a", env), 0, "unknown global")
    T.eq(#complete.candidates("t.alpha.b", env), 0, "a number has no members")
    T.eq(#complete.candidates("1.5", env), 0, "a number literal")
  end)

  it("never calls an __index function", function()
    local calls = 0
    local obj = setmetatable({own = 1}, {__index = function() calls = calls + 1 error("must not be called") end,
                                         __pairs = function() calls = calls + 1 error("must not be called") end})
    local e = {obj = obj}
    same_list(complete.candidates("obj.", e), {"obj.own"})
    T.eq(#complete.candidates("obj.missing.x", e), 0, "an unresolvable step")
    T.eq(#complete.candidates("obj:", e), 0, "no methods known")
    same_list(complete.members(obj), {"own"})
    local g = setmetatable({}, {__index = function() calls = calls + 1 error("no") end})
    T.eq(#complete.candidates("pri", g), 0, "env with a function __index")
    T.eq(calls, 0, "metamethod calls")
  end)

  it("completes a class whose __index function declares __members", function()
    local calls = 0
    local Point = {}
    function Point.norm(p) return math.sqrt(p.x ^ 2 + p.y ^ 2) end
    Point.origin = {x = 0, y = 0} -- not a function: a name only, never read
    local lazy = {area = "computed on first use"}
    local mt = {__index = function(_, k) calls = calls + 1 return Point[k] end, __members = {Point, lazy}}
    local e = {p = setmetatable({x = 3, y = 4}, mt)}
    same_list(complete.candidates("p:", e), {"p:norm"})
    same_list(complete.candidates("p.", e), {"p.area", "p.norm", "p.origin", "p.x", "p.y"})
    same_list(complete.members(e.p), {"area", "norm", "origin", "x", "y"})
    T.eq(#complete.candidates("p.origin.", e), 0, "a non-function member is not read")
    T.eq(#complete.candidates("p.area.", e), 0, "a lazy name is not read")
    T.eq(calls, 0, "__index calls")
  end)

  it("reads __members raw and offers nothing undeclared behind an __index function", function()
    local hidden = {secret = function() end}
    local mt = {__index = function(_, k) return hidden[k] end, shout = function() end}
    local e = {o = setmetatable({own = 1}, mt)}
    same_list(complete.candidates("o.", e), {"o.own"})
    local list = setmetatable({}, {__index = function() error("must not be called") end})
    mt.__members = list
    same_list(complete.candidates("o.", e), {"o.own"})
    rawset(list, 1, hidden)
    same_list(complete.candidates("o.", e), {"o.own", "o.secret"})
  end)

  it("survives a cyclic __index chain and broken metatables", function()
    local a, b = {a1 = 1}, {b1 = 2}
    setmetatable(a, {__index = b})
    setmetatable(b, {__index = a})
    local e = {a = a, weird = setmetatable({w = 1}, {__index = 42, __metatable = "locked"})}
    same_list(complete.candidates("a.", e), {"a.a1", "a.b1"})
    same_list(complete.candidates("weird.", e), {"weird.w"})
    same_list(complete.members(a), {"a1", "b1"})
  end)

  it("caps a huge table's candidates", function()
    local big = {}
    for i = 1, 10000 do big["k" .. i] = i end
    local got = complete.candidates("big.k", {big = big})
    T.truthy(#got > 100 and #got <= 500, "capped candidates, got " .. #got)
    for i = 2, #got do T.truthy(got[i - 1] < got[i], "sorted") end
    same_list(complete.candidates("big.k9999", {big = big}), {"big.k9999"})
  end)

  it("never raises on odd arguments", function()
    T.eq(#complete.candidates(nil, env), 0, "nil word")
    T.eq(#complete.candidates("x.", nil), 0, "nil env")
    T.eq(#complete.candidates("a.b", 42), 0, "number env")
  end)
end)

describe("complete.dir", function()
  it("lists a tensor's methods", function()
    local d = complete.dir(lunet.zeros(2))
    T.truthy(has(d, "matmul"), "matmul")
    T.truthy(has(d, "sum"), "sum")
    for i = 2, #d do T.truthy(d[i - 1] < d[i], "sorted") end
  end)

  it("lists a module's methods, parameters, buffers and children", function()
    local d = complete.dir(Net())
    for _, n in ipairs{"parameters", "forward", "fc1", "scale", "note", "training"} do
      T.truthy(has(d, n), n)
    end
    T.truthy(not has(d, "_parameters"), "'_' names hidden")
    local lin = complete.dir(nn.Linear(2, 2))
    T.truthy(has(lin, "weight") and has(lin, "bias"), "Linear's parameters")
  end)

  it("lists a string's methods", function()
    T.truthy(has(complete.dir("abc"), "upper"), "upper")
  end)

  it("lists the globals with no argument, nothing for nil", function()
    local d = complete.dir()
    T.truthy(has(d, "print") and has(d, "lunet"), "globals")
    T.eq(#complete.dir(nil), 0, "dir(nil)")
  end)

  it("lists a recording run's methods", function()
    local path = os.tmpname()
    os.remove(path)
    local run = lunet.runs.start{db = path, name = "complete-spec"}
    local d = complete.dir(run)
    run:finish()
    for _, s in ipairs{"", "-wal", "-shm"} do os.remove(path .. s) end
    T.truthy(has(d, "log"), "log")
    T.truthy(has(d, "finish"), "finish")
    T.truthy(has(complete.candidates("r:lo", {r = run}), "r:log"), "r:log completes")
  end)

  it("lists a queried run's methods and lazy fields without loading them", function()
    local query = require "lunet.runs.query"
    local r = setmetatable({id = 1}, query.Run)
    local d = complete.dir(r)
    for _, n in ipairs{"history", "params", "summary", "id"} do T.truthy(has(d, n), n) end
    T.eq(#complete.candidates("r.params.", {r = r}), 0, "lazy fields are not read")
    T.truthy(has(complete.candidates("r:hi", {r = r}), "r:history"), "methods")
  end)

  it("lists optimizers, loaders and datasets", function()
    local m = nn.Linear(2, 1)
    local opt = lunet.optim.SGD(m:parameters(), {lr = 0.1})
    local od = complete.dir(opt)
    T.truthy(has(od, "step") and has(od, "zero_grad") and has(od, "param_groups"), "optimizer")
    local ds = lunet.data.TensorDataset(lunet.zeros(4, 2), lunet.zeros(4))
    T.truthy(has(complete.dir(ds), "batch"), "dataset batch")
    local dl = lunet.data.DataLoader(ds, {batch_size = 2})
    T.truthy(has(complete.dir(dl), "batch_size"), "loader fields")
  end)

  it("lists the methods of Subset, Concat and the text datasets", function()
    local ds = lunet.data.TensorDataset(lunet.zeros(4, 2))
    T.truthy(has(complete.dir(lunet.data.Subset(ds, {1, 2})), "batch"), "Subset batch")
    T.truthy(has(complete.dir(lunet.data.Concat{ds, ds}), "batch"), "Concat batch")
    local qa = lunet.data.QAPairs{{"hi there", "hello"}, {"bye", "see you"}}
    local d = complete.dir(qa)
    for _, n in ipairs{"batch", "pair", "vocab", "src_len"} do T.truthy(has(d, n), n) end
    T.truthy(has(complete.candidates("q:pa", {q = qa}), "q:pair"), "q:pair completes")
  end)

  it("lists the methods of a run from runs.show", function()
    local path = os.tmpname()
    os.remove(path)
    local run = lunet.runs.start{db = path, name = "complete-show"}
    run:log{loss = 1}
    run:finish()
    local shown = lunet.runs.show("complete-show", path)
    local d = complete.dir(shown)
    for _, s in ipairs{"", "-wal", "-shm"} do os.remove(path .. s) end
    for _, n in ipairs{"history", "metric_names", "params", "summary"} do T.truthy(has(d, n), n) end
    T.truthy(has(complete.candidates("r:hi", {r = shown}), "r:history"), "r:history completes")
  end)

  it("lists lunet.runs including its lazily loaded query functions", function()
    local d = complete.dir(lunet.runs)
    T.truthy(has(d, "start") and has(d, "query"), "start and query")
  end)

  it("prints dir's list in columns, every name once, still a plain array", function()
    local d = complete.dir(lunet.ones(2))
    local text = tostring(d)
    local seen = 0
    for name in text:gmatch("%S+") do
      seen = seen + 1
      T.truthy(has(d, name), "printed name " .. name .. " is in the list")
    end
    T.eq(seen, #d, "each name printed once")
    local lines = select(2, text:gsub("\n", "")) + 1
    T.truthy(lines < #d, "several names per line")
    T.eq(d[1], "abs", "the first entry of the array")
    T.eq(tostring(complete.dir({})), "(nothing)", "an empty list")
  end)

  it("resolves a name path the way Tab looks members up, for ?name", function()
    local Net = lunet.nn.Module:extend("ResolveNet")
    function Net:init() self.fc1 = lunet.nn.Linear(2, 3) end
    local model = Net()
    local env = {lunet = lunet, x = lunet.ones(2), model = model}
    T.eq(complete.resolve("lunet.nn.Linear", env), lunet.nn.Linear, "a table path")
    T.eq(complete.resolve("x:matmul", env), lunet.Tensor.matmul, "a tensor method")
    T.truthy(rawequal(complete.resolve("model.fc1.weight", env), model.fc1.weight), "a module's child's parameter")
    T.eq(complete.resolve("model:parameters", env), lunet.nn.Module.parameters, "a module method")
    T.eq(complete.resolve("lunet.nope", env), nil, "unknown")
    local calls = 0
    local trap = setmetatable({}, {__index = function() calls = calls + 1 end})
    T.eq(complete.resolve("trap.zeros", {trap = trap}), nil, "behind an __index function")
    T.eq(calls, 0, "__index calls")
  end)
end)
