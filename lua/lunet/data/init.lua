-- lunet.data: datasets and data loading. Each part lives in its own file that
-- returns function(data) and installs its functions into this table.
local data = {}

require "lunet.data.mnist"(data)     -- data.idx, data.fashion_mnist, data.mnist
require "lunet.data.dataset"(data)   -- the dataset protocol, TensorDataset, Subset, Concat, split
require "lunet.data.csv"(data)       -- data.csv
require "lunet.data.loader"(data)    -- data.DataLoader
require "lunet.data.transforms"(data) -- data.Compose and the transforms
require "lunet.data.text"(data)      -- data.Tokenizer, data.Vocab, data.text_pairs, data.QAPairs

return data
