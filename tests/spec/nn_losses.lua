-- Losses and metrics: values against PyTorch 1.13 (literals from
-- tests/fixtures/nn_reference.py), gradcheck in float64 through every loss with
-- each option, the module forms, argument errors, and nn.metrics.
local nn, F = lunet.nn, lunet.nn.F

-- /usr/bin/python3 tests/fixtures/nn_reference.py losses
local REF = {
  ce_mean = 1.3332751657026258,
  ce_none = {1.83286596349453, 0.5957107241868786, 1.0143370370040523, 1.8901869381250425},
  ce_weight_ignore_smooth = 1.1928806225268842,
  ce_sum_smooth = 5.7902304120042665,
  ce_spatial = 1.7322731450338194,
  ce_soft = 1.5411691948039787,
  nll_weight = 1.2940286928061293,
  bce = 0.37558044348722924,
  bce_weight_sum = 1.392558975414671,
  bce_logits = 0.9428425315129849,
  bce_logits_none = {2.594853610442565e-06, 8.516778637228717e-10, 5.247860103048554e-11, 1.92254778391553e-11, 1.0580333412405112e-10, 3.496988127293974e-09, 2.4263916292716017, 0.6999175756145946, 0.0002566433598018142, 5.983661970981337e-08, 7.175315059863124e-11, 1.8474337698385345e-11},
  kl_batchmean = 0.0034805791075306534,
  kl_mean = 0.0008701447768826633,
  kl_log_target_sum = 0.014831624440842281,
}

local fills = require "tests.fills"
local input_fill, param_fill = fills.input_fill, fills.param_fill

local function leaf(...) return lunet.randn(...):double():requires_grad_() end
local function strided(t)
  local n = t:dim()
  return t:detach():transpose(1, n):contiguous():transpose(1, n):requires_grad_()
end

local function check(name, fn, inputs)
  it(name, function()
    lunet.manual_seed(13)
    T.truthy(lunet.gradcheck(fn, inputs), name)
  end)
end

-- the fixture's inputs
local logits = input_fill({4, 5}) * 3
local target = lunet.tensor{2, 1, 5, 3} -- PyTorch's {1, 0, 4, 2}, 1-based
local w = param_fill({5}, 1):abs() + 0.5

describe("losses against PyTorch", function()
  it("cross_entropy: mean, none, weight + ignore_index + label_smoothing, sum", function()
    T.near(F.cross_entropy(logits, target):item(), REF.ce_mean, 1e-10)
    T.values(F.cross_entropy(logits, target, {reduction = "none"}), REF.ce_none, 1e-10)
    T.near(F.cross_entropy(logits, target, {weight = w, ignore_index = 3, label_smoothing = 0.1}):item(),
           REF.ce_weight_ignore_smooth, 1e-10)
    T.near(F.cross_entropy(logits, target, {label_smoothing = 0.2, reduction = "sum"}):item(), REF.ce_sum_smooth, 1e-10)
  end)

  it("cross_entropy over (N, C, d) and with probability targets", function()
    local x3 = input_fill({2, 3, 4}, 2) * 2
    local t3 = lunet.tensor{{1, 3, 2, 2}, {3, 1, 1, 2}}
    T.near(F.cross_entropy(x3, t3):item(), REF.ce_spatial, 1e-10)
    local probs = input_fill({4, 5}, 3):softmax(2)
    T.near(F.cross_entropy(logits, probs, {weight = w, label_smoothing = 0.1}):item(), REF.ce_soft, 1e-10)
  end)

  it("nll_loss with class weights", function()
    T.near(F.nll_loss(logits:log_softmax(2), target, {weight = w}):item(), REF.nll_weight, 1e-10)
  end)

  it("binary_cross_entropy and binary_cross_entropy_with_logits", function()
    local p = (input_fill({3, 4}) * 2):sigmoid()
    local y = input_fill({3, 4}, 2):gt(0):double()
    local wb = param_fill({3, 4}, 2):abs()
    T.near(F.binary_cross_entropy(p, y):item(), REF.bce, 1e-10)
    T.near(F.binary_cross_entropy(p, y, {weight = wb, reduction = "sum"}):item(), REF.bce_weight_sum, 1e-10)
    local z = input_fill({3, 4}) * 30 -- logits up to +-24: the stable form matters
    local pw = param_fill({4}, 3):abs() + 0.5
    T.near(F.binary_cross_entropy_with_logits(z, y, {pos_weight = pw}):item(), REF.bce_logits, 1e-10)
    T.values(F.binary_cross_entropy_with_logits(z, y, {weight = wb, reduction = "none"}):flatten(), REF.bce_logits_none, 1e-9)
  end)

  it("kl_div: batchmean, mean, log_target, and 0 log 0 = 0", function()
    local q = input_fill({3, 4}, 4):softmax(2)
    q[{1, 2}] = 0
    local lp = input_fill({3, 4}, 5):log_softmax(2)
    T.near(F.kl_div(lp, q, {reduction = "batchmean"}):item(), REF.kl_batchmean, 1e-10)
    T.near(F.kl_div(lp, q):item(), REF.kl_mean, 1e-10)
    T.near(F.kl_div(lp, input_fill({3, 4}, 4):log_softmax(2), {reduction = "sum", log_target = true}):item(),
           REF.kl_log_target_sum, 1e-10)
  end)
end)

