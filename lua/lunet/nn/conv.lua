-- Convolution and pooling layers (NCHW): Conv1d, Conv2d, ConvTranspose2d,
-- MaxPool2d, AvgPool2d, AdaptiveAvgPool2d. The arithmetic is nn.F's.
local core = require "lunet.core"
local args = require "lunet.nn.args"

local fmt, S, R = string.format, args.shape_str, args.repr

return function(nn)
  local F, init = nn.F, nn.init
  local posint, options, need_tensor = args.layer_int, args.layer_opts, args.need_tensor

  -- an int or a table of n positive (min 0 for padding) integers, as given
  local function spatial(cls, name, v, n, min)
    local ok = math.type(v) == "integer" and v >= min
    if type(v) == "table" and #v == n then
      ok = true
      for _, e in ipairs(v) do ok = ok and math.type(e) == "integer" and e >= min end
    end
    if not ok then
      error(fmt("%s: %s must be an integer >= %d or a table of %d of them, got %s", cls, name, min, n, R(v)), 4)
    end
    return v
  end

  local function expand(v, n)
    if type(v) == "table" then return v end
    local t = {}
    for i = 1, n do t[i] = v end
    return t
  end

  -- ---- convolutions -------------------------------------------------------------

  -- shared by Conv1d and Conv2d (nd spatial dims); tail-called from init, so
  -- that error levels count as from init
  local function conv_init(self, cls, nd, n_in, n_out, k, opts)
    local o = options(cls, opts, args.set("stride", "padding", "dilation", "groups", "bias"))
    self.in_channels = posint(cls, "in_channels", n_in)
    self.out_channels = posint(cls, "out_channels", n_out)
    self.kernel_size = expand(spatial(cls, "kernel_size", k, nd, 1), nd)
    self.stride = expand(spatial(cls, "stride", o.stride or 1, nd, 1), nd)
    if o.padding == "same" or o.padding == "valid" then self.padding = o.padding
    else self.padding = expand(spatial(cls, "padding", o.padding or 0, nd, 0), nd) end
    self.dilation = expand(spatial(cls, "dilation", o.dilation or 1, nd, 1), nd)
    self.groups = posint(cls, "groups", o.groups or 1)
    if n_in % self.groups ~= 0 or n_out % self.groups ~= 0 then
      error(fmt("%s: in_channels (%d) and out_channels (%d) must be divisible by groups (%d)", cls, n_in, n_out, self.groups), 3)
    end
    local shape = {n_out, n_in // self.groups}
    for i = 1, nd do shape[#shape + 1] = self.kernel_size[i] end
    self:param("weight", core.empty(shape))
    if o.bias ~= false then self:param("bias", core.empty(n_out)) end
    self:reset_parameters()
  end

  -- PyTorch 1.13: kaiming_uniform_(a = sqrt(5)) and a bias in +-1/sqrt(fan_in)
  local function conv_reset(self)
    init.kaiming_uniform_(self.weight, math.sqrt(5))
    if self.bias then
      local fan_in = init.fans(self.weight)
      local bound = fan_in > 0 and 1 / math.sqrt(fan_in) or 0
      init.uniform_(self.bias, -bound, bound)
    end
  end

  local function conv_repr(self, extra)
    local s = fmt("%d, %d, kernel_size=%s, stride=%s", self.in_channels, self.out_channels, R(self.kernel_size), R(self.stride))
    local zero_pad = type(self.padding) == "table" and math.max(table.unpack(self.padding)) == 0
    if not zero_pad then s = s .. ", padding=" .. R(self.padding) end
    if extra then s = s .. extra end
    if math.max(table.unpack(self.dilation)) ~= 1 then s = s .. ", dilation=" .. R(self.dilation) end
    if self.groups ~= 1 then s = s .. ", groups=" .. self.groups end
    if not self.bias then s = s .. ", bias=false" end
    return s
  end

  local function conv_label(cls, self)
    return fmt("%s(%d->%d, %s)", cls, self.in_channels, self.out_channels, table.concat(self.kernel_size, "x"))
  end

  -- the input's rank and channels, before any arithmetic
  local function check_channels(label, x, C, nd, batch_shape)
    need_tensor(label, x)
    if x:dim() ~= nd + 1 and x:dim() ~= nd + 2 then
      error(fmt("%s: expected input of shape %s, got %s", label, batch_shape, S(x)), 3)
    end
    local c = x:size(x:dim() - nd)
    if c ~= C then
      error(fmt("%s: input has %d channels, expected %d (input shape %s)", label, c, C, S(x)), 3)
    end
  end

  local function conv_opts(self, pick)
    return {stride = pick(self.stride), padding = type(self.padding) == "string" and self.padding or pick(self.padding),
            dilation = pick(self.dilation), groups = self.groups}
  end

  --- Conv2d(in_channels, out_channels, kernel_size [, {stride = 1, padding = 0,
  -- dilation = 1, groups = 1, bias = true}]): sizes are ints or {h, w};
  -- padding may be "same" or "valid"
  local Conv2d = nn.Module:extend("Conv2d")
  nn.Conv2d = Conv2d

  function Conv2d:init(n_in, n_out, k, opts) return conv_init(self, "Conv2d", 2, n_in, n_out, k, opts) end
  Conv2d.reset_parameters = conv_reset
  function Conv2d:extra_repr() return conv_repr(self) end

  function Conv2d:forward(x)
    local label = conv_label("Conv2d", self)
    check_channels(label, x, self.in_channels, 2, fmt("(N, %d, H, W) or (%d, H, W)", self.in_channels, self.in_channels))
    return args.as_layer(label, x, "conv2d", F.conv2d, x, self.weight, self.bias, conv_opts(self, function(v) return v end))
  end

  --- Conv1d(in_channels, out_channels, kernel_size [, {stride, padding, dilation,
  -- groups, bias}]): input (N, C, L)
  local Conv1d = nn.Module:extend("Conv1d")
  nn.Conv1d = Conv1d

  function Conv1d:init(n_in, n_out, k, opts) return conv_init(self, "Conv1d", 1, n_in, n_out, k, opts) end
  Conv1d.reset_parameters = conv_reset
  function Conv1d:extra_repr() return conv_repr(self) end

  function Conv1d:forward(x)
    local label = conv_label("Conv1d", self)
    check_channels(label, x, self.in_channels, 1, fmt("(N, %d, L) or (%d, L)", self.in_channels, self.in_channels))
    return args.as_layer(label, x, "conv1d", F.conv1d, x, self.weight, self.bias, conv_opts(self, function(v) return v[1] end))
  end

  --- ConvTranspose2d(in_channels, out_channels, kernel_size [, {stride = 1,
  -- padding = 0, output_padding = 0, groups = 1, bias = true, dilation = 1}])
  -- weight (in_channels, out_channels / groups, kH, kW)
  local ConvTranspose2d = nn.Module:extend("ConvTranspose2d")
  nn.ConvTranspose2d = ConvTranspose2d

  function ConvTranspose2d:init(n_in, n_out, k, opts)
    local cls = "ConvTranspose2d"
    local o = options(cls, opts, args.set("stride", "padding", "output_padding", "groups", "bias", "dilation"))
    self.in_channels = posint(cls, "in_channels", n_in)
    self.out_channels = posint(cls, "out_channels", n_out)
    self.kernel_size = expand(spatial(cls, "kernel_size", k, 2, 1), 2)
    self.stride = expand(spatial(cls, "stride", o.stride or 1, 2, 1), 2)
    self.padding = expand(spatial(cls, "padding", o.padding or 0, 2, 0), 2)
    self.output_padding = expand(spatial(cls, "output_padding", o.output_padding or 0, 2, 0), 2)
    self.dilation = expand(spatial(cls, "dilation", o.dilation or 1, 2, 1), 2)
    self.groups = posint(cls, "groups", o.groups or 1)
    if n_in % self.groups ~= 0 or n_out % self.groups ~= 0 then
      error(fmt("%s: in_channels (%d) and out_channels (%d) must be divisible by groups (%d)", cls, n_in, n_out, self.groups), 3)
    end
    for i = 1, 2 do
      if self.output_padding[i] >= self.stride[i] and self.output_padding[i] >= self.dilation[i] then
        error(fmt("%s: output_padding %s must be smaller than stride %s or dilation %s", cls,
                  R(self.output_padding), R(self.stride), R(self.dilation)), 3)
      end
    end
    self:param("weight", core.empty(n_in, n_out // self.groups, self.kernel_size[1], self.kernel_size[2]))
    if o.bias ~= false then self:param("bias", core.empty(n_out)) end
    self:reset_parameters()
  end

  ConvTranspose2d.reset_parameters = conv_reset -- fans of the weight as stored, as PyTorch

  function ConvTranspose2d:extra_repr()
    local op = math.max(table.unpack(self.output_padding)) ~= 0 and ", output_padding=" .. R(self.output_padding) or nil
    return conv_repr(self, op)
  end

  function ConvTranspose2d:forward(x)
    local label = conv_label("ConvTranspose2d", self)
    check_channels(label, x, self.in_channels, 2, fmt("(N, %d, H, W) or (%d, H, W)", self.in_channels, self.in_channels))
    return args.as_layer(label, x, "conv_transpose2d", F.conv_transpose2d, x, self.weight, self.bias,
                         {stride = self.stride, padding = self.padding, output_padding = self.output_padding,
                          groups = self.groups, dilation = self.dilation})
  end

  -- ---- pooling --------------------------------------------------------------------

  local function check_4d(label, x)
    need_tensor(label, x)
    if x:dim() ~= 3 and x:dim() ~= 4 then
      error(fmt("%s: expected input of shape (N, C, H, W) or (C, H, W), got %s", label, S(x)), 3)
    end
  end

  --- MaxPool2d(kernel_size [, {stride = kernel_size, padding = 0, dilation = 1,
  -- ceil_mode = false, return_indices = false}])
  local MaxPool2d = nn.Module:extend("MaxPool2d")
  nn.MaxPool2d = MaxPool2d

  function MaxPool2d:init(k, opts)
    local cls = "MaxPool2d"
    local o = options(cls, opts, args.set("stride", "padding", "dilation", "ceil_mode", "return_indices"))
    self.kernel_size = spatial(cls, "kernel_size", k, 2, 1)
    self.stride = o.stride == nil and k or spatial(cls, "stride", o.stride, 2, 1)
    self.padding = spatial(cls, "padding", o.padding or 0, 2, 0)
    self.dilation = spatial(cls, "dilation", o.dilation or 1, 2, 1)
    self.ceil_mode = o.ceil_mode and true or false
    self.return_indices = o.return_indices and true or false
  end

  function MaxPool2d:forward(x)
    local label = "MaxPool2d(" .. R(self.kernel_size) .. ")"
    check_4d(label, x)
    return args.as_layer(label, x, "max_pool2d", F.max_pool2d, x, self.kernel_size,
                         {stride = self.stride, padding = self.padding, dilation = self.dilation,
                          ceil_mode = self.ceil_mode, return_indices = self.return_indices})
  end

  function MaxPool2d:extra_repr()
    return fmt("kernel_size=%s, stride=%s, padding=%s, dilation=%s, ceil_mode=%s", R(self.kernel_size), R(self.stride),
               R(self.padding), R(self.dilation), tostring(self.ceil_mode))
  end

  --- AvgPool2d(kernel_size [, {stride = kernel_size, padding = 0, ceil_mode = false,
  -- count_include_pad = true}])
  local AvgPool2d = nn.Module:extend("AvgPool2d")
  nn.AvgPool2d = AvgPool2d

  function AvgPool2d:init(k, opts)
    local cls = "AvgPool2d"
    local o = options(cls, opts, args.set("stride", "padding", "ceil_mode", "count_include_pad"))
    self.kernel_size = spatial(cls, "kernel_size", k, 2, 1)
    self.stride = o.stride == nil and k or spatial(cls, "stride", o.stride, 2, 1)
    self.padding = spatial(cls, "padding", o.padding or 0, 2, 0)
    self.ceil_mode = o.ceil_mode and true or false
    self.count_include_pad = o.count_include_pad ~= false
  end

  function AvgPool2d:forward(x)
    local label = "AvgPool2d(" .. R(self.kernel_size) .. ")"
    check_4d(label, x)
    return args.as_layer(label, x, "avg_pool2d", F.avg_pool2d, x, self.kernel_size,
                         {stride = self.stride, padding = self.padding, ceil_mode = self.ceil_mode,
                          count_include_pad = self.count_include_pad})
  end

  function AvgPool2d:extra_repr()
    return fmt("kernel_size=%s, stride=%s, padding=%s", R(self.kernel_size), R(self.stride), R(self.padding))
  end

  --- AdaptiveAvgPool2d(output_size): output_size an int or {h, w} (nil keeps the input's)
  local AdaptiveAvgPool2d = nn.Module:extend("AdaptiveAvgPool2d")
  nn.AdaptiveAvgPool2d = AdaptiveAvgPool2d

  function AdaptiveAvgPool2d:init(size)
    local ok = math.type(size) == "integer" and size >= 1
    if type(size) == "table" then
      ok = true
      for i = 1, 2 do ok = ok and (size[i] == nil or (math.type(size[i]) == "integer" and size[i] >= 1)) end
    end
    if not ok then error("AdaptiveAvgPool2d: output_size must be a positive integer or {h, w}, got " .. R(size), 3) end
    self.output_size = size
  end

  function AdaptiveAvgPool2d:forward(x)
    local label = "AdaptiveAvgPool2d(" .. R(self.output_size) .. ")"
    check_4d(label, x)
    return args.as_layer(label, x, "adaptive_avg_pool2d", F.adaptive_avg_pool2d, x, self.output_size)
  end

  function AdaptiveAvgPool2d:extra_repr() return "output_size=" .. R(self.output_size) end
end
