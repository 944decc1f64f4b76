-- nn.F linear, dropout, embedding and normalisation. linear is a matmul;
-- the others check their arguments and call the fused C kernels.
local args = require "lunet.nn.args"
local kernel = require "lunet.nn.kernels"

local fmt, S = string.format, args.shape_str

return function(F)
  --- linear(x, weight [, bias]): x W^T + b; x (..., in), weight (out, in), bias (out)
  function F.linear(x, w, b)
    args.tensor("linear", "input", x)
    args.float("linear", "weight", w)
    if w:dim() ~= 2 then error(fmt("linear: weight must be 2-d (out_features, in_features), got %s", S(w)), 2) end
    if x:dim() == 0 then error("linear: input must have at least 1 dimension, got a 0-dim tensor", 2) end
    if x:size(-1) ~= w:size(2) then
      error(fmt("linear: input has %d features (shape %s), weight %s expects %d", x:size(-1), S(x), S(w), w:size(2)), 2)
    end
    if b ~= nil then
      args.float("linear", "bias", b)
      if b:dim() ~= 1 or b:size(1) ~= w:size(1) then
        error(fmt("linear: bias must have shape %d, got %s", w:size(1), S(b)), 2)
      end
    end
    args.same_dtype("linear", 2, "input", x, "weight", w, "bias", b)
    return kernel("linear", "linear")(x, w, b) -- one GEMM with the bias added in place
  end

  --- dropout(x [, p = 0.5 [, training = true]]): zeroes each element with
  -- probability p and scales the rest by 1 / (1 - p); identity when not training
  function F.dropout(x, p, training)
    args.float("dropout", "input", x)
    p = p == nil and 0.5 or args.number("dropout", "p", p, 0, 1)
    if training == nil then training = true end
    if not training or p == 0 then return x end
    return kernel("dropout", "dropout")(x, p, true)
  end

  --- embedding(indices, weight [, {padding_idx = i}]): rows of weight (V, D)
  -- at the 1-based int64 indices; the row padding_idx gets no gradient
  function F.embedding(indices, w, opts)
    local o = args.opts("embedding", opts, args.set("padding_idx"))
    args.int64("embedding", "indices", indices)
    args.float("embedding", "weight", w)
    if w:dim() ~= 2 then error(fmt("embedding: weight must be 2-d (num_embeddings, embedding_dim), got %s", S(w)), 2) end
    local V = w:size(1)
    -- the kernel checks each index is in 1..V as it converts them
    local pad = o.padding_idx
    if pad ~= nil then
      args.int("embedding", "padding_idx", pad)
      if pad < 0 then pad = V + 1 + pad end -- -1 is the last row
      if pad < 1 or pad > V then error(fmt("embedding: padding_idx %d is out of range for %d embeddings", o.padding_idx, V), 2) end
    end
    return kernel("embedding", "embedding")(w, indices, pad)
  end

  -- a per-channel vector of the right length, or nil
  local function channel_vec(fname, name, t, C)
    if t == nil then return nil end
    args.float(fname, name, t, 3)
    if t:dim() ~= 1 or t:size(1) ~= C then
      error(fmt("%s: %s must have shape %d (one per channel), got %s", fname, name, C, S(t)), 3)
    end
    return t
  end

  --- batch_norm(x, running_mean, running_var [, weight [, bias [, {training = false,
  -- momentum = 0.1, eps = 1e-5}]]]): x (N, C, ...); in training the batch
  -- statistics normalise and the running ones (when given) are updated in place
  function F.batch_norm(x, rm, rv, w, b, opts)
    local fname = "batch_norm"
    local o = args.opts(fname, opts, args.set("training", "momentum", "eps"))
    args.float(fname, "input", x)
    if x:dim() < 2 then error(fmt("%s: expected input of shape (N, C, ...), got %s", fname, S(x)), 2) end
    local C = x:size(2)
    channel_vec(fname, "running_mean", rm, C)
    channel_vec(fname, "running_var", rv, C)
    channel_vec(fname, "weight", w, C)
    channel_vec(fname, "bias", b, C)
    args.same_dtype(fname, 2, "input", x, "weight", w, "bias", b, "running_mean", rm, "running_var", rv)
    local training = o.training and true or false
    local momentum = o.momentum == nil and 0.1 or args.number(fname, "momentum", o.momentum, 0, 1)
    local eps = o.eps == nil and 1e-5 or args.number(fname, "eps", o.eps, 0)
    if training then
      if x:numel() // C <= 1 then
        error(fmt("%s: expected more than 1 value per channel when training, got input of shape %s", fname, S(x)), 2)
      end
    elseif rm == nil or rv == nil then
      error(fname .. ": running_mean and running_var are needed when not training", 2)
    end
    return kernel(fname, "batch_norm")(x, w, b, rm, rv, training, momentum, eps)
  end

  --- layer_norm(x, normalized_shape [, weight [, bias [, {eps = 1e-5}]]]):
  -- normalises over the last dims of x, which must equal normalized_shape
  function F.layer_norm(x, shape, w, b, opts)
    local fname = "layer_norm"
    local o = args.opts(fname, opts, args.set("eps"))
    args.float(fname, "input", x)
    if math.type(shape) == "integer" then shape = {shape} end
    if type(shape) ~= "table" or #shape == 0 then
      error(fname .. ": normalized_shape must be an integer or a non-empty table of integers, got " .. tostring(shape), 2)
    end
    local n, xs = #shape, x:shape()
    local ok = #xs >= n
    for i = 1, n do ok = ok and xs[#xs - n + i] == shape[i] end
    if not ok then
      error(fmt("%s: input of shape %s does not end with normalized_shape %s", fname, S(x), S(shape)), 2)
    end
    for _, p in ipairs{{"weight", w}, {"bias", b}} do
      if p[2] ~= nil then
        args.float(fname, p[1], p[2])
        if S(p[2]) ~= S(shape) then error(fmt("%s: %s must have shape %s, got %s", fname, p[1], S(shape), S(p[2])), 2) end
      end
    end
    args.same_dtype(fname, 2, "input", x, "weight", w, "bias", b)
    local eps = o.eps == nil and 1e-5 or args.number(fname, "eps", o.eps, 0)
    return kernel(fname, "layer_norm")(x, n, w, b, eps)
  end
end
