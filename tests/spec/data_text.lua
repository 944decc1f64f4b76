-- Text: UTF-8 tokenizers, vocabularies, padding, QA-pair files and datasets, and
-- the QA corpus generator. Files are written here with known contents.
local data = lunet.data
local exe = arg and arg[-1] or "./lunet"

local function tmpfile(contents)
  local p = os.tmpname()
  local f = assert(io.open(p, "wb")); f:write(contents); f:close()
  return p
end
local function readall(p)
  local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s
end

describe("data.Tokenizer", function()
  local word, char = data.Tokenizer{level = "word"}, data.Tokenizer{level = "char"}

  it("splits ASCII words with punctuation as separate tokens", function()
    T.eq(T.show(word:tokenize("What is seven plus five?")), T.show{"What", "is", "seven", "plus", "five", "?"})
    T.eq(T.show(word("  Hello,\tworld (again)!\n")), T.show{"Hello", ",", "world", "(", "again", ")", "!"})
    T.eq(T.show(word("don't stop_here 3.5")), T.show{"don't", "stop_here", "3", ".", "5"})
    T.eq(T.show(word("")), "{}")
  end)

  it("makes every CJK character and CJK punctuation mark a token, also in word mode", function()
    T.eq(T.show(word("三加四等于几？")), T.show{"三", "加", "四", "等", "于", "几", "？"})
    T.eq(T.show(word("Hello世界。ok")), T.show{"Hello", "世", "界", "。", "ok"})
    T.eq(T.show(char("中文 ab")), T.show{"中", "文", " ", "a", "b"})
    T.eq(T.show(word("三\227\128\128四\194\160x")), T.show{"三", "四", "x"}) -- U+3000 and U+00A0 are spaces
  end)

  it("keeps emoji whole, with their modifiers and joiners, and accented words whole", function()
    T.eq(T.show(word("I ❤️ lunet 👍🏽!")), T.show{"I", "❤️", "lunet", "👍🏽", "!"})
    T.eq(#word("👨‍👩‍👧"), 1)
    T.eq(T.show(word("a\226\128\141 b")), T.show{"a\226\128\141", "b"}) -- a joiner never swallows a space
    T.eq(T.show(word("café naïve")), T.show{"café", "naïve"})
    T.eq(T.show(char("a😀b")), T.show{"a", "😀", "b"})
  end)

  it("lowercases ASCII letters only when asked", function()
    local low = data.Tokenizer{level = "word", lower = true}
    T.eq(T.show(low("Hello WORLD Éa")), T.show{"hello", "world", "Éa"})
  end)

  it("detokenizes: characters concatenate, words take spaces except around punctuation and CJK", function()
    for _, s in ipairs{"What is seven plus five?", "Hello, world (again)!", "三加四等于几？七。", "Ask 中文 now."} do
      T.eq(word:detokenize(word(s)), s:gsub("Ask 中文 now", "Ask中文now"))
    end
    T.eq(char:detokenize(char("a b 中😀")), "a b 中😀")
  end)

  it("refuses invalid UTF-8 naming the byte position, and bad options", function()
    T.errors(function() word("ab\255cd") end, "invalid UTF-8 at byte 3")
    T.errors(function() char("\228\184") end, "invalid UTF-8 at byte 1")
    T.errors(function() word("ok\237\160\128") end, "invalid UTF-8 at byte 3") -- a surrogate
    T.errors(function() word:tokenize("x\192", "f.tsv:7") end, "Tokenizer: f.tsv:7: invalid UTF-8 at byte 2")
    T.errors(function() data.Tokenizer{level = "bpe"} end, "level must be \"char\" or \"word\"")
    T.errors(function() data.Tokenizer{levl = "char"} end, "unknown option 'levl'")
    T.errors(function() word(42) end, "expected a string")
  end)
end)

describe("data.Vocab", function()
  it("puts the specials first, then tokens by frequency, ties in first-seen order", function()
    local v = data.Vocab.build{"a b b c", "c c d"}
    T.eq(#v, 8)
    T.eq(T.show(v.tokens), T.show{"<pad>", "<unk>", "<bos>", "<eos>", "c", "b", "a", "d"})
    T.eq(v:id("<pad>"), 1); T.eq(v:id("<unk>"), 2); T.eq(v:id("<bos>"), 3); T.eq(v:id("<eos>"), 4)
    T.eq(v:id("c"), 5); T.eq(v:token(6), "b"); T.eq(v:id("zzz"), nil)
    T.errors(function() v:token(9) end, "id 9 is out of range 1..8")
  end)

  it("applies min_freq, max_size (specials included) and custom specials; takes token lists", function()
    local texts = {"x y z", "y z", "z w"}
    T.eq(T.show(data.Vocab.build(texts, {min_freq = 2}).tokens), T.show{"<pad>", "<unk>", "<bos>", "<eos>", "z", "y"})
    T.eq(T.show(data.Vocab.build(texts, {max_size = 5}).tokens), T.show{"<pad>", "<unk>", "<bos>", "<eos>", "z"})
    local v = data.Vocab.build({{"b", "<x>", "a", "a"}}, {specials = {"<x>"}})
    T.eq(T.show(v.tokens), T.show{"<x>", "a", "b"})
    T.eq(v.unk_id, nil)
    T.errors(function() v:encode({"q"}) end, "token 'q' is unknown and there is no <unk>")
    T.errors(function() data.Vocab.build(texts, {max_size = 2}) end, "max_size must be an integer >= the number of specials (4)")
    T.errors(function() data.Vocab.build(texts, {min_freq = 0}) end, "min_freq must be an integer >= 1")
    T.errors(function() data.Vocab.build({"ok", "bad\255"}) end, "item 2: invalid UTF-8 at byte 4")
  end)

  it("encodes to ids or an int64 tensor and decodes back, for English and Chinese", function()
    local tok = data.Tokenizer{level = "char"}
    local v = data.Vocab.build({"三加四等于几？", "七"}, {tokenizer = tok})
    local ids = v:encode("三加七", {bos = true, eos = true})
    T.eq(T.show(ids), T.show{3, 5, 6, 12, 4})
    T.eq(v:decode(ids), "三加七")
    T.eq(v:decode(ids, {skip_specials = false}), "<bos>三加七<eos>")
    T.eq(v:decode(v:encode("三x", {tensor = true})), "三") -- x is <unk>, a special
    T.values(v:encode("加四", {tensor = true}), {6, 7}, 0, "int64")
    local w = data.Vocab.build{"What is seven plus five?", "twelve"}
    local s = "What is five plus seven?"
    T.eq(w:decode(w:encode(s)), s)
    T.eq(w:decode(w:encode("What is eight?")), "What is?")
    T.errors(function() w:decode({1, 99}) end, "id 99 at position 2 is out of range")
    T.errors(function() w:encode(5) end, "expected a string or a list of tokens")
  end)

  it("saves to a UTF-8 text file and loads back the same vocabulary and tokenizer", function()
    local tok = data.Tokenizer{level = "char", lower = true}
    local v = data.Vocab.build({"Ab\n中\\文 😀"}, {tokenizer = tok})
    local p = os.tmpname()
    v:save(p)
    local text = readall(p)
    T.eq(text:match("^[^\n]*"), "lunet-vocab 1 level=char lower=true specials=4")
    T.truthy(text:find("\n\\n\n", 1, true), "a newline token is stored escaped")
    local w = data.Vocab.load(p)
    T.eq(T.show(w.tokens), T.show(v.tokens))
    T.eq(w.tokenizer.level, "char"); T.eq(w.tokenizer.lower, true); T.eq(w.nspecials, 4)
    T.eq(T.show(w:encode("AB中")), T.show(v:encode("AB中")))
    os.remove(p)
  end)

  it("refuses a file without the header, with bad UTF-8 or a repeated token", function()
    local p = tmpfile("<pad>\n<unk>\n")
    T.errors(function() data.Vocab.load(p) end, p .. ":1: not a lunet vocabulary file")
    local q = tmpfile("lunet-vocab 1 level=word lower=false specials=1\n<pad>\na\n\255\n")
    T.errors(function() data.Vocab.load(q) end, q .. ":4: invalid UTF-8 at byte 1")
    local r = tmpfile("lunet-vocab 1 level=word lower=false specials=1\n<pad>\na\na\n")
    T.errors(function() data.Vocab.load(r) end, r .. ":4: token 'a' repeats line 3")
    local e = tmpfile("lunet-vocab 1 level=word lower=false specials=1\n<pad>\n\na\n")
    T.errors(function() data.Vocab.load(e) end, e .. ":3: empty line")
    T.errors(function() data.Vocab.load("/nonexistent/v.txt") end, "/nonexistent/v.txt")
    T.errors(function() data.Vocab.build({{"a", ""}}) end, "item 1 holds an empty string")
    os.remove(p); os.remove(q); os.remove(r); os.remove(e)
  end)

  it("loads a file edited elsewhere: CRLF line ends, no final newline", function()
    local p = tmpfile("lunet-vocab 1 level=word lower=false specials=2\r\n<pad>\r\n<unk>\r\nhello\r\nworld")
    local v = data.Vocab.load(p)
    T.eq(T.show(v.tokens), T.show{"<pad>", "<unk>", "hello", "world"})
    T.eq(T.show(v:encode("hello there world")), T.show{3, 2, 4})
    T.eq(v:decode({3, 2, 4}), "hello world")
    os.remove(p)
  end)
end)

describe("data.pad", function()
  it("pads to the longest row and returns a mask and the lengths", function()
    local ids, mask, lens = data.pad({{5, 6, 7}, {8}, lunet.tensor{9, 10}})
    T.values(ids, {{5, 6, 7}, {8, 1, 1}, {9, 10, 1}}, 0, "int64")
    T.values(mask, {{1, 1, 1}, {1, 0, 0}, {1, 1, 0}}, 0, "int64")
    T.values(lens, {3, 1, 2}, 0, "int64")
  end)

  it("pads and cuts to max_len with a chosen pad id", function()
    local ids, mask, lens = data.pad({{5, 6, 7}, {}}, {pad = 0, max_len = 2})
    T.values(ids, {{5, 6}, {0, 0}}, 0, "int64")
    T.values(mask, {{1, 1}, {0, 0}}, 0, "int64")
    T.values(lens, {2, 0}, 0, "int64")
    T.shape(data.pad({{}, {}}), {2, 0})
    T.errors(function() data.pad({}) end, "non-empty list")
    T.errors(function() data.pad({{1.5}}) end, "sequence 1, position 1 is not an integer id")
    T.errors(function() data.pad({{1}}, {max_len = -1}) end, "max_len must be a non-negative integer")
  end)
end)

describe("data.text_pairs", function()
  it("reads pairs, skipping comments and empty lines (CRLF and a BOM too)", function()
    local p = tmpfile("\239\187\191# a comment\nWhat is one plus one?\ttwo\r\n\n   \n一加一等于几？\t二\n")
    local ds = data.text_pairs(p)
    T.eq(#ds, 2)
    T.eq(ds[1][1], "What is one plus one?"); T.eq(ds[1][2], "two")
    T.eq(ds[2][1], "一加一等于几？"); T.eq(ds[2][2], "二")
    T.errors(function() return ds[3] end, "index 3 is out of range 1..2")
    os.remove(p)
  end)

  it("takes another separator", function()
    local p = tmpfile("a | b\nc | d")
    local ds = data.text_pairs(p, {sep = " | "})
    T.eq(#ds, 2); T.eq(ds[2][2], "d")
    os.remove(p)
  end)

  it("names file:line for a line without one separator or with invalid UTF-8", function()
    local p = tmpfile("q\ta\n# note\nno separator here\n")
    T.errors(function() data.text_pairs(p) end, p .. ":3: no separator")
    local q = tmpfile("q\ta\nq2\ta\tb\n")
    T.errors(function() data.text_pairs(q) end, q .. ":2: more than one separator")
    local r = tmpfile("q\ta\n\n问\t\255答\n")
    T.errors(function() data.text_pairs(r) end, r .. ":3: invalid UTF-8 at byte 5")
    T.errors(function() data.text_pairs("/nonexistent/qa.tsv") end, "text_pairs: /nonexistent/qa.tsv")
    os.remove(p); os.remove(q); os.remove(r)
  end)
end)

describe("data.QAPairs", function()
  local pairs_ = {{"What is one plus two?", "three"}, {"一加二等于几？", "三"}, {"Hi", "hello there"}}

  it("batches padded source, <bos> target input, <eos> target output and masks", function()
    local ds = data.QAPairs(pairs_)
    local v = ds.vocab
    T.eq(#ds, 3); T.eq(ds.src_len, 7); T.eq(ds.tgt_len, 3)
    local src, tin, tout, smask, tmask = ds:batch(lunet.tensor{3, 1})
    T.shape(src, {2, 7}); T.shape(tin, {2, 3}); T.shape(tout, {2, 3})
    local hi, th = v:id("Hi"), v:id("hello")
    local q = v:encode("What is one plus two?")
    T.values(src, {{hi, 1, 1, 1, 1, 1, 1}, {q[1], q[2], q[3], q[4], q[5], q[6], 1}}, 0, "int64")
    T.values(tin, {{3, th, v:id("there")}, {3, v:id("three"), 1}}, 0, "int64")
    T.values(tout, {{th, v:id("there"), 4}, {v:id("three"), 4, 1}}, 0, "int64")
    T.values(smask, {{1, 0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1, 0}}, 0, "int64")
    T.values(tmask, {{1, 1, 1}, {1, 1, 0}}, 0, "int64")
    T.eq(v:decode(src[2]), "What is one plus two?")
    local one = ds[2]
    T.values(one[1], {v:id("一"), v:id("加"), v:id("二"), v:id("等"), v:id("于"), v:id("几"), v:id("？")}, 0, "int64")
    T.values(one[3], {v:id("三"), 4, 1}, 0, "int64")
    local a, b = ds:pair(2)
    T.eq(a, "一加二等于几？"); T.eq(b, "三")
  end)

  it("cuts to src_len and tgt_len, uses a given vocabulary and reads a path", function()
    local p = tmpfile("What is one plus two?\tthree\n")
    local v = data.Vocab.build({"What is one"})
    local ds = data.QAPairs(p, {vocab = v, src_len = 2, tgt_len = 1})
    local src, tin, tout = ds:batch({1})
    T.values(src, {{v:id("What"), v:id("is")}}, 0, "int64")
    T.values(tin, {{3}}, 0, "int64")
    T.values(tout, {{2}}, 0, "int64") -- "three" is unknown to this vocabulary; <eos> is cut
    T.errors(function() ds:batch({2}) end, "index 2 at position 1 is out of range 1..1")
    T.errors(function() data.QAPairs({{"q", 5}}) end, "pair 1 is not {question, answer} strings")
    T.errors(function() data.QAPairs(pairs_, {src_len = 0}) end, "src_len must be a positive integer")
    os.remove(p)
  end)
end)

describe("data.QAPairs with data.DataLoader", function()
  it("yields the five fields per batch, through ds:batch and through ds[i] + collate", function()
    local p = tmpfile("a b\tc\nd\te f\ng h i\tj\n")
    local ds = data.QAPairs(p)
    local loader = data.DataLoader(ds, {batch_size = 2})
    T.eq(#loader, 2)
    local got = {}
    for src, tin, tout, smask, tmask in loader:batches() do got[#got + 1] = {src, tin, tout, smask, tmask} end
    T.eq(#got, 2)
    T.shape(got[1][1], {2, 3}); T.shape(got[2][1], {1, 3}); T.shape(got[1][5], {2, 3})
    local s1 = ds:batch{1, 2}
    T.close(got[1][1], s1)
    -- a plain dataset over the same samples goes through collate and gives the same rows
    local plain = setmetatable({}, {__len = function() return #ds end, __index = function(_, i) return ds[i] end})
    for src, _, tout in data.DataLoader(plain, {batch_size = 2}):batches() do
      T.close(src, s1); T.close(tout, select(3, ds:batch{1, 2})); break
    end
    os.remove(p)
  end)
end)

describe("examples/qa corpus", function()
  local function gen(seed, dir)
    local p = io.popen(string.format("%s examples/qa/make_corpus.lua --seed %d --out %s 2>&1; echo \"exit=$?\"", exe, seed, dir))
    local out = p:read("a"); p:close()
    T.truthy(out:find("exit=0", 1, true), "make_corpus exits with 0:\n" .. out)
  end

  -- the other phrasing of an arithmetic question in the same language, or nil
  local function sibling(q)
    if not (q:find(" plus ") or q:find(" minus ") or q:find(" times ") or q:find("加") or q:find("减")
            or q:find("乘以")) then return nil end
    local e = q:match("^What is (.*)%?$"); if e then return "How much is " .. e .. "?" end
    e = q:match("^How much is (.*)%?$"); if e then return "What is " .. e .. "?" end
    e = q:match("^(.*)等于几？$"); if e then return e .. "是多少？" end
    e = q:match("^(.*)是多少？$"); if e then return e .. "等于几？" end
  end

  it("is deterministic for a seed; test asks trained facts in held-out phrasings, unseen asks new sums", function()
    local base = os.tmpname(); os.remove(base)
    gen(7, base .. "a"); gen(7, base .. "b"); gen(8, base .. "c")
    for _, f in ipairs{"/train.tsv", "/test.tsv", "/unseen.tsv"} do
      T.truthy(readall(base .. "a" .. f) == readall(base .. "b" .. f), f .. " has the same bytes for the same seed")
    end
    T.truthy(readall(base .. "a/test.tsv") ~= readall(base .. "c/test.tsv"), "another seed holds out other pairs")
    local train = data.text_pairs(base .. "a/train.tsv")
    local test, unseen = data.text_pairs(base .. "a/test.tsv"), data.text_pairs(base .. "a/unseen.tsv")
    T.truthy(#train > 2000 and #test > 200 and #unseen > 50, "sizes: " .. #train .. " + " .. #test .. " + " .. #unseen)
    local seen, answer_of, zh, arith = {}, {}, 0, 0
    for i = 1, #train do seen[train[i][1]] = true; answer_of[train[i][1]] = train[i][2] end
    for i = 1, #test do
      local q, a = test[i][1], test[i][2]
      T.truthy(not seen[q], "test question also in training: " .. q)
      if q:find("？") then zh = zh + 1 end
      local s = sibling(q)
      if s then  -- the same sum in the other phrasing is taught, with the same answer
        arith = arith + 1
        T.eq(answer_of[s], a, "the training answer to " .. s)
      end
    end
    T.truthy(zh > 50 and zh < #test - 50, "both languages in the test split")
    T.truthy(arith > 100 and arith < #test, "test holds arithmetic and other families: " .. arith)
    for i = 1, #unseen do
      local q = unseen[i][1]
      T.truthy(sibling(q), "unseen holds arithmetic only: " .. q)
      T.truthy(not seen[q] and not seen[sibling(q)], "an unseen sum is never asked in training: " .. q)
    end
    os.execute("rm -rf " .. base .. "a " .. base .. "b " .. base .. "c")
  end)

  it("questions.tsv loads: 20 hand-written pairs", function()
    local ds = data.text_pairs("examples/qa/questions.tsv")
    T.eq(#ds, 20)
    T.eq(ds[4][1], "What is seven plus five?"); T.eq(ds[4][2], "twelve")
  end)
end)

-- found by fuzzing (tests/fuzz/corpus/tokenizer/): tokens that skip the tokenizer
describe("data.Vocab and detokenize on token lists", function()
  it("Vocab.build refuses a token that is not UTF-8, which Vocab.load would refuse", function()
    T.errors(function() data.Vocab.build({{"ok", "abc\xe4\xb8"}}) end,
      "Vocab.build: item 1, token 2: invalid UTF-8 at byte 4")
  end)

  it("detokenize names a bad token instead of failing inside utf8", function()
    local word = data.Tokenizer{level = "word"}
    T.errors(function() word:detokenize({"a", "\xff"}) end, "Tokenizer:detokenize: token 2: invalid UTF-8 at byte 1")
    T.errors(function() word:detokenize({"a", 3}) end, "Tokenizer:detokenize: token 2 is a number, expected a string")
    T.errors(function() word:detokenize("a b") end, "Tokenizer:detokenize: bad argument #1 (expected a list of tokens, got string)")
    T.eq(word:detokenize({"a", "", "b"}), "a  b") -- an empty token is no error
  end)

  it("splits a long word whole", function()
    local s = string.rep("ab", 100000)
    local toks = data.Tokenizer{level = "word"}:tokenize(s .. " " .. s .. "\u{0301}")
    T.eq(#toks, 2)
    T.eq(toks[1], s)
    T.eq(toks[2], s .. "\u{0301}")
  end)
end)