describe("losses by their formulas", function()
  it("mse_loss and l1_loss with each reduction", function()
    local a, b = lunet.tensor{{1.0, 2}, {3, 4}}, lunet.tensor{{0.0, 4}, {3, 1}}
    T.near(F.mse_loss(a, b):item(), (1 + 4 + 0 + 9) / 4)
    T.near(F.mse_loss(a, b, {reduction = "sum"}):item(), 14)
    T.values(F.l1_loss(a, b, {reduction = "none"}), {{1, 2}, {0, 3}})
    T.near(F.l1_loss(a, b):item(), 1.5)
  end)

  it("gaussian_kl is the closed form KL(N(mu, e^logvar) || N(0, 1))", function()
    local mu, logvar = lunet.tensor{{0.5, -1.0}, {0.0, 2.0}}, lunet.tensor{{0.0, 0.3}, {-1.0, 0.1}}
    local want, per_row = 0, {0, 0}
    for i = 1, 2 do
      for j = 1, 2 do
        local m, lv = mu[i][j], logvar[i][j]
        local v = -0.5 * (1 + lv - m * m - math.exp(lv))
        want = want + v
        per_row[i] = per_row[i] + v
      end
    end
    T.near(F.gaussian_kl(mu, logvar):item(), want, 1e-6, "sum")
    T.near(F.gaussian_kl(mu, logvar, {reduction = "batchmean"}):item(), want / 2, 1e-6, "batchmean")
    T.near(F.gaussian_kl(mu, logvar, {reduction = "mean"}):item(), want / 4, 1e-6, "mean")
    T.near(F.gaussian_kl(lunet.zeros(3), lunet.zeros(3)):item(), 0, 1e-12, "N(0, 1) against itself")
    T.near(nn.GaussianKLLoss{reduction = "batchmean"}(mu, logvar):item(), want / 2, 1e-6, "module")
  end)

  it("ignore_index: ignored positions count for nothing; all ignored gives NaN", function()
    local full = F.cross_entropy(logits, target, {reduction = "none"})
    local got = F.cross_entropy(logits, target, {ignore_index = 1}):item()
    T.near(got, (full[1] + full[3] + full[4]) / 3, 1e-10)
    local none = F.cross_entropy(logits, target, {ignore_index = 1, reduction = "none"})
    T.eq(none[2], 0)
    local nan = F.cross_entropy(logits, lunet.tensor{-100, -100, -100, -100}, {ignore_index = -100}):item()
    T.truthy(nan ~= nan, "NaN when every target is ignored")
  end)

  it("a 1-d input takes a 0-dim target", function()
    local l = F.cross_entropy(logits[1], lunet.tensor(2))
    T.near(l:item(), REF.ce_none[1], 1e-10)
  end)

  it("binary_cross_entropy_with_logits stays finite at huge logits", function()
    local z = lunet.tensor{-1000.0, 1000, 0}
    local l = F.binary_cross_entropy_with_logits(z, lunet.tensor{1.0, 0, 1}, {reduction = "none"})
    T.values(l, {1000, 1000, math.log(2)}, 1e-6)
    T.near(F.binary_cross_entropy(lunet.tensor{0.0, 1}, lunet.tensor{1.0, 0}, {reduction = "sum"}):item(), 200, 1e-6,
           "log clamped at -100")
  end)
end)

