-- lunet.data.dataset (being written)
return function(data) end
