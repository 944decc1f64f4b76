-- lunet.runs: the experiment history in SQLite (being written)
return {}
