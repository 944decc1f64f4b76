-- lunet.optim.Adagrad (PyTorch 1.13's torch.optim.Adagrad): per-element sums
-- of squared gradients, starting at initial_accumulator_value, and a learning
-- rate decayed as lr / (1 + (step - 1) lr_decay).
local core = require "lunet.core"
local Optimizer = require "lunet.optim.optimizer"
local C = core._optim

return Optimizer.define{
  name = "Adagrad",
  defaults = {lr = 1e-2, lr_decay = 0, weight_decay = 0, initial_accumulator_value = 0,
              eps = 1e-10, maximize = false},
  check = function(c)
    c:number("lr", 0)
    c:number("lr_decay", 0)
    c:number("weight_decay", 0)
    c:number("initial_accumulator_value", 0)
    c:number("eps", 0)
    c:boolean("maximize")
  end,
  required = function() return {"sum"} end,
  has_step = true,
  update = function(p, g, st, group)
    if st.step == nil then
      st.step = 0
      st.sum = core.full_like(p, group.initial_accumulator_value)
    end
    st.step = st.step + 1
    C.adagrad_(p, g, st.sum, st.step, group.lr, group.lr_decay, group.eps, group.weight_decay,
      group.maximize)
  end,
}
