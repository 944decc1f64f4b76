-- A deterministic question/answer corpus in English and Chinese for seq2seq models.
-- usage: ./lunet examples/qa/make_corpus.lua [--seed N] [--out DIR]
-- Writes DIR/train.tsv and DIR/test.tsv (default DIR: data/ next to this script).
-- The same seed gives the same bytes. The test split holds out combinations
-- (number pairs, day/offset pairs, country/phrasing pairs) never seen in training.

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
-- holds out a fraction of keys: a key is either all train or all test
local held = {}
local function held_out(key, frac)
  if held[key] == nil then held[key] = rand_below(1000) < frac * 1000 end
  return held[key]
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

local train, test = {}, {}
local function add(is_test, q, a) local t = is_test and test or train; t[#t + 1] = q .. "\t" .. a end

---------------------------------------------------------------------------
-- arithmetic in words: held out by (op, a, b), across languages and phrasings
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
        local t = held_out("arith " .. en .. a .. "," .. b, 0.12)
        add(t, string.format("What is %s %s %s?", en_num(a), en, en_num(b)), en_num(r))
        add(t, string.format("How much is %s %s %s?", en_num(a), en, en_num(b)), en_num(r))
        add(t, string.format("%s%s%s等于几？", zh_num(a), zh, zh_num(b)), zh_num(r))
        add(t, string.format("%s%s%s是多少？", zh_num(a), zh, zh_num(b)), zh_num(r))
      end
    end
  end
end

---------------------------------------------------------------------------
-- days of the week and months: held out by (unit, start, offset, direction)
---------------------------------------------------------------------------
local EN_DAYS = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
local ZH_DAYS = {"星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"}
for d = 1, 7 do
  for k = 1, 6 do
    for _, dir in ipairs{1, -1} do
      local r = (d - 1 + dir * k) % 7 + 1
      local t = held_out(string.format("day %d %d %d", d, k, dir), 0.12)
      local en_dir, zh_dir = dir > 0 and "after" or "before", dir > 0 and "后" or "前"
      if k == 1 then
        add(t, string.format("What day comes %s %s?", en_dir, EN_DAYS[d]), EN_DAYS[r])
        add(t, string.format("%s的%s一天是星期几？", ZH_DAYS[d], zh_dir), ZH_DAYS[r])
      end
      add(t, string.format("What day is %s %s %s %s?", en_num(k), k == 1 and "day" or "days", en_dir, EN_DAYS[d]), EN_DAYS[r])
      add(t, string.format("%s之%s%s天是星期几？", ZH_DAYS[d], zh_dir, zh_num(k)), ZH_DAYS[r])
    end
  end
end
local EN_MONTHS = {"January", "February", "March", "April", "May", "June", "July", "August",
                   "September", "October", "November", "December"}
for m = 1, 12 do
  for _, dir in ipairs{1, -1} do
    local r = (m - 1 + dir) % 12 + 1
    local t = held_out(string.format("month %d %d", m, dir), 0.12)
    add(t, string.format("What month comes %s %s?", dir > 0 and "after" or "before", EN_MONTHS[m]), EN_MONTHS[r])
    add(t, string.format("%s月的%s一个月是几月？", zh_num(m), dir > 0 and "下" or "上"), zh_num(r) .. "月")
  end
end

---------------------------------------------------------------------------
-- facts from an invented table: every fact is trained in some phrasing; the test
-- asks it in a phrasing held out for that country
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
local FACT_TEMPLATES = {
  {"What is the capital of %s?", 1, 2}, {"Name the capital of %s.", 1, 2},
  {"Which country is %s in?", 2, 1}, {"%s is the capital of which country?", 2, 1},
  {"What language is spoken in %s?", 1, 3},
  {"%s的首都是哪里？", 4, 5}, {"%s的首都叫什么？", 4, 5},
  {"%s在哪个国家？", 5, 4}, {"%s是哪个国家的首都？", 5, 4},
  {"%s人说什么语言？", 4, 6},
}
for _, c in ipairs(COUNTRIES) do
  -- each (country, relation) keeps at least one phrasing in training
  local trained, order = {}, {}
  for ti = 1, #FACT_TEMPLATES do order[ti] = ti end
  for _, ti in ipairs(shuffle(order)) do
    local tpl = FACT_TEMPLATES[ti]
    local rel = tpl[2] .. ">" .. tpl[3]
    local t = held_out("fact " .. c[1] .. " " .. ti, 0.2) and trained[rel]
    if not t then trained[rel] = true end
    add(t, string.format(tpl[1], c[tpl[2]]), c[tpl[3]])
  end
end

-- shuffled so families interleave; a question asked in both splits goes to test only
local in_test = {}
for _, line in ipairs(test) do in_test[line:match("^[^\t]*")] = true end
local kept = {}
for _, line in ipairs(train) do
  if not in_test[line:match("^[^\t]*")] then kept[#kept + 1] = line end
end
shuffle(kept); shuffle(test)

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
write("train.tsv", kept)
write("test.tsv", test)
