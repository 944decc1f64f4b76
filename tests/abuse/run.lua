-- The Lua API under abuse (issue 7, part 3). Run by tests/spec/abuse.lua in a
-- child lunet, in a scratch directory (files that functions write land there):
--   lunet tests/abuse/run.lua [filter]
-- Every function reachable from lunet.core (underscore tables too: they are C
-- entry points), from the metatables of every userdata kind in the registry,
-- from the lunet library tables, and every method of one object of each class
-- is called with one bad argument at a time, in each position up to 4 (and a
-- bad self for methods). The list is walked at run time, so a function added
-- later is called too. The protocol goes to stderr, one line each, flushed:
--   CALL <name> <vector>@<position>   before each call (the parent names the
--                                      last one if the process dies)
--   UNNAMED <name> <vector>@<pos>: <message>   an error naming neither the
--                                      function nor the argument
--   NONSTRING / HANG / STALE <...>     an error value that is not a string,
--                                      a call stopped by the watchdog, an
--                                      exclusion that names nothing
--   SUMMARY key=value ...              the last line; its absence is a crash
local lunet = require "lunet"
local core = require "lunet.core"
local filter = ...

local err = io.stderr
local function say(...) err:write(...) err:write("\n") err:flush() end

-- ---- exclusions: calling them is unsafe by design, not by a bug ----------------
local EXCLUDED = {
  ["core._repl.readline"] = "waits for a line on the terminal",
  ["lunet.train.parse_args"] = "prints the help and calls os.exit on --help and on bad options",
}

-- ---- valid-ish objects, made fresh for every call ----------------------------
local function T(...) return core.randn(...) end
local function closed_tensor() local t = T(2, 3); getmetatable(t).__close(t); return t end
local scratch_db = "abuse-runs.db"

local kinds = {} -- one valid object of each userdata kind: name -> maker
kinds.tensor = function() return T(2, 3) end
kinds.canvas = function() return core._image.canvas(8, 8) end
-- a run (a row, a heartbeat thread) costs milliseconds: one is shared until
-- a call closes it. Straight from the C layer: lunet.runs.start would keep
-- every one open until exit
local function shared(make, alive)
  local obj
  return function()
    if not (obj and alive(obj)) then obj = make() end
    return obj
  end
end
kinds.db = shared(function() return core._runs.open(scratch_db) end, function(db) return pcall(db.is_readonly, db) end)
kinds.run = shared(function() return core._runs.start(scratch_db, {name = "abuse"}) end,
                   function(r) local ok, s = pcall(r.status, r) return ok and s == "running" end)

-- ---- the bad values: each a maker, called fresh for every call -----------------
local function V(name, make) return {name = name, make = make} end
local vectors = {
  V("none", function() return nil end),
  V("string", function() return "x" end),
  V("numeric_string", function() return "2" end),
  V("true", function() return true end),
  V("false", function() return false end),
  V("empty_table", function() return {} end),
  V("list", function() return {1, 2} end),
  V("ragged_table", function() return {{1}, {2, 3}} end),
  V("bad_options", function() return {dtype = "bogus", requires_grad = 1} end),
  V("function", function() return function() return nil end end),
  V("erroring_function", function() return function() error("boom") end end),
  V("coroutine", function() return coroutine.create(function() end) end),
  V("light_userdata", function() return core._optim.id(T(1)) end),
  V("canvas", kinds.canvas),
  V("closed_tensor", closed_tensor),
  V("nan", function() return 0 / 0 end),
  V("inf", function() return math.huge end),
  V("-inf", function() return -math.huge end),
  V("-1", function() return -1 end),
  V("0", function() return 0 end),
  V("0.5", function() return 0.5 end),
  V("2^31", function() return 1 << 31 end),
  V("-2^31", function() return -(1 << 31) end),
  V("2^53", function() return 1 << 53 end),
  V("maxinteger", function() return math.maxinteger end),
  V("mininteger", function() return math.mininteger end),
  V("1e300", function() return 1e300 end),
  V("7", function() return 7 end),
  V("100", function() return 100 end),
  V("long_string", function() return string.rep("x", 1 << 16) end),
  V("holey_list", function() return {1, nil, 3} end),
  V("deep_table", function() local t = {1} for _ = 1, 200 do t = {t} end return t end),
  V("huge_sizes", function() return {1 << 40, 1 << 40} end),
  V("negative_sizes", function() return {-1, 3} end),
  V("empty_tensor", function() return core.zeros(0) end),
  V("zero_size_dim", function() return core.zeros(0, 3) end),
  V("transposed", function() return T(3, 2):t() end),
  V("strided", function() return T(2, 6)[{{}, {1, 6, 2}}] end),
  V("expanded", function() return T(1, 3):expand(2, 3) end),
  V("int64", function() return core.tensor{{1, 2, 3}, {4, 5, 6}} end),
  V("float64", function() return T(2, 3, {dtype = "float64"}) end),
  V("scalar", function() return core.tensor(1.5) end),
  V("int_scalar", function() return core.tensor(3) end),
  V("nan_tensor", function() return core.full({2, 3}, 0 / 0) end),
  V("5d", function() return T(1, 2, 1, 3, 1) end),
  V("max_dims", function() return T(1, 2, 1, 1, 1, 1, 3, 1) end), -- LT_MAX_DIM of them
  V("requires_grad", function() return T(2, 3, {requires_grad = true}) end),
}

