-- lunet.data.transforms (being written)
return function(data) end
