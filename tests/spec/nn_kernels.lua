-- The layer kernels through autograd (lunet.core._nn): every gradient against
-- finite differences in float64, forward values against the same math
-- written with tensor ops, 1-based ids, and argument errors.
local K = require("lunet.core")._nn

local function leaf(...) return lunet.randn(...):double():requires_grad_() end
local function const(...) return lunet.randn(...):double() end
local function strided(t) -- same values, non-contiguous
  local n = t:dim()
  return t:detach():transpose(1, n):contiguous():transpose(1, n):requires_grad_()
end
local function flat(...) -- several outputs as one tensor for gradcheck
  local parts = {}
  for i, t in ipairs{...} do parts[i] = t:reshape(-1) end
  return lunet.cat(parts, 1)
end
local function check(name, fn, inputs)
  it(name, function()
    lunet.manual_seed(11)
    T.truthy(lunet.gradcheck(fn, inputs), name)
  end)
end
local function ids(t) return lunet.tensor(t, {dtype = "int64"}) end

-- references from tensor ops
local function ref_linear(x, w, b) return x:matmul(w:t()) + b end
local function ref_lstm_cell(g, c)
  local H = c:size(2)
  local i, f = g:narrow(2, 1, H):sigmoid(), g:narrow(2, H + 1, H):sigmoid()
  local gg, o = g:narrow(2, 2 * H + 1, H):tanh(), g:narrow(2, 3 * H + 1, H):sigmoid()
  local c2 = f * c + i * gg
  return o * c2:tanh(), c2
end
local function ref_gru_cell(gi, gh, h)
  local H = h:size(2)
  local function part(t, k) return t:narrow(2, (k - 1) * H + 1, H) end
  local r = (part(gi, 1) + part(gh, 1)):sigmoid()
  local z = (part(gi, 2) + part(gh, 2)):sigmoid()
  local n = (part(gi, 3) + r * part(gh, 3)):tanh()
  return (1 - z) * n + z * h
end

describe("linear", function()
  it("is x w^T + b for 2-d and 3-d inputs", function()
    local x, w, b = const(4, 3), const(5, 3), const(5)
    T.close(K.linear(x, w, b), ref_linear(x, w, b), 1e-12)
    local x3 = const(2, 4, 3)
    T.close(K.linear(x3, w, b), ref_linear(x3, w, b), 1e-12)
    T.close(K.linear(x, w), x:matmul(w:t()), 1e-12)
  end)
  check("gradients", function(x, w, b) return K.linear(x, w, b) end, {leaf(4, 3), leaf(5, 3), leaf(5)})
  check("gradients, 3-d strided input, no bias", function(x, w) return K.linear(x, w) end, {strided(leaf(2, 3, 4)), leaf(5, 4)})
  it("names the shapes that do not match", function()
    T.errors(function() K.linear(const(4, 3), const(5, 4)) end, "linear: input 4x3 and weight 5x4 do not match")
  end)
end)

