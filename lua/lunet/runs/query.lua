-- lunet.runs.query (being written)
return {}
