-- nn.Module: registration and order, the tree walks, train/eval, zero_grad,
-- apply, printing, state_dict and checkpoints (with the mismatch errors),
-- nn.summary, nn.init.
local nn, F = lunet.nn, lunet.nn.F

local function names(list)
  local out = {}
  for i, p in ipairs(list) do out[i] = p[1] end
  return out
end

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- a custom module with a parameter, a buffer, children and a container
local Net = nn.Module:extend("Net")
function Net:init()
  self.conv = nn.Conv2d(1, 2, 3)
  self:param("scale", lunet.ones(1))
  self.bn = nn.BatchNorm2d(2)
  self:buffer("steps", lunet.tensor(0))
  self.head = nn.Sequential{nn.Flatten(), nn.Linear(2 * 3 * 3, 4), nn.ReLU(), nn.Linear(4, 3)}
end
function Net:forward(x)
  return self.head(self.bn(self.conv(x)) * self.scale)
end

describe("nn.Module registration", function()
  it("keeps parameters in registration order with dotted, 1-based names", function()
    local net = Net()
    T.eq(T.show(names(net:named_parameters())), T.show{
      "scale", "conv.weight", "conv.bias", "bn.weight", "bn.bias",
      "head.2.weight", "head.2.bias", "head.4.weight", "head.4.bias"})
    local params = net:parameters()
    T.eq(#params, 9, "number of parameters")
    T.truthy(params[2] == net.conv.weight and params[8] == net.head[4].weight, "parameters() are the tensors themselves")
    for _, p in ipairs(params) do T.truthy(p.requires_grad and p.is_leaf, "parameters are leaves that require grad") end
    T.eq(T.show(names(net:named_buffers())), T.show{"steps", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"})
  end)

  it("lists children and modules in order", function()
    local net = Net()
    T.eq(T.show(names(net:named_children())), T.show{"conv", "bn", "head"})
    T.truthy(net:children()[3] == net.head, "children() are the modules")
    T.eq(T.show(names(net:named_modules())), T.show{"", "conv", "bn", "head", "head.1", "head.2", "head.3", "head.4"})
    T.eq(#net.head, 4, "#sequential")
    T.truthy(net.head[2]:is_a(nn.Linear) and not net.head[2]:is_a(nn.Conv2d), "is_a")
    T.truthy(net:is_a(nn.Module) and nn.is_module(net) and not nn.is_module({}), "is_module")
  end)

  it("lists a shared parameter once", function()
    local lin = nn.Linear(3, 3)
    local tied = nn.Sequential{lin, nn.ReLU(), lin}
    T.eq(#tied:parameters(), 2)
    T.eq(T.show(names(tied:named_parameters())), T.show{"1.weight", "1.bias"})
  end)

  it("replaces and removes parameters and children by assignment", function()
    local lin = nn.Linear(3, 2)
    lin.bias = lunet.zeros(2)
    T.eq(T.show(names(lin:named_parameters())), T.show{"weight", "bias"}, "replaced in place")
    T.truthy(lin.bias.requires_grad, "a replacement becomes a parameter")
    lin.bias = nil
    T.eq(#lin:parameters(), 1, "removed")
    T.eq(lin.bias, nil)
    local net = Net()
    net.bn = nil
    T.eq(T.show(names(net:named_children())), T.show{"conv", "head"})
    T.errors(function() lin.weight = 3 end, "parameter 'weight' can only be set to a tensor or nil")
    T.errors(function() net.conv = 3 end, "Net: child 'conv' can only be set to a module or nil, got number")
    T.errors(function() lin:param("x", lunet.tensor{1, 2}) end, "parameters must be float32 or float64")
    T.errors(function() lin:param("a.b", lunet.zeros(1)) end, "without '.'")
  end)

  it("calls forward through __call, and forward hooks after it", function()
    local m = nn.Linear(2, 3)
    local seen
    local h = m:register_forward_hook(function(mod, inputs, out) seen = {mod, inputs.n, out:shape()[2]} end)
    local y = m(lunet.zeros(4, 2))
    T.truthy(seen[1] == m and seen[2] == 1 and seen[3] == 3, "the hook saw module, inputs and output")
    T.shape(y, {4, 3})
    h.remove()
    seen = nil
    m(lunet.zeros(1, 2))
    T.eq(seen, nil, "a removed hook is not called")
    T.errors(function() nn.Module()(1) end, "Module: forward is not defined")
  end)

  it("makes subclasses of subclasses", function()
    local Base = nn.Module:extend("Base")
    function Base:init(n) self.fc = nn.Linear(n, n) end
    function Base:forward(x) return self.fc(x) end
    local Scaled = Base:extend("Scaled")
    function Scaled:init(n, s) Base.init(self, n); self.s = s end
    function Scaled:forward(x) return Base.forward(self, x) * self.s end
    local m = Scaled(2, 3)
    T.eq(tostring(m), "Scaled(\n  (fc): Linear(in_features=2, out_features=2, bias=true)\n)")
    T.truthy(m:is_a(Base) and Scaled.super == Base, "inheritance")
    local x = lunet.randn(1, 2)
    T.close(m(x), m.fc(x) * 3, 1e-6)
  end)
end)

describe("nn.Module modes and gradients", function()
  it("propagates train and eval to every module", function()
    local net = Net()
    T.truthy(net.training and net.head[1].training, "modules start in training mode")
    T.truthy(net:eval() == net, "eval returns the module")
    for _, m in ipairs(net:modules()) do T.eq(m.training, false, "after eval") end
    net:train()
    for _, m in ipairs(net:modules()) do T.eq(m.training, true, "after train") end
    net.head:train(false)
    T.truthy(net.training and not net.head[2].training, "train(false) on a subtree")
  end)

  it("zero_grad sets every .grad to nil", function()
    local net = Net()
    local out = net(lunet.randn(2, 1, 5, 5)):sum()
    out:backward()
    T.truthy(net.conv.weight.grad ~= nil and net.head[4].bias.grad ~= nil, "gradients after backward")
    net:zero_grad()
    for _, p in ipairs(net:parameters()) do T.eq(p.grad, nil, "grad after zero_grad") end
  end)

  it("requires_grad_ freezes and unfreezes", function()
    local m = nn.Linear(2, 2):requires_grad_(false)
    for _, p in ipairs(m:parameters()) do T.eq(p.requires_grad, false) end
    m:requires_grad_()
    T.truthy(m.weight.requires_grad)
  end)

  it("apply visits children before parents", function()
    local order = {}
    local seq = nn.Sequential{nn.Linear(1, 1), nn.Sequential{nn.ReLU()}}
    T.truthy(seq:apply(function(m) order[#order + 1] = getmetatable(m).__name end) == seq, "apply returns self")
    T.eq(table.concat(order, " "), "Linear ReLU Sequential Sequential")
    seq:apply(function(m) if m:is_a(nn.Linear) then nn.init.constant_(m.weight, 0.5) end end)
    T.eq(seq[1].weight:item(), 0.5)
  end)

  it("converts dtypes with double() and float()", function()
    local net = Net():double()
    for _, p in ipairs(net:parameters()) do T.eq(p:dtype(), "float64") end
    T.eq(net.bn.running_mean:dtype(), "float64")
    T.eq(net.bn.num_batches_tracked:dtype(), "int64", "integer buffers stay")
    T.truthy(net.conv.weight.requires_grad and net.conv.weight.is_leaf, "converted parameters are leaves")
    T.shape(net(lunet.randn(2, 1, 5, 5, {dtype = "float64"})), {2, 3})
    net:float()
    T.eq(net.head[2].weight:dtype(), "float32")
  end)
end)

describe("nn.Module printing", function()
  it("prints a tree with 1-based child names", function()
    local model = nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                                nn.Sequential{nn.Linear(256, 10, {bias = false}), nn.LogSoftmax(2)}}
    T.eq(tostring(model), [[
Sequential(
  (1): Linear(in_features=784, out_features=256, bias=true)
  (2): ReLU()
  (3): Dropout(p=0.2)
  (4): Sequential(
    (1): Linear(in_features=256, out_features=10, bias=false)
    (2): LogSoftmax(dim=2)
  )
)]])
  end)

  it("shows each layer's settings as PyTorch does", function()
    T.eq(tostring(nn.Conv2d(1, 32, 3)), "Conv2d(1, 32, kernel_size={3, 3}, stride={1, 1})")
    T.eq(tostring(nn.Conv2d(4, 8, {3, 5}, {stride = 2, padding = {1, 2}, dilation = 2, groups = 4, bias = false})),
         "Conv2d(4, 8, kernel_size={3, 5}, stride={2, 2}, padding={1, 2}, dilation={2, 2}, groups=4, bias=false)")
    T.eq(tostring(nn.Conv2d(1, 1, 3, {padding = "same"})), 'Conv2d(1, 1, kernel_size={3, 3}, stride={1, 1}, padding="same")')
    T.eq(tostring(nn.ConvTranspose2d(8, 4, 4, {stride = 2, padding = 1, output_padding = 1})),
         "ConvTranspose2d(8, 4, kernel_size={4, 4}, stride={2, 2}, padding={1, 1}, output_padding={1, 1})")
    T.eq(tostring(nn.MaxPool2d(2)), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=false)")
    T.eq(tostring(nn.AvgPool2d(3, {stride = 1})), "AvgPool2d(kernel_size=3, stride=1, padding=0)")
    T.eq(tostring(nn.AdaptiveAvgPool2d({1, 1})), "AdaptiveAvgPool2d(output_size={1, 1})")
    T.eq(tostring(nn.BatchNorm2d(16)), "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)")
    T.eq(tostring(nn.LayerNorm(256)), "LayerNorm({256}, eps=1e-05, elementwise_affine=true)")
    T.eq(tostring(nn.Embedding(10, 3, {padding_idx = 1})), "Embedding(10, 3, padding_idx=1)")
    T.eq(tostring(nn.Flatten()), "Flatten(start_dim=2, end_dim=-1)")
    T.eq(tostring(nn.Unflatten(2, {1, 28, 28})), "Unflatten(dim=2, unflattened_size={1, 28, 28})")
    T.eq(tostring(nn.LeakyReLU(0.2)), "LeakyReLU(negative_slope=0.2)")
    T.eq(tostring(nn.GELU{approximate = "tanh"}), 'GELU(approximate="tanh")')
    T.eq(tostring(nn.Identity()), "Identity()")
    T.eq(tostring(nn.CrossEntropyLoss()), "CrossEntropyLoss()")
  end)
end)

-- the Keras example's CNN: Conv-Pool-Conv-Pool-Conv-Dense-Dense
local function keras_cnn()
  return nn.Sequential{
    nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
    nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10),
  }
end

describe("nn.summary", function()
  it("prints the Keras CNN's table and its 93,322 parameters", function()
    local model = keras_cnn()
    local total, trainable, text = nn.summary(model, {1, 1, 28, 28}, {print = false})
    T.eq(total, 93322, "total")
    T.eq(trainable, 93322, "trainable")
    T.eq(text, [[
Model: "Sequential"
______________________________________
Layer (type)    Output Shape   Param #
======================================
1 (Conv2d)      1x32x26x26         320
2 (ReLU)        1x32x26x26           0
3 (MaxPool2d)   1x32x13x13           0
4 (Conv2d)      1x64x11x11      18,496
5 (ReLU)        1x64x11x11           0
6 (MaxPool2d)   1x64x5x5             0
7 (Conv2d)      1x64x3x3        36,928
8 (ReLU)        1x64x3x3             0
9 (Flatten)     1x576                0
10 (Linear)     1x64            36,928
11 (ReLU)       1x64                 0
12 (Linear)     1x10               650
======================================
Total params: 93,322
Trainable params: 93,322
Non-trainable params: 0
______________________________________]])
  end)

  it("counts frozen parameters, leaves modes and statistics alone", function()
    local net = Net()
    net.conv:requires_grad_(false)
    local total, trainable, text = nn.summary(net, {2, 1, 5, 5}, {print = false})
    local want = 1 + 2 * 9 + 2 + 2 + 2 + (18 * 4 + 4) + (4 * 3 + 3)
    T.eq(total, want, "total")
    T.eq(trainable, want - 20, "trainable")
    T.truthy(text:find("Net (Net)", 1, true), "a module with its own parameter has a row")
    T.truthy(text:find("bn (BatchNorm2d)", 1, true) and text:find("head.4 (Linear)", 1, true), "nested names")
    T.truthy(text:find("Non-trainable params: 20", 1, true), "non-trainable")
    T.truthy(net.training and net.bn.training, "modes restored")
    T.eq(net.bn.num_batches_tracked:item(), 0, "no batch was tracked")
  end)

  it("takes int64 inputs and several inputs", function()
    local emb = nn.Sequential{nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2)}
    local total = nn.summary(emb, {5, 3}, {dtype = "int64", print = false})
    T.eq(total, 40 + 26)
    local Two = nn.Module:extend("Two")
    function Two:init() self.fc = nn.Linear(3, 1) end
    function Two:forward(a, b) return self.fc(a + b) end
    local _, _, text = nn.summary(Two(), {{2, 3}, {2, 3}}, {print = false})
    T.truthy(text:find("fc %(Linear%)%s+2x1%s+4"), "the row of a two-input model")
    T.errors(function() nn.summary(keras_cnn(), {1, 28, 28}, {print = false}) end, "summary: the forward pass failed")
  end)
end)

describe("state_dict and checkpoints", function()
  it("holds parameters and buffers under PyTorch's names", function()
    local net = Net()
    T.eq(T.show(sorted_keys(net:state_dict())), T.show{
      "bn.bias", "bn.num_batches_tracked", "bn.running_mean", "bn.running_var", "bn.weight",
      "conv.bias", "conv.weight", "head.2.bias", "head.2.weight", "head.4.bias", "head.4.weight",
      "scale", "steps"})
    local m = nn.Linear(2, 2)
    m:buffer("scratch", lunet.zeros(2), false)
    T.eq(T.show(sorted_keys(m:state_dict())), T.show{"bias", "weight"}, "a non-persistent buffer is not saved")
  end)

  it("round-trips through model:save and model:load", function()
    lunet.manual_seed(1)
    local a = Net()
    a(lunet.randn(4, 1, 5, 5)) -- moves the batch norm statistics
    local path = os.tmpname()
    a:save(path, {note = "spec"})
    local b = Net()
    local ret, meta = b:load(path)
    os.remove(path)
    T.truthy(ret == b, "load returns the model")
    T.eq(meta.note, "spec", "metadata")
    local sa, sb = a:state_dict(), b:state_dict()
    for k, v in pairs(sa) do T.close(sb[k], v, 0) end
    T.eq(b.bn.num_batches_tracked:item(), 1)
    local x = lunet.randn(3, 1, 5, 5)
    a:eval(); b:eval()
    T.close(b(x), a(x), 0)
  end)

  it("lists every missing, unexpected and mismatched name in one error", function()
    local model = nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)}
    local sd = nn.Sequential{nn.Linear(780, 256), nn.ReLU(), nn.ReLU(), nn.Linear(256, 10)}:state_dict()
    local ok, err = pcall(model.load_state_dict, model, sd)
    T.truthy(not ok, "raises")
    T.truthy(err:find([[
load_state_dict: the checkpoint does not match the model (Sequential):
  missing keys: 3.weight, 3.bias
  unexpected keys: 4.bias, 4.weight
  shape mismatches:
    1.weight: checkpoint 256x780, model 256x784]], 1, true), "the message: " .. err)
    T.errors(function() model:load_state_dict(sd, {strict = false}) end, "1.weight: checkpoint 256x780, model 256x784")
  end)

  it("loads partially without strict, and copies nothing when it raises", function()
    local a, b = nn.Sequential{nn.Linear(2, 2), nn.Linear(2, 2)}, nn.Sequential{nn.Linear(2, 2)}
    local r = a:load_state_dict(b:state_dict(), {strict = false})
    T.eq(T.show(r.missing_keys), T.show{"2.weight", "2.bias"})
    T.eq(#r.unexpected_keys, 0)
    T.close(a[1].weight, b[1].weight, 0)
    local before = a[1].weight:clone()
    local sd = b:state_dict()
    sd["1.bias"] = lunet.zeros(3)
    T.errors(function() a:load_state_dict(sd, {strict = false}) end, "1.bias: checkpoint 3, model 2")
    T.close(a[1].weight, before, 0)
  end)

  it("names the file when model:load does not match", function()
    local path = os.tmpname()
    nn.Linear(3, 2):save(path)
    local ok, err = pcall(function() nn.Linear(4, 2):load(path) end)
    os.remove(path)
    T.truthy(not ok and err:find("load: " .. path .. ": the checkpoint does not match the model (Linear)", 1, true), err)
    T.truthy(err:find("weight: checkpoint 2x3, model 2x4", 1, true), err)
  end)
end)

describe("nn.init", function()
  it("computes fans and gains as PyTorch", function()
    local fi, fo = nn.init.fans(lunet.zeros(6, 2, 3, 3))
    T.eq(fi, 18); T.eq(fo, 54)
    T.near(nn.init.calculate_gain("relu"), math.sqrt(2))
    T.near(nn.init.calculate_gain("leaky_relu", math.sqrt(5)), math.sqrt(1 / 3))
    T.near(nn.init.calculate_gain("tanh"), 5 / 3)
    T.eq(nn.init.calculate_gain("conv2d"), 1)
    T.errors(function() nn.init.fans(lunet.zeros(3)) end, "at least 2 dimensions")
    T.errors(function() nn.init.calculate_gain("swish") end, "unknown nonlinearity 'swish'")
  end)

  it("draws within the documented bounds and with the documented spread", function()
    lunet.manual_seed(3)
    local w = lunet.empty(200, 300)
    local b = math.sqrt(6 / 500) * 2
    nn.init.xavier_uniform_(w, 2)
    T.truthy(w:abs():max():item() <= b and w:abs():max():item() > 0.95 * b, "xavier_uniform_ bound")
    nn.init.kaiming_normal_(w, 0, "fan_out", "relu")
    T.near(w:std():item(), math.sqrt(2 / 200), 0.05, "kaiming_normal_ std (fan_out)")
    nn.init.xavier_normal_(w)
    T.near(w:std():item(), math.sqrt(2 / 500), 0.05, "xavier_normal_ std")
    nn.init.kaiming_uniform_(w, 0, "fan_in", "relu")
    T.near(w:std():item(), math.sqrt(2 / 300), 0.05, "kaiming_uniform_ std")
    nn.init.normal_(w, 3, 0.5)
    T.near(w:mean():item(), 3, 0.01); T.near(w:std():item(), 0.5, 0.05)
    nn.init.uniform_(w, -2, -1)
    T.truthy(w:max():item() < -1 and w:min():item() >= -2, "uniform_ range")
    T.eq(nn.init.ones_(w):sum():item(), 60000)
    T.eq(nn.init.zeros_(w):abs():sum():item(), 0)
    T.eq(nn.init.constant_(w, 0.25):mean():item(), 0.25)
  end)

  it("initialises layers as PyTorch 1.13", function()
    lunet.manual_seed(4)
    local lin = nn.Linear(400, 30)
    local bound = 1 / math.sqrt(400)
    T.truthy(lin.weight:abs():max():item() <= bound and lin.weight:abs():max():item() > 0.97 * bound, "Linear weight bound")
    T.near(lin.weight:std():item(), bound / math.sqrt(3), 0.05, "Linear weight is uniform")
    T.truthy(lin.bias:abs():max():item() <= bound, "Linear bias bound")
    local conv = nn.Conv2d(8, 64, 3, {groups = 2})
    bound = 1 / math.sqrt(4 * 9)
    T.truthy(conv.weight:abs():max():item() <= bound and conv.weight:abs():max():item() > 0.97 * bound, "Conv2d weight bound")
    T.truthy(conv.bias:abs():max():item() <= bound, "Conv2d bias bound")
    local convt = nn.ConvTranspose2d(64, 8, 4, {groups = 2})
    bound = 1 / math.sqrt(4 * 16) -- fan_in of the stored weight (64, 4, 4, 4): 4 * 16
    T.truthy(convt.weight:abs():max():item() <= bound and convt.weight:abs():max():item() > 0.97 * bound, "ConvTranspose2d bound")
    local emb = nn.Embedding(300, 40, {padding_idx = 3})
    T.near(emb.weight:std():item(), 1, 0.05, "Embedding N(0, 1)")
    T.eq(emb.weight[3]:abs():sum():item(), 0, "padding row zero")
    local bn = nn.BatchNorm1d(5)
    T.values(bn.weight, {1, 1, 1, 1, 1}); T.values(bn.bias, {0, 0, 0, 0, 0})
    T.values(bn.running_var, {1, 1, 1, 1, 1}); T.eq(bn.num_batches_tracked:item(), 0)
    T.eq(bn.num_batches_tracked:dtype(), "int64")
  end)

  it("draws the same weights after the same seed", function()
    lunet.manual_seed(9)
    local a = keras_cnn()
    lunet.manual_seed(9)
    local b = keras_cnn()
    for i, p in ipairs(a:parameters()) do T.close(b:parameters()[i], p, 0) end
  end)
end)

describe("nn.F argument checks", function()
  it("rejects unknown options and bad values", function()
    T.errors(function() F.conv2d(lunet.zeros(1, 1, 3, 3), lunet.zeros(1, 1, 3, 3), nil, {strides = 2}) end,
             "conv2d: unknown option 'strides'")
    T.errors(function() F.cross_entropy(lunet.zeros(2, 3), lunet.tensor{1, 2}, {reduction = "avg"}) end,
             'cross_entropy: reduction must be "mean", "none", "sum", got avg')
    T.errors(function() F.softmax(lunet.zeros(2)) end, "softmax: dim is required")
    T.errors(function() F.dropout(lunet.zeros(2), 1.5) end, "dropout: p must be in [0, 1], got 1.5")
    T.errors(function() nn.Softmax() end, "Softmax: dim is required")
    T.errors(function() nn.Dropout(-0.1) end, "Dropout: p must be a probability in [0, 1], got -0.1")
    T.errors(function() nn.Linear(0, 3) end, "Linear: in_features must be a positive integer, got 0")
    T.errors(function() nn.Conv2d(3, 4, 3, {strid = 2}) end, "Conv2d: unknown option 'strid'")
    T.errors(function() nn.Conv2d(3, 4, 3, {groups = 2}) end, "in_channels (3) and out_channels (4) must be divisible by groups (2)")
    T.errors(function() nn.ConvTranspose2d(2, 2, 3, {output_padding = 2, stride = 2}) end, "output_padding {2, 2} must be smaller than stride")
    T.errors(function() nn.Sequential{nn.ReLU(), 3} end, "Sequential: element 2 is a number, not a module")
    T.errors(function() nn.ModuleList{nn.ReLU()}(lunet.zeros(1)) end, "ModuleList: it has no forward")
    T.errors(function() nn.Embedding(5, 2, {padding_idx = 6}) end, "padding_idx must be an integer in 1..5")
  end)
end)