describe("convolution and pooling", function()
  check("conv2d with stride, padding, dilation, groups",
    function(x, w, b) return K.conv2d(x, w, b, 2, 1, 1, 2, 1, 2, 2) end, {leaf(2, 4, 7, 6), leaf(6, 2, 3, 2), leaf(6)})
  check("conv2d on a strided input, no bias", function(x, w) return K.conv2d(x, w, nil, 1, 1, 0, 0, 1, 1, 1) end,
    {strided(leaf(1, 2, 5, 5)), leaf(3, 2, 2, 2)})
  check("conv1d", function(x, w, b) return K.conv1d(x, w, b, 2, 1, 1, 1) end, {leaf(2, 3, 9), leaf(4, 3, 3), leaf(4)})
  check("conv_transpose2d", function(x, w, b) return K.conv_transpose2d(x, w, b, 2, 2, 1, 0, 1, 1, 1, 1, 1) end,
    {leaf(2, 3, 4, 3), leaf(3, 2, 3, 3), leaf(2)})
  check("max_pool2d", function(x) return (K.max_pool2d(x, 2, 2, 2, 2, 0, 0, 1, 1, false)) end, {leaf(2, 3, 6, 5)})
  check("avg_pool2d", function(x) return K.avg_pool2d(x, 3, 3, 2, 2, 1, 1, true, false) end, {leaf(1, 2, 7, 6)})
  check("adaptive_avg_pool2d", function(x) return K.adaptive_avg_pool2d(x, 3, 2) end, {leaf(2, 2, 7, 5)})
  it("conv2d of a 1x1 kernel is a matmul over channels", function()
    local x, w = const(2, 3, 4, 5), const(6, 3, 1, 1)
    local y = K.conv2d(x, w, nil, 1, 1, 0, 0, 1, 1, 1)
    local ref = w:view(6, 3):matmul(x:permute(2, 1, 3, 4):reshape(3, -1)):view(6, 2, 4, 5):permute(2, 1, 3, 4)
    T.close(y, ref, 1e-12)
  end)
  it("max_pool2d returns 1-based positions within each plane", function()
    local x = lunet.tensor({{{{1, 5, 2, 0}, {3, 4, 9, 1}}}}, {dtype = "float32"})
    local y, idx = K.max_pool2d(x, 2, 2, 2, 2, 0, 0, 1, 1, false)
    T.values(y, {{{{5, 9}}}})
    T.values(idx, {{{{2, 7}}}}, 0, "int64")
  end)
  it("errors name the function and shapes", function()
    T.errors(function() K.conv2d(const(1, 3, 5, 5), const(4, 2, 3, 3), nil, 1, 1, 0, 0, 1, 1, 1) end, "conv2d:")
    T.errors(function() K.conv2d(const(1, 3, 5, 5), const(4, 3, 3, 3), nil, 0, 1, 0, 0, 1, 1, 1) end, "must be >= 1, got 0")
  end)
end)

describe("losses", function()
  local target = ids{3, 1, 2, 3}
  it("cross_entropy is -log_softmax at the 1-based target", function()
    local x = const(4, 3)
    local ref = -(x:log_softmax(2):gather(2, ids{{3}, {1}, {2}, {3}})):mean()
    T.near(K.cross_entropy(x, target, nil, nil, 0, "mean"):item(), ref:item(), 1e-12)
    local none = K.cross_entropy(x, target, nil, nil, 0, "none")
    T.shape(none, {4})
    T.near(none:sum():item(), K.cross_entropy(x, target, nil, nil, 0, "sum"):item(), 1e-12)
  end)
  it("ignore_index is a 1-based class that contributes nothing", function()
    local x = const(4, 3)
    local all = K.cross_entropy(x, target, nil, nil, 0, "none")
    local some = K.cross_entropy(x, target, nil, 3, 0, "none")
    T.values(some, {0, all[2], all[3], 0}, 1e-12)
    T.near(K.cross_entropy(x, target, nil, 3, 0, "mean"):item(), (all[2] + all[3]) / 2, 1e-12)
  end)
  check("cross_entropy with weights and smoothing",
    function(x) return K.cross_entropy(x, target, lunet.tensor({1, 2, 0.5}, {dtype = "float64"}), nil, 0.1, "mean") end,
    {leaf(4, 3)})
  check("cross_entropy over (N, C, d) with ignore_index",
    function(x) return K.cross_entropy(x, ids{{1, 2}, {3, 3}}, nil, 2, 0, "sum") end, {leaf(2, 3, 2)})
  check("nll_loss", function(x) return K.nll_loss(x:log_softmax(2), target, nil, nil, "mean") end, {leaf(4, 3)})
  local y, w, pw = lunet.rand(3, 4):double(), const(4):abs(), const(4):abs()
  check("binary_cross_entropy", function(p) return K.binary_cross_entropy(p:sigmoid(), y, nil, "mean") end, {leaf(3, 4)})
  check("binary_cross_entropy_with_logits, weight and pos_weight",
    function(x) return K.binary_cross_entropy_with_logits(x, y, w, pw, "sum") end, {leaf(3, 4)})
  it("binary_cross_entropy_with_logits matches BCE of sigmoid and stays finite", function()
    local x, y = const(5), lunet.rand(5):double()
    T.near(K.binary_cross_entropy_with_logits(x, y, nil, nil, "mean"):item(),
      K.binary_cross_entropy(x:sigmoid(), y, nil, "mean"):item(), 1e-10)
    local big = K.binary_cross_entropy_with_logits(lunet.tensor({200, -200}, {dtype = "float32"}), lunet.tensor({0, 1}, {dtype = "float32"}), nil, nil, "sum")
    T.near(big:item(), 400, 1e-6)
  end)
  it("rejects targets outside [1, C] naming them", function()
    T.errors(function() K.cross_entropy(const(2, 3), ids{0, 1}, nil, nil, 0, "mean") end,
      "cross_entropy: target 0 is out of range for 3 classes (class targets are 1-based: 1..3)")
    T.errors(function() K.nll_loss(const(2, 3), ids{1, 4}, nil, nil, "mean") end, "nll_loss: target 4 is out of range for 3 classes")
    T.errors(function() K.cross_entropy(const(2, 3), lunet.tensor({1, 2}, {dtype = "float32"}), nil, nil, 0, "mean") end, "target must be int64")
    T.errors(function() K.cross_entropy(const(2, 3), ids{1, 2}, nil, nil, 0, "avg") end, "invalid option 'avg'")
  end)
end)

