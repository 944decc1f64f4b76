-- lunet.optim.RMSprop (PyTorch 1.13's torch.optim.RMSprop): square average
-- with smoothing alpha, optionally centered (divides by an estimate of the
-- variance) and with momentum.
local core = require "lunet.core"
local Optimizer = require "lunet.optim.optimizer"
local C = core._optim

local function lazy(st, key, p)
  local t = st[key]
  if t == nil then
    t = core.zeros_like(p)
    st[key] = t
  end
  return t
end

return Optimizer.define{
  name = "RMSprop",
  defaults = {lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0,
              centered = false, maximize = false},
  check = function(c)
    c:number("lr", 0)
    c:number("alpha", 0)
    c:number("eps", 0)
    c:number("weight_decay", 0)
    c:number("momentum", 0)
    c:boolean("centered")
    c:boolean("maximize")
  end,
  required = function(group)
    local r = {"square_avg"}
    if group.momentum > 0 then r[#r + 1] = "momentum_buffer" end
    if group.centered then r[#r + 1] = "grad_avg" end
    return r
  end,
  optional = {"momentum_buffer", "grad_avg"},
  has_step = true,
  update = function(p, g, st, group)
    if st.step == nil then st.step = 0 end
    local v = lazy(st, "square_avg", p)
    local gavg = group.centered and lazy(st, "grad_avg", p) or nil
    local buf = group.momentum > 0 and lazy(st, "momentum_buffer", p) or nil
    st.step = st.step + 1
    C.rmsprop_(p, g, v, gavg, buf, group.lr, group.alpha, group.eps, group.weight_decay,
      group.momentum, group.maximize)
  end,
}
