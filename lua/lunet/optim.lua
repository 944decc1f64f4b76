-- lunet.optim: optimizers, schedulers and gradient clipping (being written)
return {}