describe("gradcheck through every loss", function()
  local x, t = leaf(4, 5), lunet.tensor{2, 1, 5, 3}
  local cw = lunet.rand(5):double() + 0.5 -- class weights are constants (as PyTorch)
  check("cross_entropy mean", function(a) return F.cross_entropy(a, t) end, {x})
  check("cross_entropy non-contiguous input", function(a) return F.cross_entropy(a, t) end, {strided(leaf(4, 5))})
  check("cross_entropy weight, ignore_index, label_smoothing", function(a)
    return F.cross_entropy(a, t, {weight = cw, ignore_index = 5, label_smoothing = 0.15})
  end, {x})
  check("cross_entropy sum and none", function(a)
    return F.cross_entropy(a, t, {reduction = "sum"}) + F.cross_entropy(a, t, {reduction = "none", label_smoothing = 0.3})
  end, {x})
  check("cross_entropy (N, C, d1, d2)", function(a)
    return F.cross_entropy(a, lunet.tensor{{{1, 3}, {2, 2}}, {{3, 1}, {1, 2}}}, {label_smoothing = 0.1})
  end, {leaf(2, 3, 2, 2)})
  check("cross_entropy with probability targets", function(a, p)
    return F.cross_entropy(a, p, {label_smoothing = 0.1})
  end, {x, leaf(4, 5):softmax(2):detach():requires_grad_()})
  check("nll_loss weight, ignore_index", function(a)
    return F.nll_loss(a:log_softmax(2), t, {weight = cw, ignore_index = 1, reduction = "mean"})
  end, {x})
  check("nll_loss sum", function(a) return F.nll_loss(a, t, {reduction = "sum"}) end, {strided(leaf(4, 5))})
  local y = lunet.rand(3, 4):gt(0.5):double()
  local bw = lunet.rand(3, 4):double()
  check("binary_cross_entropy with weight", function(a)
    return F.binary_cross_entropy(a:sigmoid(), y, {weight = bw})
  end, {leaf(3, 4)})
  check("binary_cross_entropy none", function(a)
    return F.binary_cross_entropy(a:sigmoid(), y, {reduction = "none"})
  end, {strided(leaf(3, 4))})
  check("binary_cross_entropy_with_logits weight, pos_weight", function(a)
    return F.binary_cross_entropy_with_logits(a, y, {weight = bw, pos_weight = lunet.tensor{0.5, 1, 2, 3}:double()})
  end, {leaf(3, 4)})
  check("binary_cross_entropy_with_logits sum, non-contiguous", function(a)
    return F.binary_cross_entropy_with_logits(a * 5, y, {reduction = "sum"})
  end, {strided(leaf(3, 4))})
  check("mse_loss (input and target)", function(a, b) return F.mse_loss(a, b) end, {leaf(3, 4), strided(leaf(3, 4))})
  check("l1_loss sum", function(a) return F.l1_loss(a, lunet.zeros(3, 4):double(), {reduction = "sum"}) end, {leaf(3, 4)})
  check("kl_div batchmean (input and target)", function(a, p)
    return F.kl_div(a:log_softmax(2), p, {reduction = "batchmean"})
  end, {leaf(3, 4), (lunet.rand(3, 4):double() + 0.1):requires_grad_()})
  check("kl_div log_target, none", function(a, b)
    return F.kl_div(a, b, {log_target = true, reduction = "none"})
  end, {leaf(3, 4), leaf(3, 4)})
  check("gaussian_kl", function(mu, lv) return F.gaussian_kl(mu, lv, {reduction = "batchmean"}) end, {leaf(3, 4), leaf(3, 4)})

  it("kl_div gives no NaN gradient where the target is 0", function()
    local p = lunet.tensor{{0.0, 0.5, 0.5}}:double():requires_grad_()
    local a = leaf(1, 3)
    F.kl_div(a:log_softmax(2), p, {reduction = "sum"}):backward()
    T.truthy(p.grad[1][1] == p.grad[1][1] and a.grad:sum():item() == a.grad:sum():item(), "finite gradients")
  end)
end)

