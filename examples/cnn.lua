-- The Keras CNN of the design (Conv32-Pool-Conv64-Pool-Conv64-Dense64-Dense10) on
-- Fashion-MNIST, trained with Adam by lunet.train.fit, the learning rate decayed along
-- a cosine over the epochs; the main job of `make run`.
-- Writes the trained model to PREFIX.safetensors (the GAN examples judge their
-- samples with it) and logs params, per-epoch metrics and the checkpoint to the run.
--
--   ./lunet examples/cnn.lua [--epochs N] [--quick] [--save PREFIX] [--lr LR] [--batch N]
-- --quick trains on 2,000 images and tests on 500 (the tests use it).
local F, optim, data, train = lunet.nn.F, lunet.optim, lunet.data, lunet.train
local fashion_cnn = dofile((arg[0]:match("^(.*)/") or ".") .. "/common/fashion_cnn.lua")

local o = train.parse_args(arg, {epochs = 5, quick = false, save = "cnn", lr = 2e-3, batch = 32})
lunet.manual_seed(1)

local function subset(split, n)
  local d = data.fashion_mnist{split = split}
  n = math.min(n, d.images:size(1))
  return data.TensorDataset(d.images:narrow(1, 1, n), d.labels:narrow(1, 1, n))
end
local train_loader = data.DataLoader(subset("train", o.quick and 2000 or 60000),
                                     {batch_size = o.batch, shuffle = true})
local test_loader = data.DataLoader(subset("test", o.quick and 500 or 10000), {batch_size = 500})

local model = fashion_cnn()
local opt = optim.Adam(model:parameters(), {lr = o.lr})
local decay = optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = o.epochs})
-- takes over the run that `lunet examples/cnn.lua` opened, naming it and adding its params
local run = lunet.runs.start{name = "cnn", experiment = "fashion-mnist",
  params = {lr = o.lr, batch = o.batch, epochs = o.epochs, optimizer = "Adam", schedule = "cosine",
            quick = o.quick}}

local history = train.fit{model = model, optimizer = opt, loss = F.cross_entropy,
  train = train_loader, val = test_loader, epochs = o.epochs, metrics = {"accuracy"}, run = run,
  callbacks = {train.LRScheduler(decay)}}

local acc = history.val_accuracy[#history.epoch]
run:log({test_acc = acc}, #history.epoch)
local path = o.save .. ".safetensors"
model:save(path, {test_acc = string.format("%.4f", acc)})
run:artifact(path, "checkpoint")
print(string.format("final test accuracy: %.4f", acc))
print("saved " .. path)
