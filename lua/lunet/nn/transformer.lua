-- lunet.nn.transformer: MultiheadAttention, TransformerEncoderLayer,
-- TransformerDecoderLayer, TransformerEncoder/Decoder stacks,
-- PositionalEncoding and generate_square_subsequent_mask, with PyTorch's
-- parameter names, defaults and mask conventions (a mask of int64 0/1 stands
-- for PyTorch's bool mask: 1 = masked out; a float mask is added to the
-- attention scores). Installed into the nn table by lunet/nn/init.lua.
local core = require "lunet.core"
local args = require "lunet.nn.args"

return function(nn)
  local shape_str = args.shape_str

  -- opts (nil or a table of known keys; a typo raises) over the defaults; `level`
  -- is where the error points from the caller's view, as error()'s
  local function dropout(x, p, training)
    if not training or p == 0 then return x end
    return nn.F.dropout(x, p, training)
  end

  -- options that say "no value" use false in the defaults tables (nil would not be a key)
  local function given(v) if v == false then return nil end return v end

  --- nn.generate_square_subsequent_mask(n [, {dtype = "float32"}]) -> (n,n) float mask:
  -- 0 on and below the diagonal, -inf above (position i may not attend to j > i)
  function nn.generate_square_subsequent_mask(n, opts)
    local dtype = args.options("generate_square_subsequent_mask", opts, {dtype = "float32"}, 2).dtype
    args.int("generate_square_subsequent_mask", "n", n, 1, 2)
    local future = core.arange(1, n + 1):view(1, n):gt(core.arange(1, n + 1):view(n, 1))
    return core.zeros(n, n, {dtype = dtype}):masked_fill(future, -math.huge)
  end

  -- ---- MultiheadAttention -----------------------------------------------------------

  local MHA = nn.Module:extend("MultiheadAttention")
  nn.MultiheadAttention = MHA

  --- nn.MultiheadAttention(embed_dim, num_heads [, {dropout = 0, bias = true,
  ---   batch_first = false, kdim = embed_dim, vdim = embed_dim}])
  function MHA:init(embed_dim, num_heads, opts)
    local o = args.options("MultiheadAttention", opts,
      {dropout = 0, bias = true, batch_first = false, kdim = false, vdim = false}, 3)
    args.int("MultiheadAttention", "embed_dim", embed_dim, 1, 3)
    args.int("MultiheadAttention", "num_heads", num_heads, 1, 3)
    args.number("MultiheadAttention", "dropout", o.dropout, 0, 1, 3)
    if embed_dim % num_heads ~= 0 then
      error(string.format("MultiheadAttention: embed_dim (%d) must be divisible by num_heads (%d)", embed_dim, num_heads), 3)
    end
    local kdim, vdim = given(o.kdim) or embed_dim, given(o.vdim) or embed_dim
    args.int("MultiheadAttention", "kdim", kdim, 1, 3)
    args.int("MultiheadAttention", "vdim", vdim, 1, 3)
    self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
    self.kdim, self.vdim, self.dropout, self.batch_first = kdim, vdim, o.dropout, o.batch_first
    self.packed = kdim == embed_dim and vdim == embed_dim
    local E = embed_dim
    if self.packed then
      self:param("in_proj_weight", core.empty(3 * E, E))
    else
      self:param("q_proj_weight", core.empty(E, E))
      self:param("k_proj_weight", core.empty(E, kdim))
      self:param("v_proj_weight", core.empty(E, vdim))
    end
    if o.bias then self:param("in_proj_bias", core.empty(3 * E)) end
    self.out_proj = nn.Linear(E, E, {bias = o.bias})
    self:reset_parameters()
  end

  -- PyTorch's _reset_parameters: xavier_uniform_ over the packed (3E, E) matrix (or each
  -- of q, k, v), zero biases; out_proj.weight keeps Linear's initialisation
  function MHA:reset_parameters()
    if self.packed then nn.init.xavier_uniform_(self.in_proj_weight)
    else
      for _, n in ipairs{"q_proj_weight", "k_proj_weight", "v_proj_weight"} do nn.init.xavier_uniform_(self[n]) end
    end
    if self.in_proj_bias then
      nn.init.zeros_(self.in_proj_bias)
      nn.init.zeros_(self.out_proj.bias)
    end
  end

  function MHA:extra_repr()
    local s = string.format("embed_dim=%d, num_heads=%d", self.embed_dim, self.num_heads)
    if self.dropout ~= 0 then s = s .. ", dropout=" .. self.dropout end
    if not self.packed then s = s .. string.format(", kdim=%d, vdim=%d", self.kdim, self.vdim) end
    if self.batch_first then s = s .. ", batch_first=true" end
    return s
  end

  -- the weight and bias projecting query (1), key (2) or value (3)
  function MHA:_proj_params(i)
    local E = self.embed_dim
    local w = self.packed and self.in_proj_weight:narrow(1, (i - 1) * E + 1, E)
      or self[({"q_proj_weight", "k_proj_weight", "v_proj_weight"})[i]]
    local b = self.in_proj_bias and self.in_proj_bias:narrow(1, (i - 1) * E + 1, E)
    return w, b
  end

  -- a mask added to (or filling) scores of shape (N, heads, L, S)
  local function apply_mask(scores, mask)
    if mask:dtype() == "int64" then return scores:masked_fill(mask, -math.huge) end
    return scores + mask
  end

  local function check_dims(name, t, want_dim, last, what)
    if not core.is_tensor(t) then
      error(string.format("MultiheadAttention: %s must be a tensor, got %s", name, type(t)), 3)
    end
    if t:dim() ~= want_dim or t:size(-1) ~= last then
      error(string.format("MultiheadAttention: %s has shape %s, expected %s", name, shape_str(t), what), 3)
    end
  end

  --- forward(query, key, value [, {key_padding_mask, attn_mask, need_weights = true,
  ---   average_attn_weights = true, is_causal = false}]) -> output, weights|nil
  -- query (L,N,E), key (S,N,kdim), value (S,N,vdim) (batch first: (N,L,E), ...),
  -- or unbatched (L,E), (S,kdim), (S,vdim). key_padding_mask (N,S) ((S) unbatched);
  -- attn_mask (L,S) or (N*num_heads,L,S). weights (N,L,S) averaged over heads,
  -- or (N,num_heads,L,S).
  function MHA:forward(query, key, value, opts)
    local o = args.options("MultiheadAttention", opts, {key_padding_mask = false, attn_mask = false,
      need_weights = true, average_attn_weights = true, is_causal = false}, 2)
    local E, h, hd = self.embed_dim, self.num_heads, self.head_dim
    if not core.is_tensor(query) then
      error("MultiheadAttention: query must be a tensor, got " .. type(query), 2)
    end
    local batched = query:dim() == 3
    local qd = batched and 3 or 2
    local layout = batched and (self.batch_first and "(batch, len, %d)" or "(len, batch, %d)") or "(len, %d)"
    check_dims("query", query, qd, E, layout:format(E))
    check_dims("key", key, qd, self.kdim, layout:format(self.kdim))
    check_dims("value", value, qd, self.vdim, layout:format(self.vdim))
    -- everything batch-major inside: (N, L, E)
    if not batched then
      query, key, value = query:unsqueeze(1), key:unsqueeze(1), value:unsqueeze(1)
    elseif not self.batch_first then
      query, key, value = query:transpose(1, 2), key:transpose(1, 2), value:transpose(1, 2)
    end
    local N, L, S = query:size(1), query:size(2), key:size(2)
    if key:size(1) ~= N or value:size(1) ~= N or value:size(2) ~= S then
      error(string.format("MultiheadAttention: query, key and value must share the batch size, and key and value the length; got %s, %s and %s",
        shape_str(query), shape_str(key), shape_str(value)), 2)
    end
    local attn_mask, kpm = given(o.attn_mask), given(o.key_padding_mask)
    if o.is_causal and not attn_mask then attn_mask = nn.generate_square_subsequent_mask(L, {dtype = query:dtype()}) end
    if attn_mask ~= nil then
      local ok = core.is_tensor(attn_mask) and ((attn_mask:dim() == 2 and attn_mask:size(1) == L and attn_mask:size(2) == S)
        or (attn_mask:dim() == 3 and attn_mask:size(1) == N * h and attn_mask:size(2) == L and attn_mask:size(3) == S))
      if not ok then
        error(string.format("MultiheadAttention: attn_mask has shape %s, expected %dx%d or %dx%dx%d (batch*num_heads, L, S)",
          core.is_tensor(attn_mask) and shape_str(attn_mask) or type(attn_mask), L, S, N * h, L, S), 2)
      end
      if attn_mask:dim() == 3 then attn_mask = attn_mask:view(N, h, L, S) end
    end
    if kpm ~= nil then
      local ok = core.is_tensor(kpm) and ((batched and kpm:dim() == 2 and kpm:size(1) == N and kpm:size(2) == S)
        or (not batched and kpm:dim() == 1 and kpm:size(1) == S))
      if not ok then
        error(string.format("MultiheadAttention: key_padding_mask has shape %s, expected %s (1 = padding)",
          core.is_tensor(kpm) and shape_str(kpm) or type(kpm), batched and (N .. "x" .. S) or tostring(S)), 2)
      end
      kpm = kpm:view(N, 1, 1, S)
    end
    local wq, bq = self:_proj_params(1)
    local wk, bk = self:_proj_params(2)
    local wv, bv = self:_proj_params(3)
    -- (N, len, E) -> (N*h, len, hd): heads become part of the batch of bmm
    local function heads(x, len) return x:view(N, len, h, hd):transpose(2, 3):reshape(N * h, len, hd) end
    local q = heads(nn.F.linear(query, wq, bq) * (1 / math.sqrt(hd)), L)
    local k = heads(nn.F.linear(key, wk, bk), S)
    local v = heads(nn.F.linear(value, wv, bv), S)
    local scores = q:bmm(k:transpose(2, 3)):view(N, h, L, S)
    if attn_mask ~= nil then scores = apply_mask(scores, attn_mask) end
    if kpm ~= nil then scores = apply_mask(scores, kpm) end
    local attn = dropout(scores:softmax(-1), self.dropout, self.training)
    local out = attn:view(N * h, L, S):bmm(v):view(N, h, L, hd):transpose(2, 3):reshape(N, L, E)
    out = self.out_proj(out)
    local weights
    if o.need_weights then
      weights = o.average_attn_weights and attn:mean(2) or attn
      if not batched then weights = weights:squeeze(1) end
    end
    if not batched then out = out:squeeze(1)
    elseif not self.batch_first then out = out:transpose(1, 2) end
    return out, weights
  end

  -- ---- encoder and decoder layers ------------------------------------------------------

  local function activation_fn(layer, a)
    if type(a) == "function" then return a end
    if a == "relu" then return function(x) return x:relu() end end
    if a == "gelu" then return nn.F.gelu end
    error(string.format("%s: activation must be 'relu', 'gelu' or a function, got %s", layer, tostring(a)), 5)
  end

  local layer_defaults = {dim_feedforward = 2048, dropout = 0.1, activation = "relu",
    layer_norm_eps = 1e-5, batch_first = false, norm_first = false, bias = true}

  -- the parts both layers share: attention(s), the feed-forward block, norms, dropouts
  local function build_layer(self, name, d_model, nhead, opts, n_attn)
    local o = args.options(name, opts, layer_defaults, 4)
    args.int(name, "d_model", d_model, 1, 4)
    args.int(name, "nhead", nhead, 1, 4)
    args.int(name, "dim_feedforward", o.dim_feedforward, 1, 4)
    args.number(name, "dropout", o.dropout, 0, 1, 4)
    self.activation = activation_fn(name, o.activation)
    self.norm_first, self.batch_first = o.norm_first, o.batch_first
    local mha = {dropout = o.dropout, batch_first = o.batch_first, bias = o.bias}
    -- registration order as PyTorch, so named_parameters lines up with its state_dict
    self.self_attn = nn.MultiheadAttention(d_model, nhead, mha)
    if n_attn == 2 then self.multihead_attn = nn.MultiheadAttention(d_model, nhead, mha) end
    self.linear1 = nn.Linear(d_model, o.dim_feedforward, {bias = o.bias})
    self.dropout = nn.Dropout(o.dropout)
    self.linear2 = nn.Linear(o.dim_feedforward, d_model, {bias = o.bias})
    for i = 1, n_attn + 1 do
      self["norm" .. i] = nn.LayerNorm(d_model, {eps = o.layer_norm_eps})
    end
    for i = 1, n_attn + 1 do self["dropout" .. i] = nn.Dropout(o.dropout) end
    -- a fresh layer of the same configuration, for TransformerEncoder/Decoder's copies
    self._remake = function() return nn[name](d_model, nhead, opts) end
  end

  local function ff_block(self, x, drop)
    return drop(self.linear2(self.dropout(self.activation(self.linear1(x)))))
  end

  local function attn_block(attn, drop, q, kv, mask, kpm, causal)
    return drop((attn(q, kv, kv, {attn_mask = mask, key_padding_mask = kpm, is_causal = causal, need_weights = false})))
  end

  local function check_input(name, x, d_model)
    if not core.is_tensor(x) then error(string.format("%s: input must be a tensor, got %s", name, type(x)), 3) end
    if (x:dim() ~= 3 and x:dim() ~= 2) or x:size(-1) ~= d_model then
      error(string.format("%s: input has shape %s, expected 3 dimensions (or 2, unbatched) ending in d_model = %d",
        name, shape_str(x), d_model), 3)
    end
  end

  --- nn.TransformerEncoderLayer(d_model, nhead [, {dim_feedforward = 2048, dropout = 0.1,
  ---   activation = "relu"|"gelu"|function, layer_norm_eps = 1e-5, batch_first = false,
  ---   norm_first = false, bias = true}])
  local EncLayer = nn.Module:extend("TransformerEncoderLayer")
  nn.TransformerEncoderLayer = EncLayer
  function EncLayer:init(d_model, nhead, opts)
    build_layer(self, "TransformerEncoderLayer", d_model, nhead, opts, 1)
    self.d_model = d_model
  end

  --- forward(src [, {src_mask, src_key_padding_mask, is_causal = false}])
  function EncLayer:forward(src, opts)
    local o = args.options("TransformerEncoderLayer", opts, {src_mask = false, src_key_padding_mask = false, is_causal = false}, 2)
    check_input("TransformerEncoderLayer", src, self.d_model)
    local mask, kpm = given(o.src_mask), given(o.src_key_padding_mask)
    local x = src
    if self.norm_first then
      local n1 = self.norm1(x)
      x = x + attn_block(self.self_attn, self.dropout1, n1, n1, mask, kpm, o.is_causal)
      x = x + ff_block(self, self.norm2(x), self.dropout2)
    else
      x = self.norm1(x + attn_block(self.self_attn, self.dropout1, x, x, mask, kpm, o.is_causal))
      x = self.norm2(x + ff_block(self, x, self.dropout2))
    end
    return x
  end

  --- nn.TransformerDecoderLayer(d_model, nhead [, options of TransformerEncoderLayer])
  local DecLayer = nn.Module:extend("TransformerDecoderLayer")
  nn.TransformerDecoderLayer = DecLayer
  function DecLayer:init(d_model, nhead, opts)
    build_layer(self, "TransformerDecoderLayer", d_model, nhead, opts, 2)
    self.d_model = d_model
  end

  local dec_opts = {tgt_mask = false, memory_mask = false, tgt_key_padding_mask = false,
    memory_key_padding_mask = false, tgt_is_causal = false, memory_is_causal = false}

  --- forward(tgt, memory [, {tgt_mask, memory_mask, tgt_key_padding_mask,
  ---   memory_key_padding_mask, tgt_is_causal = false, memory_is_causal = false}])
  function DecLayer:forward(tgt, memory, opts)
    local o = args.options("TransformerDecoderLayer", opts, dec_opts, 2)
    check_input("TransformerDecoderLayer", tgt, self.d_model)
    check_input("TransformerDecoderLayer", memory, self.d_model)
    local tm, tk = given(o.tgt_mask), given(o.tgt_key_padding_mask)
    local mm, mk = given(o.memory_mask), given(o.memory_key_padding_mask)
    local x = tgt
    if self.norm_first then
      local n1 = self.norm1(x)
      x = x + attn_block(self.self_attn, self.dropout1, n1, n1, tm, tk, o.tgt_is_causal)
      x = x + attn_block(self.multihead_attn, self.dropout2, self.norm2(x), memory, mm, mk, o.memory_is_causal)
      x = x + ff_block(self, self.norm3(x), self.dropout3)
    else
      x = self.norm1(x + attn_block(self.self_attn, self.dropout1, x, x, tm, tk, o.tgt_is_causal))
      x = self.norm2(x + attn_block(self.multihead_attn, self.dropout2, x, memory, mm, mk, o.memory_is_causal))
      x = self.norm3(x + ff_block(self, x, self.dropout3))
    end
    return x
  end

  -- ---- stacks ------------------------------------------------------------------------------

  -- num_layers layers: a factory's results, or copies of one layer (same initial weights,
  -- as PyTorch's deep copies)
  local function make_layers(name, layer, num_layers)
    args.int(name, "num_layers", num_layers, 1, 4)
    local layers = {}
    if type(layer) == "function" then
      for i = 1, num_layers do layers[i] = layer(i) end
    elseif type(layer) == "table" and type(layer._remake) == "function" then
      local src = layer:named_parameters()
      layers[1] = layer
      for i = 2, num_layers do
        local c = layer._remake()
        local dst = c:named_parameters()
        core.no_grad(function()
          for j, p in ipairs(dst) do p[2]:copy_(src[j][2]) end
        end)
        if not layer.training then c:eval() end
        layers[i] = c
      end
    else
      error(string.format("%s: expected a layer made by nn.Transformer%sLayer or a function returning a new layer, got %s",
        name, name:match("Encoder") and "Encoder" or "Decoder", type(layer)), 4)
    end
    return layers
  end

  --- nn.TransformerEncoder(layer | factory, num_layers [, {norm = module}])
  local Encoder = nn.Module:extend("TransformerEncoder")
  nn.TransformerEncoder = Encoder
  function Encoder:init(layer, num_layers, opts)
    local o = args.options("TransformerEncoder", opts, {norm = false}, 3)
    self.layers = nn.ModuleList(make_layers("TransformerEncoder", layer, num_layers))
    self.num_layers = num_layers
    if given(o.norm) then self.norm = o.norm end
  end

  --- forward(src [, {mask, src_key_padding_mask, is_causal = false}])
  function Encoder:forward(src, opts)
    local o = args.options("TransformerEncoder", opts, {mask = false, src_key_padding_mask = false, is_causal = false}, 2)
    local x = src
    local lo = {src_mask = o.mask, src_key_padding_mask = o.src_key_padding_mask, is_causal = o.is_causal}
    for i = 1, self.num_layers do x = self.layers[i](x, lo) end
    if self.norm then x = self.norm(x) end
    return x
  end

  --- nn.TransformerDecoder(layer | factory, num_layers [, {norm = module}])
  local Decoder = nn.Module:extend("TransformerDecoder")
  nn.TransformerDecoder = Decoder
  function Decoder:init(layer, num_layers, opts)
    local o = args.options("TransformerDecoder", opts, {norm = false}, 3)
    self.layers = nn.ModuleList(make_layers("TransformerDecoder", layer, num_layers))
    self.num_layers = num_layers
    if given(o.norm) then self.norm = o.norm end
  end

  --- forward(tgt, memory [, options of TransformerDecoderLayer.forward])
  function Decoder:forward(tgt, memory, opts)
    local o = args.options("TransformerDecoder", opts, dec_opts, 2)
    local x = tgt
    for i = 1, self.num_layers do x = self.layers[i](x, memory, o) end
    if self.norm then x = self.norm(x) end
    return x
  end

  -- ---- positional encoding -------------------------------------------------------------

  --- nn.PositionalEncoding(d_model [, {max_len = 5000, dropout = 0, batch_first = false}])
  -- adds the sinusoidal encoding of "Attention is all you need" (as in PyTorch's
  -- tutorial): pe[pos][2i] = sin(pos / 10000^(2i/d)), pe[pos][2i+1] = cos(same), pos from 0
  local PE = nn.Module:extend("PositionalEncoding")
  nn.PositionalEncoding = PE
  function PE:init(d_model, opts)
    local o = args.options("PositionalEncoding", opts, {max_len = 5000, dropout = 0, batch_first = false}, 3)
    args.int("PositionalEncoding", "d_model", d_model, 1, 3)
    args.int("PositionalEncoding", "max_len", o.max_len, 1, 3)
    args.number("PositionalEncoding", "dropout", o.dropout, 0, 1, 3)
    self.d_model, self.max_len, self.batch_first, self.p = d_model, o.max_len, o.batch_first, o.dropout
    local half = (d_model + 1) // 2
    local pos = core.arange(o.max_len, {dtype = "float64"}):view(o.max_len, 1)
    local freq = (core.arange(half, {dtype = "float64"}) * (-2 * math.log(10000) / d_model)):exp()
    local angle = pos * freq
    -- interleave sin and cos columns; an odd d_model drops the last cos
    local pe = core.stack({angle:sin(), angle:cos()}, 3):view(o.max_len, 2 * half):narrow(2, 1, d_model)
    self:buffer("pe", pe:float():contiguous():view(o.max_len, 1, d_model))
  end

  function PE:extra_repr()
    return string.format("d_model=%d, max_len=%d%s", self.d_model, self.max_len, self.p ~= 0 and ", dropout=" .. self.p or "")
  end

  --- forward(x): x (T,B,d_model), or (B,T,d_model) with batch_first
  function PE:forward(x)
    if not core.is_tensor(x) or x:dim() ~= 3 or x:size(3) ~= self.d_model then
      error(string.format("PositionalEncoding: input has shape %s, expected (%s, %d)",
        core.is_tensor(x) and shape_str(x) or type(x), self.batch_first and "batch, len" or "len, batch", self.d_model), 2)
    end
    local T = x:size(self.batch_first and 2 or 1)
    if T > self.max_len then
      error(string.format("PositionalEncoding: sequence of length %d is longer than max_len %d", T, self.max_len), 2)
    end
    local pe = self.pe:narrow(1, 1, T)
    if self.batch_first then pe = pe:transpose(1, 2) end
    if pe:dtype() ~= x:dtype() then pe = pe:to(x:dtype()) end
    return dropout(x + pe, self.p, self.training)
  end
end
