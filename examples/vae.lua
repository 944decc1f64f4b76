-- A variational autoencoder on Fashion-MNIST: an encoder gives the mean and
-- log-variance of q(z|x), z is drawn with the reparameterisation trick, and a
-- decoder gives Bernoulli logits for the 784 pixels. The loss is the negative
-- ELBO: BCE reconstruction + KL(q(z|x) || N(0, I)), summed over pixels and
-- latent dimensions, averaged over the batch, so it reads in nats per image.
--
--   ./lunet examples/vae.lua [--conv] [--epochs N] [--quick] [--out DIR]
-- Without --conv: PyTorch's examples/vae MLP, 784-400-(20, 20) / 20-400-784.
-- --conv: two stride-2 Conv2d down to 64x7x7, two ConvTranspose2d back up.
-- Each epoch writes DIR/vae_{mlp,conv}_recon.png (test images above their
-- reconstructions) and DIR/vae_{mlp,conv}_samples.png (decoded z ~ N(0, I)).
-- --quick trains on 2,000 images and tests on 500 (the tests use it).
local nn, F, optim, data, train, image = lunet.nn, lunet.nn.F, lunet.optim, lunet.data, lunet.train, lunet.image

local o = train.parse_args(arg, {epochs = 10, quick = false, conv = false, latent = 20,
                                 lr = 1e-3, batch = 128, out = "."})
lunet.manual_seed(1)
local arch = o.conv and "conv" or "mlp"

if o.epochs < 1 then error("vae.lua: --epochs must be at least 1, got " .. o.epochs) end

local function images(split, n)   -- (n, 1, 28, 28) in [0, 1]; the labels are not used
  local x = data.fashion_mnist{split = split}.images
  return x:narrow(1, 1, math.min(n, x:size(1)))
end
local test_x = images("test", o.quick and 500 or 10000)
local train_loader = data.DataLoader(data.TensorDataset(images("train", o.quick and 2000 or 60000)),
                                     {batch_size = o.batch, shuffle = true})
local test_loader = data.DataLoader(data.TensorDataset(test_x), {batch_size = 500})

-- encoder: image -> features (N, hidden); decoder: z -> logits (N, 1, 28, 28)
local function mlp_parts(latent)
  return nn.Sequential{nn.Flatten(), nn.Linear(784, 400), nn.ReLU()}, 400,
         nn.Sequential{nn.Linear(latent, 400), nn.ReLU(), nn.Linear(400, 784), nn.Unflatten(2, {1, 28, 28})}
