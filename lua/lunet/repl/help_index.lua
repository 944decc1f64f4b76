-- lunet.repl.help_index: the docs compiled into the binary (core._repl.docs(), the
-- same text as docs/*.md) read as pages and an index of the places that name things.
--
-- A place is a heading, table row, bold paragraph or bullet that names something,
-- filed under a normalised key (see key_of) so the docs' spellings ("lunet.nn.F.relu",
-- "opt:step") and the library's names meet. best_place() ranks the places of a list
-- of keys; lunet.repl.help renders the one it picks. Built once, on first use.
local M = {}

-- ---- names as the docs write them ------------------------------------------

-- The key of a written name: "lunet.nn.F.relu" and "nn.F.relu" -> "F.relu",
-- "opt:step" and "x:matmul" -> ":step", ":matmul" (any receiver is a method),
-- so the docs' spellings and the walk's names meet.
local PREFIXES = {
  {"^lunet%.nn%.F%.", "F."}, {"^nn%.F%.", "F."}, {"^lunet%.nn%.init%.", "init."}, {"^nn%.init%.", "init."},
  {"^lunet%.nn%.metrics%.", "metrics."}, {"^nn%.metrics%.", "metrics."},
  {"^lunet%.optim%.lr_scheduler%.", "lr_scheduler."}, {"^optim%.lr_scheduler%.", "lr_scheduler."},
  {"^lunet%.(nn)%.", "%1."}, {"^lunet%.(optim)%.", "%1."}, {"^lunet%.(data)%.", "%1."},
  {"^lunet%.(runs)%.", "%1."}, {"^lunet%.(autograd)%.", "%1."}, {"^lunet%.(train)%.", "%1."},
  {"^lunet%.(image)%.", "%1."},
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

-- {files = sorted names, pages = file -> page, index = key -> places}
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

-- ---- ranking places --------------------------------------------------------------------

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

M.key_of, M.last_part = key_of, last_part
M.docs, M.heading_at, M.block_at = docs, heading_at, block_at
M.best_place, M.keys_for_text = best_place, keys_for_text

return M
