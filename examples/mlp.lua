-- A DNN 784-256-128-10 on Fashion-MNIST, trained with Adam by lunet.train.fit: inputs
-- normalised with the training set's mean and std, batch 64, the learning rate
-- decayed along a cosine over the epochs. Saves the model and the optimizer state
-- as safetensors checkpoints and logs params, per-epoch metrics and both files to the run.
--
--   ./lunet examples/mlp.lua [--epochs N] [--quick] [--save PREFIX] [--lr LR] [--batch N]
-- --quick trains on 2,000 images and tests on 1,000 (the tests use it).
local nn, F, optim, data, train = lunet.nn, lunet.nn.F, lunet.optim, lunet.data, lunet.train

local o = train.parse_args(arg, {epochs = 5, quick = false, save = "mlp", lr = 1e-3, batch = 64})
lunet.manual_seed(1)
local normalize = data.Normalize(0.2860, 0.3530)   -- Fashion-MNIST's training mean and std

local function flat(split, n)
  local d = data.fashion_mnist{split = split}
  n = math.min(n, d.images:size(1))
  return data.TensorDataset(normalize(d.images:narrow(1, 1, n)):reshape(n, 784), d.labels:narrow(1, 1, n))
end
local train_loader = data.DataLoader(flat("train", o.quick and 2000 or 60000), {batch_size = o.batch, shuffle = true})
local test_loader = data.DataLoader(flat("test", o.quick and 1000 or 10000), {batch_size = 1000})

local model = nn.Sequential{
  nn.Linear(784, 256), nn.ReLU(),
  nn.Linear(256, 128), nn.ReLU(),
  nn.Linear(128, 10),
}
local opt = optim.Adam(model:parameters(), {lr = o.lr})
local decay = optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = o.epochs})
-- takes over the run that `lunet examples/mlp.lua` opened, naming it and adding its params
local run = lunet.runs.start{name = "mlp", experiment = "fashion-mnist",
  params = {lr = o.lr, batch = o.batch, epochs = o.epochs, optimizer = "Adam", schedule = "cosine",
            quick = o.quick}}

local history = train.fit{model = model, optimizer = opt, loss = F.cross_entropy,
  train = train_loader, val = test_loader, epochs = o.epochs, metrics = {"accuracy"}, run = run,
  callbacks = {train.LRScheduler(decay)}}

local acc = history.val_accuracy[#history.epoch]
run:log({test_acc = acc}, #history.epoch)
model:save(o.save .. ".safetensors")
opt:save(o.save .. ".optim.safetensors")
run:artifact(o.save .. ".safetensors", "checkpoint")
run:artifact(o.save .. ".optim.safetensors", "optimizer")
print(string.format("final test accuracy: %.4f", acc))
print("saved " .. o.save .. ".safetensors and " .. o.save .. ".optim.safetensors")