describe("loss modules and argument errors", function()
  it("modules hold the options and class weights (as buffers)", function()
    local ce = nn.CrossEntropyLoss{weight = w, ignore_index = 3, label_smoothing = 0.1}
    T.near(ce(logits, target):item(), REF.ce_weight_ignore_smooth, 1e-10)
    T.truthy(ce:state_dict().weight ~= nil, "weight is in state_dict")
    T.near(nn.NLLLoss{weight = w}(logits:log_softmax(2), target):item(), REF.nll_weight, 1e-10)
    local p, y = (input_fill({3, 4}) * 2):sigmoid(), input_fill({3, 4}, 2):gt(0):double()
    T.near(nn.BCELoss()(p, y):item(), REF.bce, 1e-10)
    T.near(nn.BCEWithLogitsLoss{pos_weight = param_fill({4}, 3):abs() + 0.5}(input_fill({3, 4}) * 30, y):item(), REF.bce_logits, 1e-10)
    T.near(nn.MSELoss{reduction = "sum"}(lunet.tensor{1.0, 2}, lunet.tensor{0.0, 0}):item(), 5)
    T.near(nn.L1Loss()(lunet.tensor{1.0, -3}, lunet.tensor{0.0, 0}):item(), 2)
    local q = input_fill({3, 4}, 4):softmax(2)
    q[{1, 2}] = 0
    T.near(nn.KLDivLoss{reduction = "batchmean"}(input_fill({3, 4}, 5):log_softmax(2), q):item(), REF.kl_batchmean, 1e-10)
    T.errors(function() nn.CrossEntropyLoss{smoothing = 0.1} end, "CrossEntropyLoss: unknown option 'smoothing'")
  end)

  it("checks targets, shapes and options", function()
    T.errors(function() F.cross_entropy(logits, lunet.tensor{0, 1, 2, 3}) end,
             "cross_entropy: target 0 is out of range for 5 classes (class targets are 1-based: 1..5)")
    T.errors(function() F.cross_entropy(logits, lunet.tensor{1, 2, 6, 1}) end, "cross_entropy: target 6 is out of range for 5 classes")
    T.errors(function() F.cross_entropy(logits, lunet.tensor{1, 2, 3}) end,
             "cross_entropy: input 4x5 needs a target of shape 4 (class indices), got 3")
    T.errors(function() F.cross_entropy(logits, target:double()) end,
             "cross_entropy: target must be an int64 tensor (class indices), got float64")
    T.errors(function() F.cross_entropy(logits, target, {weight = lunet.ones(4):double()}) end,
             "cross_entropy: weight must have shape 5 (one per class), got 4")
    T.errors(function() F.cross_entropy(logits, target, {label_smoothing = 1.5}) end,
             "cross_entropy: label_smoothing must be in [0, 1], got 1.5")
    T.errors(function() F.nll_loss(logits, target:double()) end, "nll_loss: target must be an int64 tensor (class indices), got float64")
    T.errors(function() F.mse_loss(lunet.zeros(4, 1), lunet.zeros(4)) end, "mse_loss: input 4x1 and target 4 must have the same shape")
    T.errors(function() F.binary_cross_entropy(lunet.tensor{0.5, 1.5}, lunet.tensor{1.0, 0}) end,
             "binary_cross_entropy: input must be probabilities in [0, 1] (for logits use binary_cross_entropy_with_logits), got a value of 1.5")
    T.errors(function() F.binary_cross_entropy(lunet.tensor{0.5}, lunet.tensor{1.0}:double()) end,
             "binary_cross_entropy: input is float32 but target is float64")
    T.errors(function() F.kl_div(lunet.zeros(2), lunet.zeros(2), {reduction = "batch"}) end,
             'kl_div: reduction must be "batchmean", "mean", "none", "sum", got batch')
    T.errors(function() F.gaussian_kl(lunet.zeros(2, 3), lunet.zeros(3)) end, "gaussian_kl: mu 2x3 and logvar 3 must have the same shape")
  end)
end)

