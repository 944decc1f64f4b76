-- Quality numbers for generated Fashion-MNIST images, shared by gan.lua and dcgan.lua:
-- a trained CNN (examples/common/fashion_cnn.lua, as examples/cnn.lua trains it) labels
-- the samples, and we report
--   confident: the share it classifies with confidence (top softmax probability) > 0.9,
--              high when samples look like clothing rather than blur;
--   entropy:   the entropy in nats of the histogram of predicted classes, from 0 (every
--              sample one class: mode collapse) to ln 10 = 2.303 (all ten classes equally).
--
--   local quality = dofile(dir .. "/common/gan_quality.lua")
--   local cnn = quality.classifier{path = "cnn.safetensors", quick = false}
--   local q = quality.score(cnn, images01)    --> {confident = 0.71, entropy = 2.19}
local nn, F, optim, data = lunet.nn, lunet.nn.F, lunet.optim, lunet.data
local here = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local fashion_cnn = dofile(here .. "/fashion_cnn.lua")

local quality = {}

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- One epoch of the CNN on the training set (the first `n` images), Adam lr 1e-3, batch 64:
-- a stand-in when no checkpoint of examples/cnn.lua is at hand.
local function train_classifier(model, n)
  local d = data.fashion_mnist{split = "train"}
  n = math.min(n, d.images:size(1))
  local loader = data.DataLoader(data.TensorDataset(d.images:narrow(1, 1, n), d.labels:narrow(1, 1, n)),
                                 {batch_size = 64, shuffle = true})
  lunet.train.fit{model = model, optimizer = optim.Adam(model:parameters(), {lr = 1e-3}),
                  loss = F.cross_entropy, train = loader, epochs = 1, metrics = {"accuracy"}}
end

-- The classifier from `opts.path`; when that file is missing, train one (on `opts.train_n`
-- images: all 60,000 by default) and save it there, saying so.
function quality.classifier(opts)
  assert(type(opts) == "table" and type(opts.path) == "string",
         "gan_quality.classifier: opts.path (a checkpoint path string) is required")
  local model = fashion_cnn()
  if exists(opts.path) then
    model:load(opts.path)
    print("classifier: loaded " .. opts.path)
  else
    local n = opts.train_n or 60000
    print(string.format("classifier: %s not found; training the CNN of examples/cnn.lua for 1 epoch on %d images",
                        opts.path, n))
    train_classifier(model, n)
    model:save(opts.path)
    print("classifier: saved " .. opts.path)
  end
  model:eval()
  return model
end

-- Test accuracy of the classifier on the first `n` test images: how far to trust its labels.
function quality.accuracy(model, n)
  local d = data.fashion_mnist{split = "test"}
  n = math.min(n or 10000, d.images:size(1))
  return lunet.no_grad(function()
    return model(d.images:narrow(1, 1, n)):argmax(2):eq(d.labels:narrow(1, 1, n)):sum():item() / n
  end)
end

-- `images`: (N, 1, 28, 28) float32 in [0, 1], as the classifier was trained on.
function quality.score(model, images)
  assert(lunet.is_tensor(images) and images:dim() == 4,
         "gan_quality.score: images (argument 2) must be a tensor (N, 1, 28, 28) in [0, 1]")
  local n = images:size(1)
  local probs = lunet.no_grad(function() return model(images):softmax(2) end)
  local top = probs:max(2)
  local confident = top:gt(0.9):sum():item() / n
  local counts = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
  for _, c in ipairs(probs:argmax(2):totable()) do counts[c] = counts[c] + 1 end
  local entropy = 0
  for _, k in ipairs(counts) do
    if k > 0 then entropy = entropy - (k / n) * math.log(k / n) end
  end
  return {confident = confident, entropy = entropy, counts = counts}
end

return quality