describe("embedding, normalisation, dropout", function()
  it("embedding gathers 1-based rows", function()
    local w = const(5, 3)
    local y = K.embedding(w, ids{{5, 1}, {2, 2}})
    T.shape(y, {2, 2, 3})
    T.close(y[{1, 1}], w[5], 0)
    T.close(y[{2, 2}], w[2], 0)
    T.errors(function() K.embedding(w, ids{6}) end, "embedding: index 6 is out of range (indices are 1-based: 1..5)")
  end)
  it("embedding's padding row gets no gradient", function()
    local w = leaf(4, 2)
    K.embedding(w, ids{1, 2, 2, 4}, 2):sum():backward()
    T.values(w.grad, {{1, 1}, {0, 0}, {0, 0}, {1, 1}})
  end)
  check("embedding gradient", function(w) return K.embedding(w, ids{{1, 3}, {3, 2}}) end, {leaf(4, 3)})
  check("batch_norm in training, 2-d and 4-d",
    function(x, w, b, x4) return flat(K.batch_norm(x, w, b, nil, nil, true, 0.1, 1e-5),
      K.batch_norm(x4, w, b, nil, nil, true, 0.1, 1e-5)) end, {leaf(5, 3), leaf(3), leaf(3), leaf(2, 3, 2, 2)})
  check("batch_norm in eval", function(x, w, b)
    return K.batch_norm(x, w, b, lunet.tensor({0.1, -0.2, 0.3}, {dtype = "float64"}),
      lunet.tensor({1, 2, 0.5}, {dtype = "float64"}), false, 0.1, 1e-5) end, {leaf(4, 3), leaf(3), leaf(3)})
  it("batch_norm updates running statistics with the unbiased variance", function()
    local x = lunet.tensor({{1, 10}, {3, 20}}, {dtype = "float64"})
    local rm, rv = lunet.zeros(2, {dtype = "float64"}), lunet.ones(2, {dtype = "float64"})
    local y = K.batch_norm(x, nil, nil, rm, rv, true, 0.1, 0)
    T.values(y, {{-1, -1}, {1, 1}}, 1e-12)
    T.values(rm, {0.2, 1.5}, 1e-12)
    T.values(rv, {0.9 + 0.1 * 2, 0.9 + 0.1 * 50}, 1e-12)
  end)
  check("layer_norm over the last 1 and 2 dims", function(x, w, b, w2)
    return flat(K.layer_norm(x, 1, w, b, 1e-5), K.layer_norm(x, 2, w2, nil, 1e-5)) end,
    {leaf(2, 3, 4), leaf(4), leaf(4), leaf(3, 4)})
  it("layer_norm normalises each row", function()
    local y = K.layer_norm(const(3, 6), 1, nil, nil, 0)
    T.close(y:mean(2), lunet.zeros(3):double(), 1e-12)
    T.close((y * y):mean(2), lunet.ones(3):double(), 1e-10)
  end)
  it("dropout zeroes about p and rescales the rest; eval is the identity", function()
    lunet.manual_seed(3)
    local x = lunet.ones(10000)
    local y = K.dropout(x, 0.3, true)
    local kept = y:ne(0):sum():item()
    T.truthy(math.abs(kept / 10000 - 0.7) < 0.03, "kept fraction " .. kept / 10000)
    T.near(y:max():item(), 1 / 0.7, 1e-6)
    T.close(K.dropout(x, 0.3, false), x, 0)
    T.errors(function() K.dropout(x, 1.5, true) end, "dropout: p must be in [0, 1]")
  end)
  check("dropout gradient (fixed mask by seed)", function(x) lunet.manual_seed(5) return K.dropout(x, 0.5, true) end, {leaf(4, 5)})
end)

