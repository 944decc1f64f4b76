-- lunet.nn.rnn: recurrent layers (RNN, LSTM, GRU) and their one-step cells
-- (RNNCell, LSTMCell, GRUCell), with PyTorch's parameter names, shapes and
-- default initialisation. Installed into the nn table by lunet/nn/init.lua.
--
-- Each layer and direction projects the inputs of all time steps with ONE
-- matmul, then runs the recurrence: for LSTM and GRU in a fused C kernel
-- (core._nn.lstm / gru, forward and backward of the whole sequence in C);
-- RNN, and LSTM/GRU when the kernel is missing or `fused` is false, step in
-- Lua with tensor ops (the reference the specs compare the kernels with).
local core = require "lunet.core"
local args = require "lunet.nn.args"

return function(nn)
  -- ---- helpers ---------------------------------------------------------------

  local shape_str = args.shape_str

  -- opts (nil or a table of known keys; a typo raises) over the defaults
  -- the fused kernel `name` of core._nn, or nil (a build without it, or m.fused = false)
  local function kernel(m, name)
    if m.fused == false then return nil end
    local k = core._nn
    return k and k[name]
  end

  local function flip_time(x) -- reverse dimension 1 (time)
    local T = x:size(1)
    return x:index_select(1, core.arange(T, 0, -1))
  end

  -- ---- the recurrences of one layer and one direction, time-major --------------
  -- xg (T,B,G*H) holds the input projections of every step; h0, c0 (B,H).

  local function lstm_steps(xg, h0, c0, w_hh)
    local wt = w_hh:t()
    local h, c, outs = h0, c0, {}
    for t = 1, xg:size(1) do
      local gates = xg[t] + h:matmul(wt)
      local i, f, g, o = table.unpack(gates:chunk(4, 2))
      c = f:sigmoid() * c + i:sigmoid() * g:tanh()
      h = o:sigmoid() * c:tanh()
      outs[t] = h
    end
    return core.stack(outs, 1), h, c
  end

  local function gru_steps(xg, h0, w_hh, b_hh)
    local wt = w_hh:t()
    local h, outs = h0, {}
    for t = 1, xg:size(1) do
      local gh = h:matmul(wt)
      if b_hh then gh = gh + b_hh end
      local xr, xz, xn = table.unpack(xg[t]:chunk(3, 2))
      local hr, hz, hn = table.unpack(gh:chunk(3, 2))
      local r, z = (xr + hr):sigmoid(), (xz + hz):sigmoid()
      local n = (xn + r * hn):tanh()
      h = n + z * (h - n) -- (1 - z) * n + z * h
      outs[t] = h
    end
    return core.stack(outs, 1), h
  end

  local function rnn_steps(xg, h0, w_hh, act)
    local wt = w_hh:t()
    local h, outs = h0, {}
    for t = 1, xg:size(1) do
      h = xg[t] + h:matmul(wt)
      h = act == "relu" and h:relu() or h:tanh()
      outs[t] = h
    end
    return core.stack(outs, 1), h
  end

  -- ---- the layers ----------------------------------------------------------------

  local GATES = {RNN = 1, LSTM = 4, GRU = 3}

  local RNNBase = nn.Module:extend("RNNBase")

  function RNNBase:init(mode, input_size, hidden_size, opts)
    local defaults = {num_layers = 1, bias = true, batch_first = false, dropout = 0,
                      bidirectional = false}
    if mode == "RNN" then defaults.nonlinearity = "tanh" end
    local o = args.options(mode, opts, defaults, 3)
    args.int(mode, "input_size", input_size, 1, 3)
    args.int(mode, "hidden_size", hidden_size, 1, 3)
    args.int(mode, "num_layers", o.num_layers, 1, 3)
    args.number(mode, "dropout", o.dropout, 0, 1, 3)
    if mode == "RNN" and o.nonlinearity ~= "tanh" and o.nonlinearity ~= "relu" then
      error(string.format("RNN: nonlinearity must be 'tanh' or 'relu', got %s", tostring(o.nonlinearity)), 3)
    end
    self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
    self.num_layers, self.bias, self.batch_first = o.num_layers, o.bias, o.batch_first
    self.dropout, self.bidirectional, self.nonlinearity = o.dropout, o.bidirectional, o.nonlinearity
    self.num_directions = o.bidirectional and 2 or 1
    local G, H = GATES[mode] * hidden_size, hidden_size
    -- registration order as PyTorch: per layer, per direction: w_ih, w_hh, b_ih, b_hh
    for l = 0, o.num_layers - 1 do
      local n_in = l == 0 and input_size or H * self.num_directions
      for _, sfx in ipairs(self.bidirectional and {"", "_reverse"} or {""}) do
        self:param("weight_ih_l" .. l .. sfx, core.empty(G, n_in))
        self:param("weight_hh_l" .. l .. sfx, core.empty(G, H))
        if o.bias then
          self:param("bias_ih_l" .. l .. sfx, core.empty(G))
          self:param("bias_hh_l" .. l .. sfx, core.empty(G))
        end
      end
    end
    self:reset_parameters()
  end

  -- U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias, as PyTorch
  local function reset_uniform(self)
    local k = 1 / math.sqrt(self.hidden_size)
    for _, p in ipairs(self:parameters()) do nn.init.uniform_(p, -k, k) end
  end
  RNNBase.reset_parameters = reset_uniform

  function RNNBase:extra_repr()
    local parts = {self.input_size .. ", " .. self.hidden_size}
    if self.num_layers ~= 1 then parts[#parts + 1] = "num_layers=" .. self.num_layers end
    if self.nonlinearity == "relu" then parts[#parts + 1] = "nonlinearity=relu" end
    if not self.bias then parts[#parts + 1] = "bias=false" end
    if self.batch_first then parts[#parts + 1] = "batch_first=true" end
    if self.dropout ~= 0 then parts[#parts + 1] = "dropout=" .. self.dropout end
    if self.bidirectional then parts[#parts + 1] = "bidirectional=true" end
    return table.concat(parts, ", ")
  end

  -- one layer, one direction over time-major x (T,B,n_in); returns out (T,B,H), hT[, cT]
  function RNNBase:_direction(x, l, sfx, h0, c0)
    local T, B = x:size(1), x:size(2)
    local w_ih, w_hh = self["weight_ih_l" .. l .. sfx], self["weight_hh_l" .. l .. sfx]
    local b_ih, b_hh = self["bias_ih_l" .. l .. sfx], self["bias_hh_l" .. l .. sfx]
    local reverse = sfx ~= ""
    if reverse then x = flip_time(x) end
    -- all steps' input projections in one GEMM; GRU keeps b_hh apart (it sits inside r * (.))
    local bias = b_ih and (self.mode == "GRU" and b_ih or b_ih + b_hh)
    local xg = nn.F.linear(x:reshape(T * B, x:size(3)), w_ih, bias):view(T, B, w_ih:size(1))
    local out, hT, cT
    if self.mode == "LSTM" then
      local k = kernel(self, "lstm")
      if k then out, hT, cT = k(xg, h0, c0, w_hh)
      else out, hT, cT = lstm_steps(xg, h0, c0, w_hh) end
    elseif self.mode == "GRU" then
      local k = kernel(self, "gru")
      if k then out, hT = k(xg, h0, w_hh, b_hh)
      else out, hT = gru_steps(xg, h0, w_hh, b_hh) end
    else
      out, hT = rnn_steps(xg, h0, w_hh, self.nonlinearity)
    end
    if reverse then out = flip_time(out) end
    return out, hT, cT
  end

  -- checks one initial state: (L*D, B, H), or (L*D, H) for an unbatched input
  function RNNBase:_check_state(name, s, x, batched, B)
    local H, LD = self.hidden_size, self.num_layers * self.num_directions
    local want = batched and {LD, B, H} or {LD, H}
    if not core.is_tensor(s) then
      error(string.format("%s: %s must be a tensor, got %s", self.mode, name, type(s)), 3)
    end
    local ok = s:dim() == #want
    for d = 1, #want do ok = ok and s:size(d) == want[d] end
    if not ok then
      error(string.format("%s: %s has shape %s, expected %s (num_layers*num_directions, %shidden_size)",
        self.mode, name, shape_str(s), table.concat(want, "x"), batched and "batch, " or ""), 3)
    end
    if s:dtype() ~= x:dtype() then
      error(string.format("%s: %s is %s but the input is %s", self.mode, name, s:dtype(), x:dtype()), 3)
    end
  end

  --- forward(x [, hx]) -> output, h_n  (LSTM: output, {h_n, c_n})
  -- x (T,B,input_size), or (B,T,input_size) with batch_first, or (T,input_size)
  -- unbatched; hx: h0 (num_layers*num_directions, B, hidden_size) for RNN and
  -- GRU, {h0, c0} for LSTM, or nil for zeros.
  function RNNBase:forward(x, hx)
    local mode = self.mode
    if not core.is_tensor(x) then error(string.format("%s: input must be a tensor, got %s", mode, type(x)), 2) end
    local batched = x:dim() == 3
    if not batched and x:dim() ~= 2 then
      error(string.format("%s: input must have 3 dimensions (%s, input_size) or 2 (unbatched), got shape %s",
        mode, self.batch_first and "batch, seq" or "seq, batch", shape_str(x)), 2)
    end
    if x:size(-1) ~= self.input_size then
      error(string.format("%s: input has %d features in its last dimension (shape %s), expected input_size %d",
        mode, x:size(-1), shape_str(x), self.input_size), 2)
    end
    if x:size(1) == 0 or (batched and x:size(2) == 0) then
      error(string.format("%s: input of shape %s is empty", mode, shape_str(x)), 2)
    end
    if batched and self.batch_first then x = x:transpose(1, 2) end
    if not batched then x = x:unsqueeze(2) end
    local B, H, LD = x:size(2), self.hidden_size, self.num_layers * self.num_directions
    local h0, c0
    if hx ~= nil then
      if mode == "LSTM" then
        if type(hx) ~= "table" or #hx ~= 2 then
          error("LSTM: the initial state must be a table {h0, c0}, got " .. (core.is_tensor(hx) and "a tensor" or type(hx)), 2)
        end
        h0, c0 = hx[1], hx[2]
        self:_check_state("h0", h0, x, batched, B)
        self:_check_state("c0", c0, x, batched, B)
        if not batched then h0, c0 = h0:unsqueeze(2), c0:unsqueeze(2) end
      else
        h0 = hx
        self:_check_state("h0", h0, x, batched, B)
        if not batched then h0 = h0:unsqueeze(2) end
      end
    else
      h0 = core.zeros(LD, B, H, {dtype = x:dtype()})
      if mode == "LSTM" then c0 = h0 end
    end
    local hs, cs = {}, {}
    for l = 0, self.num_layers - 1 do
      if l > 0 and self.dropout > 0 then x = nn.F.dropout(x, self.dropout, self.training) end
      local outs = {}
      for d = 1, self.num_directions do
        local s = l * self.num_directions + d
        local out, hT, cT = self:_direction(x, l, d == 2 and "_reverse" or "", h0[s], c0 and c0[s])
        outs[d], hs[s], cs[s] = out, hT, cT
      end
      x = #outs == 1 and outs[1] or core.cat(outs, 3)
    end
    local h_n, c_n = core.stack(hs, 1), mode == "LSTM" and core.stack(cs, 1) or nil
    if not batched then
      x, h_n = x:squeeze(2), h_n:squeeze(2)
      if c_n then c_n = c_n:squeeze(2) end
    elseif self.batch_first then
      x = x:transpose(1, 2)
    end
    if mode == "LSTM" then return x, {h_n, c_n} end
    return x, h_n
  end

  --- nn.RNN(input_size, hidden_size [, {num_layers = 1, nonlinearity = "tanh", bias = true,
  ---   batch_first = false, dropout = 0, bidirectional = false}])
  nn.RNN = RNNBase:extend("RNN")
  function nn.RNN:init(input_size, hidden_size, opts) return RNNBase.init(self, "RNN", input_size, hidden_size, opts) end

  --- nn.LSTM(input_size, hidden_size [, opts]): the options of nn.RNN but nonlinearity
  nn.LSTM = RNNBase:extend("LSTM")
  function nn.LSTM:init(input_size, hidden_size, opts) return RNNBase.init(self, "LSTM", input_size, hidden_size, opts) end

  --- nn.GRU(input_size, hidden_size [, opts]): the options of nn.RNN but nonlinearity
  nn.GRU = RNNBase:extend("GRU")
  function nn.GRU:init(input_size, hidden_size, opts) return RNNBase.init(self, "GRU", input_size, hidden_size, opts) end

  -- ---- cells: one time step, for decoders that feed each output back ----------------

  local CellBase = nn.Module:extend("RNNCellBase")

  function CellBase:init(mode, input_size, hidden_size, opts)
    local name = mode .. "Cell"
    local defaults = {bias = true}
    if mode == "RNN" then defaults.nonlinearity = "tanh" end
    local o = args.options(name, opts, defaults, 3)
    args.int(name, "input_size", input_size, 1, 3)
    args.int(name, "hidden_size", hidden_size, 1, 3)
    if mode == "RNN" and o.nonlinearity ~= "tanh" and o.nonlinearity ~= "relu" then
      error(string.format("RNNCell: nonlinearity must be 'tanh' or 'relu', got %s", tostring(o.nonlinearity)), 3)
    end
    self.mode, self.name, self.num_layers, self.dropout = mode, name, 1, 0 -- (for extra_repr)
    self.input_size, self.hidden_size, self.bias, self.nonlinearity = input_size, hidden_size, o.bias, o.nonlinearity
    local G = GATES[mode] * hidden_size
    self:param("weight_ih", core.empty(G, input_size))
    self:param("weight_hh", core.empty(G, hidden_size))
    if o.bias then
      self:param("bias_ih", core.empty(G))
      self:param("bias_hh", core.empty(G))
    end
    self:reset_parameters()
  end

  CellBase.reset_parameters = reset_uniform
  CellBase.extra_repr = RNNBase.extra_repr

  -- x (B,input_size) or (input_size); a state (B,H) or (H) matching it
  function CellBase:_check(x, states)
    local name = self.name
    if not core.is_tensor(x) then error(string.format("%s: input must be a tensor, got %s", name, type(x)), 3) end
    if (x:dim() ~= 1 and x:dim() ~= 2) or x:size(-1) ~= self.input_size then
      error(string.format("%s: input has shape %s, expected (batch, %d) or (%d)",
        name, shape_str(x), self.input_size, self.input_size), 3)
    end
    local want = x:dim() == 2 and {x:size(1), self.hidden_size} or {self.hidden_size}
    for sname, s in pairs(states) do
      local ok = core.is_tensor(s) and s:dim() == #want
      for d = 1, #want do ok = ok and s:size(d) == want[d] end
      if not ok then
        error(string.format("%s: %s has shape %s, expected %s", name, sname,
          core.is_tensor(s) and shape_str(s) or type(s), table.concat(want, "x")), 3)
      end
    end
  end

  -- x W_ih^T + b_ih and h W_hh^T + b_hh
  function CellBase:_proj(x, h)
    return nn.F.linear(x, self.weight_ih, self.bias_ih), nn.F.linear(h, self.weight_hh, self.bias_hh)
  end

  local function zero_state(self, x)
    if x:dim() == 2 then return core.zeros(x:size(1), self.hidden_size, {dtype = x:dtype()}) end
    return core.zeros(self.hidden_size, {dtype = x:dtype()})
  end

  --- nn.RNNCell(input_size, hidden_size [, {bias = true, nonlinearity = "tanh"}]);
  --- forward(x [, h]) -> h'
  nn.RNNCell = CellBase:extend("RNNCell")
  function nn.RNNCell:init(i, h, opts) return CellBase.init(self, "RNN", i, h, opts) end
  function nn.RNNCell:forward(x, h)
    self:_check(x, {h = h})
    h = h or zero_state(self, x)
    local gi, gh = self:_proj(x, h)
    local a = gi + gh
    return self.nonlinearity == "relu" and a:relu() or a:tanh()
  end

  --- nn.LSTMCell(input_size, hidden_size [, {bias = true}]);
  --- forward(x [, {h, c}]) -> h', c'
  nn.LSTMCell = CellBase:extend("LSTMCell")
  function nn.LSTMCell:init(i, h, opts) return CellBase.init(self, "LSTM", i, h, opts) end
  function nn.LSTMCell:forward(x, hx)
    if hx ~= nil and (type(hx) ~= "table" or #hx ~= 2) then
      error("LSTMCell: the state must be a table {h, c}, got " .. (core.is_tensor(hx) and "a tensor" or type(hx)), 2)
    end
    local h, c = hx and hx[1], hx and hx[2]
    self:_check(x, {h = h, c = c})
    h, c = h or zero_state(self, x), c or zero_state(self, x)
    local gi, gh = self:_proj(x, h)
    local gates = gi + gh
    local k = kernel(self, "lstm_cell")
    if k and x:dim() == 2 then return k(gates, c) end
    local i, f, g, o = table.unpack(gates:chunk(4, -1))
    c = f:sigmoid() * c + i:sigmoid() * g:tanh()
    return o:sigmoid() * c:tanh(), c
  end

  --- nn.GRUCell(input_size, hidden_size [, {bias = true}]); forward(x [, h]) -> h'
  nn.GRUCell = CellBase:extend("GRUCell")
  function nn.GRUCell:init(i, h, opts) return CellBase.init(self, "GRU", i, h, opts) end
  function nn.GRUCell:forward(x, h)
    self:_check(x, {h = h})
    h = h or zero_state(self, x)
    local gi, gh = self:_proj(x, h)
    local k = kernel(self, "gru_cell")
    if k and x:dim() == 2 then return k(gi, gh, h) end
    local xr, xz, xn = table.unpack(gi:chunk(3, -1))
    local hr, hz, hn = table.unpack(gh:chunk(3, -1))
    local r, z = (xr + hr):sigmoid(), (xz + hz):sigmoid()
    local n = (xn + r * hn):tanh()
    return n + z * (h - n)
  end
end
