-- lunet.nn: nn.Module and the layers, nn.F (functional forms and losses),
-- nn.init (initialisation), nn.metrics and nn.summary. Layers live in small
-- files that each return function(nn) and install their classes here.
local nn = {}

nn.Module = require "lunet.nn.module"
nn.is_module = nn.Module.is_module
nn.init = require "lunet.nn.initializers"
nn.F = require "lunet.nn.functional"
nn.metrics = require "lunet.nn.metrics"

require "lunet.nn.containers"(nn)
require "lunet.nn.layers"(nn)
require "lunet.nn.conv"(nn)
require "lunet.nn.norm"(nn)
require "lunet.nn.activations"(nn)
require "lunet.nn.losses"(nn)
nn.summary = require "lunet.nn.summary"

-- the colleague's layers, installed after Module, the basic layers and nn.F
require "lunet.nn.rnn"(nn)
require "lunet.nn.transformer"(nn)

return nn