describe("recurrent kernels", function()
  local B, H, I, Tn = 3, 4, 2, 5
  it("lstm_cell and gru_cell match their formulas", function()
    local g, c = const(B, 4 * H), const(B, H)
    local h1, c1 = K.lstm_cell(g, c)
    local rh, rc = ref_lstm_cell(g, c)
    T.close(h1, rh, 1e-12); T.close(c1, rc, 1e-12)
    local gi, gh, h = const(B, 3 * H), const(B, 3 * H), const(B, H)
    T.close(K.gru_cell(gi, gh, h), ref_gru_cell(gi, gh, h), 1e-12)
  end)
  it("lstm over a sequence is the cell applied step by step", function()
    local xg, h0, c0, w = const(Tn, B, 4 * H), const(B, H), const(B, H), const(4 * H, H)
    local out, hT, cT = K.lstm(xg, h0, c0, w)
    T.shape(out, {Tn, B, H})
    local h, c = h0, c0
    for t = 1, Tn do
      h, c = ref_lstm_cell(xg[t] + h:matmul(w:t()), c)
      T.close(out[t], h, 1e-12)
    end
    T.close(hT, h, 1e-12); T.close(cT, c, 1e-12)
  end)
  it("gru over a sequence is the cell applied step by step", function()
    local xg, h0, w, b = const(Tn, B, 3 * H), const(B, H), const(3 * H, H), const(3 * H)
    local out, hT = K.gru(xg, h0, w, b)
    local h = h0
    for t = 1, Tn do h = ref_gru_cell(xg[t], h:matmul(w:t()) + b, h) end
    T.close(out[Tn], h, 1e-12); T.close(hT, h, 1e-12)
  end)
  check("lstm_cell gradients", function(g, c) local h, c2 = K.lstm_cell(g, c) return flat(h, c2) end, {leaf(B, 4 * H), leaf(B, H)})
  check("gru_cell gradients", function(gi, gh, h) return K.gru_cell(gi, gh, h) end, {leaf(B, 3 * H), leaf(B, 3 * H), leaf(B, H)})
  check("lstm gradients through time (output, h_T and c_T)", function(xg, h0, c0, w)
    local out, hT, cT = K.lstm(xg, h0, c0, w)
    return flat(out, hT * 2, cT) end, {leaf(Tn, B, 4 * H), leaf(B, H), leaf(B, H), leaf(4 * H, H)})
  local h0, c0 = const(B, H), const(B, H)
  check("lstm gradient from c_T alone", function(xg, w)
    local _, _, cT = K.lstm(xg, h0, c0, w)
    return cT end, {leaf(3, B, 4 * H), leaf(4 * H, H)})
  check("gru gradients through time", function(xg, h0, w, b)
    local out, hT = K.gru(xg, h0, w, b)
    return flat(out, hT) end, {leaf(Tn, B, 3 * H), leaf(B, H), leaf(3 * H, H), leaf(3 * H)})
  check("gru without b_hh, strided input", function(xg, h0, w) return (K.gru(xg, h0, w)) end,
    {strided(leaf(Tn, B, 3 * H)), leaf(B, H), leaf(3 * H, H)})
  it("an input projection feeds it as in a layer", function()
    local x, wih = leaf(Tn, B, I), leaf(4 * H, I)
    local out = K.lstm(K.linear(x, wih), lunet.zeros(B, H):double(), lunet.zeros(B, H):double(), leaf(4 * H, H))
    out:sum():backward()
    T.shape(x.grad, {Tn, B, I}); T.shape(wih.grad, {4 * H, I})
  end)
  it("rejects mismatched shapes", function()
    T.errors(function() K.lstm(const(2, B, 4 * H), const(B, H), const(B, H), const(4 * H, H + 1)) end, "lstm: w_hh has shape")
    T.errors(function() K.gru(const(2, B, 3 * H), const(B + 1, H), const(3 * H, H)) end, "gru: h0 has shape 4x4, expected 3x4")
  end)
end)

