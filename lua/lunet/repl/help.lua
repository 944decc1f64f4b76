-- lunet.repl.help: help(x) and ?name in the REPL, answered from the docs that
-- are compiled into the binary (read and indexed by lunet.repl.help_index).
--
-- This file names values and shows text: a walk of the library maps every public
-- function and class to its qualified names ("nn.Linear", "x:matmul",
-- "lunet.matmul"); lookup() turns a value or a name into index keys, takes the best
-- place for them and renders it for the terminal; help() and help_for_text() are
-- what the REPL calls.
local help_index = require "lunet.repl.help_index"
local complete = require "lunet.repl.complete"

local M = {}

local MAX_LINES = 60 -- a section is cut there, with a pointer to the page

local key_of, docs = help_index.key_of, help_index.docs
local heading_at, block_at = help_index.heading_at, help_index.block_at
local best_place, keys_for_text = help_index.best_place, help_index.keys_for_text

-- ---- names of values: one walk of the library ----------------------------------

-- each name: {name = shown name, keys = {most specific first}, files = preferred pages}
local names_of       -- value -> list of names
local page_of_value  -- a library table -> the page that describes it
local value_of_name  -- "x:matmul", "nn.Linear" and their keys -> the value

local TENSOR_FILES = {["docs/tensor.md"] = true, ["docs/autograd.md"] = true, ["docs/checkpoints.md"] = true}
local DATA_FILES = {["docs/data.md"] = true, ["docs/data_loading.md"] = true, ["docs/text.md"] = true,
                    ["docs/transforms.md"] = true}

