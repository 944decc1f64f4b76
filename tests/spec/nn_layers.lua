-- Layers: values against PyTorch 1.13 (literals from tests/fixtures/nn_reference.py),
-- gradcheck in float64 through every layer (contiguous and non-contiguous inputs),
-- behaviour (modes, running statistics, dropout seeding, padding rows), and the
-- error messages for bad shapes.
local nn, F = lunet.nn, lunet.nn.F

-- /usr/bin/python3 tests/fixtures/nn_reference.py layers
local REF = {
  conv2d = {0.23481425413789336, 0.25025045891103154, 0.26670178422342333, 0.6690869058129032, 0.4983138133105848, 0.2949816300473432, -0.0070994335565614936, -0.03846578371603764, -0.07530104034258848, -0.6326891160028966, -0.6076815528048742, -0.5111022120396397, -0.4300070544923199, -0.41286687974772396, -0.3910619433848268, -0.21455645771364587, -0.06975565288300539, 0.03327141861732569, -0.46188882474949033, -0.466874424589167, -0.4763382222972587, -1.061774506272834, -1.0411593520086975, -0.9472956247791254, -0.4874292923819319, -0.48440080014555026, -0.4681059561306548, -0.041881031030315374, 0.09551071959743856, 0.16768051829441444, -0.024208884424602006, -0.022368607899791407, -0.029828265426772027, 0.11294048313611608, -0.05036662566846371, -0.21918426816448433},
  conv1d = {0.40830134648761524, 1.4175043942531496, 1.8428435824573486, 0.23821412142388448, -0.29254877738385243, -0.9504205037942901, -0.8398625434529288, -1.3286410818051597, -1.1089228041557484},
  conv_transpose2d = {0.10082950803091362, -0.011410999292492674, 0.0075775361138673, -0.14348296291830992, -0.051814673593472915, -0.11911193323120672, 0.6052561148243762, 0.677394788386381, 0.5660372207412852, 0.5987386841488771, 0.48509319040639165, 0.5982100739543452, -0.0693086641286697, -0.2341862326387632, -0.0425367059408035, -0.18054127668500963, 0.02487774202233123, -0.025747143761274183, 0.22454046199856204, 0.23003302092024458, 0.22725893718014353, 0.2692344674032483, 0.23410432750915056, 0.4223684773334594, -0.21437617554338573, -0.24727270472798596, -0.09594917478559364, -0.06535804623296156, 0.024789026819609525, 0.04566676216613591, -0.31899160169288066, -0.4384398800163257, -0.3947653741684551, -0.5067418384367228, -0.427784575020309, -0.3161924312823483, 0.1314970800934681, 0.26861004933910726, 0.2097325506154727, 0.37546247139563277, 0.2489066344696535, 0.31492216178706134, -0.06201891302113023, 0.012451390019081951, -0.05575102350690113, -0.010685029141149174, -0.052612564342779514, -0.3133054932026522},
  max_pool2d = {0.6114631496204042, 0.7993853075371125, 0.7993853075371125, 0.5691786822326755, 0.6149643601534047, 0.7583803265504421, 0.7991530734718176, 0.7317642008953261, 0.7583803265504421},
  max_pool2d_indices = {1, 3, 3, 5, 18, 19, 20, 21, 19},
  avg_pool2d = {0.4728883996185141, 0.3809432199818689, 0.1936614365791909, -0.11139434311760328, -0.11133796607867762, -0.08341763714512562, 0.36379141492022704, 0.4553131481847103, 0.43288611711623964},
  adaptive_avg_pool2d = {0.1964539769850545, 0.11858751889008007, -0.02766945131278085, -0.13604058112439668, 0.07487232212296524, -0.024428005241695153, -0.13768002757601286, -0.18259015005064536, -0.06841968543897006, -0.16036026289377045, -0.2077682149825095, -0.17619496656749284},
  batch_norm2d_train = {0.5135573204413858, 0.6931828945765147, 0.8075864782060939, 0.841284082977332, 0.44083593734808507, 0.14669935556035144, -0.2849548309420312, -0.7957042529972957, -0.47279812737959687, -0.5623364850777142, -0.6279835972624124, -0.6608544352640178, -0.402928075242439, -0.3099160035661464, -0.14636119228145145, 0.06559998217456682, -0.6745755550826699, -0.17616179300297838, 0.22843210620999355, 0.4844462563335531, -0.10825942844559355, -0.13166447077348725, -0.18946770435028806, -0.27384573267860246},
  batch_norm2d_running_mean = {0.0058953334118743185, 0.04428159190136903, 0.0021348343312511705},
  batch_norm2d_running_var = {0.9427085787517979, 0.9074121464273365, 0.9432619557273171},
  batch_norm2d_eval = {0.4451382507784728, 0.5582335445559693, 0.6302639720832446, 0.6514805529044931, 0.25029078148462314, 0.1716489074364665, 0.05623961709604433, -0.08031698349852323, -0.43397397216460837, -0.4906962287534353, -0.5322834594932534, -0.5531070277979468, -0.1318964257519032, -0.0733344552656157, 0.02964241492687929, 0.16309674853136374, -0.04793138988373922, 0.08532708501628286, 0.19350139733463595, 0.2619506613676705, -0.2030398993373326, -0.21786691705940386, -0.25448507637009377, -0.30793828119025096},
  batch_norm1d_cumulative_var = {0.7504834967687523, 1.0680196995678195, 1.3051629521023986},
  layer_norm = {0.44488496125399873, 0.281544883512505, -0.15397390118660104, -0.6438436432106531, -0.799620703780866, -0.44856980102186705, 0.14518222381813517, 0.47808832352354524, 0.2574386677386232, -0.32711046910807556, -0.7767951456165137, -0.733466663392929, -0.5907583249513849, -0.7815209339044508, -0.6275934236906276, -0.4137761054376113, -0.3302505583243818, -0.27694112956730094, -0.03072540716287299, 0.4253957549020431, 0.7954774671016466, 0.734917226602012, 0.2271148042191423, -0.33178262844585743},
  gelu = {1.3279563758958643, 0.4765434720525537, -0.09592094550153993, -0.15092246485925576, -0.06632237129364035, -0.02785441239441437, -0.019677252684772415, -0.02865246122313054, -0.06900365691969561},
  gelu_tanh = {1.3277271170848874, 0.4765015572557237, -0.0959219242032698, -0.15110353067345042, -0.06639945644354527, -0.027554956244049137, -0.01928004812003366, -0.028362769284313447, -0.06909800267469408},
  elu = {1.4363331458494955, 0.6438385222310831, -0.1470410816553295, -0.4631179045354104, -0.5824938818515519, -0.6257859007548725, -0.6364930183022198, -0.6247989736105788, -0.579563354322876},
  leaky_relu = {1.4363331458494955, 0.6438385222310831, -0.04715932499765217, -0.21670356103748314, -0.3569179866932518, -0.4488252372280556, -0.4799860974384118, -0.4461830910770521, -0.35199129647791516},
}