describe("bad arguments", function()
  -- a valid call of each kernel; every argument in turn replaced by values of
  -- the wrong kind must raise an error naming the function, never crash
  local x4, w4 = const(1, 2, 5, 5), const(3, 2, 3, 3)
  local calls = {
    linear = {const(2, 3), const(4, 3), const(4)},
    conv2d = {x4, w4, const(3), 1, 1, 0, 0, 1, 1, 1},
    conv1d = {const(1, 2, 5), const(3, 2, 3), const(3), 1, 0, 1, 1},
    conv_transpose2d = {x4, const(2, 3, 3, 3), const(3), 1, 1, 0, 0, 0, 0, 1, 1, 1},
    max_pool2d = {x4, 2, 2, 2, 2, 0, 0, 1, 1, false},
    avg_pool2d = {x4, 2, 2, 2, 2, 0, 0, false, true},
    adaptive_avg_pool2d = {x4, 2, 2},
    cross_entropy = {const(2, 3), ids{1, 3}, const(3), 2, 0.1, "mean"},
    nll_loss = {const(2, 3), ids{1, 3}, const(3), 2, "sum"},
    binary_cross_entropy = {lunet.rand(4):double(), lunet.rand(4):double(), const(4), "mean"},
    binary_cross_entropy_with_logits = {const(4), lunet.rand(4):double(), const(4), const(4), "none"},
    embedding = {const(5, 2), ids{1, 5}, 2},
    batch_norm = {const(4, 3), const(3), const(3), lunet.zeros(3):double(), lunet.ones(3):double(), true, 0.1, 1e-5},
    layer_norm = {const(2, 3), 1, const(3), const(3), 1e-5},
    dropout = {const(3), 0.5, true},
    lstm = {const(2, 1, 8), const(1, 2), const(1, 2), const(8, 2)},
    gru = {const(2, 1, 6), const(1, 2), const(6, 2), const(6)},
    lstm_cell = {const(1, 8), const(1, 2)},
    gru_cell = {const(1, 6), const(1, 6), const(1, 2)},
  }
  local wrong = {"x", {}, lunet.tensor{1, 2}, 0.5}
  for name, a in pairs(calls) do
    it(name .. " checks every argument", function()
      T.truthy(pcall(K[name], table.unpack(a, 1, #a)), name .. " with valid arguments")
      for i = 1, #a do
        for _, bad in ipairs(wrong) do
          local b = {table.unpack(a, 1, #a)}
          b[i] = bad
          local ok, err = pcall(K[name], table.unpack(b, 1, #a))
          -- some substitutions are valid (a number for a number); the rest must raise cleanly
          if not ok then
            T.truthy(type(err) == "string" and (err:find(name, 1, true) or err:find("bad argument", 1, true)),
              name .. " argument " .. i .. ": " .. tostring(err))
          end
        end
      end
    end)
  end
end)
