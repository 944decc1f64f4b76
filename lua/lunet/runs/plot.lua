-- lunet.runs.plot (being written)
return {}
