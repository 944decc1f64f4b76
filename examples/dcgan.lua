-- A DCGAN on Fashion-MNIST: the generator G maps 100-d noise through Linear(100, 128*7*7),
-- a reshape to 128x7x7 and two ConvTranspose2d (7 -> 14 -> 28, BatchNorm and ReLU between,
-- Tanh at the end); the discriminator D is Conv2d(1,64,4,2,1) -> LeakyReLU(0.2) ->
-- Conv2d(64,128,4,2,1) -> BatchNorm -> LeakyReLU(0.2) -> Linear(128*7*7, 1), one logit.
-- The training is gan.lua's (examples/common/gan_train.lua): per batch one D step and one
-- G step, BCE on logits, Adam lr 2e-4, betas (0.5, 0.999); per epoch the losses, D(x),
-- D(G(z)) and a sample grid (dcgan_epoch_N.png); at the end the CNN's verdict on 1000 samples.
--
--   ./lunet examples/dcgan.lua [--epochs N] [--quick] [--classifier cnn.safetensors] [--out DIR]
-- --quick trains on 256 images for 1 epoch (the tests use it).
local nn, data, train = lunet.nn, lunet.data, lunet.train
local gan_train = dofile((arg[0]:match("^(.*)/") or ".") .. "/common/gan_train.lua")

local o, given = train.parse_args(arg, {epochs = 5, quick = false, classifier = "cnn.safetensors", out = ".",
                                        batch = 64, lr = 2e-4, seed = 1})
if o.quick and not given.epochs then o.epochs = 1 end
lunet.manual_seed(o.seed)
local nz = 100

local real = data.fashion_mnist{split = "train"}
local n = o.quick and 256 or #real
local images = real.images:narrow(1, 1, n) * 2 - 1   -- Tanh's range, [-1, 1]

local G = nn.Sequential{
  nn.Linear(nz, 128 * 7 * 7), nn.Unflatten(2, {128, 7, 7}),
  nn.ConvTranspose2d(128, 64, 4, {stride = 2, padding = 1}), nn.BatchNorm2d(64), nn.ReLU(),  -- 64x14x14
  nn.ConvTranspose2d(64, 1, 4, {stride = 2, padding = 1}), nn.Tanh(),                        -- 1x28x28
}
local D = nn.Sequential{
  nn.Conv2d(1, 64, 4, {stride = 2, padding = 1}), nn.LeakyReLU(0.2),                         -- 64x14x14
  nn.Conv2d(64, 128, 4, {stride = 2, padding = 1}), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),  -- 128x7x7
  nn.Flatten(), nn.Linear(128 * 7 * 7, 1),
}

gan_train{name = "dcgan", G = G, D = D, images = images, nz = nz, options = o}
