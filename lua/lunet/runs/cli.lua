-- lunet.runs.cli (being written)
return {}
