-- Training end to end with a plain SGD step written here (the optimizers are
-- specified elsewhere): a 2-8-1 MLP learns XOR, and a small CNN overfits a
-- batch of 8 random images.
local nn, F = lunet.nn, lunet.nn.F

-- p <- p - lr * grad (with momentum when mu > 0), then clear the gradients
local function sgd_step(params, lr, mu, velocity)
  lunet.no_grad(function()
    for i, p in ipairs(params) do
      local g = p.grad
      if mu and mu > 0 then
        velocity[i] = velocity[i] and velocity[i]:mul_(mu):add_(g) or g:clone()
        g = velocity[i]
      end
      p:sub_(g * lr)
      p.grad = nil
    end
  end)
end

describe("training", function()
  it("a 2-8-1 MLP learns XOR to 100% accuracy", function()
    lunet.manual_seed(0)
    local x = lunet.tensor{{0, 0}, {0, 1}, {1, 0}, {1, 1}}:float()
    local y = lunet.tensor{{0}, {1}, {1}, {0}}:float()
    local model = nn.Sequential{nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)}
    local params = model:parameters()
    local loss
    for _ = 1, 600 do
      loss = F.binary_cross_entropy_with_logits(model(x), y)
      loss:backward()
      sgd_step(params, 0.5)
    end
    local pred = model(x):gt(0):float()
    T.close(pred, y, 0)
    T.truthy(loss:item() < 0.05, "final loss " .. loss:item())
  end)

  it("a small CNN overfits a batch of 8 images (loss < 0.05)", function()
    lunet.manual_seed(1)
    local x = lunet.randn(8, 1, 12, 12)
    local y = lunet.randint(1, 11, 8)
    local model = nn.Sequential{
      nn.Conv2d(1, 8, 3, {padding = 1}), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
      nn.Conv2d(8, 16, 3), nn.ReLU(), nn.Flatten(), nn.Dropout(0.1), nn.Linear(16 * 4 * 4, 10),
    }
    local params, velocity = model:parameters(), {}
    local first, loss = nil, nil
    for step = 1, 150 do
      loss = F.cross_entropy(model(x), y)
      if step == 1 then first = loss:item() end
      if loss:item() < 0.05 then break end
      loss:backward()
      sgd_step(params, 0.05, 0.9, velocity)
    end
    T.truthy(first > 1.5, "starts near log(10), got " .. first)
    T.truthy(loss:item() < 0.05, "overfits: final loss " .. loss:item())
    model:eval()
    T.eq(nn.metrics.accuracy(model(x), y), 1, "accuracy on the batch in eval mode")
  end)
end)