describe("nn.metrics", function()
  local scores = lunet.tensor{{0.1, 0.7, 0.2}, {0.5, 0.3, 0.2}, {0.2, 0.3, 0.5}, {0.6, 0.3, 0.1}}
  local labels = lunet.tensor{2, 1, 2, 3}

  it("accuracy from scores or predicted classes", function()
    T.near(nn.metrics.accuracy(scores, labels), 0.5)
    T.near(nn.metrics.accuracy(lunet.tensor{2, 1, 3, 3}, labels), 0.75)
    T.near(nn.metrics.accuracy(lunet.zeros(2, 3, 4):double(), lunet.ones(2, 4, {dtype = "int64"})), 1, 1e-12,
           "classes along dimension 2 of (N, C, d)")
    T.errors(function() nn.metrics.accuracy(scores, labels:double()) end, "accuracy: target must be an int64 tensor")
    T.errors(function() nn.metrics.accuracy(lunet.tensor{1, 2}, labels) end, "accuracy: prediction 2 must be scores")
  end)

  it("top_k_accuracy", function()
    T.near(nn.metrics.top_k_accuracy(scores, labels, 1), 0.5)
    T.near(nn.metrics.top_k_accuracy(scores, labels, 2), 0.75)
    T.near(nn.metrics.top_k_accuracy(scores, labels, 3), 1)
    T.errors(function() nn.metrics.top_k_accuracy(scores, lunet.tensor{1, 2, 3, 4}, 1) end, "target 4 is out of range for 3 classes")
  end)

  it("confusion_matrix: rows are true classes, columns predictions", function()
    local cm = nn.metrics.confusion_matrix(scores, labels, 3)
    T.values(cm, {{1, 0, 0}, {0, 1, 1}, {1, 0, 0}}, 0, "int64")
    T.eq(cm:sum():item(), 4)
    T.errors(function() nn.metrics.confusion_matrix(lunet.tensor{1, 4}, lunet.tensor{1, 2}, 3) end,
             "confusion_matrix: class 4 is out of range for 3 classes")
  end)
end)

describe("class ids out of range", function()
  it("point at the line that called nn.F, not inside the library", function()
    local ok, err = pcall(function() local l = F.cross_entropy(lunet.randn(2, 3), lunet.tensor{0, 1}) return l end)
    T.truthy(not ok and err:find("nn_losses%.lua:%d+: cross_entropy: target 0 is out of range"), err)
    ok, err = pcall(function() local y = F.embedding(lunet.tensor{11}, lunet.randn(10, 3)) return y end)
    T.truthy(not ok and err:find("nn_losses%.lua:%d+: embedding: index 11 is out of range"), err)
  end)
end)
