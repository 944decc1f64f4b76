-- Loss modules: each holds its options and calls its nn.F function.
-- Class weights are buffers (in state_dict and converted by model:double()).
local args = require "lunet.nn.args"

return function(nn)
  local F = nn.F

  -- name: the class; fname: the F function; keys: its options; tensors: the
  -- options that are tensors (kept as buffers)
  local function loss(name, fname, keys, tensors)
    local cls = nn.Module:extend(name)
    local allowed = args.set(table.unpack(keys))
    function cls:init(opts)
      local o = args.layer_opts(name, opts, allowed)
      self.options = {}
      for _, k in ipairs(keys) do
        if tensors[k] then
          if o[k] ~= nil then args.float(name, k, o[k], 4) end
          self:buffer(k, o[k])
        else
          self.options[k] = o[k]
        end
      end
    end
    function cls:forward(input, target)
      local o = {}
      for k, v in pairs(self.options) do o[k] = v end
      for k in pairs(tensors) do o[k] = self[k] end
      return F[fname](input, target, o)
    end
    nn[name] = cls
  end

  local none = {}
  loss("MSELoss", "mse_loss", {"reduction"}, none)
  loss("L1Loss", "l1_loss", {"reduction"}, none)
  loss("CrossEntropyLoss", "cross_entropy", {"weight", "ignore_index", "label_smoothing", "reduction"}, {weight = true})
  loss("NLLLoss", "nll_loss", {"weight", "ignore_index", "reduction"}, {weight = true})
  loss("BCELoss", "binary_cross_entropy", {"weight", "reduction"}, {weight = true})
  loss("BCEWithLogitsLoss", "binary_cross_entropy_with_logits", {"weight", "pos_weight", "reduction"},
       {weight = true, pos_weight = true})
  loss("KLDivLoss", "kl_div", {"reduction", "log_target"}, none)
  -- forward(mu, logvar)
  loss("GaussianKLLoss", "gaussian_kl", {"reduction"}, none)
end
