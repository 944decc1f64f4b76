-- The examples run end to end on the packaged Fashion-MNIST in --quick mode: each learns
-- (accuracy above chance), writes a checkpoint that loads back and gives the accuracy it
-- printed, and logs its params, per-epoch metrics and files to the run database.
local exe = arg and arg[-1] or "./lunet"
local core = require "lunet.core"

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  T.truthy(out:find("exit=0", 1, true), "the example exits with 0:\n" .. out)
  return out
end

-- a temp prefix for a script's files and its run database; cleanup() removes them all
local function scratch()
  local prefix = os.tmpname()
  local db = prefix .. ".db"
  local function cleanup()
    for _, f in ipairs{"", ".safetensors", ".optim.safetensors", ".db", ".db-wal", ".db-shm"} do
      os.remove(prefix .. f)
    end
  end
  return prefix, db, cleanup
end

-- the accuracy printed by a script
local function printed_accuracy(out)
  return tonumber(out:match("final test accuracy: ([%d.]+)"))
end

-- the one run in db, checked: finished, with the params, one point per epoch of the
-- metrics fit logs, the final test_acc and the artifacts
local function check_logged_run(db, name, epochs, lr, acc, artifacts)
  local r = lunet.runs.query{db = db}
  T.eq(#r, 1, "one run recorded")
  r = r[1]
  T.eq(r.name, name)
  T.eq(r.status, "finished")
  T.eq(r.params.epochs, epochs)
  T.eq(r.params.lr, lr)
  T.eq(r.params.optimizer, "Adam")
  for _, key in ipairs{"train_loss", "train_accuracy", "val_loss", "val_accuracy"} do
    local steps = r:history(key)
    T.eq(#steps, epochs, key .. " logged once per epoch")
    T.eq(steps[epochs], epochs)
  end
  local _, losses = r:history("train_loss")
  T.truthy(losses[epochs] < losses[1], "the training loss decreased")
  T.near(r.metrics.test_acc, acc, 1e-9, "the final test accuracy is logged")
  local h = core._runs.open(db, {readonly = true})
  local rows = h:query("SELECT path, kind FROM artifacts WHERE run_id = ? ORDER BY path", {r.id})
  h:close()
  T.eq(#rows, #artifacts, "artifacts recorded")
  for i, a in ipairs(artifacts) do
    T.truthy(rows[i].path:sub(-#a.path) == a.path, "artifact " .. a.path .. ", got " .. rows[i].path)
    T.eq(rows[i].kind, a.kind)
  end
end

describe("examples", function()
  it("mlp.lua (fit, normalised inputs, cosine decay) learns, saves, reloads and logs its run", function()
    local prefix, db, cleanup = scratch()
    local out = run("LUNET_DB=" .. db .. " " .. exe .. " examples/mlp.lua --quick --epochs 3 --save " .. prefix)
    local acc = printed_accuracy(out)
    T.truthy(acc and acc > 0.65, "final test accuracy above 0.65 (chance is 0.1), got " .. tostring(acc))
    local model = lunet.nn.Sequential{lunet.nn.Linear(784, 256), lunet.nn.ReLU(), lunet.nn.Linear(256, 128),
                                      lunet.nn.ReLU(), lunet.nn.Linear(128, 10)}
    model:load(prefix .. ".safetensors")
    local test = lunet.data.fashion_mnist{split = "test"}
    local x = lunet.data.Normalize(0.2860, 0.3530)(test.images:narrow(1, 1, 1000)):reshape(1000, 784)
    local y = test.labels:narrow(1, 1, 1000)
    local got = lunet.no_grad(function() return model(x):argmax(2):eq(y):sum():item() / 1000 end)
    T.near(got, acc, 1e-9, "accuracy of the reloaded model")
    local state = lunet.load(prefix .. ".optim.safetensors")
    T.truthy(state["state.1.exp_avg"], "the optimizer state holds Adam's moments")
    check_logged_run(db, "mlp", 3, 1e-3, acc, {{path = ".optim.safetensors", kind = "optimizer"},
                                               {path = ".safetensors", kind = "checkpoint"}})
    cleanup()
  end)

  it("cnn.lua (the Keras CNN, fit) learns, saves a checkpoint that reloads, and logs its run", function()
    local prefix, db, cleanup = scratch()
    local out = run("LUNET_DB=" .. db .. " " .. exe .. " examples/cnn.lua --quick --epochs 2 --save " .. prefix)
    local acc = printed_accuracy(out)
    T.truthy(acc and acc > 0.5, "final test accuracy above 0.5 (chance is 0.1), got " .. tostring(acc))
    T.truthy(out:find("\nEpoch 2/2  (%d+)/%1 %- [^\r\27]*val_accuracy: "), "fit's plain line per epoch:\n" .. out)
    local model = dofile("examples/common/fashion_cnn.lua")()
    local _, meta = lunet.load(prefix .. ".safetensors")
    T.eq(meta.test_acc, string.format("%.4f", acc), "the checkpoint's metadata holds the test accuracy")
    model:load(prefix .. ".safetensors")
    local test = lunet.data.fashion_mnist{split = "test"}
    local x, y = test.images:narrow(1, 1, 500), test.labels:narrow(1, 1, 500)
    model:eval()
    local got = lunet.no_grad(function() return model(x):argmax(2):eq(y):sum():item() / 500 end)
    T.near(got, acc, 1e-9, "accuracy of the reloaded model")
    check_logged_run(db, "cnn", 2, 2e-3, acc, {{path = ".safetensors", kind = "checkpoint"}})
    cleanup()
  end)

  it("mlp_tensor.lua learns: test accuracy well above chance after 3 quick epochs", function()
    local prefix, db, cleanup = scratch()
    local out = run("LUNET_DB=" .. db .. " " .. exe .. " examples/mlp_tensor.lua --quick --epochs 3")
    local acc = printed_accuracy(out)
    T.truthy(acc and acc > 0.6, "final test accuracy above 0.6 (chance is 0.1), got " .. tostring(acc))
    cleanup()
  end)
end)
