-- Normalisation layers: BatchNorm1d, BatchNorm2d (running statistics as
-- buffers, PyTorch's names) and LayerNorm.
local core = require "lunet.core"
local args = require "lunet.nn.args"

local fmt, S, R = string.format, args.shape_str, args.repr

return function(nn)
  local F, init = nn.F, nn.init
  local posint, options, need_tensor = args.layer_int, args.layer_opts, args.need_tensor

  -- shared by BatchNorm1d and BatchNorm2d (tail-called from init)
  local function bn_init(self, cls, C, opts)
    local o = options(cls, opts, args.set("eps", "momentum", "affine", "track_running_stats"))
    self.num_features = posint(cls, "num_features", C)
    self.eps = o.eps == nil and 1e-5 or o.eps
    -- momentum = false: a cumulative average (PyTorch's momentum=None)
    if o.momentum == nil then self.momentum = 0.1 else self.momentum = o.momentum end
    if not (type(self.eps) == "number" and self.eps >= 0) then error(cls .. ": eps must be a number >= 0, got " .. tostring(self.eps), 3) end
    if self.momentum ~= false and not (type(self.momentum) == "number" and self.momentum >= 0 and self.momentum <= 1) then
      error(cls .. ": momentum must be a number in [0, 1] or false (a cumulative average), got " .. tostring(self.momentum), 3)
    end
    self.affine = o.affine ~= false
    self.track_running_stats = o.track_running_stats ~= false
    if self.affine then
      self:param("weight", core.ones(C))
      self:param("bias", core.zeros(C))
    end
    if self.track_running_stats then
      self:buffer("running_mean", core.zeros(C))
      self:buffer("running_var", core.ones(C))
      self:buffer("num_batches_tracked", core.tensor(0))
    end
  end

  local function bn_reset(self)
    if self.track_running_stats then
      self.running_mean:zero_()
      self.running_var:fill_(1)
      self.num_batches_tracked:zero_()
    end
    if self.affine then
      init.ones_(self.weight)
      init.zeros_(self.bias)
    end
  end

  local function bn_forward(self, label, x, shapes, want)
    need_tensor(label, x)
    if not shapes[x:dim()] then error(fmt("%s: expected input of shape %s, got %s", label, want, S(x)), 2) end
    if x:size(2) ~= self.num_features then
      error(fmt("%s: input has %d channels, expected %d (input shape %s)", label, x:size(2), self.num_features, S(x)), 2)
    end
    if self.training and x:numel() // self.num_features <= 1 then
      error(fmt("%s: expected more than 1 value per channel when training, got input of shape %s", label, S(x)), 2)
    end
    local factor = 0
    if self.training and self.track_running_stats then
      self.num_batches_tracked:add_(1)
      factor = self.momentum or 1 / self.num_batches_tracked:item()
    end
    -- batch statistics while training, or always when there are no running ones
    local use_batch = self.training or not self.track_running_stats
    return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                        {training = use_batch, momentum = factor, eps = self.eps})
  end

  local function bn_repr(self)
    return fmt("%d, eps=%g, momentum=%s, affine=%s, track_running_stats=%s", self.num_features, self.eps,
               tostring(self.momentum), tostring(self.affine), tostring(self.track_running_stats))
  end

  --- BatchNorm1d(num_features [, {eps = 1e-5, momentum = 0.1, affine = true,
  -- track_running_stats = true}]): input (N, C) or (N, C, L)
  local BatchNorm1d = nn.Module:extend("BatchNorm1d")
  nn.BatchNorm1d = BatchNorm1d
  function BatchNorm1d:init(C, opts) return bn_init(self, "BatchNorm1d", C, opts) end
  BatchNorm1d.reset_parameters = bn_reset
  BatchNorm1d.extra_repr = bn_repr
  function BatchNorm1d:forward(x)
    local C = self.num_features
    return bn_forward(self, "BatchNorm1d(" .. C .. ")", x, {[2] = true, [3] = true}, fmt("(N, %d) or (N, %d, L)", C, C))
  end

  --- BatchNorm2d(num_features [, opts as BatchNorm1d]): input (N, C, H, W)
  local BatchNorm2d = nn.Module:extend("BatchNorm2d")
  nn.BatchNorm2d = BatchNorm2d
  function BatchNorm2d:init(C, opts) return bn_init(self, "BatchNorm2d", C, opts) end
  BatchNorm2d.reset_parameters = bn_reset
  BatchNorm2d.extra_repr = bn_repr
  function BatchNorm2d:forward(x)
    return bn_forward(self, "BatchNorm2d(" .. self.num_features .. ")", x, {[4] = true}, fmt("(N, %d, H, W)", self.num_features))
  end

  --- LayerNorm(normalized_shape [, {eps = 1e-5, elementwise_affine = true}]):
  -- normalises over the last dims, which must equal normalized_shape
  local LayerNorm = nn.Module:extend("LayerNorm")
  nn.LayerNorm = LayerNorm

  function LayerNorm:init(shape, opts)
    local o = options("LayerNorm", opts, args.set("eps", "elementwise_affine"))
    if math.type(shape) == "integer" then shape = {shape} end
    if type(shape) ~= "table" or #shape == 0 then
      error("LayerNorm: normalized_shape must be a positive integer or a table of them, got " .. tostring(shape), 3)
    end
    for _, v in ipairs(shape) do posint("LayerNorm", "normalized_shape", v) end
    self.normalized_shape = shape
    self.eps = o.eps == nil and 1e-5 or o.eps
    self.elementwise_affine = o.elementwise_affine ~= false
    if self.elementwise_affine then
      self:param("weight", core.ones(shape))
      self:param("bias", core.zeros(shape))
    end
  end

  function LayerNorm:reset_parameters()
    if self.elementwise_affine then
      init.ones_(self.weight)
      init.zeros_(self.bias)
    end
  end

  function LayerNorm:forward(x)
    local label = "LayerNorm(" .. R(self.normalized_shape) .. ")"
    need_tensor(label, x)
    local n, xs = #self.normalized_shape, x:shape()
    local ok = #xs >= n
    for i = 1, n do ok = ok and xs[#xs - n + i] == self.normalized_shape[i] end
    if not ok then
      error(fmt("%s: input of shape %s does not end with %s", label, S(x), S(self.normalized_shape)), 2)
    end
    return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, {eps = self.eps})
  end

  function LayerNorm:extra_repr()
    return fmt("%s, eps=%g, elementwise_affine=%s", R(self.normalized_shape), self.eps, tostring(self.elementwise_affine))
  end
end
