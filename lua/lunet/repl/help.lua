-- lunet.repl.help: help(x) and ?name in the REPL, answered from the docs that
-- are compiled into the binary (core._repl.docs(), the same text as docs/*.md).
--
-- Two indexes, each built once on first use:
--   * names of values: a walk of the library maps every public function and
--     class to its qualified names ("nn.Linear", "x:matmul", "lunet.matmul");
--   * places in the docs: every heading, table row, bold paragraph and bullet
--     that names something, under a normalised key (see key_of).
-- lookup() turns a value or a name into keys, scores the places found for them
-- and renders the most specific one for the terminal.
local M = {}

local MAX_LINES = 60 -- a section is cut there, with a pointer to the page

-- ---- names as the docs write them ------------------------------------------

-- The key of a written name: "lunet.nn.F.relu" and "nn.F.relu" -> "F.relu",
-- "opt:step" and "x:matmul" -> ":step", ":matmul" (any receiver is a method),
-- so the docs' spellings and the walk's names meet.
local PREFIXES = {
  {"^lunet%.nn%.F%.", "F."}, {"^nn%.F%.", "F."}, {"^lunet%.nn%.init%.", "init."}, {"^nn%.init%.", "init."},
  {"^lunet%.nn%.metrics%.", "metrics."}, {"^nn%.metrics%.", "metrics."},
  {"^lunet%.optim%.lr_scheduler%.", "lr_scheduler."}, {"^optim%.lr_scheduler%.", "lr_scheduler."},
  {"^lunet%.(nn)%.", "%1."}, {"^lunet%.(optim)%.", "%1."}, {"^lunet%.(data)%.", "%1."},
  {"^lunet%.(runs)%.", "%1."}, {"^lunet%.(autograd)%.", "%1."},
}

local function key_of(name)
  local method = name:match("^[%w_%.%[%]]+:([%a_][%w_]*)$")
  if method then return ":" .. method end
  for _, p in ipairs(PREFIXES) do
    local k, n = name:gsub(p[1], p[2])
    if n > 0 then return k end
  end
  return name
end

local function last_part(key) return key:match("([%a_][%w_]*)$") or key end

-- the name a code span starts with: "nn.Linear(in, out)" -> "nn.Linear",
-- "Class = nn.Module:extend(name)" -> "nn.Module:extend", "`neg`" -> "neg"
local function name_in_code(code)
  code = code:gsub("^[%a_][%w_]*%s*=%s*", "")
  local name, rest = code:match("^([%a_][%w_%.:%[%]]*)(.*)$")
  if not name or name:find("[.:]$") then return nil end
  if rest ~= "" and not rest:match("^[%s({,]") then return nil end
  return name
end

-- ---- the docs, split into blocks and sections ----------------------------------

local docs_cache

local function parse_page(file, text)
  local lines = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  local headings, fenced, in_code = {}, {}, false
  for i, line in ipairs(lines) do
    if line:match("^```") then in_code = not in_code; fenced[i] = true
    elseif in_code then fenced[i] = true
    else
      local hashes, title = line:match("^(#+)%s+(.-)%s*$")
      if hashes then headings[#headings + 1] = {line = i, level = #hashes, title = title} end
    end
  end
  -- each heading's extent: to the next heading of the same or a higher level
  for h = 1, #headings do
    local hd = headings[h]
    hd["end"], hd.own_end = #lines, (headings[h + 1] and headings[h + 1].line - 1 or #lines)
    for j = h + 1, #headings do
      if headings[j].level <= hd.level then hd["end"] = headings[j].line - 1; break end
    end
    -- a GitHub anchor: lower case, punctuation dropped, spaces to dashes
    hd.anchor = hd.title:lower():gsub("[^%w%s_-]", ""):gsub("%s", "-")
  end
  return {file = file, lines = lines, headings = headings, fenced = fenced,
          title = headings[1] and headings[1].title or file}
end

local function heading_at(page, i) -- the innermost heading above line i
  local found
  for _, h in ipairs(page.headings) do
    if h.line > i then break end
    found = h
  end
  return found
end

-- the paragraph or bullet holding line i: its first and last line
local function block_at(page, i)
  local lines = page.lines
  local first = i
  if not lines[i]:match("^%s*[-*] ") then
    while first > 1 and lines[first - 1]:find("%S") and not lines[first - 1]:match("^#")
      and not page.fenced[first - 1] and not lines[first]:match("^%s*[-*] ") do first = first - 1 end
  end
  local last = i
  while lines[last + 1] and lines[last + 1]:find("%S") and not lines[last + 1]:match("^%s*[-*] ")
    and not lines[last + 1]:match("^[#|]") and not page.fenced[last + 1] do last = last + 1 end
  return first, last
end

-- ---- the index of places -----------------------------------------------------

-- strength of each kind of place: a heading naming it beats a table row, which
-- beats a bold paragraph, which beats a mention
local STRENGTH = {heading = 100, title = 90, row = 80, bold_start = 75, bold = 60, bullet = 65,
                  code_start = 55, cell = 50, intro = 70, index = 30, example = 20, parent = 15, mention = 10}

local index -- key -> list of places
local pages -- file -> parsed page

-- sections that compare, measure or list errors: a name found there is a
-- fallback, after the section that defines it
local SECONDARY = {"^Differences", "^Speed", "^Errors", "^Tests", "^How it is tested", "^Limits"}

local function is_secondary(h)
  for _, p in ipairs(SECONDARY) do if h and h.title:find(p) then return true end end
  return false
end

local function add(key, place)
  if not key or key == "" then return end
  local list = index[key]
  if not list then list = {}; index[key] = list end
  place.secondary = is_secondary(heading_at(place.page, place.line))
  list[#list + 1] = place
end

local function add_code_names(text, page, line, kind, pattern)
  for code in text:gmatch(pattern or "`([^`]+)`") do
    local name = name_in_code(code)
    if name then
      add(key_of(name), {page = page, line = line, kind = kind})
      -- "optim.Optimizer.define" also says something about optim.Optimizer
      local parent = name:match("^(.+)[.:][%a_][%w_]*$")
      if parent and parent:find("%.") then add(key_of(parent), {page = page, line = line, kind = "parent"}) end
    end
  end
end

local function index_tensor_names(page, h)
  -- docs/tensor.md "Index of names": each name points to the last [section](#anchor) before it
  local anchor
  for i = h.line + 1, h["end"] do
    local line = page.lines[i]
    local pos = 1
    while true do
      local s, e, a = line:find("%]%(#([%w_-]+)%)", pos)
      local cs, ce, code = line:find("`([^`]+)`", pos)
      if cs and (not s or cs < s) then
        if anchor then add(key_of(code), {page = page, line = i, kind = "index", anchor = anchor}) end
        pos = ce + 1
      elseif s then anchor = a; pos = e + 1
      else break end
    end
  end
end

local function index_page(page)
  local lines = page.lines
  for _, h in ipairs(page.headings) do
    add_code_names(h.title, page, h.line, "heading")
    -- "## Adam", "### clamp, where, masked_fill"
    if h.title:match("^[%a_][%w_]*$") or h.title:match("^[%w_]+,[%w_, ]+$") then
      for word in h.title:gmatch("[%a_][%w_]*") do add(word, {page = page, line = h.line, kind = "title"}) end
    end
    if h.title == "Index of names" then index_tensor_names(page, h) end
  end
  local i, prev_blank = 1, true
  while i <= #lines do
    local line = lines[i]
    if page.fenced[i] then
      -- a call of lunet.* in an example documents that name, weakly
      for name in line:gmatch("(lunet%.[%a_][%w_%.:]*)%s*[({]") do
        add(key_of(name), {page = page, line = i, kind = "example"})
      end
    elseif not line:match("^#") then
      local first_cell, other_cells = line:match("^|([^|]*)|(.*)$")
      if first_cell and not line:match("^|%s*%-%-%-") then
        add_code_names(first_cell, page, i, "row")
        add_code_names(other_cells, page, i, "cell")
      else
        local body = line:match("^%s*[-*]%s+(.*)$")
        local starts_block = body or prev_blank
        body = body or line
        local bold = body:match("^%*%*([%a_][%w_%s/]*)%*%*")
        if starts_block and bold then
          for word in bold:gmatch("[%a_][%w_]*") do add(word, {page = page, line = i, kind = "bullet"}) end
        end
        local intro = starts_block and body:match("^In `([^`]+)`")
        if intro then add(key_of(intro), {page = page, line = i, kind = "intro"}) end
        if starts_block and body:match("^%*%*`") then
          add_code_names(body:match("^(.-)%s+—") or body, page, i, "bold_start", "%*%*`([^`]+)`%*%*")
        elseif starts_block and body:match("^`") then
          -- "`print(x)`, `tostring(x)` and `x:tostring()` give ...": each leading span
          local pos = 1
          while true do
            local code, next_pos = body:match("^`([^`]+)`[%s,]*()", pos)
            if not code then break end
            add_code_names("`" .. code .. "`", page, i, "code_start")
            pos = body:match("^and%s+()", next_pos) or next_pos
          end
        end
        add_code_names(body, page, i, "bold", "%*%*`([^`]+)`%*%*")
        add_code_names(body, page, i, "mention", "`(lunet%.[^`]+)`")
      end
    end
    prev_blank = not line:find("%S")
    i = i + 1
  end
end

local function docs()
  if docs_cache then return docs_cache end
  local ok, texts = pcall(function() return require("lunet.core")._repl.docs() end)
  texts = ok and texts or {}
  index, pages = {}, {}
  local files = {}
  for file in pairs(texts) do files[#files + 1] = file end
  table.sort(files)
  for _, file in ipairs(files) do
    pages[file] = parse_page(file, texts[file])
    index_page(pages[file])
  end
  docs_cache = {files = files, pages = pages, index = index}
  return docs_cache
end

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
  -- lunet.runs finds its reading functions (query, get, ...) through __index
  local RUNS = {["docs/runs.md"] = true}
  members(lunet.runs, "runs.", RUNS, true)
  local ok, query = pcall(require, "lunet.runs.query")
  if ok and type(query) == "table" then members(query, "runs.", RUNS, true) end
  members(lunet.autograd, "autograd.", {["docs/autograd.md"] = true}, true)
  page_of_value = {[lunet] = "docs/README.md", [lunet.Tensor] = "docs/tensor.md", [lunet.nn] = "docs/nn.md",
                   [lunet.optim] = "docs/optim.md", [lunet.data] = "docs/data.md", [lunet.runs] = "docs/runs.md",
                   [lunet.autograd] = "docs/autograd.md"}
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

-- the best place among those of a list of keys (most specific first)
local function best_place(keys, files)
  local idx = docs().index
  local best, best_score, best_bare
  for rank, key in ipairs(keys) do
    for _, place in ipairs(idx[key] or {}) do
      local preferred = files and files[place.page.file]
      local score = STRENGTH[place.kind] - 5 * (rank - 1) + (preferred and 8 or 0)
        - (place.secondary and 40 or 0)
        -- a bare name ("tostring") on another page is most likely something else
        - (files and not preferred and not key:find("[.:]") and 40 or 0)
      if not best or score > best_score then best, best_score, best_bare = place, score, last_part(key) end
    end
  end
  return best, best_score, best_bare
end

-- the keys a name typed by the user may stand for: itself, and when it is not
-- found, any key with the same last part ("cross_entropy" -> "F.cross_entropy")
local function keys_for_text(text)
  local key = key_of(text)
  local keys = {key}
  if not text:find("[.:]") then keys[#keys + 1] = ":" .. text end
  -- an in-place form is documented with its method: "x:abs_" -> "x:abs"
  if key:match("^:.+_$") then keys[#keys + 1] = key:sub(1, -2) end
  local idx = docs().index
  local part = last_part(key)
  local more = {}
  for k in pairs(idx) do
    if k ~= key and last_part(k) == part and (k:find("[.:]") or key:find("[.:]")) then more[#more + 1] = k end
  end
  table.sort(more)
  for _, k in ipairs(more) do keys[#keys + 1] = k end
  return keys
end

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
  local ok, names = pcall(function() return require("lunet.repl.complete").dir(x) end)
  if ok and type(names) == "table" and #names > 0 then
    local shown = {}
    for i, n in ipairs(names) do shown[i] = tostring(n) end
    out[#out + 1] = "It offers: " .. table.concat(shown, " ")
  end
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

-- the value at a name path (a.b.c, a.b:c) in env, by plain table lookups only:
-- no code runs and no __index function is called
local function resolve(text, env)
  local first, rest = text:match("^([%a_][%w_]*)(.*)$")
  if not first then return nil end
  local v = rawget(env, first)
  for sep, part in rest:gmatch("([.:])([%a_][%w_]*)") do
    local got
    if type(v) == "table" then got = rawget(v, part) end
    local mt = getmetatable(v)
    local depth = 0
    while got == nil and type(mt) == "table" and type(rawget(mt, "__index")) == "table" and depth < 8 do
      got = rawget(rawget(mt, "__index"), part)
      mt = getmetatable(rawget(mt, "__index"))
      depth = depth + 1
    end
    if got == nil and sep == ":" then
      local lunet = rawget(env, "lunet") or require "lunet"
      if lunet.is_tensor(v) then got = rawget(lunet.Tensor, part) end
    end
    if got == nil then return nil end
    v = got
  end
  return v
end

--- help_for_text(text, env): `?text` at the prompt
function M.help_for_text(text, env)
  text = text:match("^%s*(.-)%s*$")
  if text == "" then return M.help() end
  local is_path = text:match("^[%a_][%w_]*[%w_.:]*$") and not text:find("[.:][.:]") and not text:find("[.:]$")
  if is_path then
    local v = resolve(text, env or _G)
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
