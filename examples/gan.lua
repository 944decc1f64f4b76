-- A GAN of two MLPs on Fashion-MNIST: the generator G maps 100-d noise to a 28x28 image
-- (100-256-512-784, LeakyReLU, Tanh), the discriminator D scores an image as real or fake
-- (784-512-256-1, LeakyReLU(0.2), one logit). The training (examples/common/gan_train.lua,
-- shared with dcgan.lua): per batch one D step and one G step, BCE on logits, Adam lr 2e-4,
-- betas (0.5, 0.999); per epoch both losses, mean D(x) and D(G(z)), and a grid of samples
-- from one fixed noise batch (gan_epoch_N.png); at the end the trained CNN of
-- examples/cnn.lua judges 1000 samples (examples/common/gan_quality.lua).
--
--   ./lunet examples/gan.lua [--epochs N] [--quick] [--classifier cnn.safetensors] [--out DIR]
-- --quick trains on 500 images for 1 epoch (the tests use it).
local nn, data, train = lunet.nn, lunet.data, lunet.train
local gan_train = dofile((arg[0]:match("^(.*)/") or ".") .. "/common/gan_train.lua")

local o, given = train.parse_args(arg, {epochs = 30, quick = false, classifier = "cnn.safetensors", out = ".",
                                        batch = 64, lr = 2e-4, seed = 1})
if o.quick and not given.epochs then o.epochs = 1 end
lunet.manual_seed(o.seed)
local nz = 100

local real = data.fashion_mnist{split = "train"}
local n = o.quick and 500 or #real
local images = real.images:narrow(1, 1, n):reshape(n, 784) * 2 - 1   -- Tanh's range, [-1, 1]

local G = nn.Sequential{
  nn.Linear(nz, 256), nn.LeakyReLU(0.2),
  nn.Linear(256, 512), nn.LeakyReLU(0.2),
  nn.Linear(512, 784), nn.Tanh(),
}
local D = nn.Sequential{
  nn.Linear(784, 512), nn.LeakyReLU(0.2),
  nn.Linear(512, 256), nn.LeakyReLU(0.2),
  nn.Linear(256, 1),
}

gan_train{name = "gan", G = G, D = D, images = images, nz = nz, options = o}
