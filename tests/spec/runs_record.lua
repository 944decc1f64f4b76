-- Recording runs (lunet.runs, src/runs_db.c): statuses of child lunet
-- processes, concurrent writers, summaries, params, dedup, refusals, speed.
local files = require "tests.files"
local write = files.write
local exe = arg and arg[-1] or "./lunet"
local R = require("lunet.core")._runs
local tmp = os.tmpname()
local files = {}

-- deep equality of tables (holes and string keys too), as text
local function dump(v)
  if type(v) ~= "table" then return type(v) == "string" and ("%q"):format(v) or tostring(v) end
  local keys, parts = {}, {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do parts[#parts + 1] = tostring(k) .. "=" .. dump(v[k]) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function eq(got, want, what)
  if dump(got) ~= dump(want) then error(("%s: expected %s, got %s"):format(what or "value", dump(want), dump(got)), 2) end
end

local function path(suffix)
  local p = tmp .. suffix
  files[#files + 1] = p
  return p
end

local function fresh_db()
  local p = path("-" .. #files .. ".db")
  os.remove(p); os.remove(p .. "-wal"); os.remove(p .. "-shm")
  files[#files + 1] = p .. "-wal"; files[#files + 1] = p .. "-shm"
  return p
end

-- run lunet with LUNET_DB=db; returns output and exit status
local function run_lunet(db, args)
  local p = io.popen(("LUNET_NO_RUN= LUNET_DB=%s %s %s 2>&1; echo \"exit=$?\""):format(db, exe, args))
  local out = p:read("a")
  p:close()
  local body, code = out:match("^(.*)exit=(%d+)\n$")
  return body, tonumber(code)
end

local function runs(db, where, params)
  local h = R.open(db, {readonly = true})
  local rows = h:query("SELECT * FROM runs " .. (where or "") .. " ORDER BY id", params)
  h:close()
  return rows
end

-- start a looping child, wait until it has logged, then send a signal
local function kill_looper(db, signal, wait)
  local ready = path("-ready" .. #files)
  os.remove(ready)
  local s = write(path("-loop.lua"), ([[
local run = lunet.runs.start{params = {lr = 0.5}}
local i = 0
while true do
  i = i + 1; run:log{loss = 1 / i}
  if i == 1000 then run:flush(); io.open(%q, "w"):close() end
end
]]):format(ready))
  local p = io.popen(("LUNET_NO_RUN= LUNET_DB=%s %s %s >/dev/null 2>&1 & echo $!"):format(db, exe, s))
  local pid = p:read("l")
  p:close()
  os.execute(("while [ ! -f %s ]; do sleep 0.02; done; sleep %s; kill -%s %s"):format(ready, wait or 0.2, signal, pid))
  -- wait for the process to be gone (the shell's `wait` cannot: it is not our child)
  os.execute(("while kill -0 %s 2>/dev/null; do sleep 0.02; done"):format(pid))
  return tonumber(pid)
end

describe("lunet.runs recording", function()
  it("keeps a script going when its database cannot be written: a warning and an in-memory run", function()
    local s = write(path("-nodb.lua"), [[
local run = lunet.runs.start{name = "offline", db = "/nonexistent/dir/runs.db", params = {lr = 1}}
for i = 1, 3 do run:log{loss = 1 / i} end
run:log_param("extra", 2); run:set_tag("k", "v"); run:note("n")
print("steps kept", #run.history.loss.values, run.history.loss.steps[3], run:status())
run:finish()
print("status", run:status())
]])
    local out, code = run_lunet(fresh_db(), "--no-run " .. s)
    T.eq(code, 0, "exit status:\n" .. out)
    T.truthy(out:find("lunet.runs.start: not recording this run", 1, true), out)
    T.truthy(out:find("steps kept\t3\t3\trunning", 1, true), out)
    T.truthy(out:find("status\tfinished", 1, true), out)
  end)

  it("records the git commit of the script's repository and whether it has changes", function()
    local repo = path("-repo")
    local s = repo .. "/train.lua"
    os.execute(("mkdir -p %s && cd %s && git init -q && printf 'print(1)\\n' > train.lua && "
      .. "git add train.lua && git -c user.name=t -c user.email=t@t commit -qm one"):format(repo, repo))
    local db = fresh_db()
    run_lunet(db, s)
    local f = io.open(s, "a"); f:write("print(2)\n"); f:close() -- an unstaged change: ' M train.lua'
    run_lunet(db, s)
    local r = runs(db)
    os.execute("rm -rf " .. repo)
    T.truthy(r[1].git_commit and #r[1].git_commit == 40, "a commit hash: " .. tostring(r[1].git_commit))
    T.eq(r[1].git_dirty, 0, "clean tree")
    T.eq(r[2].git_dirty, 1, "a modified file")
  end)

  it("keeps the tail of what the script printed, stdout and stderr, in order", function()
    local db = fresh_db()
    local s = write(path("-print.lua"), [[
print("first", 1)
io.write("two ", "parts")
io.write("\n")
io.stderr:write("to stderr\n")
for i = 1, 1500 do print("line " .. i) end
error("stop here")
]])
    local _, code = run_lunet(db, s)
    T.eq(code, 1, "exit status of a failed script")
    local h = R.open(db, {readonly = true})
    local lines = h:query("SELECT seq, stream, line FROM logs ORDER BY seq")
    h:close()
    T.eq(#lines, 1000, "the last 1000 lines are kept")
    T.eq(lines[1].line, "line 501", "the oldest line kept")
    T.eq(lines[1000].line, "line 1500", "the newest line")
    T.eq(lines[1000].stream, "stdout")
    local s2 = write(path("-print2.lua"), [[print("first", 1) io.write("two ", "parts\n") io.stderr:write("to stderr\n")]])
    local db2 = fresh_db()
    run_lunet(db2, s2)
    h = R.open(db2, {readonly = true})
    lines = h:query("SELECT stream, line FROM logs ORDER BY seq")
    h:close()
    T.eq(#lines, 3)
    T.eq(lines[1].line, "first\t1"); T.eq(lines[2].line, "two parts")
    T.eq(lines[3].stream, "stderr"); T.eq(lines[3].line, "to stderr")
  end)

  it("records a script that ends normally as finished, named after the file, with its source", function()
    local db = fresh_db()
    local s = write(path("-ok.lua"), "print('hello')\n")
    local out, code = run_lunet(db, s .. " a")
    T.eq(code, 0, "exit status")
    T.eq(out, "hello\n", "output")
    local r = runs(db)
    T.eq(#r, 1, "one run")
    T.eq(r[1].status, "finished")
    T.eq(r[1].exit_status, 0)
    T.eq(r[1].name, s:match("[^/]+$"))
    T.eq(r[1].script_path, s)
    T.eq(r[1].command_line, exe .. " " .. s .. " a")
    T.eq(r[1].script_sha256, R.sha256("print('hello')\n"))
    T.truthy(r[1].ended >= r[1].started, "ended after started")
    T.eq(r[1].pid ~= nil and r[1].host, R.hostname())
    T.truthy(r[1].lua_version:find("Lua 5.4", 1, true) and r[1].blas:find("OpenBLAS", 1, true), "versions")
    local h = R.open(db)
    T.eq(h:query("SELECT source FROM scripts")[1].source, "print('hello')\n")
    h:close()
  end)

  it("records a Lua error as failed with the message and the traceback", function()
    local db = fresh_db()
    local s = write(path("-bad.lua"), "local function f() error('boom') end\nf()\n")
    local out, code = run_lunet(db, s)
    T.eq(code, 1, "exit status")
    T.truthy(out:find("boom", 1, true), "error still printed")
    local r = runs(db)[1]
    T.eq(r.status, "failed")
    T.eq(r.exit_status, 1)
    T.eq(r.error, s .. ":1: boom")
    T.truthy(r.traceback:find("^stack traceback:") and r.traceback:find(":1: in local 'f'", 1, true), r.traceback)
  end)

  it("adopts the automatic run when the script calls start, and honours --no-run and LUNET_NO_RUN", function()
    local db = fresh_db()
    local s = write(path("-adopt.lua"), [[
local run = lunet.runs.start{name = "mine", experiment = "exp", params = {lr = 0.01}, tags = {t = "x"}}
assert(lunet.runs.current() == run)
run:log{loss = 2}
run:finish()
assert(lunet.runs.current() == nil)
]])
    local _, code = run_lunet(db, s)
    T.eq(code, 0)
    local r = runs(db)
    T.eq(#r, 1, "one row, not two")
    T.eq(r[1].name, "mine")
    T.eq(r[1].status, "finished")
    T.eq(r[1].script_path, s)
    local _, c2 = run_lunet(db, "--no-run " .. write(path("-x.lua"), "x = 1"))
    local _, c3 = run_lunet(db .. " LUNET_NO_RUN=1", path("-x.lua"))
    eq({c2, c3}, {0, 0})
    T.eq(#runs(db), 1, "no new rows")
  end)

  it("records SIGINT, SIGTERM and SIGHUP as killed, flushed, with exit status 130, 143 and 129", function()
    for _, case in ipairs{{"INT", 130, "killed by SIGINT"}, {"TERM", 143, "killed by SIGTERM"},
                          {"HUP", 129, "killed by SIGHUP"}} do
      local db = fresh_db()
      kill_looper(db, case[1])
      local r = runs(db)[1]
      T.eq(r.status, "killed", case[1])
      T.eq(r.exit_status, case[2], case[1])
      T.eq(r.error, case[3])
      local h = R.open(db)
      local n = h:query("SELECT count(*) AS n, max(step) AS last FROM metrics")[1]
      local s = h:query("SELECT count, last_step FROM metric_summary")[1]
      h:close()
      T.truthy(n.n >= 1000, "points flushed at the end: " .. n.n)
      eq({s.count, s.last_step}, {n.n, n.last}, "summary of every point")
    end
  end)

  it("keeps training when its output pipe closes: the run finishes (SIGPIPE ignored)", function()
    local db = fresh_db()
    local s = write(path("-pipe.lua"), [[
local run = lunet.runs.start{name = "piped"}
for i = 1, 20000 do print(i); run:log{loss = 1 / i} end
]])
    -- `head -n 1` exits after the first line; the script must go on to its end
    local p = io.popen(("LUNET_NO_RUN= LUNET_DB=%s %s %s | head -n 1"):format(db, exe, s))
    T.eq(p:read("a"), "1\n")
    p:close()
    local r = runs(db)
    T.eq(r[#r].status, "finished")
    local h = R.open(db)
    T.eq(h:query("SELECT count(*) AS n FROM metrics")[1].n, 20000, "every point logged")
    h:close()
  end)

  it("leaves a kill -9 run running, and mark_crashed marks it crashed", function()
    local db = fresh_db()
    kill_looper(db, "9", 0)
    T.eq(runs(db)[1].status, "running")
    local h = R.open(db)
    T.eq(lunet.runs.mark_crashed(h), 1, "marked")
    T.eq(lunet.runs.mark_crashed(h), 0, "only once")
    h:close()
    T.eq(runs(db)[1].status, "crashed")
    -- a live run of this process is left alone; a stale one from another host is not
    local run = lunet.runs.start{db = db, name = "live"}
    h = R.open(db)
    h:exec("INSERT INTO runs(name, status, started, heartbeat, host, pid) VALUES ('far', 'running', 1, 1, 'elsewhere', 1)")
    T.eq(lunet.runs.mark_crashed(h), 1)
    T.eq(h:query("SELECT status FROM runs WHERE name = 'far'")[1].status, "crashed")
    T.eq(h:query("SELECT status FROM runs WHERE id = ?1", {run:id()})[1].status, "running")
    h:close()
    run:finish()
  end)

  it("refreshes the heartbeat while the script computes without logging", function()
    local db = fresh_db()
    local s = write(path("-quiet.lua"), ([[
local R = require("lunet.core")._runs
local run = lunet.runs.start{}
local h = R.open(%q)
local function beat() return h:query("SELECT heartbeat FROM runs WHERE id = ?1", {run:id()})[1].heartbeat end
local b0, t0 = beat(), os.time()
while os.time() - t0 < 2 do end      -- busy for 1-2 s, no log calls
print(beat() > b0 and "beating" or "still")
]]):format(db))
    local out, code = run_lunet(db .. " LUNET_HEARTBEAT_SECONDS=0.2", s)
    T.eq(code, 0, out)
    T.eq(out, "beating\n")
  end)

  it("loses nothing with 4 processes logging 1000 steps each at once", function()
    local db = fresh_db()
    local s = write(path("-w.lua"), [[
local run = lunet.runs.start{params = {worker = arg[1]}}
for i = 1, 1000 do run:log{loss = i / 1000, acc = 1 - i / 1000}; if i % 100 == 0 then run:flush() end end
]])
    local cmd = {}
    for w = 1, 4 do cmd[#cmd + 1] = ("LUNET_NO_RUN= LUNET_DB=%s %s %s %d &"):format(db, exe, s, w) end
    os.execute(table.concat(cmd, " ") .. " wait")
    local h = R.open(db)
    local rows = h:query([[SELECT r.status, count(*) AS n, sum(m.value) AS total FROM runs r
                            JOIN metrics m ON m.run_id = r.id GROUP BY r.id]])
    T.eq(#rows, 4, "four runs")
    for _, r in ipairs(rows) do
      T.eq(r.status, "finished")
      T.eq(r.n, 2000, "1000 steps x 2 metrics")
      T.near(r.total, 1000.0, 1e-9, "sum of loss + acc per step is 1")
    end
    h:close()
  end)

  it("keeps metric_summary equal to the aggregates of metrics, NaN counted but not in min/max", function()
    local db = fresh_db()
    local run = lunet.runs.start{db = db}
    local vals = {5, 3, 0 / 0, 7, 3, 4}
    for i, v in ipairs(vals) do run:log{loss = v, val_acc = i / 10} end
    run:log({loss = 1}, 3)          -- replaces step 3 (the NaN) out of order
    run:log({loss = 9}, 10)
    run:finish()
    local h = R.open(db)
    local agg = h:query([[SELECT k.name, k.goal, count(*) AS count, min(value) AS min, max(value) AS max,
        sum(is_nan) AS nans FROM metrics m JOIN metric_keys k ON k.id = m.key_id GROUP BY k.name ORDER BY k.name]])
    local sum = h:query([[SELECT k.name, s.* FROM metric_summary s JOIN metric_keys k ON k.id = s.key_id ORDER BY k.name]])
    T.eq(#sum, 2)
    for i = 1, 2 do
      eq({sum[i].count, sum[i].min, sum[i].max}, {agg[i].count, agg[i].min, agg[i].max}, agg[i].name)
    end
    eq({agg[1].name, agg[1].goal, agg[2].name, agg[2].goal}, {"loss", "min", "val_acc", "max"})
    local l = sum[1]
    eq({l.count, l.first, l.first_step, l.last, l.last_step, l.min, l.min_step, l.max, l.max_step},
         {7, 5.0, 1, 9.0, 10, 1.0, 3, 9.0, 10})
    -- a NaN is stored as NULL with is_nan = 1
    run = lunet.runs.start{db = db}
    run:log{x = 0 / 0}; run:log{x = 2}
    run:finish()
    local s = h:query("SELECT s.* FROM metric_summary s JOIN metric_keys k ON k.id = s.key_id WHERE k.name = 'x'")[1]
    eq({s.count, s.first, s.last, s.min, s.max, s.min_step}, {2, nil, 2.0, 2.0, 2.0, 2})
    T.eq(h:query("SELECT is_nan, value FROM metrics WHERE run_id = ?1 AND step = 1", {run:id()})[1].is_nan, 1)
    h:close()
  end)

  it("stores params as text with num when numeric, tags, notes, artifacts", function()
    local db = fresh_db()
    local art = write(path("-art.bin"), "abc")
    local run = lunet.runs.start{db = db, params = {lr = 0.001, batch = 64, opt = "adam", s = "1e-3", on = true,
                                                     net = {width = 128}}, tags = {k = "v"}, notes = "n"}
    run:note("hello")
    local size, sha = run:artifact(art, "model")
    eq({size, sha}, {3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"})
    run:finish()
    local h = R.open(db)
    local p = {}
    for _, r in ipairs(h:query("SELECT * FROM params WHERE run_id = ?1", {run:id()})) do p[r.key] = {r.value, r.num} end
    eq(p, {lr = {"0.001", 0.001}, batch = {"64", 64.0}, opt = {"adam"}, s = {"1e-3", 0.001}, on = {"true"},
             ["net.width"] = {"128", 128.0}})
    T.eq(h:query("SELECT value FROM tags WHERE key = 'k'")[1].value, "v")
    T.eq(h:query("SELECT notes FROM runs WHERE id = ?1", {run:id()})[1].notes, "n")
    T.eq(h:query("SELECT text FROM notes")[1].text, "hello")
    local a = h:query("SELECT * FROM artifacts")[1]
    eq({a.path, a.kind, a.size, a.sha256}, {art, "model", 3, sha})
    h:close()
  end)

  it("hashes with sha256 (FIPS 180-2 test vectors)", function()
    T.eq(R.sha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    T.eq(R.sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    T.eq(R.sha256(string.rep("a", 1000000)), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  end)

  it("stores one copy of a script source run many times", function()
    local db = fresh_db()
    local s = write(path("-same.lua"), "x = 1\n")
    run_lunet(db, s); run_lunet(db, s)
    local h = R.open(db)
    T.eq(h:query("SELECT count(*) AS n FROM scripts")[1].n, 1)
    eq(h:query("SELECT count(DISTINCT script_sha256) AS n, count(*) AS r FROM runs")[1], {n = 1, r = 2})
    h:close()
  end)

  it("refuses a non-lunet database and a newer schema_version, leaving them unchanged", function()
    local other = fresh_db()
    local h = R.open(other)
    h:exec("DROP TABLE runs; DROP TABLE meta")
    h:close()
    T.errors(function() R.open(other) end, "is not a lunet runs database (it has no lunet meta table)")
    local junk = write(path("-junk.db"), string.rep("not sqlite ", 100))
    T.errors(function() R.open(junk) end, "is not a lunet runs database")
    local newer = fresh_db()
    h = R.open(newer)
    h:exec("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    h:close()
    T.errors(function() R.open(newer) end, "has schema_version 2, newer than this lunet supports (1)")
    T.errors(function() lunet.runs.start{db = newer} end, "newer than this lunet supports")
    local out, code = run_lunet(newer, write(path("-n.lua"), "print(1)"))
    T.eq(code, 0, "the script still runs")
    T.truthy(out:find("not recording this run", 1, true), out)
  end)

  it("checks arguments of start, log and the binding", function()
    local db = fresh_db()
    T.errors(function() lunet.runs.start{nmae = "x", db = db} end, "unknown option 'nmae'")
    T.errors(function() lunet.runs.start{name = 1, db = db} end, "option name must be a string, got number")
    T.errors(function() lunet.runs.start{params = {f = print}, db = db} end, "params.f must be a number")
    local run = lunet.runs.start{db = db}
    T.errors(function() run:log{loss = "x"} end, "run:log: metric 'loss' must be a number, got string")
    T.errors(function() run:log{loss = lunet.ones(1)} end, "(use x:item() for a tensor)")
    T.errors(function() run:log({loss = 1}, 1.5) end, "step (argument 2) must be an integer")
    T.errors(function() run:finish("done") end, "invalid option 'done'")
    T.errors(function() run:set_goal("loss", "up") end, "goal must be 'min' or 'max'")
    T.errors(function() run:artifact(tmp .. "-missing") end, "run:artifact: cannot read")
    run:finish("failed")
    T.eq(runs(db)[1].status, "failed")
    local h = R.open(db, {readonly = true})
    T.errors(function() h:exec("DELETE FROM runs") end, "db:exec: the database was opened readonly")
    T.errors(function() h:query("DELETE FROM runs") end, "readonly")
    T.errors(function() h:query("SELECT ?1", {{}}) end, "parameter 1 must be a number, string, boolean or nil")
    T.errors(function() h:query("SELECT 1; SELECT 2") end, "one statement at a time")
    T.errors(function() h:query("SELEC 1") end, "db:query: near \"SELEC\"")
    eq(h:query("SELECT ?1 AS a, ?2 AS b, ?3 AS c", {1, "x", 2.5})[1], {a = 1, b = "x", c = 2.5})
    h:close()
    T.errors(function() h:query("SELECT 1") end, "db:query: the database is closed")
    T.errors(function() R.open(db, {readonly = 1}) end, "readonly must be a boolean")
  end)

  it("keeps logging when writes fail, warns once, and writes everything later", function()
    local db = fresh_db()
    -- a trigger makes every metrics insert fail, as a full disk would
    local s = write(path("-fail.lua"), ([[
local R = require("lunet.core")._runs
local run = lunet.runs.start{}
local h = R.open(%q)
h:exec("CREATE TRIGGER full BEFORE INSERT ON metrics BEGIN SELECT RAISE(ABORT, 'disk is full'); END")
for i = 1, 5 do run:log{loss = i}; assert(run:flush() == false) end
h:exec("DROP TRIGGER full")
run:log{loss = 6}
assert(run:flush() == true)
print(h:query("SELECT count(*) AS n FROM metrics")[1].n)
]]):format(db))
    local out, code = run_lunet(db, s)
    T.eq(code, 0, out)
    local _, warnings = out:gsub("cannot write run", "")
    T.eq(warnings, 1, "one warning: " .. out)
    T.truthy(out:find("disk is full", 1, true) and out:find("written to .* again"), out)
    T.truthy(out:find("\n6\n$"), "all six points written: " .. out)
  end)

  -- (the cost per call is measured by experiments/bench_runs.lua, not here: no test times anything)
  it("keeps every one of many buffered log calls across several flushes", function()
    local db = fresh_db()
    local run = lunet.runs.start{db = db}
    local n = 20000
    for i = 1, n do run:log{loss = i} end
    run:finish()
    local h = R.open(db, {readonly = true})
    local s = h:query("SELECT count, last, last_step, min FROM metric_summary")[1]
    local c = h:query("SELECT count(*) AS c FROM metrics")[1].c
    h:close()
    T.eq(c, n, "points stored")
    T.eq(s.count, n); T.eq(s.last, n); T.eq(s.last_step, n); T.eq(s.min, 1)
  end)
end)

for _, p in ipairs(files) do os.remove(p) end
os.remove(tmp)
