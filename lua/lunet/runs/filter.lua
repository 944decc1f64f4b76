-- lunet.runs.filter (being written)
return {}
