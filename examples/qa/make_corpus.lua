-- A deterministic question/answer corpus in English and Chinese for seq2seq models.
-- usage: ./lunet examples/qa/make_corpus.lua [--seed N] [--out DIR]
-- Writes DIR/train.tsv, DIR/test.tsv and DIR/unseen.tsv (default DIR: data/ next to this
-- script). The same seed gives the same bytes. Every fact is asked in several phrasings
-- per language (two for arithmetic, three or four for the others); test.tsv holds one phrasing of some facts whose other phrasings
-- are in training (the model must recognise the question, not compute a new answer).
-- unseen.tsv holds arithmetic on number pairs never asked in training, in any phrasing:
-- a measure of generalisation, much harder for a seq2seq model trained on a few thousand pairs.

local seed, out = 1, nil
local i = 1
while i <= #arg do
  local a = arg[i]
  if a == "--seed" then seed = math.tointeger(tonumber(arg[i + 1] or "")); i = i + 2
  elseif a == "--out" then out = arg[i + 1]; i = i + 2
  else io.stderr:write("usage: make_corpus.lua [--seed N] [--out DIR]\n"); os.exit(2) end
  if (a == "--seed" and not seed) or (a == "--out" and not out) then
    io.stderr:write("make_corpus.lua: " .. a .. " needs a value\n"); os.exit(2)
  end
