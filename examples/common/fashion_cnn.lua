-- The Keras CNN of the design for Fashion-MNIST, shared by the examples that train
-- it (cnn.lua) and those that use a trained one to judge generated images (gan,
-- dcgan). Input (N, 1, 28, 28) float32 in [0, 1]; output (N, 10) logits.
--
--   local fashion_cnn = dofile((arg[0]:match("^(.*)/") or ".") .. "/common/fashion_cnn.lua")
--   local model = fashion_cnn()
local nn = lunet.nn

return function()
  local model = nn.Sequential{
    nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),   -- 32x26x26 -> 32x13x13
    nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),  -- 64x11x11 -> 64x5x5
    nn.Conv2d(64, 64, 3), nn.ReLU(),                   -- 64x3x3
    nn.Flatten(), nn.Linear(64 * 3 * 3, 64), nn.ReLU(),
    nn.Linear(64, 10),
  }
  -- Keras's initialisation (Glorot-uniform weights, zero biases): it learns faster in
  -- the first epochs than PyTorch's default, which lunet's layers copy
  model:apply(function(m)
    if m:is_a(nn.Conv2d) or m:is_a(nn.Linear) then
      nn.init.xavier_uniform_(m.weight)
      nn.init.zeros_(m.bias)
    end
  end)
  return model
end
