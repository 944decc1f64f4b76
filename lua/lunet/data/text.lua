-- lunet.data.text: UTF-8 tokenizers, vocabularies, padding, and QA-pair datasets
-- for sequence-to-sequence models. Installs data.Tokenizer, data.Vocab, data.pad,
-- data.text_pairs and data.QAPairs. Pure Lua: Lua 5.4's utf8 library validates.
local core = require "lunet.core"

return function(data)

local fmt = string.format

-- "name: where: message" when a file position is known, else "name: message"
local function raise(name, where, msg, level)
  error(where and fmt("%s: %s: %s", name, where, msg) or fmt("%s: %s", name, msg), (level or 1) + 1)
end

-- utf8.len is strict (no surrogates, nothing past U+10FFFF) and gives the first bad byte
local function check_utf8(name, s, where, level)
  local n, bad = utf8.len(s)
  if not n then raise(name, where, fmt("invalid UTF-8 at byte %d", bad), (level or 1) + 1) end
end

local function check_opts(name, opts, allowed)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(fmt("%s: options must be a table, got %s", name, type(opts)), 3) end
  for k in pairs(opts) do
    if not allowed[k] then error(fmt("%s: unknown option '%s'", name, tostring(k)), 3) end
  end
  return opts
end

---------------------------------------------------------------------------
-- Character classes for word-level splitting (by code point)
---------------------------------------------------------------------------

local SPACE, WORD, PUNCT, SINGLE, EXTEND = 1, 2, 3, 4, 5

local function in_ranges(cp, ranges)
  for i = 1, #ranges, 2 do
    if cp >= ranges[i] and cp <= ranges[i + 1] then return true end
  end
  return false
end

local SPACES = {9, 13, 32, 32, 0x85, 0x85, 0xA0, 0xA0, 0x1680, 0x1680, 0x2000, 0x200A,
                0x2028, 0x2029, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000}
-- joiners and modifiers stay attached to the character before them (so an emoji
-- with a variation selector or skin tone, or a ZWJ sequence, is one word token)
local EXTENDS = {0x0300, 0x036F, 0x200D, 0x200D, 0xFE00, 0xFE0F, 0x1F3FB, 0x1F3FF, 0xE0020, 0xE007F}
-- CJK ideographs, kana, CJK and fullwidth punctuation, symbols and emoji: one token each
local CJK = {0x2E80, 0x2FDF, 0x3000, 0x30FF, 0x3100, 0x31FF, 0x3400, 0x4DBF, 0x4E00, 0x9FFF,
             0xF900, 0xFAFF, 0xFE30, 0xFE4F, 0xFF00, 0xFFEF, 0x20000, 0x3FFFF}
local SINGLES = {0xA1, 0xBF, 0xD7, 0xD7, 0xF7, 0xF7, 0x2010, 0x2027, 0x2030, 0x205E,
                 0x2190, 0x2BFF, 0x1F000, 0x1FAFF}

local function class_of(cp)
  if cp < 128 then
    if (cp >= 9 and cp <= 13) or cp == 32 then return SPACE end
    if (cp >= 48 and cp <= 57) or (cp >= 65 and cp <= 90) or (cp >= 97 and cp <= 122) or cp == 95 then
      return WORD
    end
    return PUNCT
  end
  if in_ranges(cp, SPACES) then return SPACE end
  if in_ranges(cp, EXTENDS) then return EXTEND end
  if in_ranges(cp, CJK) or in_ranges(cp, SINGLES) then return SINGLE end
  return WORD
end

local function is_cjk(token)
  if token == "" then return false end
  return in_ranges(utf8.codepoint(token, 1), CJK) or in_ranges(utf8.codepoint(token, utf8.offset(token, -1)), CJK)
end

---------------------------------------------------------------------------
-- Tokenizer
---------------------------------------------------------------------------

local Tokenizer = {}
Tokenizer.__index = Tokenizer
Tokenizer.__name = "lunet.data.Tokenizer"

-- ASCII letters only: byte ranges, so the C locale never touches UTF-8 bytes
local function ascii_lower(s) return (s:gsub("[A-Z]", function(c) return string.char(c:byte() + 32) end)) end

