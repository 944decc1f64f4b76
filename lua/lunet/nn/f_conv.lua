-- nn.F convolution, pooling and padding. Arguments are checked here, with
-- PyTorch's defaults filled in, then the C kernels do the work (NCHW).
-- A 3-d input (C, H, W) is treated as a batch of one, as PyTorch does.
local core = require "lunet.core"
local args = require "lunet.nn.args"
local kernel = require "lunet.nn.kernels"

local fmt, S = string.format, args.shape_str

return function(F)
  -- (N, C, H, W) view of x; the second result says whether to drop N again
  local function batched(fname, x, nd)
    args.float(fname, "input", x, 3)
    if x:dim() == nd + 1 then return x:unsqueeze(1), true end
    if x:dim() ~= nd + 2 then
      local want = nd == 2 and "(N, C, H, W) or (C, H, W)" or "(N, C, L) or (C, L)"
      error(fmt("%s: expected input of shape %s, got %s", fname, want, S(x)), 3)
    end
    return x, false
  end

  local function unbatch(y, was) if was then return y:squeeze(1) end return y end

  -- output size along one dimension (PyTorch's rule, with ceil_mode)
  local function out_size(fname, what, n, k, s, p, d, ceil_mode)
    local span = d * (k - 1) + 1
    if n + 2 * p < span then
      error(fmt("%s: input size %d (padded %d) is smaller than the %s %d (with dilation %d)",
                fname, n, n + 2 * p, what, span, d), 3)
    end
    local num = n + 2 * p - span
    local o = (ceil_mode and -((-num) // s) or num // s) + 1
    -- with ceil_mode the last window must start inside the input or its left padding
    if ceil_mode and (o - 1) * s >= n + p then o = o - 1 end
    return o
  end

  local CONV_OPTS = args.set("stride", "padding", "dilation", "groups")

  -- checks common to conv1d and conv2d; returns the padding after "same"/"valid"
  local function check_conv(fname, x, w, b, o, nd)
    args.float(fname, "weight", w, 3)
    if w:dim() ~= nd + 2 then
      error(fmt("%s: weight must have %d dimensions (out_channels, in_channels/groups, %s), got %s",
                fname, nd + 2, nd == 2 and "kH, kW" or "k", S(w)), 3)
    end
    if b ~= nil then
      args.float(fname, "bias", b, 3)
      if b:dim() ~= 1 or b:size(1) ~= w:size(1) then
        error(fmt("%s: bias must have shape %d (one per output channel), got %s", fname, w:size(1), S(b)), 3)
      end
    end
    args.same_dtype(fname, 3, "input", x, "weight", w, "bias", b)
    local groups = args.int(fname, "groups", o.groups or 1, 1, 3)
    local C, O = x:size(2), w:size(1)
    if O % groups ~= 0 then
      error(fmt("%s: out_channels (%d) must be divisible by groups (%d)", fname, O, groups), 3)
    end
    if C ~= w:size(2) * groups then
      error(fmt("%s: input has %d channels, but weight %s with groups=%d expects %d", fname, C, S(w), groups, w:size(2) * groups), 3)
    end
    return groups
  end

  -- "same" padding: total d*(k-1) split in two, the odd one at the end
  -- (as PyTorch); returns the symmetric part and the extra {end} pads
  local function same_padding(fname, k, s, d)
    if s ~= 1 then error(fname .. ": padding \"same\" needs stride 1, got stride " .. s, 3) end
    local total = d * (k - 1)
    return total // 2, total % 2
  end

  --- conv2d(x, weight [, bias [, {stride = 1, padding = 0, dilation = 1, groups = 1}]])
  -- x (N, C, H, W), weight (O, C/groups, kH, kW); padding may be "same" or "valid"
  function F.conv2d(x, w, b, opts)
    local o = args.opts("conv2d", opts, CONV_OPTS)
    local x4, was = batched("conv2d", x, 2)
    local groups = check_conv("conv2d", x4, w, b, o, 2)
    local sh, sw = args.pair("conv2d", "stride", o.stride or 1, 1)
    local dh, dw = args.pair("conv2d", "dilation", o.dilation or 1, 1)
    local kh, kw = w:size(3), w:size(4)
    local ph, pw
    if o.padding == "same" then
      local eh, ew
      ph, eh = same_padding("conv2d", kh, sh, dh)
      pw, ew = same_padding("conv2d", kw, sw, dw)
      if eh + ew > 0 then x4 = F.pad(x4, {0, ew, 0, eh}) end
    elseif o.padding == "valid" then
      ph, pw = 0, 0
    else
      ph, pw = args.pair("conv2d", "padding", o.padding or 0, 0)
    end
    out_size("conv2d", "kernel", x4:size(3), kh, sh, ph, dh)
    out_size("conv2d", "kernel", x4:size(4), kw, sw, pw, dw)
    return unbatch(kernel("conv2d", "conv2d")(x4, w, b, sh, sw, ph, pw, dh, dw, groups), was)
  end

  --- conv1d(x, weight [, bias [, {stride, padding, dilation, groups}]]): x (N, C, L)
  function F.conv1d(x, w, b, opts)
    local o = args.opts("conv1d", opts, CONV_OPTS)
    local x3, was = batched("conv1d", x, 1)
    local groups = check_conv("conv1d", x3, w, b, o, 1)
    local function one(name, v, min)
      if type(v) == "table" and #v == 1 then v = v[1] end
      return args.int("conv1d", name, v, min, 3)
    end
    local s, d, k = one("stride", o.stride or 1, 1), one("dilation", o.dilation or 1, 1), w:size(3)
    local p
    if o.padding == "same" then
      local e
      p, e = same_padding("conv1d", k, s, d)
      if e > 0 then x3 = F.pad(x3, {0, e}) end
    elseif o.padding == "valid" then
      p = 0
    else
      p = one("padding", o.padding or 0, 0)
    end
    out_size("conv1d", "kernel", x3:size(3), k, s, p, d)
    return unbatch(kernel("conv1d", "conv1d")(x3, w, b, s, p, d, groups), was)
  end

  --- conv_transpose2d(x, weight [, bias [, {stride, padding, output_padding, groups, dilation}]])
  -- x (N, C, H, W), weight (C, O/groups, kH, kW)
  function F.conv_transpose2d(x, w, b, opts)
    local fname = "conv_transpose2d"
    local o = args.opts(fname, opts, args.set("stride", "padding", "output_padding", "groups", "dilation"))
    local x4, was = batched(fname, x, 2)
    args.float(fname, "weight", w)
    if w:dim() ~= 4 then
      error(fmt("%s: weight must have 4 dimensions (in_channels, out_channels/groups, kH, kW), got %s", fname, S(w)), 2)
    end
    local groups = args.int(fname, "groups", o.groups or 1, 1)
    local C, O = x4:size(2), w:size(2) * groups
    if w:size(1) ~= C then
      error(fmt("%s: input has %d channels, but weight %s expects %d", fname, C, S(w), w:size(1)), 2)
    end
    if C % groups ~= 0 then error(fmt("%s: in_channels (%d) must be divisible by groups (%d)", fname, C, groups), 2) end
    if b ~= nil then
      args.float(fname, "bias", b)
      if b:dim() ~= 1 or b:size(1) ~= O then
        error(fmt("%s: bias must have shape %d (one per output channel), got %s", fname, O, S(b)), 2)
      end
    end
    args.same_dtype(fname, 2, "input", x4, "weight", w, "bias", b)
    local sh, sw = args.pair(fname, "stride", o.stride or 1, 1)
    local ph, pw = args.pair(fname, "padding", o.padding or 0, 0)
    local oph, opw = args.pair(fname, "output_padding", o.output_padding or 0, 0)
    local dh, dw = args.pair(fname, "dilation", o.dilation or 1, 1)
    if (oph >= sh and oph >= dh) or (opw >= sw and opw >= dw) then
      error(fmt("%s: output_padding {%d, %d} must be smaller than stride {%d, %d} or dilation {%d, %d}",
                fname, oph, opw, sh, sw, dh, dw), 2)
    end
    for i, n in ipairs{x4:size(3), x4:size(4)} do
      local s, p, d, op, k = ({sh, sw})[i], ({ph, pw})[i], ({dh, dw})[i], ({oph, opw})[i], w:size(i + 2)
      local out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
      if out < 1 then error(fmt("%s: the output size would be %d (input size %d, padding %d too large)", fname, out, n, p), 2) end
    end
    return unbatch(kernel(fname, "conv_transpose2d")(x4, w, b, sh, sw, ph, pw, oph, opw, groups, dh, dw), was)
  end

  -- kernel, stride (default: the kernel) and padding of a pooling call
  local function pool_geometry(fname, k, o)
    local kh, kw = args.pair(fname, "kernel_size", k, 1, 3)
    local sh, sw = kh, kw
    if o.stride ~= nil and not (type(o.stride) == "table" and #o.stride == 0) then
      sh, sw = args.pair(fname, "stride", o.stride, 1, 3)
    end
    local ph, pw = args.pair(fname, "padding", o.padding or 0, 0, 3)
    if ph > kh // 2 or pw > kw // 2 then
      error(fmt("%s: padding {%d, %d} must be at most half the kernel size {%d, %d}", fname, ph, pw, kh, kw), 3)
    end
    return kh, kw, sh, sw, ph, pw
  end

  --- max_pool2d(x, kernel_size [, {stride = kernel_size, padding = 0, dilation = 1,
  -- ceil_mode = false, return_indices = false}]) -> y [, indices]
  -- indices: int64, the 1-based flat position (h - 1) * W + w of each maximum in its plane
  function F.max_pool2d(x, k, opts)
    local fname = "max_pool2d"
    local o = args.opts(fname, opts, args.set("stride", "padding", "dilation", "ceil_mode", "return_indices"))
    local x4, was = batched(fname, x, 2)
    local kh, kw, sh, sw, ph, pw = pool_geometry(fname, k, o)
    local dh, dw = args.pair(fname, "dilation", o.dilation or 1, 1)
    local ceil = o.ceil_mode and true or false
    out_size(fname, "window", x4:size(3), kh, sh, ph, dh, ceil)
    out_size(fname, "window", x4:size(4), kw, sw, pw, dw, ceil)
    local y, idx = kernel(fname, "max_pool2d")(x4, kh, kw, sh, sw, ph, pw, dh, dw, ceil)
    if o.return_indices then return unbatch(y, was), unbatch(idx, was) end
    return unbatch(y, was)
  end

  --- avg_pool2d(x, kernel_size [, {stride = kernel_size, padding = 0, ceil_mode = false,
  -- count_include_pad = true}])
  function F.avg_pool2d(x, k, opts)
    local fname = "avg_pool2d"
    local o = args.opts(fname, opts, args.set("stride", "padding", "ceil_mode", "count_include_pad"))
    local x4, was = batched(fname, x, 2)
    local kh, kw, sh, sw, ph, pw = pool_geometry(fname, k, o)
    local ceil = o.ceil_mode and true or false
    out_size(fname, "window", x4:size(3), kh, sh, ph, 1, ceil)
    out_size(fname, "window", x4:size(4), kw, sw, pw, 1, ceil)
    local include = o.count_include_pad ~= false
    return unbatch(kernel(fname, "avg_pool2d")(x4, kh, kw, sh, sw, ph, pw, ceil, include), was)
  end

  --- adaptive_avg_pool2d(x, output_size): output_size an int or {h, w}; a nil
  -- (or false) entry keeps the input's size
  function F.adaptive_avg_pool2d(x, size)
    local fname = "adaptive_avg_pool2d"
    local x4, was = batched(fname, x, 2)
    local oh, ow
    if type(size) == "table" then
      oh = size[1] or x4:size(3)
      ow = size[2] or x4:size(4)
    else
      oh, ow = size, size
    end
    args.int(fname, "output_size", oh, 1)
    args.int(fname, "output_size", ow, 1)
    return unbatch(kernel(fname, "adaptive_avg_pool2d")(x4, oh, ow), was)
  end

  --- pad(x, pad [, {value = 0}]): constant padding; pad = {left, right, top,
  -- bottom, ...} from the last dimension backwards (as PyTorch); negative crops
  function F.pad(x, pad, opts)
    args.tensor("pad", "input", x)
    local o = args.opts("pad", opts, args.set("value", "mode"))
    if o.mode ~= nil and o.mode ~= "constant" then error("pad: only mode \"constant\" is supported, got " .. tostring(o.mode), 2) end
    if type(pad) ~= "table" or #pad % 2 ~= 0 or #pad // 2 > x:dim() then
      error(fmt("pad: pad must be a table of an even length up to %d (two per dimension from the last), got %s",
                2 * x:dim(), type(pad) == "table" and "a table of " .. #pad or type(pad)), 2)
    end
    local value = o.value or 0
    local y = x
    for i = 1, #pad // 2 do
      local dim = x:dim() - i + 1
      local before, after = args.int("pad", "pad", pad[2 * i - 1]), args.int("pad", "pad", pad[2 * i])
      if before < 0 then y = y:narrow(dim, 1 - before, y:size(dim) + before) end
      if after < 0 then y = y:narrow(dim, 1, y:size(dim) + after) end
      if y:size(dim) < 0 then error("pad: cropping more than the size of dimension " .. dim, 2) end
      local parts = {}
      local function block(n)
        local s = y:shape()
        s[dim] = n
        return core.full(s, value, {dtype = y:dtype()})
      end
      if before > 0 then parts[#parts + 1] = block(before) end
      parts[#parts + 1] = y
      if after > 0 then parts[#parts + 1] = block(after) end
      if #parts > 1 then y = core.cat(parts, dim) end
    end
    return y
  end
end
