-- lunet.data.csv (being written)
return function(data) end
