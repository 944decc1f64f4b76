-- lunet.optim.codec: the JSON subset the optimizer state keeps in a
-- checkpoint's string metadata (group options, step counts). Values are
-- nil, booleans, numbers (integers stay integers, floats round-trip exactly,
-- non-finite ones are written Infinity, -Infinity, NaN as Python's json does),
-- strings, arrays and objects with string keys; integer keys of a table that
-- is not a sequence become strings. Decoding never runs code and raises
-- "bad JSON at byte N: ..." on anything else.
local codec = {}

local escapes = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                 ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function encode_number(x)
  if math.type(x) == "integer" then return string.format("%d", x) end
  if x ~= x then return "NaN" end
  if x == math.huge then return "Infinity" end
  if x == -math.huge then return "-Infinity" end
  local s
  for digits = 15, 17 do -- the shortest form that reads back exactly
    s = string.format("%." .. digits .. "g", x)
    if tonumber(s) == x then break end
  end
  if not s:find("[.eE]") then s = s .. ".0" end -- stays a float when read back
  return s
end

local function is_sequence(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

local encode_value
local function encode_table(t, path, depth)
  if depth > 64 then error("cannot encode " .. path .. ": nested too deeply", 0) end
  local parts = {}
  if is_sequence(t) then
    for i = 1, #t do parts[i] = encode_value(t[i], path .. "[" .. i .. "]", depth + 1) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(t) do
    if math.type(k) == "integer" then k = tostring(k)
    elseif type(k) ~= "string" then
      error("cannot encode " .. path .. ": a key is a " .. type(k) .. " (keys must be strings or integers)", 0)
    end
    keys[#keys + 1] = k
  end
  table.sort(keys) -- a stable file for a given state
  for i, k in ipairs(keys) do
    local v = t[k]
    if v == nil then v = t[math.tointeger(tonumber(k))] end
    parts[i] = encode_string(k) .. ":" .. encode_value(v, path .. "." .. k, depth + 1)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function encode_value(v, path, depth)
  local tv = type(v)
  if tv == "nil" then return "null"
  elseif tv == "boolean" then return tostring(v)
  elseif tv == "number" then return encode_number(v)
  elseif tv == "string" then return encode_string(v)
  elseif tv == "table" then return encode_table(v, path, depth)
  end
  error("cannot encode " .. path .. ": a " .. tv .. " has no JSON form", 0)
end

-- v as JSON text; `what` names v in errors
function codec.encode(v, what) return encode_value(v, what or "value", 0) end

-- ---- decoding ----------------------------------------------------------------

local function fail(s, i, msg) error(string.format("bad JSON at byte %d: %s", i, msg), 0) end

local function skip(s, i) return s:find("[^ \t\r\n]", i) or #s + 1 end

local decode_value

local function decode_string(s, i) -- s:sub(i, i) == '"'
  local out, j = {}, i + 1
  while true do
    local k = s:find('["\\%c]', j)
    if not k then fail(s, i, "unterminated string") end
    out[#out + 1] = s:sub(j, k - 1)
    local c = s:sub(k, k)
    if c == '"' then return table.concat(out), k + 1 end
    if c ~= "\\" then fail(s, k, "control character in a string") end
    local e = s:sub(k + 1, k + 1)
    local simple = ({['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t"})[e]
    if simple then
      out[#out + 1], j = simple, k + 2
    elseif e == "u" then
      local hex = s:match("^%x%x%x%x", k + 2)
      if not hex then fail(s, k, "bad \\u escape") end
      out[#out + 1], j = utf8.char(tonumber(hex, 16)), k + 6
    else
      fail(s, k, "bad escape")
    end
  end
end

local words = {NaN = 0 / 0, Infinity = math.huge, ["-Infinity"] = -math.huge}

local function decode_number(s, i)
  for word, v in pairs(words) do
    if s:sub(i, i + #word - 1) == word then return v, i + #word end
  end
  local text = s:match("^-?%d+%.?%d*[eE][-+]?%d+", i) or s:match("^-?%d+%.?%d*", i)
  local v = text and tonumber(text)
  if not v then fail(s, i, "expected a value") end
  if text:find("[.eE]") then v = v + 0.0 end -- a float, as it was written
  return v, i + #text
end

local function decode_list(s, i, depth, close, item)
  local j = skip(s, i + 1)
  if s:sub(j, j) == close then return j + 1 end
  while true do
    j = item(j)
    j = skip(s, j)
    local c = s:sub(j, j)
    if c == close then return j + 1 end
    if c ~= "," then fail(s, j, "expected ',' or '" .. close .. "'") end
    j = skip(s, j + 1)
  end
end

function decode_value(s, i, depth)
  if depth > 64 then fail(s, i, "nested too deeply") end
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local t = {}
    local j = decode_list(s, i, depth, "}", function(j)
      if s:sub(j, j) ~= '"' then fail(s, j, "expected a string key") end
      local k, v
      k, j = decode_string(s, j)
      j = skip(s, j)
      if s:sub(j, j) ~= ":" then fail(s, j, "expected ':'") end
      v, j = decode_value(s, j + 1, depth + 1)
      t[k] = v
      return j
    end)
    return t, j
  elseif c == "[" then
    local t = {}
    local j = decode_list(s, i, depth, "]", function(j)
      local v
      v, j = decode_value(s, j, depth + 1)
      t[#t + 1] = v
      return j
    end)
    return t, j
  elseif c == '"' then return decode_string(s, i)
  elseif s:sub(i, i + 3) == "true" then return true, i + 4
  elseif s:sub(i, i + 4) == "false" then return false, i + 5
  elseif s:sub(i, i + 3) == "null" then return nil, i + 4
  end
  return decode_number(s, i)
end

-- the value of JSON text s
function codec.decode(s)
  if type(s) ~= "string" then error("bad JSON: expected a string, got " .. type(s), 0) end
  local v, i = decode_value(s, 1, 0)
  i = skip(s, i)
  if i <= #s then fail(s, i, "unexpected text after the value") end
  return v
end

return codec
