-- lunet.nn.transformer: installs its layers into the nn table it is given (being written)
return function(nn) end
