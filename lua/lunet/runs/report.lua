-- lunet.runs.report (being written)
return {}
