-- lunet.optim.Adam and AdamW (PyTorch 1.13's torch.optim.Adam / AdamW): Adam
-- adds weight decay to the gradient (L2), AdamW shrinks the parameter by
-- 1 - lr * weight_decay before the update (decoupled). Both have amsgrad.
local core = require "lunet.core"
local Optimizer = require "lunet.optim.optimizer"
local C = core._optim

local function check(c)
  c:number("lr", 0)
  c:betas("betas")
  c:number("eps", 0)
  c:number("weight_decay", 0)
  c:boolean("amsgrad")
  c:boolean("maximize")
end

local function define(name, weight_decay, decoupled)
  return Optimizer.define{
    name = name,
    defaults = {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = weight_decay,
                amsgrad = false, maximize = false},
    check = check,
    required = function(group)
      return group.amsgrad and {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"} or {"exp_avg", "exp_avg_sq"}
    end,
    optional = {"max_exp_avg_sq"},
    has_step = true,
    update = function(p, g, st, group)
      if st.step == nil then
        st.step = 0
        st.exp_avg = core.zeros_like(p)
        st.exp_avg_sq = core.zeros_like(p)
      end
      local vmax = nil
      if group.amsgrad then
        vmax = st.max_exp_avg_sq
        if vmax == nil then -- also when amsgrad is switched on later
          vmax = core.zeros_like(p)
          st.max_exp_avg_sq = vmax
        end
      end
      st.step = st.step + 1
      local betas = group.betas
      C.adam_(p, g, st.exp_avg, st.exp_avg_sq, vmax, st.step, group.lr, betas[1], betas[2],
        group.eps, group.weight_decay, decoupled, group.amsgrad, group.maximize)
    end,
  }
end

return {Adam = define("Adam", 0, false), AdamW = define("AdamW", 1e-2, true)}
