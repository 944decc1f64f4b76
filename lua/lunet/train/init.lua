-- lunet.train: training loops (see docs/train.md); placeholder
return {}