-- ---- default arguments: enough to reach past the first check --------------------
-- keyed by the target's name; a maker returns the arguments after self
local function img() return core.rand(2, 1, 6, 6) end
local HINTS = {
  ["core._nn.conv2d"] = function() return img(), T(2, 1, 3, 3), T(2), 1, 1, 0, 0, 1, 1, 1 end,
  ["core._nn.conv1d"] = function() return T(2, 1, 6), T(2, 1, 3), T(2), 1, 0, 1, 1 end,
  ["core._nn.conv_transpose2d"] = function() return img(), T(1, 2, 3, 3), T(2), 1, 1, 0, 0, 0, 0, 1, 1, 1 end,
  ["core._nn.max_pool2d"] = function() return img(), 2, 2, 2, 2, 0, 0, 1, 1, false end,
  ["core._nn.avg_pool2d"] = function() return img(), 2, 2, 2, 2, 0, 0, false, true end,
  ["core._nn.adaptive_avg_pool2d"] = function() return img(), 2, 2 end,
  ["core._nn.cross_entropy"] = function() return T(4, 3), core.tensor{1, 2, 3, 1}, nil, nil, 0, "mean" end,
  ["core._nn.nll_loss"] = function() return T(4, 3), core.tensor{1, 2, 3, 1}, nil, nil, "mean" end,
  ["core._nn.binary_cross_entropy"] = function() return core.rand(4), core.rand(4), nil, "mean" end,
  ["core._nn.binary_cross_entropy_with_logits"] = function() return T(4), core.rand(4), nil, nil, "mean" end,
  ["core._nn.embedding"] = function() return T(5, 3), core.tensor{1, 5, 2} end,
  ["core._nn.batch_norm"] = function() return T(4, 3), T(3), T(3), T(3), core.ones(3), true, 0.1, 1e-5 end,
  ["core._nn.layer_norm"] = function() return T(4, 3), 1, T(3), T(3), 1e-5 end,
  ["core._nn.dropout"] = function() return T(4, 3), 0.5, true end,
  ["core._nn.lstm"] = function() return T(3, 2, 8), T(2, 2), T(2, 2), T(8, 2) end,
  ["core._nn.gru"] = function() return T(3, 2, 6), T(2, 2), T(6, 2), T(6) end,
  ["core._nn.lstm_cell"] = function() return T(2, 8), T(2, 2) end,
  ["core._nn.gru_cell"] = function() return T(2, 6), T(2, 6), T(2, 2) end,
  ["core._nn.linear"] = function() return T(4, 3), T(2, 3), T(2) end,
  ["core._optim.sgd_"] = function() return T(3), T(3), T(3), 0.1, 0.9, 0, 0, false, false, true end,
  ["core._optim.adam_"] = function() return T(3), T(3), T(3), T(3), nil, 1, 0.1, 0.9, 0.999, 1e-8, 0, false, false, false end,
  ["core._optim.rmsprop_"] = function() return T(3), T(3), T(3), nil, nil, 0.1, 0.99, 1e-8, 0, 0, false end,
  ["core._optim.adagrad_"] = function() return T(3), T(3), T(3), 1, 0.1, 0, 1e-10, 0, false end,
  ["core._optim.pnorm_sum"] = function() return T(3), 2 end,
  ["core._loader.gather"] = function() return T(4, 3), core.tensor{1, 4} end,
  ["core._loader.perm"] = function() return 5, 1, 0 end,
  ["core._transforms.hflip"] = function() return img(), core.tensor{1, 0} end,
  ["core._transforms.translate"] = function() return img(), 6, 6, core.tensor{1, -1}, core.tensor{0, 2} end,
  ["core._transforms.rotate"] = function() return img(), core.tensor({10, -30}, {dtype = "float64"}), 0 end,
  ["core._transforms.normalize"] = function() return img(), {0.5}, {0.25} end,
  ["core._transforms.one_hot"] = function() return core.tensor{1, 3}, 3 end,
  ["core._image.canvas"] = function() return 8, 8 end,
  ["core._image.write_png"] = function() return "abuse.png", core.rand(3, 4, 4) end,
  ["core._image.read_png"] = function() return "abuse.png" end,
  ["core._csv.read"] = function() return "abuse.csv", {header = true} end,
  ["core._runs.open"] = function() return scratch_db end,
  ["core._runs.start"] = function() return scratch_db, {name = "abuse"} end,
  ["core.save"] = function() return "abuse.safetensors", {w = T(2, 2)} end,
  ["core.load"] = function() return "abuse.safetensors" end,
  ["core.read_idx"] = function() return "abuse.idx" end,
  ["core.tensor"] = function() return {{1, 2}, {3, 4}} end,
  ["core.full"] = function() return {2, 3}, 1.5 end,
  ["core.randint"] = function() return 0, 10, 2, 3 end,
  ["core.linspace"] = function() return 0, 1, 5 end,
  ["core.arange"] = function() return 1, 5, 1 end,
  ["core.cat"] = function() return {T(2, 3), T(2, 3)}, 1 end,
  ["core.stack"] = function() return {T(2, 3), T(2, 3)}, 1 end,
  ["core.where"] = function() return T(2, 3):gt(0), T(2, 3), T(2, 3) end,
  ["lunet.data.fashion_mnist"] = function() return {root = "no-such-dir"} end, -- not 60000 images per call
  ["lunet.data.mnist"] = function() return {root = "no-such-dir"} end,
  ["core._runs.sha256"] = function() return "abc" end,
  ["core._repl.call"] = function() return function() return 1 end end,
  ["core._record_function"] = function() return {T(2)}, function(...) return ... end end,
}
-- tensor methods: a second operand of the same shape, dims and positions of 1
local TENSOR_HINTS = {
  index_select = function() return 1, core.tensor{1, 2} end,
  gather = function() return 2, core.tensor{{1, 2}, {3, 1}} end,
  masked_fill = function() return T(2, 3):gt(0), 0 end,
  masked_fill_ = function() return T(2, 3):gt(0), 0 end,
  where = function() return T(2, 3):gt(0), T(2, 3) end,
  matmul = function() return T(3, 2) end, mm = function() return T(3, 2) end,
  narrow = function() return 2, 1, 2 end, select = function() return 1, 2 end,
  view = function() return 3, 2 end, reshape = function() return 3, 2 end,
  expand = function() return 2, 2, 3 end, permute = function() return 2, 1 end,
  transpose = function() return 1, 2 end, to = function() return "float64" end,
  split = function() return 1, 2 end, chunk = function() return 2, 2 end,
  random_ = function() return 0, 5 end, backward = function() return T(2, 3) end,
}
local GENERIC = function() return T(2, 3), 1, 1, 1 end

