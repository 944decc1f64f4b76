-- lunet.nn.metrics: accuracy, top-k accuracy and the confusion matrix, with
-- 1-based classes. Scores (logits or probabilities) have the classes along
-- dimension 2, as the losses' inputs: (N, C) or (N, C, d1, ...).
local core = require "lunet.core"
local args = require "lunet.nn.args"

local metrics = {}
local fmt, S = string.format, args.shape_str

-- predicted classes from scores (one more dimension than target) or as given
local function predictions(fname, pred, target)
  args.tensor(fname, "prediction", pred, 3)
  args.int64(fname, "target", target, 3)
  if pred:dim() == target:dim() + 1 then
    return pred:argmax(pred:dim() == 1 and 1 or 2)
  end
  if S(pred) ~= S(target) then
    error(fmt("%s: prediction %s must be scores with classes along dimension 2 or class indices of target's shape %s",
              fname, S(pred), S(target)), 3)
  end
  return pred:long()
end

--- accuracy(scores_or_pred, target) -> the fraction of positions predicted right
function metrics.accuracy(pred, target)
  local p = predictions("accuracy", pred, target)
  if p:numel() == 0 then return 0 / 0 end
  return p:eq(target):sum():item() / p:numel()
end

--- top_k_accuracy(scores, target, k) -> the fraction of positions whose target
-- class is among the k highest scores (a tie with the k-th counts as a hit)
function metrics.top_k_accuracy(scores, target, k)
  local fname = "top_k_accuracy"
  args.tensor(fname, "scores", scores)
  args.int64(fname, "target", target)
  if scores:dim() ~= target:dim() + 1 then
    error(fmt("%s: scores %s must have one more dimension (the classes, dimension 2) than target %s",
              fname, S(scores), S(target)), 2)
  end
  local cdim = scores:dim() == 1 and 1 or 2
  local C = scores:size(cdim)
  args.int(fname, "k", k, 1)
  if target:numel() == 0 then return 0 / 0 end
  local lo, hi = target:min():item(), target:max():item()
  if lo < 1 or hi > C then error(fmt("%s: target %d is out of range for %d classes", fname, lo < 1 and lo or hi, C), 2) end
  -- a hit when fewer than k classes score strictly higher than the target
  local own = scores:gather(cdim, target:unsqueeze(cdim))
  local above = scores:gt(own):sum(cdim)
  return above:lt(k):sum():item() / target:numel()
end

--- confusion_matrix(pred, target, num_classes) -> int64 (num_classes, num_classes):
-- entry [i][j] counts positions of true class i predicted as j (pred may be scores)
function metrics.confusion_matrix(pred, target, C)
  local fname = "confusion_matrix"
  local p = predictions(fname, pred, target)
  args.int(fname, "num_classes", C, 1)
  local counts = {}
  for i = 1, C * C do counts[i] = 0 end
  local ps, ts = p:flatten():totable(), target:flatten():totable()
  for i = 1, #ts do
    local t, q = ts[i], ps[i]
    if t < 1 or t > C or q < 1 or q > C then
      error(fmt("%s: class %d is out of range for %d classes (classes are 1-based)", fname, (t < 1 or t > C) and t or q, C), 2)
    end
    local at = (t - 1) * C + q
    counts[at] = counts[at] + 1
  end
  return core.tensor(counts, {dtype = "int64"}):view(C, C)
end

return metrics