-- Word splitting with an explicit state: `word` says the open token can take more
-- word characters (a punctuation or CJK token cannot). The open token is always a
-- run of consecutive characters, so it is kept as the index of its first one and cut
-- out of s when it closes (appending character by character would copy a long word
-- over and over: quadratic time).
local function split_words(s)
  local tokens, first, word, joined = {}, nil, false, false
  local prev_cp
  local cps, starts = {}, {}
  for p, cp in utf8.codes(s) do cps[#cps + 1] = cp; starts[#starts + 1] = p end
  starts[#starts + 1] = #s + 1
  -- closes the open token, which ends before character i
  local function flush(i)
    if first then tokens[#tokens + 1] = s:sub(starts[first], starts[i] - 1) end
    first, word = nil, false
  end
  for i, cp in ipairs(cps) do
    local c = class_of(cp)
    if first and (c == EXTEND or (joined and c ~= SPACE)) then
      -- a modifier, or the character after a zero-width joiner: joins the open token
    elseif c == SPACE then flush(i)
    elseif c == WORD then
      if not word then flush(i); first, word = i, true end
    elseif cp == 39 and word and prev_cp and class_of(prev_cp) == WORD
           and i < #cps and class_of(cps[i + 1]) == WORD then
      -- an apostrophe inside a word: don't, l'eau
    else
      flush(i); first = i -- punctuation, CJK, emoji: a token of its own (modifiers may follow)
    end
    joined = cp == 0x200D
    prev_cp = cp
  end
  flush(#cps + 1)
  return tokens
end

-- data.Tokenizer{level = "char" | "word", lower = false}
function data.Tokenizer(opts)
  opts = check_opts("Tokenizer", opts, {level = true, lower = true})
  local level = opts.level or "word"
  if level ~= "char" and level ~= "word" then
    error(fmt("Tokenizer: level must be \"char\" or \"word\", got %s", tostring(level)), 2)
  end
  if opts.lower ~= nil and type(opts.lower) ~= "boolean" then
    error(fmt("Tokenizer: lower must be a boolean, got %s", type(opts.lower)), 2)
  end
  return setmetatable({level = level, lower = opts.lower or false}, Tokenizer)
end

-- tok:tokenize(text [, where]) -> array of token strings. `where` ("file:line")
-- is put into the error for invalid UTF-8.
function Tokenizer:tokenize(text, where)
  if type(text) ~= "string" then
    error(fmt("Tokenizer: bad argument #1 (expected a string, got %s)", type(text)), 2)
  end
  check_utf8("Tokenizer", text, where, 2)
  if self.lower then text = ascii_lower(text) end
  if self.level == "word" then return split_words(text) end
  local tokens = {}
  for ch in text:gmatch(utf8.charpattern) do tokens[#tokens + 1] = ch end
  return tokens
end
Tokenizer.__call = Tokenizer.tokenize

local CLOSERS = {["."] = true, [","] = true, ["!"] = true, ["?"] = true, [";"] = true,
                 [":"] = true, [")"] = true, ["]"] = true, ["}"] = true, ["%"] = true}
local OPENERS = {["("] = true, ["["] = true, ["{"] = true}

-- tok:detokenize(tokens) -> string. Characters are concatenated; words are joined
-- by spaces except before closing punctuation, after opening brackets and next to CJK.
function Tokenizer:detokenize(tokens)
  if type(tokens) ~= "table" then
    error(fmt("Tokenizer:detokenize: bad argument #1 (expected a list of tokens, got %s)", type(tokens)), 2)
  end
  for i, t in ipairs(tokens) do
    if type(t) ~= "string" then error(fmt("Tokenizer:detokenize: token %d is a %s, expected a string", i, type(t)), 2) end
    check_utf8("Tokenizer:detokenize", t, fmt("token %d", i), 2)
  end
  if self.level == "char" then return table.concat(tokens) end
  local out = {}
  for i, t in ipairs(tokens) do
    if i > 1 then
      local prev = tokens[i - 1]
      if not (CLOSERS[t] or OPENERS[prev] or is_cjk(prev) or is_cjk(t)) then out[#out + 1] = " " end
    end
    out[#out + 1] = t
  end
  return table.concat(out)
end

function Tokenizer:__tostring()
  return fmt("Tokenizer{level = %q, lower = %s}", self.level, tostring(self.lower))
end

---------------------------------------------------------------------------
-- Vocab
---------------------------------------------------------------------------

local Vocab = {}
Vocab.__index = Vocab
Vocab.__name = "lunet.data.Vocab"
data.Vocab = Vocab

local DEFAULT_SPECIALS = {"<pad>", "<unk>", "<bos>", "<eos>"}

local function new_vocab(tokens, nspecials, tokenizer)
  local v = setmetatable({tokens = tokens, ids = {}, nspecials = nspecials, tokenizer = tokenizer}, Vocab)
  for i, t in ipairs(tokens) do v.ids[t] = i end
  v.pad_id, v.unk_id, v.bos_id, v.eos_id = v.ids["<pad>"], v.ids["<unk>"], v.ids["<bos>"], v.ids["<eos>"]
  return v
end

-- Vocab.build(texts_or_token_lists, {tokenizer, min_freq = 1, max_size, specials})
-- Ids are 1-based: the specials first, then tokens by frequency, ties in first-seen
-- order. max_size caps the whole vocabulary, specials included.
function Vocab.build(items, opts)
  opts = check_opts("Vocab.build", opts, {tokenizer = true, min_freq = true, max_size = true, specials = true})
  if type(items) ~= "table" then
    error(fmt("Vocab.build: bad argument #1 (expected a list of strings or token lists, got %s)", type(items)), 2)
  end
  local tok = opts.tokenizer or data.Tokenizer{level = "word"}
  if getmetatable(tok) ~= Tokenizer then error("Vocab.build: tokenizer must be a data.Tokenizer", 2) end
  local min_freq = opts.min_freq or 1
  if math.type(min_freq) ~= "integer" or min_freq < 1 then
    error(fmt("Vocab.build: min_freq must be an integer >= 1, got %s", tostring(min_freq)), 2)
  end
  local specials = opts.specials or DEFAULT_SPECIALS
  local max_size = opts.max_size
  if max_size ~= nil and (math.type(max_size) ~= "integer" or max_size < #specials) then
    error(fmt("Vocab.build: max_size must be an integer >= the number of specials (%d), got %s",
      #specials, tostring(max_size)), 2)
  end
  local tokens, seen = {}, {}
  for i, s in ipairs(specials) do
    if type(s) ~= "string" or s == "" or s:find("[\r\n]") then
      error(fmt("Vocab.build: specials[%d] must be a non-empty one-line string", i), 2)
    end
    if seen[s] then error(fmt("Vocab.build: special '%s' appears twice", s), 2) end
    seen[s] = true; tokens[i] = s
  end
  local count, first, order = {}, {}, {}
  for i, item in ipairs(items) do
    local list = item
    if type(item) == "string" then list = tok:tokenize(item, fmt("item %d", i))
    elseif type(item) ~= "table" then
      error(fmt("Vocab.build: item %d is a %s, expected a string or a list of tokens", i, type(item)), 2)
    end
    for j, t in ipairs(list) do
      if type(t) ~= "string" or t == "" then
        error(fmt("Vocab.build: item %d holds %s, expected non-empty token strings", i, t == "" and "an empty string" or "a " .. type(t)), 2)
      end
      -- a token list skips the tokenizer: its tokens must be UTF-8 too (or the
      -- vocabulary would save to a file Vocab.load refuses)
      check_utf8("Vocab.build", t, fmt("item %d, token %d", i, j), 2)
      if not seen[t] then
        if not count[t] then count[t] = 0; order[#order + 1] = t; first[t] = #order end
        count[t] = count[t] + 1
      end
    end
  end
  table.sort(order, function(a, b)
    if count[a] ~= count[b] then return count[a] > count[b] end
    return first[a] < first[b]
  end)
  for _, t in ipairs(order) do
    if count[t] < min_freq or (max_size and #tokens >= max_size) then break end
    tokens[#tokens + 1] = t
  end
  return new_vocab(tokens, #specials, tok)
end

function Vocab:__len() return #self.tokens end

function Vocab:__tostring()
  return fmt("Vocab(%d tokens, %d specials, %s)", #self.tokens, self.nspecials, tostring(self.tokenizer))
end

-- vocab:id(token) -> its id, or nil when the token is not in the vocabulary
function Vocab:id(token) return self.ids[token] end

-- vocab:token(id) -> the token string; an id out of range raises
function Vocab:token(id)
  local t = self.tokens[id]
  if not t then error(fmt("Vocab:token: id %s is out of range 1..%d", tostring(id), #self.tokens), 2) end
  return t
end

-- vocab:encode(text or tokens, {bos, eos, tensor}) -> Lua array of ids, or a 1-d
-- int64 tensor with tensor = true. Unknown tokens become <unk>.
function Vocab:encode(text, opts)
  opts = check_opts("Vocab:encode", opts, {bos = true, eos = true, tensor = true})
  local toks = text
  if type(text) == "string" then toks = self.tokenizer:tokenize(text)
  elseif type(text) ~= "table" then
    error(fmt("Vocab:encode: bad argument #1 (expected a string or a list of tokens, got %s)", type(text)), 2)
  end
  local ids = {}
  local function special(name, id)
    if not id then error(fmt("Vocab:encode: the vocabulary has no %s token", name), 3) end
    ids[#ids + 1] = id
  end
  if opts.bos then special("<bos>", self.bos_id) end
  for _, t in ipairs(toks) do
    local id = self.ids[t]
    if not id then
      if not self.unk_id then error(fmt("Vocab:encode: token '%s' is unknown and there is no <unk>", t), 2) end
      id = self.unk_id
    end
    ids[#ids + 1] = id
  end
  if opts.eos then special("<eos>", self.eos_id) end
  if opts.tensor then return core.tensor(ids, {dtype = "int64"}) end
  return ids
end

-- vocab:decode(ids, {skip_specials = true}) -> string; ids is a Lua array or a
-- 1-d int64 tensor. Decoding stops at nothing: trim at <eos> yourself if needed.
function Vocab:decode(ids, opts)
  opts = check_opts("Vocab:decode", opts, {skip_specials = true})
  if core.is_tensor(ids) then
    if ids:dim() ~= 1 then error(fmt("Vocab:decode: expected a 1-d tensor of ids, got %d dimensions", ids:dim()), 2) end
    ids = ids:totable()
  elseif type(ids) ~= "table" then
    error(fmt("Vocab:decode: bad argument #1 (expected a list or tensor of ids, got %s)", type(ids)), 2)
  end
  local skip = opts.skip_specials ~= false
  local toks = {}
  for i, id in ipairs(ids) do
    local t = self.tokens[id]
    if not t then error(fmt("Vocab:decode: id %s at position %d is out of range 1..%d", tostring(id), i, #self.tokens), 2) end
    if not (skip and id <= self.nspecials) then toks[#toks + 1] = t end
  end
  return self.tokenizer:detokenize(toks)
end

-- One token per line; backslash escapes keep tokens holding a newline on one line.
local function escape(t) return (t:gsub("[\\\n\r]", {["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r"})) end
local function unescape(t)
  return (t:gsub("\\(.)", function(c) return ({["\\"] = "\\", n = "\n", r = "\r"})[c] or "\\" .. c end))
end

local HEADER = "lunet-vocab 1"
local HEADER_PATTERN = "^lunet%-vocab 1 level=(%a+) lower=(%a+) specials=(%d+)$"

-- vocab:save(path): UTF-8 text, a header line with the tokenizer settings and the
-- number of specials, then one token per line. Written to a temp file and renamed.
function Vocab:save(path)
  if type(path) ~= "string" then error("Vocab:save: bad argument #1 (expected a path string)", 2) end
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then error("Vocab:save: " .. err, 2) end
  f:write(fmt("%s level=%s lower=%s specials=%d\n", HEADER, self.tokenizer.level,
    tostring(self.tokenizer.lower), self.nspecials))
  for _, t in ipairs(self.tokens) do f:write(escape(t), "\n") end
  local ok, werr = f:close()
  if not ok then os.remove(tmp); error("Vocab:save: " .. tostring(werr), 2) end
  local rok, rerr = os.rename(tmp, path)
  if not rok then os.remove(tmp); error("Vocab:save: " .. tostring(rerr), 2) end
end

-- Vocab.load(path): checks the header, the UTF-8 and that no token repeats.
function Vocab.load(path)
  if type(path) ~= "string" then error("Vocab.load: bad argument #1 (expected a path string)", 2) end
  local f, err = io.open(path, "rb")
  if not f then error("Vocab.load: " .. err, 2) end
  local text = f:read("a"); f:close()
  if text:sub(-1) ~= "\n" then text = text .. "\n" end
  local lines, n = {}, 0
  for line in text:gmatch("([^\n]*)\n") do lines[#lines + 1] = line:gsub("\r$", "") end
  local level, lower, nspecials = (lines[1] or ""):match(HEADER_PATTERN)
  if not level or (level ~= "char" and level ~= "word") or (lower ~= "true" and lower ~= "false") then
    raise("Vocab.load", path .. ":1", "not a lunet vocabulary file (expected a first line like '"
      .. HEADER .. " level=word lower=false specials=4')", 2)
  end
  local tokens, seen = {}, {}
  for i = 2, #lines do
    check_utf8("Vocab.load", lines[i], path .. ":" .. i, 2)
    if lines[i] == "" then raise("Vocab.load", path .. ":" .. i, "empty line (every line holds one token)", 2) end
    local t = unescape(lines[i])
    if seen[t] then raise("Vocab.load", path .. ":" .. i, fmt("token '%s' repeats line %d", t, seen[t]), 2) end
    seen[t] = i; n = n + 1; tokens[n] = t
  end
  nspecials = tonumber(nspecials)
  if nspecials > n then raise("Vocab.load", path, fmt("header declares %d specials but the file holds %d tokens", nspecials, n), 2) end
  return new_vocab(tokens, nspecials, data.Tokenizer{level = level, lower = lower == "true"})
end

---------------------------------------------------------------------------
-- Padding
---------------------------------------------------------------------------

-- rows of ids (Lua arrays or 1-d tensors) -> Lua arrays of integers
local function as_ids(name, seq, i)
  if core.is_tensor(seq) then
    if seq:dim() ~= 1 then error(fmt("%s: sequence %d is a %d-d tensor, expected 1-d", name, i, seq:dim()), 3) end
    return seq:totable()
  elseif type(seq) == "table" then return seq end
  error(fmt("%s: sequence %d is a %s, expected a list or a 1-d tensor of ids", name, i, type(seq)), 3)
end

-- rows padded/truncated to T -> ids (B, T), mask (B, T) and lengths (B), all int64
local function pad_rows(rows, T, pad)
  local ids, mask, lens = {}, {}, {}
  for b, r in ipairs(rows) do
    local row, m = {}, {}
    local n = math.min(#r, T)
    for t = 1, T do
      if t <= n then row[t] = r[t]; m[t] = 1 else row[t] = pad; m[t] = 0 end
    end
    ids[b], mask[b], lens[b] = row, m, n
  end
  if T == 0 then
    local B = #rows
    return core.zeros(B, 0, {dtype = "int64"}), core.zeros(B, 0, {dtype = "int64"}), core.tensor(lens, {dtype = "int64"})
  end
  return core.tensor(ids, {dtype = "int64"}), core.tensor(mask, {dtype = "int64"}), core.tensor(lens, {dtype = "int64"})
end

-- data.pad(seqs, {pad = 1, max_len}) -> ids (B, T), mask (B, T) with 1 on real
-- tokens, lengths (B). T is max_len when given (longer rows are cut), else the longest.
function data.pad(seqs, opts)
  opts = check_opts("pad", opts, {pad = true, max_len = true})
  if type(seqs) ~= "table" or #seqs == 0 then error("pad: bad argument #1 (expected a non-empty list of sequences)", 2) end
  local pad = opts.pad or 1
  if math.type(pad) ~= "integer" then error(fmt("pad: pad must be an integer id, got %s", tostring(pad)), 2) end
  local max_len = opts.max_len
  if max_len ~= nil and (math.type(max_len) ~= "integer" or max_len < 0) then
    error(fmt("pad: max_len must be a non-negative integer, got %s", tostring(max_len)), 2)
  end
  local rows, longest = {}, 0
  for i, s in ipairs(seqs) do
    rows[i] = as_ids("pad", s, i)
    for j, v in ipairs(rows[i]) do
      if math.type(v) ~= "integer" then error(fmt("pad: sequence %d, position %d is not an integer id", i, j), 2) end
    end
    longest = math.max(longest, #rows[i])
  end
  return pad_rows(rows, max_len or longest, pad)
end

---------------------------------------------------------------------------
-- Question/answer pairs
---------------------------------------------------------------------------

-- A dataset over a Lua array of samples: #ds, ds[i] (1-based, range checked).
-- `sample(ds, i)`, when given, makes ds[i] from item i.
local function list_dataset(name, items, methods, sample)
  local mt = {__name = name}
  function mt.__len() return #items end
  function mt.__index(ds, k)
    if math.type(k) == "integer" then
      local v = items[k]
      if v == nil then error(fmt("%s: index %d is out of range 1..%d", name, k, #items), 2) end
      if sample then return sample(ds, k) end
      return v
    end
    return methods[k]
  end
  mt.__members = {methods} -- what __index offers, for the REPL's completion
  return setmetatable({}, mt)
end

-- data.text_pairs(path, {sep = "\t"}) -> dataset of {question, answer}.
-- Skips empty lines and lines starting with '#'; a line without exactly one
-- separator or with invalid UTF-8 raises, naming file:line.
function data.text_pairs(path, opts)
  opts = check_opts("text_pairs", opts, {sep = true})
  if type(path) ~= "string" then error(fmt("text_pairs: bad argument #1 (expected a path, got %s)", type(path)), 2) end
  local sep = opts.sep or "\t"
  if type(sep) ~= "string" or sep == "" then error("text_pairs: sep must be a non-empty string", 2) end
  local f, err = io.open(path, "rb")
  if not f then error("text_pairs: " .. err, 2) end
  local text = f:read("a"); f:close()
  if text:sub(1, 3) == "\239\187\191" then text = text:sub(4) end -- a UTF-8 byte order mark
  if text:sub(-1) ~= "\n" then text = text .. "\n" end
  local pairs_, lineno = {}, 0
  for line in text:gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    line = line:gsub("\r$", "")
    local where = path .. ":" .. lineno
    check_utf8("text_pairs", line, where, 2)
    if line:find("%S") and line:sub(1, 1) ~= "#" then
      local a = line:find(sep, 1, true)
      if not a then raise("text_pairs", where, fmt("no separator %q in the line", sep), 2) end
      local q, ans = line:sub(1, a - 1), line:sub(a + #sep)
      if ans:find(sep, 1, true) then raise("text_pairs", where, fmt("more than one separator %q in the line", sep), 2) end
      pairs_[#pairs_ + 1] = {q, ans}
    end
  end
  return list_dataset("text_pairs", pairs_, {})
end

-- pairs given as a path, a dataset of {q, a} or a Lua list of {q, a} -> Lua list
local function collect_pairs(pairs_)
  if type(pairs_) == "string" then pairs_ = data.text_pairs(pairs_) end
  local ok, n = pcall(function() return #pairs_ end)
  if not ok or type(pairs_) ~= "table" then
    error(fmt("QAPairs: bad argument #1 (expected a path, a dataset or a list of {question, answer}, got %s)", type(pairs_)), 3)
  end
  local out = {}
  for i = 1, n do
    local p = pairs_[i]
    if type(p) ~= "table" or type(p[1]) ~= "string" or type(p[2]) ~= "string" then
      error(fmt("QAPairs: pair %d is not {question, answer} strings", i), 3)
    end
    out[i] = {p[1], p[2]}
  end
  return out
end

-- data.QAPairs(pairs, {vocab, src_len, tgt_len, tokenizer, min_freq, max_size})
-- Encodes every pair once. Source rows hold the question's ids; target input rows
-- are <bos> + answer, target output rows answer + <eos> (teacher forcing). Rows are
-- padded (and cut) to src_len / tgt_len, by default the longest in the data, so
-- every batch has the same shape. Without vocab one is built from all the pairs.
function data.QAPairs(pairs_, opts)
  opts = check_opts("QAPairs", opts, {vocab = true, src_len = true, tgt_len = true,
                                      tokenizer = true, min_freq = true, max_size = true})
  local list = collect_pairs(pairs_)
  local vocab = opts.vocab
  if vocab ~= nil and getmetatable(vocab) ~= Vocab then error("QAPairs: vocab must be a data.Vocab", 2) end
  local tok = vocab and vocab.tokenizer or opts.tokenizer or data.Tokenizer{level = "word"}
  if getmetatable(tok) ~= Tokenizer then error("QAPairs: tokenizer must be a data.Tokenizer", 2) end
  -- tokenized once, for the vocabulary and for the ids
  local tokens = {}
  for i, p in ipairs(list) do
    tokens[2 * i - 1] = tok:tokenize(p[1], "pair " .. i)
    tokens[2 * i] = tok:tokenize(p[2], "pair " .. i)
  end
  if vocab == nil then
    vocab = Vocab.build(tokens, {tokenizer = tok, min_freq = opts.min_freq, max_size = opts.max_size})
  end
  if not (vocab.pad_id and vocab.bos_id and vocab.eos_id) then
    error("QAPairs: the vocabulary needs <pad>, <bos> and <eos> tokens", 2)
  end
  for _, k in ipairs{"src_len", "tgt_len"} do
    local v = opts[k]
    if v ~= nil and (math.type(v) ~= "integer" or v < 1) then
      error(fmt("QAPairs: %s must be a positive integer, got %s", k, tostring(v)), 2)
    end
  end
  local src, tin, tout, S, T = {}, {}, {}, 0, 0
  for i = 1, #list do
    src[i] = vocab:encode(tokens[2 * i - 1])
    local a = vocab:encode(tokens[2 * i])
    local ti, to = {vocab.bos_id}, {}
    for j, id in ipairs(a) do ti[j + 1] = id; to[j] = id end
    to[#to + 1] = vocab.eos_id
    tin[i], tout[i] = ti, to
    S, T = math.max(S, #src[i]), math.max(T, #ti)
  end
  S, T = opts.src_len or S, opts.tgt_len or T

  local methods = {vocab = vocab, src_len = S, tgt_len = T}
  -- ds:pair(i) -> question, answer (the strings)
  function methods.pair(_, i) return list[i][1], list[i][2] end
  -- ds:batch(idx) -> src (B, S), tgt_in (B, T), tgt_out (B, T), src_mask (B, S),
  -- tgt_mask (B, T); idx is an int64 tensor or a Lua list of 1-based indices
  function methods.batch(_, idx)
    if core.is_tensor(idx) then
      if idx:dim() ~= 1 then error("QAPairs:batch: idx must be a 1-d tensor of indices", 2) end
      idx = idx:totable()
    elseif type(idx) ~= "table" then
      error(fmt("QAPairs:batch: bad argument #1 (expected an int64 tensor or a list of indices, got %s)", type(idx)), 2)
    end
    if #idx == 0 then error("QAPairs:batch: idx is empty", 2) end
    local rs, ri, ro = {}, {}, {}
    for b, i in ipairs(idx) do
      if math.type(i) ~= "integer" or not list[i] then
        error(fmt("QAPairs:batch: index %s at position %d is out of range 1..%d", tostring(i), b, #list), 2)
      end
      rs[b], ri[b], ro[b] = src[i], tin[i], tout[i]
    end
    local s, smask = pad_rows(rs, S, vocab.pad_id)
    local ti, tmask = pad_rows(ri, T, vocab.pad_id)
    local to = pad_rows(ro, T, vocab.pad_id)
    return s, ti, to, smask, tmask
  end
  -- ds[i] -> {src (S), tgt_in (T), tgt_out (T), src_mask (S), tgt_mask (T)}
  local function sample(ds, i)
    local s, ti, to, sm, tm = methods.batch(ds, {i})
    return {s[1], ti[1], to[1], sm[1], tm[1]}
  end
  return list_dataset("QAPairs", list, methods, sample)
end

end
