-- The training of examples/gan.lua and examples/dcgan.lua, which differ only in
-- their two networks. Each batch takes one D step (real -> 1, fake -> 0) and one
-- G step (fake -> 1, the non-saturating loss -log D(G(z))), both with BCE on
-- logits and Adam with betas (0.5, 0.999). Per epoch: both losses, mean D(x) and
-- D(G(z)), and a grid of samples from one fixed noise batch (NAME_epoch_N.png).
-- At the end, the trained CNN of examples/cnn.lua judges 1000 samples
-- (gan_quality.lua).
--
--   gan_train{name =, G =, D =, images = (N, ...) in [-1, 1], nz =, options = o}
-- o: the options of the example (epochs, quick, classifier, out, batch, lr, seed).
local F, optim, data, train, image = lunet.nn.F, lunet.optim, lunet.data, lunet.train, lunet.image
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local quality = dofile(here .. "gan_quality.lua")

return function(spec)
  local G, D, o, nz, n = spec.G, spec.D, spec.options, spec.nz, spec.images:size(1)
  local loader = data.DataLoader(data.TensorDataset(spec.images), {batch_size = o.batch, shuffle = true, drop_last = true})
  local opt_g = optim.Adam(G:parameters(), {lr = o.lr, betas = {0.5, 0.999}})
  local opt_d = optim.Adam(D:parameters(), {lr = o.lr, betas = {0.5, 0.999}})
  local run = lunet.runs.start{name = spec.name, experiment = "fashion-mnist-gan",
    params = {epochs = o.epochs, batch = o.batch, lr = o.lr, beta1 = 0.5, nz = nz, images = n,
              quick = o.quick, seed = o.seed}}

  local ones, zeros = lunet.ones(o.batch, 1), lunet.zeros(o.batch, 1)
  -- one D step and one G step on a batch of real images -> the two losses and the
  -- mean D(x) and D(G(z)) the D step saw, as numbers
  local function step(x)
    local fake = G(lunet.randn(o.batch, nz))
    local real_logit, fake_logit = D(x), D(fake:detach())   -- detach: the D step leaves G alone
    local d_loss = F.binary_cross_entropy_with_logits(real_logit, ones)
                 + F.binary_cross_entropy_with_logits(fake_logit, zeros)
    opt_d:zero_grad(); d_loss:backward(); opt_d:step()
    local g_loss = F.binary_cross_entropy_with_logits(D(fake), ones)
    opt_g:zero_grad(); g_loss:backward(); opt_g:step()
    return {d_loss = d_loss:item(), g_loss = g_loss:item(),
            d_x = real_logit:detach():sigmoid():mean():item(), d_g_z = fake_logit:detach():sigmoid():mean():item()}
  end

  -- samples as (N, 1, 28, 28) images in [0, 1], in eval mode (BatchNorm's running
  -- statistics) and without gradients
  local function generate(z)
    G:eval()
    local x = lunet.no_grad(function() return (G(z) + 1) / 2 end)
    G:train()
    return x:reshape(z:size(1), 1, 28, 28)
  end

  local fixed = lunet.randn(64, nz)
  print(string.format("%s: %d training images, %d epochs, batch %d, %d threads", spec.name, n, o.epochs, o.batch,
                      lunet.get_num_threads()))
  for epoch = 1, o.epochs do
    local bar = train.Progress{total = #loader, title = string.format("Epoch %d/%d", epoch, o.epochs)}
    local sums, means, k = {d_loss = 0, g_loss = 0, d_x = 0, d_g_z = 0}, {}, 0
    for x in loader:batches() do
      local values = step(x)
      k = k + 1
      for key, s in pairs(sums) do sums[key] = s + values[key]; means[key] = sums[key] / k end
      bar:update(k, means)
    end
    bar:finish()
    run:log(means, epoch)
    local png = image.save(generate(fixed), string.format("%s/%s_epoch_%d.png", o.out, spec.name, epoch), {nrow = 8})
    run:artifact(png, "samples")
  end

  local cnn = quality.classifier{path = o.classifier, train_n = o.quick and 1000 or 60000}
  local q = quality.score(cnn, generate(lunet.randn(1000, nz)))
  run:set_goal("confident", "max"); run:set_goal("class_entropy", "max")   -- higher is better for both
  run:log({confident = q.confident, class_entropy = q.entropy}, o.epochs)   -- the state after the last epoch
  print(string.format("classifier test accuracy: %.4f", quality.accuracy(cnn, o.quick and 1000 or 10000)))
  print(string.format("samples classified with confidence > 0.9: %.4f", q.confident))
  print(string.format("entropy of the predicted classes: %.4f nats (max ln 10 = 2.3026)", q.entropy))
  print("predicted classes of 1000 samples: " .. table.concat(q.counts, " "))
end
