-- nn.F losses. Class targets are 1-based int64. Cross entropy, NLL and the
-- binary cross entropies run fused C kernels; the rest are tensor ops.
-- reduction is "mean" (the default), "sum" or "none" (one loss per element).
local args = require "lunet.nn.args"
local kernel = require "lunet.nn.kernels"

local fmt, S = string.format, args.shape_str

return function(F)
  local function same_shape(fname, input, target)
    if S(input) ~= S(target) then
      error(fmt("%s: input %s and target %s must have the same shape", fname, S(input), S(target)), 3)
    end
  end

  --- mse_loss(input, target [, {reduction}]): (input - target)^2
  function F.mse_loss(input, target, opts)
    local o = args.opts("mse_loss", opts, args.set("reduction"))
    args.float("mse_loss", "input", input)
    args.tensor("mse_loss", "target", target)
    same_shape("mse_loss", input, target)
    local d = input - target
    return args.reduce(d * d, args.reduction("mse_loss", o.reduction))
  end

  --- l1_loss(input, target [, {reduction}]): |input - target|
  function F.l1_loss(input, target, opts)
    local o = args.opts("l1_loss", opts, args.set("reduction"))
    args.float("l1_loss", "input", input)
    args.tensor("l1_loss", "target", target)
    same_shape("l1_loss", input, target)
    return args.reduce((input - target):abs(), args.reduction("l1_loss", o.reduction))
  end

  -- class-index targets: shape of input without dim 2 (0-d for a 1-d input),
  -- and every value a class in 1..C or the ignore_index
  local function check_class_targets(fname, input, target, ignore_index)
    args.int64(fname, "target", target, 3)
    local want = input:shape()
    table.remove(want, input:dim() == 1 and 1 or 2)
    if S(target) ~= S(want) then
      error(fmt("%s: input %s needs a target of shape %s (class indices), got %s", fname, S(input), S(want), S(target)), 3)
    end
    -- the kernel checks each class is in 1..C (or ignore_index) as it converts them
  end

  local function class_weight(fname, w, input)
    if w == nil then return nil end
    args.float(fname, "weight", w, 3)
    local C = input:size(input:dim() == 1 and 1 or 2)
    if w:dim() ~= 1 or w:size(1) ~= C then
      error(fmt("%s: weight must have shape %d (one per class), got %s", fname, C, S(w)), 3)
    end
    args.same_dtype(fname, 3, "input", input, "weight", w)
    return w
  end

  local function check_ignore(fname, v)
    if v ~= nil then args.int(fname, "ignore_index", v, nil, 3) end
    return v
  end

  -- cross entropy against class probabilities (target of input's shape)
  local function soft_cross_entropy(input, target, w, e, reduction)
    local cdim = input:dim() == 1 and 1 or 2
    local C = input:size(cdim)
    local t = e > 0 and target * (1 - e) + e / C or target
    local terms = t * input:log_softmax(cdim)
    if w ~= nil then
      local shape = {}
      for d = 1, input:dim() do shape[d] = d == cdim and C or 1 end
      terms = terms * w:view(shape)
    end
    return args.reduce(-terms:sum(cdim), reduction) -- mean: over positions, as PyTorch
  end

  --- cross_entropy(input, target [, {weight, ignore_index, label_smoothing = 0, reduction}])
  -- input: logits (C) or (N, C, d1, ...); target: 1-based int64 classes of
  -- shape () or (N, d1, ...), or class probabilities of input's shape
  function F.cross_entropy(input, target, opts)
    local fname = "cross_entropy"
    local o = args.opts(fname, opts, args.set("weight", "ignore_index", "label_smoothing", "reduction"))
    args.float(fname, "input", input)
    args.tensor(fname, "target", target)
    if input:dim() == 0 then error(fname .. ": input must have a class dimension, got a 0-dim tensor", 2) end
    local reduction = args.reduction(fname, o.reduction)
    local e = o.label_smoothing == nil and 0 or args.number(fname, "label_smoothing", o.label_smoothing, 0, 1)
    local w = class_weight(fname, o.weight, input)
    if target:dtype() ~= "int64" and S(target) == S(input) then
      if o.ignore_index ~= nil then error(fname .. ": ignore_index needs class-index targets, not probabilities", 2) end
      return soft_cross_entropy(input, target, w, e, reduction)
    end
    local ignore = check_ignore(fname, o.ignore_index)
    check_class_targets(fname, input, target, ignore)
    return kernel(fname, "cross_entropy")(input, target, w, ignore, e, reduction)
  end

  --- nll_loss(input, target [, {weight, ignore_index, reduction}]): input are
  -- log-probabilities (C) or (N, C, d1, ...), target 1-based int64 classes
  function F.nll_loss(input, target, opts)
    local fname = "nll_loss"
    local o = args.opts(fname, opts, args.set("weight", "ignore_index", "reduction"))
    args.float(fname, "input", input)
    if input:dim() == 0 then error(fname .. ": input must have a class dimension, got a 0-dim tensor", 2) end
    local reduction = args.reduction(fname, o.reduction)
    local w = class_weight(fname, o.weight, input)
    local ignore = check_ignore(fname, o.ignore_index)
    check_class_targets(fname, input, target, ignore)
    return kernel(fname, "nll_loss")(input, target, w, ignore, reduction)
  end

  local function bce_args(fname, input, target, w)
    args.float(fname, "input", input, 3)
    args.float(fname, "target", target, 3)
    if S(input) ~= S(target) then
      error(fmt("%s: input %s and target %s must have the same shape", fname, S(input), S(target)), 3)
    end
    if w ~= nil then args.float(fname, "weight", w, 3) end
    args.same_dtype(fname, 3, "input", input, "target", target, "weight", w)
  end

  --- binary_cross_entropy(input, target [, {weight, reduction}]): input are
  -- probabilities in [0, 1]; log terms are clamped at -100 (as PyTorch)
  function F.binary_cross_entropy(input, target, opts)
    local fname = "binary_cross_entropy"
    local o = args.opts(fname, opts, args.set("weight", "reduction"))
    bce_args(fname, input, target, o.weight)
    if input:numel() > 0 then
      local lo, hi = input:min():item(), input:max():item()
      if not (lo >= 0 and hi <= 1) then
        error(fmt("%s: input must be probabilities in [0, 1] (for logits use binary_cross_entropy_with_logits), got a value of %g",
                  fname, (lo < 0 or lo ~= lo) and lo or hi), 2)
      end
    end
    return kernel(fname, "binary_cross_entropy")(input, target, o.weight, args.reduction(fname, o.reduction))
  end

  --- binary_cross_entropy_with_logits(input, target [, {weight, pos_weight, reduction}]):
  -- sigmoid and BCE in one, stable for any logit
  function F.binary_cross_entropy_with_logits(input, target, opts)
    local fname = "binary_cross_entropy_with_logits"
    local o = args.opts(fname, opts, args.set("weight", "pos_weight", "reduction"))
    bce_args(fname, input, target, o.weight)
    if o.pos_weight ~= nil then
      args.float(fname, "pos_weight", o.pos_weight)
      args.same_dtype(fname, 2, "input", input, "pos_weight", o.pos_weight)
    end
    return kernel(fname, "binary_cross_entropy_with_logits")(input, target, o.weight, o.pos_weight,
                                                              args.reduction(fname, o.reduction))
  end

  local KL_REDUCTIONS = {mean = true, batchmean = true, sum = true, none = true}

  local function kl_reduce(loss, reduction, batch)
    if reduction == "batchmean" then return loss:sum() / batch end
    return args.reduce(loss, reduction)
  end

  --- kl_div(input, target [, {reduction = "mean", log_target = false}]):
  -- input are log-probabilities; pointwise target (log target - input), 0
  -- where target is 0. "batchmean" divides the sum by the batch size (the
  -- true KL divergence); "mean" divides by the number of elements.
  function F.kl_div(input, target, opts)
    local fname = "kl_div"
    local o = args.opts(fname, opts, args.set("reduction", "log_target"))
    args.float(fname, "input", input)
    args.float(fname, "target", target)
    same_shape(fname, input, target)
    local reduction = args.reduction(fname, o.reduction, KL_REDUCTIONS)
    local loss
    if o.log_target then
      loss = target:exp() * (target - input)
    else
      -- log of 1 where target is 0: 0 * log 0 counts as 0, and no NaN gradient
      local safe = target:masked_fill(target:le(0), 1)
      loss = target * (safe:log() - input)
    end
    return kl_reduce(loss, reduction, input:dim() > 0 and input:size(1) or 1)
  end

  --- gaussian_kl(mu, logvar [, {reduction = "sum"}]): KL(N(mu, exp(logvar)) || N(0, 1))
  -- = -0.5 * sum(1 + logvar - mu^2 - exp(logvar)), the VAE's regulariser;
  -- "batchmean" divides the sum by mu's first dimension
  function F.gaussian_kl(mu, logvar, opts)
    local fname = "gaussian_kl"
    local o = args.opts(fname, opts, args.set("reduction"))
    args.float(fname, "mu", mu)
    args.float(fname, "logvar", logvar)
    if S(mu) ~= S(logvar) then error(fmt("%s: mu %s and logvar %s must have the same shape", fname, S(mu), S(logvar)), 2) end
    local reduction = args.reduction(fname, o.reduction or "sum", KL_REDUCTIONS)
    local terms = (logvar - mu * mu - logvar:exp() + 1) * -0.5
    return kl_reduce(terms, reduction, mu:dim() > 0 and mu:size(1) or 1)
  end
end
