-- Basic layers: Linear, Embedding, Dropout, Flatten, Unflatten, Identity.
-- Weights start as PyTorch 1.13 starts them.
local core = require "lunet.core"
local args = require "lunet.nn.args"

local fmt, S = string.format, args.shape_str

return function(nn)
  local F, init = nn.F, nn.init

  local posint, options, need_tensor = args.layer_int, args.layer_opts, args.need_tensor

  --- Linear(in_features, out_features [, {bias = true}]): y = x W^T + b, on the last dimension
  local Linear = nn.Module:extend("Linear")
  nn.Linear = Linear

  function Linear:init(n_in, n_out, opts)
    local o = options("Linear", opts, args.set("bias"))
    self.in_features = posint("Linear", "in_features", n_in)
    self.out_features = posint("Linear", "out_features", n_out)
    self:param("weight", core.empty(n_out, n_in))
    if o.bias ~= false then self:param("bias", core.empty(n_out)) end
    self:reset_parameters()
  end

  -- kaiming_uniform_(a = sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias the same
  function Linear:reset_parameters()
    init.kaiming_uniform_(self.weight, math.sqrt(5))
    if self.bias then
      local bound = 1 / math.sqrt(self.in_features)
      init.uniform_(self.bias, -bound, bound)
    end
  end

  function Linear:forward(x)
    local label = fmt("Linear(%d->%d)", self.in_features, self.out_features)
    need_tensor(label, x)
    if x:dim() == 0 then error(label .. ": input must have at least 1 dimension (features last), got a 0-dim tensor", 2) end
    if x:size(-1) ~= self.in_features then
      error(fmt("%s: input has %d features, expected %d (input shape %s)", label, x:size(-1), self.in_features, S(x)), 2)
    end
    return F.linear(x, self.weight, self.bias)
  end

  function Linear:extra_repr()
    return fmt("in_features=%d, out_features=%d, bias=%s", self.in_features, self.out_features, tostring(self.bias ~= nil))
  end

  --- Embedding(num_embeddings, embedding_dim [, {padding_idx}]): rows of a
  -- (V, D) table at 1-based int64 indices; weight ~ N(0, 1), the padding row
  -- zero and without gradient
  local Embedding = nn.Module:extend("Embedding")
  nn.Embedding = Embedding

  local function padding_index(V, p)
    if p == nil then return nil end
    if math.type(p) ~= "integer" or p == 0 or p > V or p < -V then
      error(fmt("Embedding: padding_idx must be an integer in 1..%d (or -%d..-1 from the end), got %s", V, V, tostring(p)), 4)
    end
    return p < 0 and V + 1 + p or p
  end

  function Embedding:init(V, D, opts)
    local o = options("Embedding", opts, args.set("padding_idx", "_weight"))
    self.num_embeddings = posint("Embedding", "num_embeddings", V)
    self.embedding_dim = posint("Embedding", "embedding_dim", D)
    self.padding_idx = padding_index(V, o.padding_idx)
    if o._weight then
      self:param("weight", o._weight)
    else
      self:param("weight", core.empty(V, D))
      self:reset_parameters()
    end
  end

  function Embedding:reset_parameters()
    init.normal_(self.weight)
    if self.padding_idx then core.no_grad(function() self.weight[self.padding_idx] = 0 end) end
  end

  --- Embedding.from_pretrained(weight [, {freeze = true, padding_idx}])
  function Embedding.from_pretrained(w, opts)
    local o = args.opts("Embedding.from_pretrained", opts, args.set("freeze", "padding_idx"))
    args.float("Embedding.from_pretrained", "weight", w)
    if w:dim() ~= 2 then error("Embedding.from_pretrained: weight must be 2-d (num_embeddings, embedding_dim), got " .. S(w), 2) end
    local e = Embedding(w:size(1), w:size(2), {padding_idx = o.padding_idx, _weight = w:detach():clone()})
    if o.freeze ~= false then e.weight.requires_grad = false end
    return e
  end

  function Embedding:forward(idx)
    local label = fmt("Embedding(%d, %d)", self.num_embeddings, self.embedding_dim)
    need_tensor(label, idx)
    if idx:dtype() ~= "int64" then error(fmt("%s: indices must be int64 (1-based token ids), got %s", label, idx:dtype()), 2) end
    -- an index out of 1..num_embeddings comes back from the kernel under this layer's label
    return args.as_layer(label, idx, "embedding", F.embedding, idx, self.weight, {padding_idx = self.padding_idx})
  end

  function Embedding:extra_repr()
    local s = fmt("%d, %d", self.num_embeddings, self.embedding_dim)
    if self.padding_idx then s = s .. ", padding_idx=" .. self.padding_idx end
    return s
  end

  --- Dropout([p = 0.5]): zeroes elements with probability p while training
  local Dropout = nn.Module:extend("Dropout")
  nn.Dropout = Dropout

  function Dropout:init(p)
    if p == nil then p = 0.5 end
    if type(p) ~= "number" or not (p >= 0 and p <= 1) then
      error("Dropout: p must be a probability in [0, 1], got " .. tostring(p), 3)
    end
    self.p = p
  end

  function Dropout:forward(x) return F.dropout(x, self.p, self.training) end
  function Dropout:extra_repr() return "p=" .. self.p end

  --- Identity(): returns its input
  local Identity = nn.Module:extend("Identity")
  nn.Identity = Identity
  function Identity:forward(x, ...) return x, ... end

  --- Flatten([start_dim = 2 [, end_dim = -1]]): merges dims start..end (keeps the batch)
  local Flatten = nn.Module:extend("Flatten")
  nn.Flatten = Flatten

  function Flatten:init(s, e)
    self.start_dim = s == nil and 2 or s
    self.end_dim = e == nil and -1 or e
    for _, v in ipairs{self.start_dim, self.end_dim} do
      if math.type(v) ~= "integer" then error("Flatten: dimensions must be integers, got " .. tostring(v), 3) end
    end
  end

  function Flatten:forward(x)
    need_tensor("Flatten", x)
    local n = x:dim()
    local s = self.start_dim < 0 and n + 1 + self.start_dim or self.start_dim
    local e = self.end_dim < 0 and n + 1 + self.end_dim or self.end_dim
    if s < 1 or s > math.max(n, 1) or e < 1 or e > math.max(n, 1) or s > e then
      error(fmt("Flatten(start_dim=%d, end_dim=%d): cannot flatten an input of shape %s", self.start_dim, self.end_dim, S(x)), 2)
    end
    return x:flatten(s, e)
  end

  function Flatten:extra_repr() return fmt("start_dim=%d, end_dim=%d", self.start_dim, self.end_dim) end

  --- Unflatten(dim, sizes): splits dimension dim into sizes (one may be -1)
  local Unflatten = nn.Module:extend("Unflatten")
  nn.Unflatten = Unflatten

  function Unflatten:init(dim, sizes)
    if math.type(dim) ~= "integer" then error("Unflatten: dim must be an integer, got " .. tostring(dim), 3) end
    if type(sizes) ~= "table" or #sizes == 0 then error("Unflatten: sizes must be a non-empty table of integers", 3) end
    for _, v in ipairs(sizes) do
      if math.type(v) ~= "integer" or (v < 1 and v ~= -1) then error("Unflatten: sizes must be positive integers (or one -1), got " .. tostring(v), 3) end
    end
    self.dim, self.sizes = dim, sizes
  end

  function Unflatten:forward(x)
    need_tensor("Unflatten", x)
    local label = fmt("Unflatten(dim=%d, sizes={%s})", self.dim, table.concat(self.sizes, ", "))
    local shape, n = x:shape(), x:dim()
    local d = self.dim < 0 and n + 1 + self.dim or self.dim
    if d < 1 or d > n then error(fmt("%s: input of shape %s has no dimension %d", label, S(x), self.dim), 2) end
    local known, free = 1, false
    for _, v in ipairs(self.sizes) do if v == -1 then free = true else known = known * v end end
    if (free and shape[d] % known ~= 0) or (not free and known ~= shape[d]) then
      error(fmt("%s: dimension %d of the input (shape %s) has size %d, which does not split into {%s}",
                label, d, S(x), shape[d], table.concat(self.sizes, ", ")), 2)
    end
    local out = {}
    for i = 1, d - 1 do out[#out + 1] = shape[i] end
    for _, v in ipairs(self.sizes) do out[#out + 1] = v end
    for i = d + 1, n do out[#out + 1] = shape[i] end
    return x:reshape(out)
  end

  function Unflatten:extra_repr() return fmt("dim=%d, unflattened_size={%s}", self.dim, table.concat(self.sizes, ", ")) end
end