end
out = out or ((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/data")

-- splitmix64: our own generator, so the corpus does not depend on Lua's math.random
local state = seed
local function rand_u64()
  state = state + 0x9E3779B97F4A7C15
  local z = state
  z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * 0x94D049BB133111EB
  return z ~ (z >> 31)
end
local function rand_below(n) return (rand_u64() >> 1) % n end -- n is small: bias is negligible
local function shuffle(t)
  for k = #t, 2, -1 do
    local j = rand_below(k) + 1
    t[k], t[j] = t[j], t[k]
  end
  return t
end

---------------------------------------------------------------------------
-- number words
---------------------------------------------------------------------------
local EN_ONES = {[0] = "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
  "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
local EN_TENS = {"ten", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
local function en_num(n)
  if n < 20 then return EN_ONES[n] end
  local t, o = n // 10, n % 10
  return o == 0 and EN_TENS[t] or EN_TENS[t] .. "-" .. EN_ONES[o]
end
local ZH_DIGITS = {[0] = "零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
local function zh_num(n)
  if n < 10 then return ZH_DIGITS[n] end
  local t, o = n // 10, n % 10
  return (t == 1 and "" or ZH_DIGITS[t]) .. "十" .. (o == 0 and "" or ZH_DIGITS[o])
end

local train, test, unseen = {}, {}, {}
local function add(split, q, a) split[#split + 1] = q .. "\t" .. a end

-- One fact asked in several phrasings per language. With probability HOLD, one phrasing of a
-- language (picked at random) goes to test and the others stay in training: a test question
-- asks something the training set taught, in words it did not use for it.
local HOLD = 0.25
local function fact(answers, phrasings)
  for lang, qs in ipairs(phrasings) do
    local held = #qs > 1 and rand_below(1000) < HOLD * 1000 and rand_below(#qs) + 1
    for i, q in ipairs(qs) do add(i == held and test or train, q, answers[lang]) end
  end
end

---------------------------------------------------------------------------
-- arithmetic in words; a few number pairs go whole (all phrasings) to unseen.tsv
---------------------------------------------------------------------------
local OPS = {
  {"plus", "加", 20, function(a, b) return a + b end},
  {"minus", "减", 20, function(a, b) return a >= b and a - b or nil end},
  {"times", "乘以", 9, function(a, b) return a * b end},
}
for _, op in ipairs(OPS) do
  local en, zh, top, f = op[1], op[2], op[3], op[4]
  for a = 0, top do
    for b = 0, top do
      local r = f(a, b)
      if r then
        local phrasings = {
          {string.format("What is %s %s %s?", en_num(a), en, en_num(b)),
           string.format("How much is %s %s %s?", en_num(a), en, en_num(b))},
          {string.format("%s%s%s等于几？", zh_num(a), zh, zh_num(b)),
           string.format("%s%s%s是多少？", zh_num(a), zh, zh_num(b))}}
        local answers = {en_num(r), zh_num(r)}
        if rand_below(1000) < 60 then
          for lang, qs in ipairs(phrasings) do
            for _, q in ipairs(qs) do add(unseen, q, answers[lang]) end
          end
        else
          fact(answers, phrasings)
        end
      end
    end
  end
end

---------------------------------------------------------------------------
-- days of the week and months
---------------------------------------------------------------------------
local EN_DAYS = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
local ZH_DAYS = {"星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"}
for d = 1, 7 do
  for k = 1, 6 do
    for _, dir in ipairs{1, -1} do
      local r = (d - 1 + dir * k) % 7 + 1
      local en_dir, zh_dir = dir > 0 and "after" or "before", dir > 0 and "后" or "前"
      local days = k == 1 and "day" or "days"
      local en = {string.format("What day is %s %s %s %s?", en_num(k), days, en_dir, EN_DAYS[d]),
                  string.format("Which day falls %s %s %s %s?", en_num(k), days, en_dir, EN_DAYS[d]),
                  string.format("Name the day %s %s %s %s.", en_num(k), days, en_dir, EN_DAYS[d])}
      local zh = {string.format("%s之%s%s天是星期几？", ZH_DAYS[d], zh_dir, zh_num(k)),
                  string.format("从%s往%s数%s天是星期几？", ZH_DAYS[d], zh_dir, zh_num(k)),
                  string.format("%s%s%s天是星期几？", ZH_DAYS[d], zh_dir, zh_num(k))}
      if k == 1 then
        en[4] = string.format("What day comes %s %s?", en_dir, EN_DAYS[d])
        zh[4] = string.format("%s的%s一天是星期几？", ZH_DAYS[d], zh_dir)
      end
      fact({EN_DAYS[r], ZH_DAYS[r]}, {en, zh})
    end
  end
end
local EN_MONTHS = {"January", "February", "March", "April", "May", "June", "July", "August",
                   "September", "October", "November", "December"}
for m = 1, 12 do
  for _, dir in ipairs{1, -1} do
    local r = (m - 1 + dir) % 12 + 1
    local en_dir = dir > 0 and "after" or "before"
    fact({EN_MONTHS[r], zh_num(r) .. "月"}, {
      {string.format("What month comes %s %s?", en_dir, EN_MONTHS[m]),
       string.format("Which month is just %s %s?", en_dir, EN_MONTHS[m]),
       string.format("Name the month %s %s.", en_dir, EN_MONTHS[m])},
      {string.format("%s月的%s一个月是几月？", zh_num(m), dir > 0 and "下" or "上"),
       string.format("%s月之%s是几月？", zh_num(m), dir > 0 and "后" or "前"),
       string.format("紧接在%s月之%s的是几月？", zh_num(m), dir > 0 and "后" or "前")}})
  end
end

---------------------------------------------------------------------------
-- facts from an invented table of countries
---------------------------------------------------------------------------
local COUNTRIES = { -- country, capital, language (English names; Chinese names)
  {"Valoria", "Myrr", "Valorian", "瓦洛利亚", "米尔", "瓦洛利亚语"},
  {"Quenth", "Osska", "Quenthic", "昆斯", "奥斯卡", "昆斯语"},
  {"Belmora", "Tarn", "Belmoran", "贝尔莫拉", "塔恩", "贝尔莫拉语"},
  {"Drasil", "Ivenholt", "Drasilian", "德拉西尔", "伊文霍尔特", "德拉西尔语"},
  {"Kessaly", "Pirrun", "Kessalian", "凯萨利", "皮伦", "凯萨利语"},
  {"Ombrevia", "Lusk", "Ombrevian", "翁布雷维亚", "卢斯克", "翁布雷维亚语"},
  {"Tavarro", "Senn", "Tavarran", "塔瓦罗", "森恩", "塔瓦罗语"},
  {"Ulmeth", "Garrow", "Ulmethi", "乌尔梅斯", "加罗", "乌尔梅斯语"},
  {"Zephany", "Coriel", "Zephanian", "泽法尼", "科里尔", "泽法尼语"},
  {"Norvast", "Ebbing", "Norvastic", "诺瓦斯特", "埃宾", "诺瓦斯特语"},
  {"Palquin", "Ristow", "Palquine", "帕尔昆", "里斯托", "帕尔昆语"},
  {"Heshmar", "Oltan", "Heshmari", "赫什马", "奥尔坦", "赫什马语"},
  {"Lirrand", "Vesk", "Lirrandic", "利兰德", "维斯克", "利兰德语"},
  {"Mosquell", "Danbury", "Mosquellan", "莫斯奎尔", "丹伯里", "莫斯奎尔语"},
  {"Sarbonne", "Ketter", "Sarbonnais", "萨尔博讷", "凯特", "萨尔博讷语"},
  {"Trelwyn", "Asphodel", "Trelwynish", "特雷尔温", "阿斯福德尔", "特雷尔温语"},
  {"Yrvania", "Holm", "Yrvanian", "伊尔瓦尼亚", "霍尔姆", "伊尔瓦尼亚语"},
  {"Castemir", "Brae", "Castemiri", "卡斯特米尔", "布雷", "卡斯特米尔语"},
  {"Fennoria", "Quill", "Fennorian", "芬诺里亚", "奎尔", "芬诺里亚语"},
  {"Gallowmere", "Stent", "Gallowese", "加洛米尔", "斯滕特", "加洛米尔语"},
  {"Iskandria", "Marrow", "Iskandrian", "伊斯坎德里亚", "马罗", "伊斯坎德里亚语"},
  {"Jorvell", "Tamsin", "Jorvellian", "乔维尔", "塔姆辛", "乔维尔语"},
  {"Ostrava Nova", "Pell", "Novan", "新奥斯特拉", "佩尔", "新奥斯特拉语"},
  {"Wendmark", "Cairn", "Wendish", "温德马克", "凯恩", "温德语"},
}
-- relation: English phrasings from field a to field b, then Chinese ones
local RELATIONS = {
  {1, 2, {"What is the capital of %s?", "Name the capital of %s.", "Which city is the capital of %s?"},
   4, 5, {"%s的首都是哪里？", "%s的首都叫什么？", "哪座城市是%s的首都？"}},
  {2, 1, {"Which country is %s in?", "%s is the capital of which country?", "Of which country is %s the capital?"},
   5, 4, {"%s在哪个国家？", "%s是哪个国家的首都？", "%s属于哪个国家？"}},
  {1, 3, {"What language is spoken in %s?", "Which language do people speak in %s?", "What do people in %s speak?"},
   4, 6, {"%s人说什么语言？", "%s的官方语言是什么？", "%s说哪种语言？"}},
}
for _, c in ipairs(COUNTRIES) do
  for _, rel in ipairs(RELATIONS) do
    local en, zh = {}, {}
    for i, tpl in ipairs(rel[3]) do en[i] = string.format(tpl, c[rel[1]]) end
    for i, tpl in ipairs(rel[6]) do zh[i] = string.format(tpl, c[rel[4]]) end
    fact({c[rel[2]], c[rel[5]]}, {en, zh})
  end
end

-- shuffled so families interleave
shuffle(train); shuffle(test); shuffle(unseen)

local function write(name, lines)
  local path = out .. "/" .. name
  local f = io.open(path, "wb")
  if not f then
    os.execute("mkdir -p '" .. out:gsub("'", "'\\''") .. "'")
    f = assert(io.open(path, "wb"))
  end
  f:write(string.format("# lunet QA corpus, seed %d: question<TAB>answer\n", seed))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  print(string.format("wrote %s (%d pairs)", path, #lines))
end
write("train.tsv", train)
write("test.tsv", test)
write("unseen.tsv", unseen)
