-- lunet.nn.F: the functional forms of the layers and the losses, with
-- PyTorch's signatures in Lua style (tensors positional, options in a table).
local F = {}
require "lunet.nn.f_activation"(F)
require "lunet.nn.f_layers"(F)
require "lunet.nn.f_conv"(F)
require "lunet.nn.f_loss"(F)
return F
