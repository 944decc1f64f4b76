-- lunet.optim: optimizers with fused C updates (SGD, Adam, AdamW, RMSprop,
-- Adagrad), learning-rate schedulers, gradient clipping. See docs/optim.md.
local adam = require "lunet.optim.adam"
local clip = require "lunet.optim.clip"

return {
  Optimizer = require "lunet.optim.optimizer",
  SGD = require "lunet.optim.sgd",
  Adam = adam.Adam,
  AdamW = adam.AdamW,
  RMSprop = require "lunet.optim.rmsprop",
  Adagrad = require "lunet.optim.adagrad",
  lr_scheduler = require "lunet.optim.lr_scheduler",
  clip_grad_norm = clip.clip_grad_norm,
  clip_grad_value = clip.clip_grad_value,
}
