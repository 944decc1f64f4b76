-- lunet.optim.SGD: stochastic gradient descent with momentum, dampening,
-- Nesterov momentum and weight decay (PyTorch 1.13's torch.optim.SGD).
local core = require "lunet.core"
local Optimizer = require "lunet.optim.optimizer"
local C = core._optim

return Optimizer.define{
  name = "SGD",
  defaults = {lr = Optimizer.REQUIRED, momentum = 0, dampening = 0, weight_decay = 0,
              nesterov = false, maximize = false},
  check = function(c)
    c:number("lr", 0)
    local momentum = c:number("momentum", 0)
    local dampening = c:number("dampening")
    c:number("weight_decay", 0)
    c:boolean("maximize")
    if c:boolean("nesterov") and (momentum <= 0 or dampening ~= 0) then
      c:fail("nesterov momentum requires momentum > 0 and dampening = 0")
    end
  end,
  -- the buffer exists once a step has run with momentum
  required = function(group) return group.momentum ~= 0 and {"momentum_buffer"} or {} end,
  optional = {"momentum_buffer"},
  update = function(p, g, st, group)
    local buf, first = nil, false
    if group.momentum ~= 0 then
      buf = st.momentum_buffer
      if buf == nil then -- PyTorch starts the buffer at the first gradient, undamped
        buf = core.zeros_like(p)
        st.momentum_buffer = buf
        first = true
      end
    end
    C.sgd_(p, g, buf, group.lr, group.momentum, group.dampening, group.weight_decay,
      group.nesterov, group.maximize, first)
  end,
}
