-- Faults during I/O (issue 7, part 5): checkpoint writers killed with SIGKILL at
-- random points, a full disk (a small tmpfs when mount is permitted, and always
-- the RLIMIT_FSIZE file size limit) during checkpoint and metric writes, and a
-- runs database write-locked by another process. Children are lunet processes;
-- every wait polls a condition with a generous cap, no assertion is on timing.
local files = require "tests.files"
local wait_until, write, read, exists = files.wait_until, files.write, files.read, files.exists
local exe = arg and arg[-1] or "./lunet"
local R = require("lunet.core")._runs
local dir = files.scratch_dir("lunet-faults")
local function path(name) return dir .. "/" .. name end

-- names in d that start with prefix
local function names(d, prefix)
  local out, p = {}, io.popen("ls -A '" .. d .. "'")
  for l in p:lines() do
    if l:sub(1, #prefix) == prefix then out[#out + 1] = l end
  end
  p:close()
  return out
end

-- a child lunet, not recorded, with one thread; env is a prefix of assignments
local function child(script, args, env)
  return ("%s LUNET_NO_RUN=1 OMP_NUM_THREADS=1 LUNET_NUM_THREADS=1 %s %s %s"):format(env or "", exe, script, args or "")
end

-- a checkpoint whose every value says which write made it: w is full of i, iter = {i}
local function check_checkpoint(p, what)
  local t, meta = lunet.load(p) -- raises on a truncated or damaged file
  local i = tonumber(meta.iter)
  T.truthy(i, what .. ": metadata iter")
  T.shape(t.w, {1 << 20})
  T.eq(t.w:min():item(), i, what .. ": min of w")
  T.eq(t.w:max():item(), i, what .. ": max of w")
  T.eq(t.iter:item(), i, what .. ": iter tensor")
  return i
end

describe("checkpoint writes killed at random points", function()
  it("leave the final name absent or a complete checkpoint, and no temporary file after the next save", function()
    local target = path("killed.safetensors")
    local loop = write(path("save_loop.lua"), [[
local target, first, ready = arg[1], tonumber(arg[2]), arg[3]
io.open(ready, "w"):close()
for i = first, first + 100000 do   -- 4 MB a save (~30 ms), until killed
  lunet.save(target, {w = lunet.full({1 << 20}, i), iter = lunet.tensor({i}, {dtype = "int64"})}, {iter = tostring(i)})
end
]])
    math.randomseed(20261123)
    local rounds, mid_write, absent, last = 32, 0, 0, -1
    for round = 1, rounds do
      -- kill 0-80 ms after the child starts saving: inside a save or between two
      local ready, delay = path("ready-" .. round), 0.08 * math.random()
      local sh = io.popen(("%s >/dev/null 2>&1 & pid=$!; i=0; while [ ! -f '%s' ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done;"
                           .. " sleep %.3f; kill -9 $pid; wait $pid 2>/dev/null; echo $pid")
                          :format(child(loop, ("'%s' %d '%s'"):format(target, round * 1000, ready)), ready, delay))
      local pid = sh:read("l")
      sh:close()
      -- its own temporary file, not one an earlier child left
      if #names(dir, "killed.safetensors.tmp-" .. pid .. "-") > 0 then mid_write = mid_write + 1 end
      if exists(target) then
        local i = check_checkpoint(target, "round " .. round)
        -- one this or an earlier child wrote; never an older one than before
        T.truthy(i >= last and i < (round + 1) * 1000, ("round %d: iter %d after %d"):format(round, i, last))
        last = i
      else
        absent = absent + 1
        T.eq(last, -1, "round " .. round .. ": the checkpoint vanished")
      end
    end
    -- the next save removes what the killed writers left
    lunet.save(target, {w = lunet.full({1 << 20}, 7), iter = lunet.tensor({7}, {dtype = "int64"})}, {iter = "7"})
    T.eq(#names(dir, "killed.safetensors.tmp-"), 0, "temporary files left after a save")
    T.eq(check_checkpoint(target, "after the cleanup save"), 7)
    io.stderr:write(("  faults_io: %d kills, %d landed mid-write (a temporary file existed), %d before a first save ended\n")
                    :format(rounds, mid_write, absent))
    T.truthy(mid_write > 0, "no kill landed mid-write: the test did not exercise the window")
  end)
end)

-- a chunk that appends to the file ... until the disk is full
local FILL = "local f = assert(io.open(..., 'ab')) local x = string.rep('x', 65536) while f:write(x) and f:flush() do end f:close()"

-- how a full disk shows: write() fails with ENOSPC (a full file system) or EFBIG
-- (the file size limit), which SQLite reports as these
local NO_SPACE, TOO_LARGE, DB_FULL = "No space left on device", "File too large", "database or disk is full"

-- saves a small checkpoint, then one that does not fit; the error names the
-- path and the reason, the small one stays, no temporary file is left
local function checkpoint_on_full_disk(d, reason, run_big)
  local p = d .. "/model.safetensors"
  local small = lunet.arange(1000):float()
  lunet.save(p, {w = small}, {epoch = "1"})
  local err = run_big(p)
  T.truthy(err:find("save: " .. p .. ": cannot write: " .. reason, 1, true), "error: " .. err)
  local t, meta = lunet.load(p)
  T.eq(meta.epoch, "1")
  T.eq(t.w:eq(small):sum():item(), 1000, "the previous checkpoint is intact")
  T.eq(#names(d, "model.safetensors.tmp-"), 0, "temporary files left")
end

-- the db holds n points, steps 1-100 logging 1..100, and is intact
local function check_db_after(db, n)
  local h = R.open(db, {readonly = true})
  T.eq(h:query("PRAGMA integrity_check")[1].integrity_check, "ok")
  T.eq(h:query("SELECT count(*) AS n FROM metrics")[1].n, n, "metrics readable")
  T.eq(h:query("SELECT sum(value) AS s FROM metrics WHERE step <= 100")[1].s, 5050.0, "their values")
  h:close()
end

describe("a full disk", function()
  it("(file size limit) fails a checkpoint save cleanly, keeping the previous one", function()
    local d = path("fsize")
    os.execute("mkdir -p '" .. d .. "'")
    checkpoint_on_full_disk(d, TOO_LARGE, function(p)
      local s = write(path("big_save.lua"), "print(select(2, pcall(lunet.save, arg[1], {w = lunet.zeros(1 << 20)})))")
      -- SIGXFSZ ignored, so write() fails with EFBIG; 1000 blocks are 0.5 or 1 MB (sh counts 512 or 1024 bytes)
      local p2 = io.popen(("sh -c \"trap '' XFSZ; ulimit -f 1000; %s '%s'\" 2>&1"):format(child(s), p))
      local out = p2:read("a")
      p2:close()
      return out
    end)
  end)

  it("(file size limit) makes run:log raise naming the db, and what was written stays intact", function()
    os.execute("mkdir -p '" .. path("fsize") .. "'")
    local db = path("fsize/runs.db")
    local s = write(path("log_until_full.lua"), [[
local run = lunet.runs.start{db = arg[1]}
for i = 1, 100 do run:log{loss = i} end
assert(run:flush())
local ok, err
for i = 101, 10000000 do        -- a flush at 65,536 points needs more than the limit
  ok, err = pcall(run.log, run, {loss = i})
  if not ok then break end
end
print(err)
]])
    local p = io.popen(("sh -c \"trap '' XFSZ; ulimit -f 1000; %s '%s'\" 2>/dev/null"):format(child(s), db))
    local out = p:read("a")
    p:close()
    T.truthy(out:find("run:log: cannot write run 1 to " .. db, 1, true), "error: " .. out)
    T.truthy(out:find("(" .. TOO_LARGE .. ")", 1, true), "error: " .. out)
    T.truthy(out:find("kept in memory", 1, true), "error: " .. out)
    check_db_after(db, 100)
  end)

  it("(tmpfs) fails checkpoint and metric writes cleanly, and the run resumes once there is space", function()
    local mnt = path("tmpfs")
    os.execute("mkdir -p '" .. mnt .. "'")
    if not os.execute("mount -t tmpfs -o size=2m lunet-test '" .. mnt .. "' 2>/dev/null") then
      io.stderr:write("  faults_io: skipping the tmpfs case: mount -t tmpfs is not permitted here\n")
      return
    end
    local fill, db = mnt .. "/filler", mnt .. "/runs.db"
    local ok, err = pcall(function()
      checkpoint_on_full_disk(mnt, NO_SPACE, function(p)
        load(FILL)(fill)
        local _, e = pcall(lunet.save, p, {w = lunet.zeros(1 << 20)})
        return tostring(e)
      end)
      os.remove(fill)
      -- metrics, in a child so that no connection of this process keeps the mount busy:
      -- written, then the disk fills, then it is freed
      local s = write(path("tmpfs_log.lua"), "local FILL = " .. ("%q"):format(FILL) .. "\n" .. [[
local db, fill = arg[1], arg[2]
local run = lunet.runs.start{db = db, name = "full"}
for i = 1, 100 do run:log{loss = i} end
print("flush1", run:flush())
load(FILL)(fill)
local logged, err = 100, nil
for i = 101, 10000000 do
  local good, e = pcall(run.log, run, {loss = i})
  logged = i
  if not good then err = e break end
end
print("error", err)
local h = require("lunet.core")._runs.open(db, {readonly = true})
print("while full", h:query("PRAGMA integrity_check")[1].integrity_check, h:query("SELECT count(*) AS n FROM metrics")[1].n)
h:close()
os.remove(fill)
print("flush2", run:flush())
print("finish", run:finish())
print("logged", logged)
]])
      local p = io.popen(child(s, ("'%s' '%s'"):format(db, fill)) .. " 2>&1")
      local out = p:read("a")
      p:close()
      T.truthy(out:find("flush1\ttrue\n", 1, true), out)
      T.truthy(out:find("error\t[^\n]*run:log: cannot write run %d+ to " .. db:gsub("%p", "%%%0") .. ": " .. DB_FULL), out)
      T.truthy(out:find("while full\tok\t100\n", 1, true), "earlier metrics readable while full: " .. out)
      T.truthy(out:find("flush2\ttrue\n", 1, true), "the buffered points are written once there is space: " .. out)
      T.truthy(out:find("finish\ttrue\n", 1, true), out)
      check_db_after(db, tonumber(out:match("logged\t(%d+)")))
    end)
    os.remove(fill)
    os.execute("umount '" .. mnt .. "'")
    if not ok then error(err, 0) end
  end)
end)

describe("a runs database locked by another process", function()
  -- a child run that logs 51 steps of 3 metrics while this process holds the
  -- write lock, says so in the file gave_up, then flushes once `released` exists
  local function locked_child(db, name, env)
    local files = {started = path(name .. ".started"), locked = path(name .. ".locked"),
                   gave_up = path(name .. ".gave_up"), released = path(name .. ".released"),
                   out = path(name .. ".out"), err = path(name .. ".err")}
    local s = write(path(name .. ".lua"), [[
local db, f = arg[1], {started = arg[2], locked = arg[3], gave_up = arg[4], released = arg[5]}
local function touch(p) io.open(p, "w"):close() end
local function wait(p) for _ = 1, 3000 do local h = io.open(p) if h then h:close() return end os.execute("sleep 0.02") end error("no " .. p) end
local run = lunet.runs.start{db = db, name = "locked"}
touch(f.started)
wait(f.locked)
-- a log call writes when a second has passed since the last write: step 51 does,
-- and so may earlier ones on a slow machine; a failed call keeps its point
local ok, err = true, nil
for step = 1, 51 do
  if step == 51 then os.execute("sleep 1.05") end
  local good, e = pcall(run.log, run, step <= 50 and {loss = 1 / step, acc = step / 50, step = step} or {loss = 0, acc = 1, step = 51})
  if not good and ok then ok, err = false, e end
end
print("log", ok, err)
touch(f.gave_up)
wait(f.released)
print("flush", run:flush())
print("finish", run:finish())
]])
    os.execute(("%s > '%s' 2> '%s' &"):format(
      child(s, ("'%s' '%s' '%s' '%s' '%s'"):format(db, files.started, files.locked, files.gave_up, files.released), env),
      files.out, files.err))
    return files
  end

  local function metrics_of(db)
    local h = R.open(db, {readonly = true})
    local r = h:query([[SELECT r.status, count(m.step) AS n, sum(m.value) AS total FROM runs r
                        LEFT JOIN metrics m ON m.run_id = r.id WHERE r.name = 'locked' GROUP BY r.id]])[1]
    T.eq(h:query("PRAGMA integrity_check")[1].integrity_check, "ok")
    h:close()
    return r
  end

  -- a fresh db and a child logging to it; the child's run has started when this returns
  local function start_locked_child(name, env)
    local db = path(name .. ".db")
    R.open(db):close()
    local f = locked_child(db, name, env)
    wait_until(function() return exists(f.started) end, "the child's run to start")
    return db, f
  end

  -- holds the db's write lock (telling the child so) until cond() holds, then releases it
  -- and tells the child; a wait that gives up raises only after the lock is released
  local function hold_lock_until(db, f, cond, what)
    local holder = R.open(db)
    holder:exec("BEGIN EXCLUSIVE")
    write(f.locked, "")
    local ok, err = pcall(wait_until, cond, what)
    holder:exec("COMMIT")
    holder:close()
    write(f.released, "")
    assert(ok, err)
  end

  -- sum over steps 1..51 of loss + acc + step (step 51 logs 0, 1, 51)
  local total = 0
  for step = 1, 50 do total = total + 1 / step + step / 50 + step end
  total = total + 0 + 1 + 51

  it("makes run:log wait, warning on stderr, and succeed once the lock is released", function()
    local db, f = start_locked_child("lock-wait", "LUNET_DB_TIMEOUT=")
    -- the child says it waits (after a second of waiting); only then is the lock released
    hold_lock_until(db, f, function() return (read(f.err) or ""):find("is locked by another process; waiting", 1, true) end,
                    "the child's warning")
    -- (SQLite names the file by its full path, with any symbolic link resolved)
    T.truthy(read(f.err):find("lock-wait.db is locked by another process; waiting (up to 60 s, LUNET_DB_TIMEOUT)", 1, true),
             read(f.err))
    wait_until(function() return (read(f.out) or ""):find("finish") end, "the child to finish")
    local out = read(f.out)
    T.truthy(out:find("log\ttrue", 1, true), out)
    T.truthy(out:find("flush\ttrue", 1, true), out)
    local r = metrics_of(db)
    T.eq(r.status, "finished")
    T.eq(r.n, 51 * 3, "every metric")
    T.near(r.total, total, 1e-12, "their values")
  end)

  it("gives up after LUNET_DB_TIMEOUT with an error naming the db, keeping the points for the next write", function()
    local db, f = start_locked_child("lock-timeout", "LUNET_DB_TIMEOUT=1")
    hold_lock_until(db, f, function() return exists(f.gave_up) end, "the child to give up")
    wait_until(function() return (read(f.out) or ""):find("finish") end, "the child to finish")
    local out = read(f.out)
    T.truthy(out:find("log\tfalse\t[^\n]*run:log: cannot write run %d+ to " .. db:gsub("%p", "%%%0")
                      .. ": the database is locked by another process %(waited 1 s; LUNET_DB_TIMEOUT sets the wait%)"), out)
    T.truthy(out:find("flush\ttrue", 1, true), out)
    local r = metrics_of(db)
    T.eq(r.status, "finished")
    T.eq(r.n, 51 * 3, "every metric, the ones logged while locked too")
    T.near(r.total, total, 1e-12, "their values")
  end)
end)

os.execute("rm -rf '" .. dir .. "'")
