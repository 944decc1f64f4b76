-- lunet.data.text (being written)
return function(data) end