local function public_names(t)
  local out = {}
  for k in pairs(t) do if type(k) == "string" and k:sub(1, 1) ~= "_" then out[#out + 1] = k end end
  table.sort(out)
  return out
end

local function walk()
  if names_of then return names_of end
  names_of, page_of_value, value_of_name = {}, {}, {}
  local lunet = require "lunet"
  local function name(v, shown, keys, files)
    if type(v) ~= "function" and type(v) ~= "table" then return end
    local list = names_of[v]
    if not list then list = {}; names_of[v] = list end
    list[#list + 1] = {name = shown, keys = keys, files = files}
    value_of_name[shown] = value_of_name[shown] or v
    value_of_name[keys[1]] = value_of_name[keys[1]] or v
  end
  local function members(t, prefix, files, with_bare)
    for _, k in ipairs(public_names(t)) do
      local key = key_of(prefix .. k)
      name(rawget(t, k), prefix .. k, with_bare and {key, k} or {key}, files)
    end
  end
  for _, k in ipairs(public_names(lunet.Tensor)) do
    local keys = {":" .. k, "lunet." .. k, k}
    -- "add_" is documented with "add" ("and their _ forms")
    if k:sub(-1) == "_" then keys[4], keys[5] = ":" .. k:sub(1, -2), k:sub(1, -2) end
    name(lunet.Tensor[k], "x:" .. k, keys, TENSOR_FILES)
  end
  for _, k in ipairs(public_names(lunet)) do
    if lunet.Tensor[k] ~= lunet[k] then name(lunet[k], "lunet." .. k, {"lunet." .. k, k}, TENSOR_FILES) end
  end
  local NN = {["docs/nn.md"] = true}
  local OPTIM = {["docs/optim.md"] = true}
  members(lunet.nn, "nn.", NN, true)
  members(lunet.nn.F, "F.", NN, true)
  members(lunet.nn.init, "nn.init.", NN)
  members(lunet.nn.metrics, "nn.metrics.", NN)
  for _, k in ipairs(public_names(lunet.nn.Module)) do
    if type(lunet.nn.Module[k]) == "function" then name(lunet.nn.Module[k], "m:" .. k, {":" .. k}, NN) end
  end
  members(lunet.optim, "optim.", OPTIM, true)
  members(lunet.optim.lr_scheduler, "optim.lr_scheduler.", OPTIM, true)
  for _, k in ipairs(public_names(lunet.optim.Optimizer)) do
    if type(lunet.optim.Optimizer[k]) == "function" then
      name(lunet.optim.Optimizer[k], "opt:" .. k, {":" .. k, "optim.Optimizer." .. k}, OPTIM)
    end
  end
  members(lunet.data, "data.", DATA_FILES, true)
  -- lunet.runs finds its reading functions (query, get, ...) through __index. No bare
  -- names: "show" and "best" alone are the shell's commands (lunet runs show), not these
  local RUNS = {["docs/runs.md"] = true}
  members(lunet.runs, "runs.", RUNS)
  local ok, query = pcall(require, "lunet.runs.query")
  if ok and type(query) == "table" then members(query, "runs.", RUNS) end
  members(lunet.autograd, "autograd.", {["docs/autograd.md"] = true}, true)
  members(lunet.train, "train.", {["docs/train.md"] = true}, true)
  members(lunet.image, "image.", {["docs/image.md"] = true}, true)
  page_of_value = {[lunet] = "docs/README.md", [lunet.Tensor] = "docs/tensor.md", [lunet.nn] = "docs/nn.md",
                   [lunet.optim] = "docs/optim.md", [lunet.data] = "docs/data.md", [lunet.runs] = "docs/runs.md",
                   [lunet.autograd] = "docs/autograd.md", [lunet.train] = "docs/train.md",
                   [lunet.image] = "docs/image.md"}
  return names_of
end

-- ---- rendering -------------------------------------------------------------------

-- markdown made readable in a terminal: code spans, bold and links unwrapped;
-- code blocks and tables kept as they are (their backticks dropped)
local function plain(text) return (text:gsub("%*%*", ""):gsub("`", ""):gsub("%[([^%]]*)%]%([^)]*%)", "%1")) end

local function render_lines(page, first, last, out)
  out = out or {}
  for i = first, last do
    local line = page.lines[i]
    out[#out + 1] = page.fenced[i] and (line:match("^```") and "" or "    " .. line) or plain(line)
  end
  return out
end

local function section_text(page, h, own)
  local last = own and h.own_end or h["end"]
  local cut = last - h.line + 1 > MAX_LINES
  local out = render_lines(page, h.line, cut and h.line + MAX_LINES - 1 or last)
  if cut then out[#out + 1] = "... (more in " .. page.file .. ")" end
  return out
end

-- a table row: its section's heading, the table's header and the row, then the
-- section's bullets that start with **Name** (the row's bare name)
local function row_text(page, i, bare)
  local h = heading_at(page, i)
  local out = {}
  if h then render_lines(page, h.line, h.line, out); out[#out + 1] = "" end
  local top = i
  while top > 1 and page.lines[top - 1]:match("^|") do top = top - 1 end
  render_lines(page, top, math.min(top + 1, i - 1), out)
  render_lines(page, i, i, out)
  if h and bare then
    for j = h.line + 1, h.own_end do
      local body = page.lines[j]:match("^%s*[-*]%s+(.*)$") or page.lines[j]
      local bold = not page.fenced[j] and body:match("^%*%*([^*]+)%*%*")
      if bold and (bold == bare or bold:find("^" .. bare .. "[%s/]")) then
        local first, last = block_at(page, j)
        out[#out + 1] = ""
        render_lines(page, first, last, out)
      end
    end
  end
  return out
end

-- a paragraph or bullet, with the code block or table right after it
local function block_text(page, i)
  local h = heading_at(page, i)
  local out = {}
  if h then render_lines(page, h.line, h.line, out); out[#out + 1] = "" end
  local first, last = block_at(page, i)
  local j = last + 1
  while page.lines[j] and not page.lines[j]:find("%S") do j = j + 1 end
  if page.lines[j] and (page.fenced[j] or page.lines[j]:match("^|")) then
    local fenced = page.fenced[j]
    last = j
    while page.lines[last + 1] and (fenced and page.fenced[last + 1] or not fenced and page.lines[last + 1]:match("^|")) do
      last = last + 1
      if fenced and page.lines[last]:match("^```") then break end
    end
  end
  return render_lines(page, first, math.min(last, first + MAX_LINES - 1), out)
end

local function source_of(page, i)
  local h = heading_at(page, i)
  return page.file .. (h and h.level > 1 and ", " .. plain(h.title) or "")
end

local function render(place, bare)
  local page, i = place.page, place.line
  local out
  if place.kind == "heading" or place.kind == "title" or place.kind == "example" or place.kind == "intro" then
    local h = heading_at(page, i)
    out = section_text(page, h, place.kind ~= "heading" and place.kind ~= "title")
  elseif place.kind == "index" then
    for _, h in ipairs(page.headings) do
      if h.anchor == place.anchor then return table.concat(section_text(page, h), "\n"), source_of(page, h.line) end
    end
    return nil
  elseif place.kind == "row" or place.kind == "cell" then
    out = row_text(page, i, bare)
  else
    out = block_text(page, i)
  end
  return table.concat(out, "\n"), source_of(page, i)
end

-- the overview of a page: its text up to its first sub-heading
local function page_text(file)
  local page = docs().pages[file]
  if not page then return nil end
  local h = page.headings[1]
  if not h then return table.concat(render_lines(page, 1, math.min(#page.lines, MAX_LINES)), "\n"), file end
  return table.concat(section_text(page, h, true), "\n"), file
end

-- ---- lookup --------------------------------------------------------------------

local function is_module_instance(v)
  local mt = getmetatable(v)
  return type(v) == "table" and type(mt) == "table" and rawget(mt, "_is_module_class") == true
    and rawget(v, "_is_module_class") ~= true
end

local function is_optimizer(v)
  local mt = type(v) == "table" and getmetatable(v)
  local base = require("lunet.optim").Optimizer
  if type(mt) ~= "table" or rawget(v, "param_groups") == nil then return false end
  local parent = getmetatable(mt)
  return type(parent) == "table" and rawget(parent, "__index") == base
end

--- lookup(x [, name]) -> text, source | nil: the documentation of a value or a name
function M.lookup(x, name)
  if type(x) == "string" and name == nil then
    -- a name of the library ("x:sum", "nn.Linear"): as its value, so the value's
    -- pages are preferred
    walk()
    local v = value_of_name[x] or value_of_name[key_of(x)]
    if v ~= nil then
      local text, source = M.lookup(v)
      if text then return text, source end
    end
    local place, _, bare = best_place(keys_for_text(x))
    if place then return render(place, bare) end
    return nil
  end
  local lunet = require "lunet"
  if lunet.is_tensor(x) then return page_text("docs/tensor.md") end
  if is_module_instance(x) or is_optimizer(x) then x = getmetatable(x) end
  local names = walk()[x]
  if not names and page_of_value[x] then return page_text(page_of_value[x]) end
  local best, best_score, best_bare
  local candidates = {}
  if name then candidates[1] = {keys = keys_for_text(name)} end
  for _, n in ipairs(names or {}) do candidates[#candidates + 1] = n end
  for _, n in ipairs(candidates) do
    local place, score, bare = best_place(n.keys, n.files)
    if place and (not best or score > best_score) then best, best_score, best_bare = place, score, bare end
  end
  if best then return render(best, best_bare) end
  if page_of_value[x] then return page_text(page_of_value[x]) end
  return nil
end

-- ---- help() --------------------------------------------------------------------

local function overview()
  local d = docs()
  local out = {
    "lunet: tensors, autograd, nn, optim, data and a run history, from Lua.",
    "",
    "  help(x)        the documentation of x: help(nn.Linear), help(F.cross_entropy), help(model)",
    "  ?name          the same, typed at the prompt: ?nn.Linear, ?x:matmul, ?cross_entropy",
    "  dir(x)         what x offers (fields and methods)",
    "  %time code     runs code and prints the wall time",
    "  runs.ls()      the run history (also lunet runs ls in the shell)",
    "  Tab            completes names; Ctrl-C cancels a line or stops running code; Ctrl-D quits",
    "  short names:   nn, F, optim, data, runs (= lunet.nn, lunet.nn.F, ...)",
    "",
    "Documentation pages:",
  }
  for _, file in ipairs(d.files) do
    out[#out + 1] = string.format("  %-22s %s", file, plain(d.pages[file].title))
  end
  return table.concat(out, "\n")
end

local function class_name(x)
  local mt = getmetatable(x)
  if type(mt) == "table" then
    local n = rawget(mt, "__name") or rawget(mt, "name")
    if type(n) == "string" then return n end
  end
end

-- what an undocumented value is, and what it offers
local function describe(x)
  local kind = type(x)
  local cls = class_name(x)
  local what = "a " .. (cls and kind .. " (" .. cls .. ")" or kind)
  if is_module_instance(x) then what = "an instance of " .. cls .. ", an nn.Module class; see help(nn.Module)" end
  local out = {"No documentation for this value: " .. what .. "."}
  local names = complete.members(x)
  if #names > 0 then out[#out + 1] = "It offers: " .. table.concat(names, " ") end
  return table.concat(out, "\n")
end

--- help([x [, name]]): prints the documentation of x (and where it comes from);
--- no argument: how to get help, and the documentation pages
function M.help(...)
  if select("#", ...) == 0 then print(overview()); return end
  local x, name = ...
  local text, source = M.lookup(x, name)
  if text then
    print(text)
    print("(" .. source .. ")")
  elseif type(x) == "string" then
    print("No documentation found for '" .. x .. "'. help() lists the documentation pages.")
  else
    print(describe(x))
  end
end

--- help_for_text(text, env): `?text` at the prompt
function M.help_for_text(text, env)
  text = text:match("^%s*(.-)%s*$")
  if text == "" then return M.help() end
  local is_path = text:match("^[%a_][%w_]*[%w_.:]*$") and not text:find("[.:][.:]") and not text:find("[.:]$")
  if is_path then
    local v = complete.resolve(text, env or _G)
    if v ~= nil then
      if type(v) == "string" or type(v) == "number" or type(v) == "boolean" then
        local doc, source = M.lookup(text)
        if doc then print(doc); print("(" .. source .. ")"); return end
        print(text .. " is a " .. type(v) .. ": " .. tostring(v)); return
      end
      return M.help(v, text)
    end
  end
  local doc, source = M.lookup(text)
  if doc then print(doc); print("(" .. source .. ")"); return end
  print("No documentation found for '" .. text .. "'. help() lists the documentation pages.")
end

return M
