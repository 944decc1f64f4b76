-- examples/gan.lua and examples/dcgan.lua in --quick mode: they train, log finite losses
-- and D outputs per epoch, write one loadable sample grid per epoch, and log the two
-- quality numbers of examples/common/gan_quality.lua, whose arithmetic is checked here on
-- a scripted classifier.
local exe = arg and arg[-1] or "./lunet"
local LN10 = math.log(10)

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  return out
end

-- A scratch folder shared by both examples, so the classifier trained by the first run is
-- loaded by the second.
local dir = os.tmpname()
os.remove(dir)
sh("mkdir -p " .. dir)
local db = dir .. "/runs.db"

local function run_example(name, extra)
  local out = sh(string.format("LUNET_DB=%s %s examples/%s.lua --quick --out %s --classifier %s/cnn.safetensors %s",
                               db, exe, name, dir, dir, extra or ""))
  T.truthy(out:find("exit=0", 1, true), name .. ".lua exits with 0:\n" .. out)
  return out, lunet.runs.get(name, db)
end

local function finite(v) return type(v) == "number" and v == v and v > -math.huge and v < math.huge end

local function check_run(name, run, epochs, out)
  for _, key in ipairs{"d_loss", "g_loss", "d_x", "d_g_z"} do
    local steps, values = run:history(key)
    T.eq(#steps, epochs, name .. ": one " .. key .. " per epoch")
    for _, v in ipairs(values) do T.truthy(finite(v), name .. ": " .. key .. " is finite, got " .. tostring(v)) end
  end
  local _, dx = run:history("d_x")
  local _, dgz = run:history("d_g_z")
  for e = 1, epochs do
    T.truthy(dx[e] > 0 and dx[e] < 1 and dgz[e] > 0 and dgz[e] < 1, name .. ": D outputs are probabilities")
  end
  local share, entropy = run.metrics.confident, run.metrics.class_entropy
  T.truthy(share and share >= 0 and share <= 1, name .. ": confident share in [0, 1], got " .. tostring(share))
  T.truthy(entropy and entropy >= 0 and entropy <= LN10 + 1e-9,
           name .. ": class entropy in [0, ln 10], got " .. tostring(entropy))
  T.truthy(out:find(string.format("confidence > 0.9: %.4f", share), 1, true), name .. ": prints the share it logged")
  for e = 1, epochs do
    local png = string.format("%s/%s_epoch_%d.png", dir, name, e)
    -- 64 samples, 8 per row, 28 pixels and 2 of padding: 8 * 30 + 2 = 242
    T.shape(lunet.image.load(png), {242, 242})
  end
  local db_handle = require("lunet.core")._runs.open(db, {readonly = true})
  local arts = db_handle:query("SELECT path, kind FROM artifacts WHERE run_id = ?1 ORDER BY id", {run.id})
  db_handle:close()
  T.eq(#arts, epochs, name .. ": one artifact per epoch")
  T.eq(arts[1].kind, "samples")
end

describe("examples/gan.lua and dcgan.lua", function()
  it("gan.lua --quick --epochs 2: losses, D(x), D(G(z)), two grids and the quality numbers", function()
    local out, run = run_example("gan", "--epochs 2")
    T.truthy(out:find("not found; training the CNN", 1, true), "says it trains a classifier when none is there")
    check_run("gan", run, 2, out)
    T.eq(run.params.nz, 100)
  end)

  it("dcgan.lua --quick: one epoch with the classifier the gan run saved", function()
    local out, run = run_example("dcgan")
    T.truthy(out:find("classifier: loaded", 1, true), "loads the saved classifier:\n" .. out)
    check_run("dcgan", run, 1, out)
  end)

  it("gan_quality.score: share above 0.9 confidence and entropy of the predicted classes", function()
    local quality = dofile("examples/common/gan_quality.lua")
    local images = lunet.zeros(20, 1, 28, 28)
    -- a scripted classifier: sample i gets class (i - 1) % 10 + 1, with a logit margin of
    -- 10 for the first ten samples (confident) and 0.5 for the others (not)
    local function classifier(x)
      local logits = lunet.zeros(x:size(1), 10)
      for i = 1, x:size(1) do logits[{i, (i - 1) % 10 + 1}] = i <= 10 and 10 or 0.5 end
      return logits
    end
    local q = quality.score(classifier, images)
    T.near(q.confident, 0.5, 1e-12)
    T.near(q.entropy, LN10, 1e-12, "two samples per class: the maximum")
    T.eq(T.show(q.counts), T.show{2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, "predicted classes")
    local function always_3(x)
      local logits = lunet.zeros(x:size(1), 10)
      logits[{{}, 3}] = 20
      return logits
    end
    local one = quality.score(always_3, images)
    T.eq(one.entropy, 0, "every sample one class: mode collapse")
    T.eq(one.confident, 1)
    T.errors(function() quality.score(classifier, lunet.zeros(3, 784)) end, "gan_quality.score: images")
  end)
end)

os.execute("rm -rf " .. dir)