-- ---- targets -----------------------------------------------------------------
local targets, by_fn = {}, {}
local counts = {c = 0, lua = 0}

-- the names of a Lua function's parameters, quoted as Lua's own messages quote them
local function param_names(fn)
  local names = {}
  for i = 1, debug.getinfo(fn, "u").nparams do names[#names + 1] = "'" .. debug.getlocal(fn, i) .. "'" end
  return names
end

local function add(name, fn, self_maker, hint)
  if by_fn[fn] or EXCLUDED[name] then return end
  if filter and not name:find(filter, 1, true) then return end
  by_fn[fn] = name
  local info = debug.getinfo(fn, "Su")
  local is_c = info.what == "C"
  counts[is_c and "c" or "lua"] = counts[is_c and "c" or "lua"] + 1
  local args = HINTS[name] or hint or GENERIC
  -- every position of a hinted signature (the kernels take up to 14), else up to 4
  local npos = math.max(4, select("#", args()) + 1)
  -- Lua functions reach C only through what they compute: three positions do (time budget)
  if not is_c then npos = math.min(npos, 3) end
  if not is_c and not info.isvararg then npos = math.min(npos, info.nparams - (self_maker and 1 or 0)) end
  targets[#targets + 1] = {name = name, fn = fn, self = self_maker, args = args,
                           npos = math.max(npos, 1), params = is_c and {} or param_names(fn), short = name:match("([%w_]+)%W*$")}
end

-- every function in t and its sub-tables (each table once)
local function walk(t, prefix, seen, self_maker, hint_of)
  if seen[t] then return end
  seen[t] = true
  local keys = {}
  for k in pairs(t) do if type(k) == "string" then keys[#keys + 1] = k end end
  -- metamethods last: x.add and __add are one function, best named add
  table.sort(keys, function(a, b)
    local ma, mb = a:sub(1, 2) == "__", b:sub(1, 2) == "__"
    if ma ~= mb then return mb end
    return a < b
  end)
  for _, k in ipairs(keys) do
    local v = rawget(t, k)
    if type(v) == "function" then add(prefix .. k, v, self_maker, hint_of and hint_of(k))
    elseif type(v) == "table" and k ~= "__index" then walk(v, prefix .. k .. ".", seen, self_maker, hint_of) end
  end
end

-- the methods of obj: the tables its metatable chain reaches through __index
local function method_tables(obj)
  local out, seen, queue = {}, {}, {getmetatable(obj)}
  while #queue > 0 do
    local t = table.remove(queue, 1)
    if type(t) == "table" and not seen[t] then
      seen[t] = true
      out[#out + 1] = t
      queue[#queue + 1] = rawget(t, "__index")
      queue[#queue + 1] = getmetatable(t)
    end
  end
  return out
end

local function add_methods(prefix, maker, hint_of)
  local ok, obj = pcall(maker)
  if not ok then say("NOOBJECT ", prefix, ": ", tostring(obj)) return end
  for _, t in ipairs(method_tables(obj)) do walk(t, prefix, {}, maker, hint_of) end
end

-- 1. the C module, with methods called on a valid object of each userdata kind
-- (a tensor's __index is a function: its method table is core.Tensor)
walk(core.Tensor, "core.Tensor:", {}, kinds.tensor, function(k) return TENSOR_HINTS[k] end)
add_methods("core.Tensor:", kinds.tensor)
for _, kind in ipairs{"canvas", "db", "run"} do add_methods(kind .. ":", kinds[kind]) end
walk(core, "core.", {[core.Tensor] = true})
-- 2. every userdata kind in the registry (its metamethods and methods, bad self included)
do
  local names = {}
  for k, v in pairs(debug.getregistry()) do
    if type(k) == "string" and k:match("^lunet") and type(v) == "table" then names[#names + 1] = k end
  end
  table.sort(names)
  for _, k in ipairs(names) do walk(debug.getregistry()[k], "registry." .. k .. ".", {}) end
end

-- 3. the Lua library: functions, and each class called to make one instance
local function params() return lunet.nn.Linear(3, 2):parameters() end
local function lr() return {lr = 0.1} end
local CTOR = { -- constructor arguments where the generic tries do not fit (a function makes a fresh one)
  ["optim.SGD"] = {params, lr}, ["optim.Adam"] = {params}, ["optim.AdamW"] = {params},
  ["optim.RMSprop"] = {params}, ["optim.Adagrad"] = {params},
  ["nn.TransformerEncoder"] = {function() return lunet.nn.TransformerEncoderLayer(4, 2) end, 2},
  ["nn.TransformerDecoder"] = {function() return lunet.nn.TransformerDecoderLayer(4, 2) end, 2},
  ["nn.Conv1d"] = {1, 2, 3}, ["nn.Conv2d"] = {1, 2, 3}, ["nn.ConvTranspose2d"] = {1, 2, 3},
  ["nn.MultiheadAttention"] = {4, 2}, ["nn.TransformerEncoderLayer"] = {4, 2},
  ["nn.TransformerDecoderLayer"] = {4, 2}, ["nn.PositionalEncoding"] = {4},
  ["nn.Embedding"] = {5, 3}, ["nn.Unflatten"] = {2, {1, 3}},
}
local LIB = {"lunet", "lunet.nn", "lunet.nn.F", "lunet.nn.init", "lunet.nn.metrics", "lunet.optim",
             "lunet.optim.lr_scheduler", "lunet.data", "lunet.image", "lunet.train", "lunet.runs",
             "lunet.autograd"}
local function resolve(path)
  local v = {lunet = lunet}
  for part in path:gmatch("[^.]+") do v = v[part] end
  return v
end
local generic_ctor_args = {{}, {3}, {3, 2}, {1, 2, 3}}
local instances = {} -- name -> maker of a fresh instance
local function instance_maker(name, class)
  local tries = CTOR[name] and {CTOR[name]} or generic_ctor_args
  for _, a in ipairs(tries) do
    local make = function()
      local args = {}
      for i, v in ipairs(a) do args[i] = type(v) == "function" and v() or v end -- a function makes a fresh argument
      return class(table.unpack(args))
    end
    if pcall(make) then return make end
  end
end
for _, lib in ipairs(LIB) do
  local t = resolve(lib)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v, name = t[k], (lib .. "." .. k):gsub("^lunet%.", "")
    local mt = getmetatable(v)
    if type(v) == "function" then add("lunet." .. name, v)
    elseif type(v) == "table" and type(mt) == "table" and mt.__call then
      add("lunet." .. name .. "()", function(...) return v(...) end) -- the constructor, bad arguments and all
      local make = instance_maker(name, v)
      if make then instances[#instances + 1] = {name = name, make = make}
      else say("NOOBJECT ", name) end
    end
  end
end
-- one instance of each class; an optimizer and a scheduler need a model
local function model() return lunet.nn.Linear(3, 2) end
instances[#instances + 1] = {name = "data.TensorDataset", make = function() return lunet.data.TensorDataset(T(4, 3), core.tensor{1, 2, 1, 2}) end}
instances[#instances + 1] = {name = "data.DataLoader", make = function()
  return lunet.data.DataLoader(lunet.data.TensorDataset(T(4, 3)), {batch_size = 2}) end}
instances[#instances + 1] = {name = "optim.lr_scheduler.StepLR", make = function()
  return lunet.optim.lr_scheduler.StepLR(lunet.optim.SGD(model():parameters(), {lr = 0.1}), {step_size = 2}) end}
for _, inst in ipairs(instances) do add_methods(inst.name .. ":", inst.make) end

-- ---- calling ---------------------------------------------------------------------
local LIMIT = tonumber(os.getenv("ABUSE_CALL_SECONDS") or "3")
local started
local function watchdog()
  if os.clock() - started > LIMIT then error("abuse watchdog: call ran longer than " .. LIMIT .. " s", 2) end
end

-- call fn through a field named after it, so Lua's messages name it as a user's call would
local fields, callers = {}, {}
local function caller(short)
  if not callers[short] then
    callers[short] = short:match("^[%a_][%w_]*$")
      and load("local H = ... return function(...) return H." .. short .. "(...) end")(fields)
      or function(...) return fields[short](...) end
  end
  return callers[short]
end

-- process-wide switches a call may flip, put back after every call (a memory
-- limit of 2 bytes would make every later call fail early)
-- (100 OpenMP threads on 2 cores make every later call crawl)
local initial = {anomaly = core.is_anomaly_enabled and core.is_anomaly_enabled(),
                 limit = core.memory_limit and core.memory_limit(), threads = core.get_num_threads()}
local function restore_globals()
  core.set_grad_enabled(true)
  if core.get_num_threads() ~= initial.threads then core.set_num_threads(initial.threads) end
  if core.detect_anomaly then core.detect_anomaly(initial.anomaly) end
  if core.set_memory_limit then core.set_memory_limit(initial.limit) end
end

-- ABUSE_CRASH_AT=n: the process kills itself before call n, so the spec can
-- prove it notices a death and names the call
local CRASH_AT = tonumber(os.getenv("ABUSE_CRASH_AT") or "")
local stats = {calls = 0, ok = 0, errors = 0, unnamed = 0, nonstring = 0, hangs = 0}
local unnamed_by_fn = {}

-- metamethods whose messages use the name of the operation
local METAMETHOD_OPS = {newindex = "index", unm = "neg", idiv = "floor_divide", mod = "remainder"}

-- does the message name the function (a word of its name) or the argument?
local function mentions(msg, target)
  local m = msg:lower()
  if m:find("argument", 1, true) or m:find("#%d") then return true end
  if m:find("boom", 1, true) then return true end -- the erroring_function vector's own error, passed on
  -- "fname: ..." or "nn.Linear(...): ..." after the position: the message names a function, if another
  -- one than the target (F.mse_loss for nn.MSELoss:forward)
  local body = msg:gsub("^[^:\n]*:%d+: ", "")
  if body:match("^[%a_][%w_.]*%b():") or body:match("^[%a_][%w_.]*:[%w_]*:? ") then return true end
  for word in target.name:gmatch("[%w_]+") do
    word = word:gsub("^_+", ""):lower()
    word = METAMETHOD_OPS[word] or word
    for part in (word .. "_" .. word):gmatch("[^_]+") do -- read_idx: read, idx
      if part ~= "core" and part ~= "lunet" and (m:find(part .. ":", 1, true) or m:find("'" .. part .. "'", 1, true)) then
        return true
      end
    end
    if #word > 2 and word ~= "core" and word ~= "lunet" and m:find(word, 1, true) then return true end
  end
  for _, p in ipairs(target.params) do if msg:find(p, 1, true) then return true end end
  return false
end

local function call(target, vector, pos, tag)
  local n, args = 0, {}
  local function push(...) for i = 1, select("#", ...) do n = n + 1; args[n] = (select(i, ...)) end end
  if target.self then push(target.self()) end
  push(target.args())
  local at = (target.self and 1 or 0) + pos -- pos 0 is self
  if vector then
    args[at] = vector.make()
    if at > n then n = at end
  end
  tag = tag or (vector and vector.name or "valid") .. "@" .. pos
  say("CALL ", target.name, " ", tag)
  stats.calls = stats.calls + 1
  if stats.calls == CRASH_AT then os.execute("kill -SEGV $PPID; sleep 5") end -- the spec's self-test
  fields[target.short] = target.fn
  local f = caller(target.short)
  started = os.clock()
  debug.sethook(watchdog, "", 10000)
  local ok, e = pcall(f, table.unpack(args, 1, n))
  debug.sethook()
  restore_globals()
  if ok then stats.ok = stats.ok + 1 return end
  stats.errors = stats.errors + 1
  if type(e) ~= "string" then
    stats.nonstring = stats.nonstring + 1
    say("NONSTRING ", target.name, " ", tag, ": ", type(e))
  elseif e:find("abuse watchdog", 1, true) then
    stats.hangs = stats.hangs + 1
    say("HANG ", target.name, " ", tag)
  elseif not target.any_message and not mentions(e, target) then
    stats.unnamed = stats.unnamed + 1
    unnamed_by_fn[target.name] = (unnamed_by_fn[target.name] or 0) + 1
    say("UNNAMED ", target.name, " ", tag, ": ", (e:gsub("\n.*", "")))
  end
end

-- the scratch files the hints read
core.save("abuse.safetensors", {w = T(2, 2)})
core._image.write_png("abuse.png", core.rand(3, 4, 4))
do local f = assert(io.open("abuse.csv", "w")); f:write("a,b\n1,2\n3,4\n"); f:close() end
do local f = assert(io.open("abuse.idx", "wb")); f:write(string.pack(">I4I4", 0x0801, 2), "\1\2"); f:close() end

for ti, target in ipairs(targets) do
  local t0 = core.clock()
  call(target, nil, 1) -- the defaults themselves
  for _, vector in ipairs(vectors) do
    for pos = target.self and 0 or 1, target.npos do call(target, vector, pos) end
  end
  if core.clock() - t0 > 0.2 then say(string.format("SLOW %s %.2f s", target.name, core.clock() - t0)) end
  if ti % 20 == 0 then collectgarbage() end -- collected objects meet the next calls
end
collectgarbage()

-- ---- pairs: tensor methods with an odd tensor as self AND as the operand ---------
-- (one bad argument at a time never puts an empty, strided or stride-0 tensor on
-- both sides of a kernel)
-- (the odd ones: plain float tensors like nan_tensor add nothing here)
local PAIRED = {closed_tensor = true, empty_tensor = true, zero_size_dim = true, transposed = true, strided = true,
                expanded = true, int64 = true, float64 = true, scalar = true, ["5d"] = true, max_dims = true}
local tensor_vectors = {}
for _, v in ipairs(vectors) do
  if PAIRED[v.name] then tensor_vectors[#tensor_vectors + 1] = v end
end
local pair_targets = {}
for _, t in ipairs(targets) do
  if t.name:match("^core%.Tensor:") and debug.getinfo(t.fn, "S").what == "C" then pair_targets[#pair_targets + 1] = t end
end
for _, target in ipairs(pair_targets) do
  for _, a in ipairs(tensor_vectors) do
    for _, b in ipairs(tensor_vectors) do
      call({name = target.name, short = target.short, fn = target.fn, params = {},
            args = function() return b.make() end, self = a.make}, nil, 1, a.name .. "+" .. b.name)
    end
  end
end
collectgarbage()

-- ---- lifetimes: objects used after what they hold was closed or collected -------
local nn, optim, data = lunet.nn, lunet.optim, lunet.data
local function model_step(opt_class)
  local m = nn.Linear(3, 2)
  local opt = opt_class(m:parameters(), {lr = 0.1})
  m:forward(T(4, 3)):sum():backward()
  return m, opt
end
local LIFETIMES = {
  ["optimizer after its model was collected"] = function()
    local _, opt = model_step(optim.Adam)
    collectgarbage()
    opt:step(); opt:zero_grad(); opt:step()
  end,
  ["optimizer after a parameter was closed"] = function()
    local m, opt = model_step(optim.SGD)
    local p = m:parameters()[1]
    getmetatable(p).__close(p)
    m = nil
    collectgarbage()
    opt:step()
  end,
  ["optimizer after a gradient was closed"] = function()
    local m, opt = model_step(optim.RMSprop)
    local g = m:parameters()[1].grad
    getmetatable(g).__close(g)
    opt:step()
  end,
  ["optimizer state_dict after a state tensor was closed"] = function()
    local _, opt = model_step(optim.Adam)
    opt:step()
    for _, st in pairs(opt.state) do
      for _, v in pairs(st) do if core.is_tensor(v) then getmetatable(v).__close(v) end end
    end
    opt:load_state_dict(opt:state_dict()); opt:step()
  end,
  ["DataLoader after its dataset was collected"] = function()
    local loader = data.DataLoader(data.TensorDataset(T(5, 3), core.tensor{1, 2, 3, 4, 5}), {batch_size = 2, shuffle = true})
    collectgarbage()
    for xb in loader:batches() do xb:sum() end
  end,
  ["DataLoader after its dataset's tensors were closed"] = function()
    local x = T(5, 3)
    local loader = data.DataLoader(data.TensorDataset(x), {batch_size = 2})
    getmetatable(x).__close(x)
    for xb in loader:batches() do xb:sum() end
  end,
  ["closed db handle"] = function()
    local db = kinds.db()
    db:close(); db:close()
    db:query("SELECT 1")
  end,
  ["finished run"] = function()
    local r = core._runs.start(scratch_db, {name = "lifetime"})
    r:finish(); r:log({loss = 1}); r:finish(); getmetatable(r).__close(r); r:log({loss = 1})
  end,
  ["closed canvas"] = function()
    local c = kinds.canvas()
    getmetatable(c).__close(c)
    c:fill_rect(1, 1, 2, 2, {1, 0, 0})
  end,
  ["view of a closed tensor"] = function()
    local x = T(3, 4)
    local v = x:t()[{{1, 2}}]
    getmetatable(x).__close(x)
    collectgarbage()
    v:add_(1); v:contiguous():sum()
  end,
  ["backward through a closed input"] = function()
    local x = T(3, {requires_grad = true})
    local y = (x * 2):sum()
    getmetatable(x).__close(x)
    collectgarbage()
    y:backward()
  end,
  ["backward twice, and after the graph's tensors were collected"] = function()
    local y = (T(3, {requires_grad = true}) ^ 2):sum()
    collectgarbage()
    y:backward(); y:backward()
  end,
  ["custom Function whose backward returns nonsense"] = function()
    local bad = {function() return nil end, function() return "x" end, function() return T(7) end,
                 function() return closed_tensor() end, function() return core.tensor{1, 2, 3} end,
                 function() error("boom") end, function(_, g) return g, g, g end}
    for _, back in ipairs(bad) do
      local f = lunet.autograd.Function{forward = function(_, a) return a * 2 end, backward = back}
      pcall(function() f(T(3, {requires_grad = true})):sum():backward() end)
    end
  end,
  ["custom Function whose forward returns a closed tensor"] = function()
    local f = lunet.autograd.Function{forward = function() return closed_tensor() end, backward = function(_, g) return g end}
    f(T(3, {requires_grad = true})):sum():backward()
  end,
  ["module called after its weight was closed"] = function()
    local m = nn.Conv2d(1, 2, 3)
    getmetatable(m.weight).__close(m.weight)
    m:forward(core.rand(1, 1, 5, 5))
  end,
  ["state_dict loaded with closed and mis-shaped tensors"] = function()
    local m = nn.Linear(3, 2)
    local sd = m:state_dict()
    sd.weight = closed_tensor()
    pcall(m.load_state_dict, m, sd)
    sd.weight = T(0, 3)
    m:load_state_dict(sd)
  end,
}
local lifetime_names = {}
for name in pairs(LIFETIMES) do lifetime_names[#lifetime_names + 1] = name end
table.sort(lifetime_names)
for _, name in ipairs(lifetime_names) do
  if not filter then
    -- any error will do here: the point is that none of these crashes
    call({name = "lifetime", short = "lifetime", fn = LIFETIMES[name], params = {}, args = function() end, any_message = true},
         nil, 1, (name:gsub(" ", "_")))
  end
end
collectgarbage()

-- ---- rot checks and the summary ----------------------------------------------
local stale = 0
for name in pairs(EXCLUDED) do
  -- an exclusion must still name a function the walk would reach: core.* in
  -- lunet.core, lunet.* in the library
  local v = name:match("^core%.") and core or lunet
  for part in name:gsub("^core%.", ""):gsub("^lunet%.", ""):gmatch("[^.]+") do v = type(v) == "table" and v[part] or nil end
  if type(v) ~= "function" then stale = stale + 1; say("STALE ", name) end
end
local worst = {}
for name, c in pairs(unnamed_by_fn) do worst[#worst + 1] = {name, c} end
table.sort(worst, function(a, b) return a[2] > b[2] end)
for i = 1, math.min(#worst, 40) do say("UNNAMED_BY_FUNCTION ", worst[i][1], " ", worst[i][2]) end
say(string.format("SUMMARY functions_c=%d functions_lua=%d targets=%d vectors=%d calls=%d ok=%d errors=%d "
                  .. "unnamed=%d nonstring=%d hangs=%d stale=%d excluded=%d",
                  counts.c, counts.lua, #targets, #vectors, stats.calls, stats.ok, stats.errors, stats.unnamed,
                  stats.nonstring, stats.hangs, stale, (function() local c = 0 for _ in pairs(EXCLUDED) do c = c + 1 end return c end)()))
