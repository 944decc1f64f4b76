-- examples/vae.lua in --quick mode, MLP and convolutional: the test negative
-- ELBO it prints is finite and falls, its PNG grids load with the expected
-- shapes, and its params, metrics and artifacts are in the run database.
local exe = arg and arg[-1] or "./lunet"
local TMP = os.getenv("TMPDIR") or "/tmp"
local UNTRAINED = 784 * math.log(2)   -- the BCE of logits 0 (p = 1/2) on every pixel: ~543.4 nats

-- runs the example into a fresh directory; returns its output and that directory
local function run_vae(flags)
  local dir = string.format("%s/lunet-vae-%d-%d", TMP, os.time(), math.random(1 << 30))
  assert(os.execute("mkdir -p '" .. dir .. "'"))
  local p = io.popen(("LUNET_DB='%s/runs.db' %s examples/vae.lua --quick --epochs 2 --out '%s' %s 2>&1; echo \"exit=$?\"")
                     :format(dir, exe, dir, flags))
  local out = p:read("a")
  p:close()
  T.truthy(out:find("exit=0", 1, true), "the example exits with 0:\n" .. out)
  return out, dir
end

local function check(arch, flags)
  local out, dir = run_vae(flags)
  local elbo = {}
  for epoch, v in out:gmatch("epoch (%d+)/2  test negative ELBO ([%d.]+) nats/image") do
    elbo[tonumber(epoch)] = tonumber(v)
  end
  T.truthy(elbo[1] and elbo[2], "two epoch lines with the test ELBO:\n" .. out)
  for e = 1, 2 do
    T.truthy(elbo[e] == elbo[e] and elbo[e] < math.huge and elbo[e] > 0, "epoch " .. e .. " ELBO is finite and positive")
  end
  T.truthy(elbo[1] < UNTRAINED, ("epoch 1 ELBO %.2f is below the untrained model's %.2f"):format(elbo[1], UNTRAINED))
  T.truthy(elbo[2] < elbo[1], ("the ELBO falls from epoch 1 (%.2f) to epoch 2 (%.2f)"):format(elbo[1], elbo[2]))
  local final = tonumber(out:match("final test negative ELBO: ([%d.]+)"))
  T.eq(final, elbo[2], "the final line repeats the last epoch's ELBO")

  -- 16 test images above their 16 reconstructions; 8x8 samples; 28 px, 2 px apart
  local recon = lunet.image.load(dir .. "/vae_" .. arch .. "_recon.png")
  T.shape(recon, {2 * 30 + 2, 16 * 30 + 2})
  local samples = lunet.image.load(dir .. "/vae_" .. arch .. "_samples.png")
  T.shape(samples, {8 * 30 + 2, 8 * 30 + 2})
  -- the reconstructions look like their inputs: closer than to a flat grey image
  local top, bottom = recon:narrow(1, 3, 28), recon:narrow(1, 33, 28)
  T.truthy((top - bottom):abs():mean():item() < (top - 0.5):abs():mean():item(),
           "reconstructions are closer to the test images than a flat grey image is")

  local db = require("lunet.core")._runs.open(dir .. "/runs.db", {readonly = true})
  local runs = db:query("SELECT id, status FROM runs WHERE name = ?1", {"vae_" .. arch})
  T.eq(#runs, 1, "one run named vae_" .. arch)
  T.eq(runs[1].status, "finished")
  local id = runs[1].id
  local params = {}
  for _, r in ipairs(db:query("SELECT key, value FROM params WHERE run_id = ?1", {id})) do params[r.key] = r.value end
  T.eq(params.model, arch)
  T.eq(params.latent, "20")
  local rows = db:query([[SELECT k.name AS name, s.count AS count, s.last AS last FROM metric_summary s
                          JOIN metric_keys k ON k.id = s.key_id WHERE s.run_id = ?1]], {id})
  local metrics = {}
  for _, r in ipairs(rows) do metrics[r.name] = r end
  for _, key in ipairs{"train_loss", "test_loss", "test_bce", "test_kl"} do
    T.eq(metrics[key] and metrics[key].count, 2, key .. " logged once per epoch")
  end
  T.near(metrics.test_loss.last, elbo[2], 0.01, "the logged test_loss is the printed ELBO")
  T.near(metrics.final_test_loss.last, elbo[2], 0.01, "final_test_loss")
  local arts = db:query("SELECT path, kind FROM artifacts WHERE run_id = ?1 ORDER BY path", {id})
  T.eq(#arts, 2, "two PNG artifacts")
  T.truthy(arts[1].path:find("vae_" .. arch .. "_recon.png", 1, true), "the reconstruction grid is an artifact")
  T.truthy(arts[2].path:find("vae_" .. arch .. "_samples.png", 1, true), "the sample grid is an artifact")
  db:close()
  os.execute("rm -rf '" .. dir .. "'")
end

describe("examples/vae.lua", function()
  it("the MLP VAE learns (ELBO falls below the untrained ~543 nats), writes its grids and logs its run", function()
    check("mlp", "")
  end)

  it("the convolutional VAE (--conv) does the same", function()
    check("conv", "--conv")
  end)
end)
