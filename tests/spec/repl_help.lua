-- help() and ?name in the REPL (lua/lunet/repl/help.lua, the docs' index in
-- help_index.lua): lookups of values and names in the compiled-in docs, the printed
-- forms, and a coverage check that every public name of the library is documented
-- somewhere in docs/.
local help = require "lunet.repl.help"
local nn, F, optim, data, runs = lunet.nn, lunet.nn.F, lunet.optim, lunet.data, lunet.runs

-- what fn(...) prints, as one string
local function printed(fn, ...)
  local out, print0 = {}, print
  print = function(...) -- luacheck: ignore (captured for the test)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    out[#out + 1] = table.concat(parts, "\t")
  end
  local ok, err = pcall(fn, ...)
  print = print0 -- luacheck: ignore
  if not ok then error(err, 0) end
  return table.concat(out, "\n")
end

local function has(text, what, label)
  T.truthy(type(text) == "string" and text:find(what, 1, true), (label or "text") .. " contains '" .. what .. "'")
end

describe("help.lookup of values", function()
  it("lunet.zeros: its paragraph in Creation", function()
    local text, source = help.lookup(lunet.zeros)
    has(text, "lunet.zeros(sizes... [, opts])")
    T.eq(source, "docs/tensor.md, Creation", "source")
  end)

  it("nn.Linear: its table row and the weight bullet", function()
    local text, source = help.lookup(nn.Linear)
    has(text, "nn.Linear(in, out [, {bias = true}])")
    has(text, "| layer | arguments")
    has(text, "weight (out, in)")
    T.eq(source, "docs/nn.md, Layers", "source")
  end)

  it("an nn.Linear instance gives its class's text", function()
    T.eq(help.lookup(nn.Linear(3, 2)), help.lookup(nn.Linear), "text")
  end)

  it("F.cross_entropy: the losses row and its bullet", function()
    local text, source = help.lookup(F.cross_entropy)
    has(text, "F.cross_entropy(input, target")
    has(text, "label_smoothing = e")
    T.eq(source, "docs/nn.md, Losses", "source")
  end)

  it("optim.Adam and an Adam instance: the Adam section", function()
    local text, source = help.lookup(optim.Adam)
    has(text, "optim.Adam(params, {lr = 1e-3")
    T.eq(source, "docs/optim.md, Adam", "source")
    local opt = optim.Adam(nn.Linear(2, 2):parameters())
    T.eq(help.lookup(opt), text, "instance text")
  end)

  it("lunet.Tensor.matmul: the a:matmul paragraph and its table", function()
    local text, source = help.lookup(lunet.Tensor.matmul)
    has(text, "a:matmul(b) — matrix product")
    has(text, "| m x k and k x n | m x n |")
    T.eq(source, "docs/tensor.md, Linear algebra", "source")
  end)

  it("a tensor gives the tensor page's overview", function()
    local text, source = help.lookup(lunet.zeros(2))
    has(text, "# Tensors")
    T.eq(source, "docs/tensor.md", "source")
  end)

  it("data.DataLoader, runs.query, lunet.save", function()
    local text, source = help.lookup(data.DataLoader)
    has(text, "batch_size")
    T.eq(source, "docs/data_loading.md, data.DataLoader(ds, opts)", "DataLoader source")
    text, source = help.lookup(runs.query)
    has(text, "lunet.runs.query{where")
    T.eq(source, "docs/runs.md, From Lua", "query source")
    text, source = help.lookup(lunet.save)
    has(text, "lunet.save(path, tensors [, metadata])")
    T.eq(source, "docs/checkpoints.md, API", "save source")
  end)

  it("runs.get, train.fit and image.grid: their own paragraphs", function()
    local text, source = help.lookup(runs.get)
    has(text, "lunet.runs.get(id [, db]) → one run object")
    T.eq(source, "docs/runs.md, From Lua", "get source")
    text, source = help.lookup(runs.query)
    has(text, "lunet.runs.query(opts) → an array of run objects")
    text, source = help.lookup(lunet.train.fit)
    has(text, "train.fit{...} → history")
    T.eq(source, "docs/train.md, fit", "fit source")
    text, source = help.lookup(lunet.image.grid)
    has(text, "image.grid(batch [, opts])")
    T.eq(source, "docs/image.md, image.grid(batch [, opts])", "grid source")
  end)

  it("library tables: lunet.train and lunet.image give their pages", function()
    local text, source = help.lookup(lunet.train)
    has(text, "# Training loops")
    T.eq(source, "docs/train.md", "train source")
    text, source = help.lookup(lunet.image)
    has(text, "# Images")
    T.eq(source, "docs/image.md", "image source")
  end)

  it("library tables: lunet.nn and lunet.optim give their pages", function()
    local text, source = help.lookup(nn)
    has(text, "# Neural networks")
    T.eq(source, "docs/nn.md", "nn source")
    text, source = help.lookup(optim)
    has(text, "# Optimizers")
    T.eq(source, "docs/optim.md", "optim source")
  end)
end)

describe("help.lookup of names", function()
  it("x:sum finds the reductions table", function()
    local text, source = help.lookup("x:sum")
    has(text, "| sum | sum | int64")
    T.eq(source, "docs/tensor.md, Reductions", "source")
  end)

  it("nn.Linear and cross_entropy by name", function()
    T.eq(help.lookup("nn.Linear"), help.lookup(nn.Linear), "nn.Linear")
    T.eq(help.lookup("cross_entropy"), help.lookup(F.cross_entropy), "cross_entropy")
    T.eq(help.lookup("lunet.zeros"), help.lookup(lunet.zeros), "lunet.zeros")
  end)

  it("an unknown name gives nil", function()
    T.eq(help.lookup("no_such_name_anywhere"), nil, "lookup")
  end)
end)

describe("help_index: the docs' names and places", function()
  local help_index = require "lunet.repl.help_index"

  it("key_of: the spellings of one name meet in one key", function()
    T.eq(help_index.key_of("lunet.nn.F.relu"), "F.relu", "F")
    T.eq(help_index.key_of("nn.F.relu"), "F.relu", "nn.F")
    T.eq(help_index.key_of("opt:step"), ":step", "method")
    T.eq(help_index.key_of("lunet.train.fit"), "train.fit", "train")
    T.eq(help_index.key_of("lunet.image.save"), "image.save", "image")
    T.eq(help_index.key_of("zeros"), "zeros", "bare")
  end)

  it("docs: every page parsed, with the places of a name in the index", function()
    local d = help_index.docs()
    T.eq(d.pages["docs/train.md"] and d.pages["docs/train.md"].title, "Training loops (`lunet.train`)", "train.md's title")
    local kinds = {}
    for _, place in ipairs(d.index["nn.Linear"] or {}) do kinds[place.kind] = true end
    T.truthy(kinds.row, "nn.Linear has its table row")
  end)

  it("best_place: a table row beats a mention; a preferred page wins", function()
    local place = help_index.best_place({"nn.Linear"}, {["docs/nn.md"] = true})
    T.eq(place.page.file, "docs/nn.md", "page")
    T.eq(place.kind, "row", "kind")
    T.eq(help_index.best_place({"no_such_key_anywhere"}), nil, "unknown key")
  end)
end)

describe("help.help", function()
  it("prints the text and its source", function()
    local out = printed(help.help, nn.Linear)
    has(out, "weight (out, in)")
    has(out, "(docs/nn.md, Layers)")
  end)

  it("returns nothing", function()
    local n
    printed(function() n = select("#", help.help(nn.Linear)) end)
    T.eq(n, 0, "results")
  end)

  it("with no argument: how to get help and every docs page with its title", function()
    local out = printed(help.help)
    for _, what in ipairs{"help(x)", "?name", "dir(x)", "%time", "runs.ls()", "Tab", "Ctrl-C", "Ctrl-D"} do
      has(out, what, "overview")
    end
    local docs = require("lunet.core")._repl.docs()
    local n = 0
    for file, text in pairs(docs) do
      n = n + 1
      has(out, file, "overview")
      local title = text:match("^#%s+([^\n]*)"):gsub("`", "")
      has(out, title, "overview")
    end
    T.truthy(n >= 10, "the binary holds the docs pages")
  end)

  it("an undocumented value says what it is and lists what it offers, without error", function()
    local complete = require "lunet.repl.complete"
    local dir0 = complete.dir
    complete.dir = function() return {"alpha", "beta"} end
    local ok, out = pcall(printed, help.help, {alpha = 1, beta = 2})
    complete.dir = dir0
    T.truthy(ok, "help of a plain table does not raise")
    has(out, "No documentation for this value: a table")
    has(out, "alpha beta")
  end)

  it("a broken dir() does not break help", function()
    local complete = require "lunet.repl.complete"
    local dir0 = complete.dir
    complete.dir = function() error("not written yet") end
    local ok, out = pcall(printed, help.help, function() end)
    complete.dir = dir0
    T.truthy(ok, "help does not raise")
    has(out, "a function")
  end)

  it("a user module class instance names its class", function()
    local MLP = nn.Module:extend("MLP")
    function MLP:init() self.fc = nn.Linear(2, 2) end
    local out = printed(help.help, MLP())
    has(out, "MLP")
    has(out, "nn.Module")
  end)
end)

describe("help.help_for_text", function()
  local env = {lunet = lunet, nn = nn, F = F, optim = optim, data = data, runs = runs, x = lunet.zeros(2, 2)}

  it("a name path resolves in env: nn.Linear", function()
    local out = printed(help.help_for_text, "nn.Linear", env)
    has(out, "weight (out, in)")
    has(out, "(docs/nn.md, Layers)")
  end)

  it("a method of a tensor in env: x:matmul", function()
    has(printed(help.help_for_text, "x:matmul", env), "a:matmul(b)")
  end)

  it("a bare name is searched in the docs: cross_entropy", function()
    local out = printed(help.help_for_text, "cross_entropy", env)
    has(out, "F.cross_entropy(input, target")
    has(out, "(docs/nn.md, Losses)")
  end)

  it("a path through an __index function is not followed, but found in the docs", function()
    local calls = 0
    local trap = setmetatable({}, {__index = function() calls = calls + 1 end})
    printed(help.help_for_text, "trap.zeros", {trap = trap})
    T.eq(calls, 0, "__index calls")
    has(printed(help.help_for_text, "runs.query", env), "lunet.runs.query{where")
  end)

  it("a name that does not exist: the not-found message", function()
    local out = printed(help.help_for_text, "nn.NoSuchLayer", env)
    has(out, "No documentation found for 'nn.NoSuchLayer'")
    has(out, "help()")
  end)
end)

-- Every public name must be documented: a new function without a line in docs/
-- fails here. Names starting with "_" are internal and left out.
describe("coverage: every public name has documentation", function()
  local ALLOW = {
    ["lunet.version"] = true, -- a string, shown in the REPL banner
    ["runs.TAIL_LINES"] = true, ["runs.STALE_SECONDS"] = true, -- constants, not functions
    -- internal: the metatable of run objects, used only inside lunet.runs.query; what a run
    -- object holds and does is documented in docs/runs.md, From Lua
    ["runs.Run"] = true,
  }

  local function check(t, prefix, missing)
    for k, v in pairs(t) do
      local name = prefix .. k
      if type(k) == "string" and k:sub(1, 1) ~= "_" and not ALLOW[name]
        and (type(v) == "function" or type(v) == "table") and not help.lookup(v) then
        missing[#missing + 1] = name
      end
    end
  end

  it("lunet, lunet.Tensor, nn, nn.F, optim, data, runs, train, image", function()
    local missing = {}
    check(lunet, "lunet.", missing)
    check(lunet.Tensor, "x:", missing)
    check(nn, "nn.", missing)
    check(F, "F.", missing)
    check(optim, "optim.", missing)
    check(data, "data.", missing)
    check(runs, "runs.", missing)
    check(require "lunet.runs.query", "runs.", missing) -- reached through lunet.runs
    check(lunet.train, "train.", missing)
    check(lunet.image, "image.", missing)
    table.sort(missing)
    T.eq(table.concat(missing, " "), "", "undocumented names")
  end)
end)
