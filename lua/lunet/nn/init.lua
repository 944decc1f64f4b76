-- lunet.nn: layers, losses and metrics (being written)
return {}