-- the deterministic fills of nn_reference.py (i 0-based, row-major)
local fills = require "tests.fills"
local input_fill = fills.input_fill
local function fill_params(m) return fills.fill_params(m:double()) end
local function flat(t) return t:flatten() end

local function leaf(...) return lunet.randn(...):double():requires_grad_() end
-- the same values as a non-contiguous view
local function strided(t)
  local n = t:dim()
  local c = t:detach():transpose(1, n):contiguous():transpose(1, n)
  return c:requires_grad_()
end

-- gradcheck of a module through its input and every parameter
local function check_module(name, make, x, opts)
  it(name, function()
    lunet.manual_seed(5)
    local m = make():double()
    local inputs = {x}
    for _, p in ipairs(m:parameters()) do inputs[#inputs + 1] = p end
    T.truthy(lunet.gradcheck(function(input) return m(input) end, inputs, opts), name)
  end)
end

describe("layers against PyTorch", function()
  it("Conv2d with stride, padding, dilation and groups", function()
    local conv = fill_params(nn.Conv2d(4, 6, {3, 2}, {stride = {2, 1}, padding = {1, 0}, dilation = {1, 2}, groups = 2}))
    local y = conv(input_fill({1, 4, 4, 5}))
    T.shape(y, {1, 6, 2, 3})
    T.values(flat(y), REF.conv2d, 1e-10)
  end)

  it("Conv1d", function()
    local y = fill_params(nn.Conv1d(2, 3, 3, {stride = 2, padding = 1}))(input_fill({1, 2, 6}))
    T.shape(y, {1, 3, 3})
    T.values(flat(y), REF.conv1d, 1e-10)
  end)

  it("ConvTranspose2d with output_padding and groups", function()
    local convt = fill_params(nn.ConvTranspose2d(2, 2, 3, {stride = 2, padding = 1, output_padding = 1, groups = 2}))
    local y = convt(input_fill({1, 2, 2, 3}))
    T.shape(y, {1, 2, 4, 6})
    T.values(flat(y), REF.conv_transpose2d, 1e-10)
  end)

  it("max_pool2d with ceil_mode, padding and 1-based indices", function()
    local y, idx = F.max_pool2d(input_fill({1, 1, 5, 5}), 3, {stride = 2, padding = 1, ceil_mode = true, return_indices = true})
    T.shape(y, {1, 1, 3, 3})
    T.values(flat(y), REF.max_pool2d, 1e-12)
    local want = {}
    for i, v in ipairs(REF.max_pool2d_indices) do want[i] = v + 1 end
    T.values(flat(idx), want, 0, "int64")
    local m = nn.MaxPool2d(3, {stride = 2, padding = 1, ceil_mode = true, return_indices = true})
    local y2, idx2 = m(input_fill({1, 1, 5, 5}))
    T.close(y2, y, 0); T.close(idx2, idx, 0)
  end)

  it("avg_pool2d without counting padding, adaptive_avg_pool2d", function()
    local pool = nn.AvgPool2d(3, {stride = 2, padding = 1, ceil_mode = true, count_include_pad = false})
    T.values(flat(pool(input_fill({1, 1, 5, 5}))), REF.avg_pool2d, 1e-12)
    local y = nn.AdaptiveAvgPool2d({3, 4})(input_fill({1, 1, 5, 7}))
    T.shape(y, {1, 1, 3, 4})
    T.values(flat(y), REF.adaptive_avg_pool2d, 1e-12)
  end)

  it("BatchNorm2d in training and eval, with running statistics", function()
    local bn = fill_params(nn.BatchNorm2d(3))
    local x = input_fill({2, 3, 2, 2})
    T.values(flat(bn(x)), REF.batch_norm2d_train, 1e-10)
    T.values(bn.running_mean, REF.batch_norm2d_running_mean, 1e-10)
    T.values(bn.running_var, REF.batch_norm2d_running_var, 1e-10)
    T.eq(bn.num_batches_tracked:item(), 1)
    bn:eval()
    T.values(flat(bn(x)), REF.batch_norm2d_eval, 1e-10)
    T.eq(bn.num_batches_tracked:item(), 1, "eval does not count batches")
  end)

  it("BatchNorm1d with a cumulative average (momentum = false)", function()
    local bn = nn.BatchNorm1d(3, {momentum = false}):double()
    local x = input_fill({4, 3})
    bn(x); bn(x * 2)
    T.values(bn.running_var, REF.batch_norm1d_cumulative_var, 1e-10)
  end)

  it("LayerNorm over two dimensions", function()
    local ln = fill_params(nn.LayerNorm({3, 4}))
    T.values(flat(ln(input_fill({2, 3, 4}))), REF.layer_norm, 1e-10)
  end)

  it("GELU (exact and tanh), ELU, LeakyReLU", function()
    local x = input_fill({9}, 5) * 3
    T.values(nn.GELU()(x), REF.gelu, 1e-12)
    T.values(nn.GELU{approximate = "tanh"}(x), REF.gelu_tanh, 1e-12)
    T.values(nn.ELU(0.7)(x), REF.elu, 1e-12)
    T.values(nn.LeakyReLU(0.2)(x), REF.leaky_relu, 1e-12)
  end)
end)

describe("gradcheck through every layer", function()
  check_module("Linear", function() return nn.Linear(4, 3) end, leaf(2, 5, 4))
  check_module("Linear, non-contiguous input", function() return nn.Linear(3, 2) end, strided(leaf(4, 3)))
  check_module("Linear without bias, 1-d input", function() return nn.Linear(3, 2, {bias = false}) end, leaf(3))
  check_module("Conv2d stride, padding, dilation, groups", function()
    return nn.Conv2d(4, 6, 3, {stride = 2, padding = 1, dilation = {1, 2}, groups = 2})
  end, leaf(2, 4, 5, 6))
  check_module("Conv2d non-contiguous input", function() return nn.Conv2d(2, 3, 2) end, strided(leaf(2, 2, 4, 3)))
  check_module("Conv2d padding same (even kernel)", function() return nn.Conv2d(2, 2, {2, 3}, {padding = "same"}) end, leaf(1, 2, 4, 4))
  check_module("Conv2d unbatched", function() return nn.Conv2d(2, 2, 3, {padding = 1}) end, leaf(2, 3, 3))
  check_module("Conv1d stride, padding, dilation, groups", function()
    return nn.Conv1d(4, 2, 3, {stride = 2, padding = 2, dilation = 2, groups = 2})
  end, leaf(2, 4, 9))
  check_module("ConvTranspose2d stride, padding, output_padding, groups, dilation", function()
    return nn.ConvTranspose2d(4, 6, 3, {stride = 2, padding = 1, output_padding = 1, groups = 2, dilation = {1, 2}})
  end, leaf(2, 4, 3, 3))
  check_module("MaxPool2d padding, dilation, ceil_mode", function()
    return nn.MaxPool2d(3, {stride = 2, padding = 1, dilation = {1, 2}, ceil_mode = true})
  end, leaf(2, 2, 6, 7))
  check_module("MaxPool2d non-contiguous input", function() return nn.MaxPool2d(2) end, strided(leaf(2, 3, 4, 4)))
  check_module("AvgPool2d count_include_pad, ceil_mode", function()
    return nn.AvgPool2d({3, 2}, {stride = 2, padding = 1, ceil_mode = true})
  end, leaf(1, 2, 6, 5))
  check_module("AvgPool2d without padding in the count", function()
    return nn.AvgPool2d(3, {stride = 2, padding = 1, count_include_pad = false})
  end, leaf(1, 2, 5, 5))
  check_module("AdaptiveAvgPool2d", function() return nn.AdaptiveAvgPool2d({3, 2}) end, leaf(2, 2, 7, 5))
  check_module("BatchNorm1d training (N, C)", function() return nn.BatchNorm1d(3) end, leaf(4, 3))
  check_module("BatchNorm1d training (N, C, L)", function() return nn.BatchNorm1d(3) end, strided(leaf(2, 3, 4)))
  check_module("BatchNorm2d training", function() return nn.BatchNorm2d(2) end, leaf(3, 2, 2, 3))
  check_module("BatchNorm2d eval", function()
    local bn = nn.BatchNorm2d(2)
    lunet.no_grad(function() bn.running_mean:copy_(lunet.tensor{0.3, -0.2}); bn.running_var:copy_(lunet.tensor{0.5, 2}) end)
    return bn:eval()
  end, leaf(2, 2, 3, 3))
  check_module("BatchNorm2d without affine or running statistics", function()
    return nn.BatchNorm2d(2, {affine = false, track_running_stats = false}):eval()
  end, leaf(3, 2, 2, 2))
  check_module("LayerNorm", function() return nn.LayerNorm({3, 4}) end, strided(leaf(2, 3, 4)))
  check_module("LayerNorm without affine", function() return nn.LayerNorm(5, {elementwise_affine = false}) end, leaf(3, 5))
  check_module("Flatten, Unflatten, Identity in a Sequential", function()
    return nn.Sequential{nn.Flatten(), nn.Identity(), nn.Linear(12, 6), nn.Unflatten(2, {2, -1}), nn.Tanh()}
  end, leaf(2, 3, 4))
  for _, act in ipairs{"ReLU", "Sigmoid", "Tanh"} do
    check_module(act, function() return nn[act]() end, strided(leaf(3, 4)))
  end
  check_module("LeakyReLU", function() return nn.LeakyReLU(0.2) end, leaf(3, 4))
  check_module("ELU", function() return nn.ELU(0.7) end, leaf(3, 4))
  check_module("GELU exact", function() return nn.GELU() end, leaf(3, 4))
  check_module("GELU tanh", function() return nn.GELU{approximate = "tanh"} end, leaf(3, 4))
  check_module("Softmax", function() return nn.Softmax(1) end, strided(leaf(3, 4)))
  check_module("LogSoftmax", function() return nn.LogSoftmax(-1) end, leaf(3, 4))

  it("Dropout (the mask fixed by the seed)", function()
    local x = leaf(4, 5)
    T.truthy(lunet.gradcheck(function(input) lunet.manual_seed(11); return F.dropout(input, 0.3, true) end, {x}))
  end)

  it("Embedding with padding_idx (ids away from the padding row)", function()
    local emb = nn.Embedding(6, 3, {padding_idx = 2}):double()
    local ids = lunet.tensor{{1, 3, 6}, {4, 4, 5}}
    T.truthy(lunet.gradcheck(function() return emb(ids) end, {emb.weight}))
    T.truthy(lunet.gradcheck(function() return emb(ids:t()) end, {emb.weight}), "non-contiguous ids")
  end)
end)

describe("layer behaviour", function()
  it("Embedding gathers rows, gives the padding row no gradient", function()
    local emb = nn.Embedding(4, 2, {padding_idx = -1})
    T.eq(emb.padding_idx, 4, "-1 is the last row")
    lunet.no_grad(function() emb.weight:copy_(lunet.tensor{{1, 2}, {3, 4}, {5, 6}, {7, 8}}) end)
    local ids = lunet.tensor{{2, 4}, {2, 1}}
    local y = emb(ids)
    T.values(y, {{{3, 4}, {7, 8}}, {{3, 4}, {1, 2}}})
    y:sum():backward()
    T.values(emb.weight.grad, {{1, 1}, {2, 2}, {0, 0}, {0, 0}})
    local frozen = nn.Embedding.from_pretrained(lunet.tensor{{1.0, 0}, {0, 1}})
    T.eq(frozen.weight.requires_grad, false, "from_pretrained freezes")
    T.values(frozen(lunet.tensor{2}), {{0, 1}})
  end)

  it("Dropout is seeded, scales by 1 / (1 - p), and is the identity in eval", function()
    local d = nn.Dropout(0.25)
    local x = lunet.ones(1000)
    lunet.manual_seed(2)
    local a = d(x)
    lunet.manual_seed(2)
    local b = d(x)
    T.close(a, b, 0)
    local kept = a:gt(0):sum():item()
    T.truthy(kept > 680 and kept < 820, "about 3/4 kept, got " .. kept)
    T.near(a:max():item(), 1 / 0.75, 1e-6)
    T.eq(a:min():item(), 0)
    d:eval()
    T.truthy(d(x) == x, "eval returns the input itself")
    T.close(nn.Dropout(0)(x), x, 0)
    T.eq(nn.Dropout(1)(x):abs():sum():item(), 0)
  end)

  it("padding 'same' keeps the size, 'valid' pads nothing", function()
    T.shape(nn.Conv2d(1, 2, {4, 3}, {padding = "same", dilation = {1, 2}})(lunet.zeros(1, 1, 7, 6)), {1, 2, 7, 6})
    T.shape(nn.Conv1d(1, 2, 4, {padding = "same"})(lunet.zeros(1, 1, 9)), {1, 2, 9})
    T.shape(nn.Conv2d(1, 2, 3, {padding = "valid"})(lunet.zeros(1, 1, 7, 6)), {1, 2, 5, 4})
    T.errors(function() F.conv2d(lunet.zeros(1, 1, 5, 5), lunet.zeros(1, 1, 3, 3), nil, {padding = "same", stride = 2}) end,
             'conv2d: padding "same" needs stride 1')
  end)

  it("takes unbatched inputs for convolution and pooling", function()
    local conv = nn.Conv2d(2, 3, 3)
    local x = lunet.randn(2, 5, 5)
    T.shape(conv(x), {3, 3, 3})
    T.close(conv(x), conv(x:unsqueeze(1))[1], 1e-6)
    T.shape(nn.MaxPool2d(2)(x), {2, 2, 2})
    T.shape(nn.Conv1d(2, 4, 3)(lunet.zeros(2, 7)), {4, 5})
  end)

  it("F.pad pads and crops from the last dimension", function()
    local x = lunet.tensor{{1, 2}, {3, 4}}
    T.values(F.pad(x, {1, 0, 0, 1}, {value = 9}), {{9, 1, 2}, {9, 3, 4}, {9, 9, 9}})
    T.values(F.pad(x, {-1, 1}), {{2, 0}, {4, 0}})
    T.errors(function() F.pad(x, {1, 1, 1}) end, "pad: pad must be a table of an even length")
  end)

  it("Flatten and Unflatten", function()
    local x = lunet.zeros(2, 3, 4, 5)
    T.shape(nn.Flatten()(x), {2, 60})
    T.shape(nn.Flatten(1, 2)(x), {6, 4, 5})
    T.shape(nn.Unflatten(2, {3, 1})(lunet.zeros(2, 3)), {2, 3, 1})
    T.shape(nn.Unflatten(-1, {2, -1})(lunet.zeros(2, 6)), {2, 2, 3})
  end)

  it("Sequential runs children in order; append adds one", function()
    local seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seq:append(nn.Linear(3, 1))
    T.eq(#seq, 3)
    local x = lunet.randn(4, 2)
    T.close(seq(x), seq[3](seq[2](seq[1](x))), 1e-6)
    T.truthy(nn.Sequential{}(x) == x, "an empty Sequential returns its input")
    local list = nn.ModuleList{nn.Linear(1, 1)}
    list:append(nn.Linear(1, 2))
    T.eq(#list, 2)
    T.eq(#list:parameters(), 4)
  end)
end)

describe("layer errors name the layer and the shapes", function()
  it("Linear", function()
    T.errors(function() nn.Linear(784, 256)(lunet.zeros(32, 780)) end,
             "Linear(784->256): input has 780 features, expected 784 (input shape 32x780)")
    T.errors(function() nn.Linear(3, 2)(lunet.tensor(1.0)) end, "Linear(3->2): input must have at least 1 dimension")
    T.errors(function() nn.Linear(3, 2)("x") end, "Linear(3->2): input must be a tensor, got string")
  end)

  it("convolutions", function()
    T.errors(function() nn.Conv2d(1, 32, 3)(lunet.zeros(8, 3, 28, 28)) end,
             "Conv2d(1->32, 3x3): input has 3 channels, expected 1 (input shape 8x3x28x28)")
    T.errors(function() nn.Conv2d(1, 32, 3)(lunet.zeros(8, 784)) end,
             "Conv2d(1->32, 3x3): expected input of shape (N, 1, H, W) or (1, H, W), got 8x784")
    T.errors(function() nn.Conv2d(1, 4, 5)(lunet.zeros(1, 1, 3, 3)) end,
             "Conv2d(1->4, 5x5): input size 3 (padded 3) is smaller than the kernel 5 (with dilation 1) (input shape 1x1x3x3)")
    T.errors(function() nn.Conv2d(1, 4, 3)(lunet.zeros(1, 1, 5, 5, {dtype = "float64"})) end,
             "Conv2d(1->4, 3x3): input is float64 but weight is float32")
    T.errors(function() nn.Conv1d(2, 4, 3)(lunet.zeros(1, 3, 8)) end,
             "Conv1d(2->4, 3): input has 3 channels, expected 2 (input shape 1x3x8)")
    T.errors(function() nn.ConvTranspose2d(8, 4, 4)(lunet.zeros(1, 4, 5, 5)) end,
             "ConvTranspose2d(8->4, 4x4): input has 4 channels, expected 8 (input shape 1x4x5x5)")
    T.errors(function() F.conv2d(lunet.zeros(1, 8, 5, 5), lunet.zeros(6, 2, 3, 3), nil, {groups = 4}) end,
             "conv2d: out_channels (6) must be divisible by groups (4)")
    T.errors(function() F.conv2d(lunet.zeros(1, 4, 5, 5), lunet.zeros(6, 2, 3, 3), nil, {groups = 3}) end,
             "conv2d: input has 4 channels, but weight 6x2x3x3 with groups=3 expects 6")
  end)

  it("pooling", function()
    T.errors(function() nn.MaxPool2d(2)(lunet.zeros(4)) end,
             "MaxPool2d(2): expected input of shape (N, C, H, W) or (C, H, W), got 4")
    T.errors(function() nn.MaxPool2d(3, {padding = 2})(lunet.zeros(1, 1, 5, 5)) end,
             "MaxPool2d(3): padding {2, 2} must be at most half the kernel size {3, 3} (input shape 1x1x5x5)")
    T.errors(function() nn.AvgPool2d(4)(lunet.zeros(1, 1, 3, 8)) end,
             "AvgPool2d(4): input size 3 (padded 3) is smaller than the window 4")
  end)

  it("normalisation", function()
    T.errors(function() nn.BatchNorm2d(16)(lunet.zeros(8, 3, 4, 4)) end,
             "BatchNorm2d(16): input has 3 channels, expected 16 (input shape 8x3x4x4)")
    T.errors(function() nn.BatchNorm2d(3)(lunet.zeros(8, 3)) end,
             "BatchNorm2d(3): expected input of shape (N, 3, H, W), got 8x3")
    T.errors(function() nn.BatchNorm1d(4)(lunet.zeros(1, 4)) end,
             "BatchNorm1d(4): expected more than 1 value per channel when training, got input of shape 1x4")
    T.errors(function() nn.LayerNorm(256)(lunet.zeros(4, 255)) end,
             "LayerNorm({256}): input of shape 4x255 does not end with 256")
  end)

  it("Embedding, Flatten, Unflatten", function()
    T.errors(function() nn.Embedding(10, 3)(lunet.tensor{0, 1}) end,
             "Embedding(10, 3): index 0 is out of range (indices are 1-based: 1..10)")
    T.errors(function() nn.Embedding(10, 3)(lunet.tensor{3, 11}) end, "Embedding(10, 3): index 11 is out of range")
    T.errors(function() nn.Embedding(10, 3)(lunet.tensor{1.0}) end, "Embedding(10, 3): indices must be int64")
    T.errors(function() nn.Flatten(3)(lunet.zeros(2, 3)) end, "Flatten(start_dim=3, end_dim=-1): cannot flatten an input of shape 2x3")
    T.errors(function() nn.Unflatten(2, {4, 4})(lunet.zeros(2, 15)) end,
             "Unflatten(dim=2, sizes={4, 4}): dimension 2 of the input (shape 2x15) has size 15, which does not split into {4, 4}")
  end)
end)
