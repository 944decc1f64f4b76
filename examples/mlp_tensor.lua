-- A DNN 784-256-128-10 on Fashion-MNIST written with tensors alone: the
-- forward pass, the backward pass by hand, and SGD with momentum. (With
-- autograd and nn this becomes examples/mlp.lua; this one shows the core.)
--
--   ./lunet examples/mlp_tensor.lua [--epochs N] [--quick]
local epochs, quick = 5, false
for i = 1, #arg do
  if arg[i] == "--epochs" then epochs = assert(tonumber(arg[i + 1]), "--epochs needs a number")
  elseif arg[i] == "--quick" then quick = true end
end

lunet.manual_seed(1)
local train = lunet.data.fashion_mnist{split = "train"}
local test = lunet.data.fashion_mnist{split = "test"}
local function flat(d, n)
  n = math.min(n, d.images:size(1))
  return d.images:narrow(1, 1, n):reshape(n, 784), d.labels:narrow(1, 1, n)
end
local xtrain, ytrain = flat(train, quick and 2000 or 60000)
local xtest, ytest = flat(test, quick and 1000 or 10000)

-- weights initialised as PyTorch's nn.Linear does: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
local function linear(fan_in, fan_out)
  local bound = 1 / math.sqrt(fan_in)
  return {w = lunet.empty(fan_in, fan_out):uniform_(-bound, bound),
          b = lunet.empty(fan_out):uniform_(-bound, bound)}
end
local layers = {linear(784, 256), linear(256, 128), linear(128, 10)}
for _, l in ipairs(layers) do l.vw, l.vb = lunet.zeros_like(l.w), lunet.zeros_like(l.b) end

local classes = lunet.arange(1, 11):view(1, 10)

-- returns the logits and what backward needs
local function forward(x)
  local acts = {x}
  for i, l in ipairs(layers) do
    local z = x:matmul(l.w) + l.b
    x = i < #layers and z:relu() or z
    acts[i + 1] = x
  end
  return x, acts
end

local function step(x, y, lr, momentum)
  local logits, acts = forward(x)
  local n = x:size(1)
  local logp = logits:log_softmax(2)
  local onehot = y:view(n, 1):eq(classes):float()
  local loss = -(logp * onehot):sum() / n
  -- d loss / d logits of mean cross-entropy
  local grad = (logp:exp() - onehot) / n
  for i = #layers, 1, -1 do
    local l, input = layers[i], acts[i]
    local gw, gb = input:t():matmul(grad), grad:sum(1)
    if i > 1 then grad = grad:matmul(l.w:t()) * input:gt(0) end
    l.vw:mul_(momentum):add_(gw)
    l.vb:mul_(momentum):add_(gb)
    l.w:sub_(l.vw * lr)
    l.b:sub_(l.vb * lr)
  end
  return loss:item()
end

local function accuracy(x, y)
  local correct = 0
  for s = 1, x:size(1), 1000 do
    local n = math.min(1000, x:size(1) - s + 1)
    local logits = forward(x:narrow(1, s, n))
    correct = correct + logits:argmax(2):eq(y:narrow(1, s, n)):sum():item()
  end
  return correct / x:size(1)
end

local batch, lr, momentum = 128, 0.1, 0.9
print(string.format("mlp_tensor: %d training and %d test images, %d epochs, %d threads",
                    xtrain:size(1), xtest:size(1), epochs, lunet.get_num_threads()))
for epoch = 1, epochs do
  local t0 = lunet.clock()
  local perm = lunet.randperm(xtrain:size(1))
  local total, steps = 0, 0
  for s = 1, xtrain:size(1) - batch + 1, batch do
    local idx = perm:narrow(1, s, batch)
    total = total + step(xtrain:index_select(1, idx), ytrain:index_select(1, idx), lr, momentum)
    steps = steps + 1
  end
  print(string.format("epoch %d/%d  loss %.4f  test accuracy %.4f  (%.2f s)",
                      epoch, epochs, total / steps, accuracy(xtest, ytest), lunet.clock() - t0))
end
print(string.format("final test accuracy: %.4f", accuracy(xtest, ytest)))