end
local function conv_parts(latent)
  local down = {stride = 2, padding = 1}                  -- a 4x4 kernel with these halves the size
  return nn.Sequential{nn.Conv2d(1, 32, 4, down), nn.ReLU(),          -- 32x14x14
                       nn.Conv2d(32, 64, 4, down), nn.ReLU(),         -- 64x7x7
                       nn.Flatten()}, 64 * 7 * 7,
         nn.Sequential{nn.Linear(latent, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(2, {64, 7, 7}),
                       nn.ConvTranspose2d(64, 32, 4, down), nn.ReLU(),  -- 32x14x14
                       nn.ConvTranspose2d(32, 1, 4, down)}              -- 1x28x28 logits
end

local VAE = nn.Module:extend("VAE")
function VAE:init(parts, latent)
  local encoder, hidden, decoder = parts(latent)
  self.encoder = encoder
  self.mu = nn.Linear(hidden, latent)
  self.logvar = nn.Linear(hidden, latent)
  self.decoder = decoder
end
function VAE:encode(x)
  local h = self.encoder(x)
  return self.mu(h), self.logvar(h)
end
-- z = mu + sigma * eps keeps the draw differentiable in mu and logvar
function VAE:forward(x)
  local mu, logvar = self:encode(x)
  local z = mu + lunet.randn_like(mu) * (logvar * 0.5):exp()
  return self.decoder(z), mu, logvar
end

-- Fashion-MNIST pixels are grey levels in [0, 1], not binarised: BCE with
-- continuous targets, as PyTorch's example does. Returns per-image means.
local function neg_elbo(logits, x, mu, logvar)
  local n = x:size(1)
  local bce = F.binary_cross_entropy_with_logits(logits, x, {reduction = "sum"}) / n
  local kl = F.gaussian_kl(mu, logvar, {reduction = "batchmean"})
  return bce + kl, bce, kl
end

local model = VAE(o.conv and conv_parts or mlp_parts, o.latent)
local function loss_of(x)
  local logits, mu, logvar = model(x)
  return neg_elbo(logits, x, mu, logvar)
end
local opt = optim.Adam(model:parameters(), {lr = o.lr})
local nparams = 0
for _, p in ipairs(model:parameters()) do nparams = nparams + p:numel() end
local run = lunet.runs.start{name = "vae_" .. arch, experiment = "fashion-mnist",
  params = {model = arch, latent = o.latent, lr = o.lr, batch = o.batch, epochs = o.epochs,
            optimizer = "Adam", quick = o.quick, parameters = nparams, train_images = #train_loader.dataset}}

-- the test set's negative ELBO (one z per image), with its two parts
local function evaluate()
  model:eval()
  local sums = lunet.no_grad(function()
    local s = {0, 0, 0}
    for x in test_loader:batches() do
      local n = x:size(1)
      local loss, bce, kl = loss_of(x)
      s[1], s[2], s[3] = s[1] + loss:item() * n, s[2] + bce:item() * n, s[3] + kl:item() * n
    end
    return s
  end)
  model:train()
  local n = #test_loader.dataset
  return sums[1] / n, sums[2] / n, sums[3] / n
end
local first = test_x:narrow(1, 1, 16)
local z_fixed = lunet.randn(64, o.latent)       -- the same z every epoch, so the grids compare
local recon_png = o.out .. "/vae_" .. arch .. "_recon.png"
local samples_png = o.out .. "/vae_" .. arch .. "_samples.png"
local function write_pictures()
  lunet.no_grad(function()
    model:eval()
    local recon = model.decoder(model.mu(model.encoder(first))):sigmoid()   -- the mean z: no noise
    image.save(lunet.cat({first, recon}, 1), recon_png, {nrow = 16, pad_value = 1})
    image.save(model.decoder(z_fixed):sigmoid(), samples_png, {nrow = 8, pad_value = 1})
    model:train()
  end)
end

print(string.format("vae (%s): %d training and %d test images, %d epochs, latent %d, %d parameters, %d threads",
                    arch, #train_loader.dataset, #test_loader.dataset, o.epochs, o.latent, nparams,
                    lunet.get_num_threads()))
local test_loss
for epoch = 1, o.epochs do
  local t0 = lunet.clock()
  local bar = train.Progress{total = #train_loader, title = ("Epoch %d/%d"):format(epoch, o.epochs)}
  local total, seen, steps = 0, 0, 0
  for x in train_loader:batches() do
    local loss = loss_of(x)
    opt:zero_grad()
    loss:backward()
    opt:step()
    total, seen, steps = total + loss:item() * x:size(1), seen + x:size(1), steps + 1
    bar:update(steps, {loss = total / seen})
  end
  local bce, kl
  test_loss, bce, kl = evaluate()
  bar:finish({test_loss = test_loss})
  write_pictures()
  local seconds = lunet.clock() - t0
  run:log({train_loss = total / seen, test_loss = test_loss, test_bce = bce, test_kl = kl,
           epoch_seconds = seconds}, epoch)
  print(string.format("epoch %d/%d  test negative ELBO %.2f nats/image (BCE %.2f + KL %.2f)  (%.1f s)",
                      epoch, o.epochs, test_loss, bce, kl, seconds))
end
run:log({final_test_loss = test_loss}, o.epochs)
run:artifact(recon_png, "image")
run:artifact(samples_png, "image")
print(string.format("final test negative ELBO: %.2f nats/image", test_loss))
print("wrote " .. recon_png .. " and " .. samples_png)
