-- lunet.data.loader (being written)
return function(data) end
