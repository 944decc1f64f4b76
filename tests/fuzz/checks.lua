-- tests/fuzz/checks.lua: what the Lua parsers must do on any input, shared by the
-- libFuzzer targets (tests/fuzz/fuzz_filter.c, fuzz_tokenizer.c through lua_target.h)
-- and the replay of their seeds in `make test` (tests/spec/fuzz_replay.lua).
-- checks.filter(bytes) and checks.tokenizer(bytes) return nil when the code under
-- test behaved, else a string describing the finding.
--
-- The rule for errors: on bad input a parser may raise, but only a clear error, one
-- whose message (after the "file:line: " Lua may put in front) starts with the name of
-- the function the user called ("filter: ...", "Tokenizer: ..."). Lua's own messages
-- ("attempt to index a nil value", "attempt to compare", "stack overflow", "bad
-- argument #1 to 'codepoint'") never start so: they are bugs.
local filter = require "lunet.runs.filter"
local query = require "lunet.runs.query"
local data = require "lunet.data"

local M = {}

local function message(err)
  if type(err) ~= "string" then return nil end
  return (err:gsub("^[^\n:]*:%d+: ", "", 1))
end

-- is err a clear error: a message starting with one of prefixes?
function M.clear_error(err, prefixes)
  local msg = message(err)
  if not msg then return false end
  for _, p in ipairs(prefixes) do
    if msg:sub(1, #p) == p then return true end
  end
  return false
end

local function unclear(what, err)
  return what .. " raised an unclear error: " .. tostring(err)
end

-- temporary files, removed by M.cleanup()
local temps = {}
local function temp_path(suffix)
  local p = os.tmpname()
  os.remove(p)
  p = p .. suffix
  temps[#temps + 1] = p
  return p
end

function M.cleanup()
  for _, p in ipairs(temps) do os.remove(p); os.remove(p .. "-journal"); os.remove(p .. "-wal"); os.remove(p .. "-shm") end
  temps = {}
end

---------------------------------------------------------------------------
-- the runs filter language: compiled, then run on a real database
---------------------------------------------------------------------------
-- checks.filter(bytes): the bytes as a filter (filter.compile: SQL with one
-- placeholder per value, which runs.query runs on a small history) and as a sort
-- order (runs.query{order}); any error a clear one, filter errors with a column

local db -- a small run history every filter runs against
local function history()
  if db then return db end
  local path = temp_path(".db")
  local runs = require "lunet.runs"
  local a = runs.start{db = path, name = "a", experiment = "x", params = {lr = 0.001, opt = "adam"},
                       tags = {model = "cnn"}}
  a:log{loss = 0.5, acc = 0.9}
  a:log{loss = 0.25, acc = 0.95}
  a:finish()
  local b = runs.start{db = path, name = "b", params = {lr = "high"}, tags = {epoch = 3}}
  b:log{loss = 1}
  b:finish("failed")
  db = query.open(path)
  return db
end
M.history = history

-- a filter error also says where: "... at column N", N within the text
local function column_ok(err, text)
  local col = tonumber((message(err) or ""):match(" at column (%d+)$"))
  return col and col >= 1 and col <= #text + 1
end

function M.filter(text)
  local ok, sql, params = pcall(filter.compile, text)
  if not ok then
    if not M.clear_error(sql, {"filter: "}) then return unclear("filter.compile", sql) end
    if not column_ok(sql, text) then return "filter.compile: no column (or one out of range) in: " .. sql end
  else
    if type(sql) ~= "string" or type(params) ~= "table" then return "filter.compile returned no SQL" end
    local _, marks = sql:gsub("%?", "")
    if marks ~= #params then
      return ("filter.compile: %d placeholders for %d values in %s"):format(marks, #params, sql)
    end
    -- the SQL must run against the real schema
    local qok, err = pcall(query.query, {db = history(), where = text, readonly = true})
    if not qok then return "runs.query rejects the filter that compiled: " .. tostring(err) end
  end
  -- the same text as a sort order
  if text:find("%S") then
    local qok, err = pcall(query.query, {db = history(), order = text, readonly = true})
    if not qok and not M.clear_error(err, {"order: "}) then return unclear("runs.query{order}", err) end
  end
  return nil
end

---------------------------------------------------------------------------
-- the tokenizer and vocabularies on arbitrary bytes
---------------------------------------------------------------------------

-- pcall(loader, path) on a temporary file holding text; the file is removed after
local function load_bytes(text, suffix, loader)
  local path = temp_path(suffix)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  local ok, result = pcall(loader, path)
  os.remove(path)
  return ok, result
end

-- any bytes as a question/answer file: a clear error, or pairs of strings without the tab
local function check_text_pairs(text)
  local ok, ds = load_bytes(text, ".tsv", data.text_pairs)
  if not ok then
    if not M.clear_error(ds, {"text_pairs: "}) then return unclear("data.text_pairs", ds) end
    return nil
  end
  for i = 1, #ds do
    local q, a = ds[i][1], ds[i][2]
    if type(q) ~= "string" or type(a) ~= "string" or q:find("\t") or a:find("\t") then
      return ("data.text_pairs: pair %d is not two strings without a tab"):format(i)
    end
  end
end

local TOKENIZERS = {
  data.Tokenizer{level = "word"}, data.Tokenizer{level = "word", lower = true},
  data.Tokenizer{level = "char"}, data.Tokenizer{level = "char", lower = true},
}

local function ascii_lower(s) return (s:gsub("[A-Z]", string.lower)) end

local function same_list(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

-- word level drops exactly the characters that alone give no token (the spaces)
-- and keeps every other byte in order
-- (remembered per character, with the method as loaded: a spec swaps it for a broken one)
local word_tokenizer = data.Tokenizer{level = "word"}
local tokenize = word_tokenizer.tokenize
local is_space = setmetatable({}, {__index = function(t, c)
  t[c] = #tokenize(word_tokenizer, c) == 0
  return t[c]
end})
local function without_spaces(text)
  local kept = {}
  for _, cp in utf8.codes(text) do
    local c = utf8.char(cp)
    if not is_space[c] then kept[#kept + 1] = c end
  end
  return table.concat(kept)
end

local function check_tokens(tok, text, toks)
  local expect = tok.lower and ascii_lower(text) or text
  for i, t in ipairs(toks) do
    if type(t) ~= "string" or t == "" or not utf8.len(t) then
      return ("%s: token %d is not a non-empty UTF-8 string"):format(tostring(tok), i)
    end
  end
  if tok.level == "char" then
    if table.concat(toks) ~= expect then return tostring(tok) .. ": the characters do not make the text" end
  elseif table.concat(toks) ~= without_spaces(expect) then
    return tostring(tok) .. ": the words do not make the text without its spaces"
  end
end

-- a vocabulary saved and loaded back is the same
local function check_roundtrip(v, what)
  local path = temp_path(".vocab")
  local ok, err = pcall(v.save, v, path)
  if not ok then return unclear(what .. ": Vocab:save", err) end
  local lok, w = pcall(data.Vocab.load, path)
  os.remove(path)
  if not lok then return what .. ": a saved vocabulary does not load: " .. tostring(w) end
  if not same_list(v.tokens, w.tokens) or v.nspecials ~= w.nspecials
     or tostring(v.tokenizer) ~= tostring(w.tokenizer) then
    return what .. ": a saved vocabulary loads different"
  end
end

-- valid text: a vocabulary built from it encodes it to ids that decode to its tokens
local function check_vocab(tok, text, toks)
  local ok, v = pcall(data.Vocab.build, {text}, {tokenizer = tok})
  if not ok then return unclear("Vocab.build", v) end
  local eok, ids = pcall(v.encode, v, text, {bos = true, eos = true})
  if not eok then return unclear("Vocab:encode", ids) end
  if #ids ~= #toks + 2 or ids[1] ~= v.bos_id or ids[#ids] ~= v.eos_id then return "Vocab:encode: wrong ids" end
  for i, t in ipairs(toks) do
    if v:token(ids[i + 1]) ~= t then return ("Vocab:encode: id %d does not give token %d back"):format(ids[i + 1], i) end
  end
  local dok, s = pcall(v.decode, v, ids)
  if not dok then return unclear("Vocab:decode", s) end
  local tok_ok, t = pcall(v.encode, v, text, {tensor = true})
  if not tok_ok then return unclear("Vocab:encode{tensor}", t) end
  local d2ok, s2 = pcall(v.decode, v, t)
  if not d2ok or s2 ~= s then return "Vocab:decode of a tensor differs from the list's: " .. tostring(s2) end
  if tok.level == "char" and s ~= table.concat(toks) then return "Vocab:decode: characters lost" end
  return check_roundtrip(v, "vocabulary of the text")
end

-- any bytes as a list of tokens (split at spaces): detokenized, built into a
-- vocabulary, encoded, decoded, saved
local function check_token_list(text)
  local list = {}
  for piece in text:gmatch("[^ ]+") do list[#list + 1] = piece end
  for _, tok in ipairs(TOKENIZERS) do
    local ok, s = pcall(tok.detokenize, tok, list)
    if not ok and not M.clear_error(s, {"Tokenizer:detokenize: "}) then return unclear("Tokenizer:detokenize", s) end
    if ok and type(s) ~= "string" then return "Tokenizer:detokenize returned no string" end
  end
  local ok, v = pcall(data.Vocab.build, {list})
  if not ok then
    if not M.clear_error(v, {"Vocab.build: "}) then return unclear("Vocab.build{tokens}", v) end
    return nil
  end
  local eok, ids = pcall(v.encode, v, list)
  if not eok then return unclear("Vocab:encode{tokens}", ids) end
  local dok, s = pcall(v.decode, v, ids)
  if not dok then return unclear("Vocab:decode{tokens}", s) end
  return check_roundtrip(v, "vocabulary of a token list")
end

-- any bytes as a vocabulary file: a clear error, or a vocabulary that round-trips
local function check_vocab_file(text)
  local ok, v = load_bytes(text, ".vocab", data.Vocab.load)
  if not ok then
    if not M.clear_error(v, {"Vocab.load: "}) then return unclear("Vocab.load", v) end
    return nil
  end
  return check_roundtrip(v, "a loaded vocabulary")
end

-- the bytes as text for the four tokenizers (split, or a clear error exactly when the
-- text is not UTF-8), as a token list, as a vocabulary file and as a QA-pairs file
function M.tokenizer(text)
  local len, bad = utf8.len(text)
  -- every tokenizer splits the text; one of them, by the text's length, also
  -- builds a vocabulary (the costly part)
  local with_vocab = #text % #TOKENIZERS + 1
  for k, tok in ipairs(TOKENIZERS) do
    local ok, toks = pcall(tok.tokenize, tok, text)
    if not ok then
      if not M.clear_error(toks, {"Tokenizer: "}) then return unclear("Tokenizer:tokenize", toks) end
      if len or not message(toks):find("invalid UTF-8 at byte " .. tostring(bad), 1, true) then
        return "Tokenizer:tokenize: wrong error: " .. toks
      end
    elseif not len then
      return tostring(tok) .. ": no error on invalid UTF-8"
    else
      local finding = check_tokens(tok, text, toks) or (k == with_vocab and check_vocab(tok, text, toks))
      if finding then return finding end
    end
  end
  return check_token_list(text) or check_vocab_file(text) or check_text_pairs(text)
end

return M
