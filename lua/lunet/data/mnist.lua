-- lunet.data.mnist: IDX files and the MNIST-format datasets (Fashion-MNIST, MNIST).
-- Installs data.idx, data.fashion_mnist and data.mnist into the data table given.
local core = require "lunet.core"

return function(data)

-- data.idx(path [, {scale = s}]): an IDX file (plain or .gz) as a tensor of
-- its stored shape; integer types come as int64, or with scale every type as
-- float32 times s, in one pass in C. A missing or malformed file raises,
-- naming it and the byte offset.
data.idx = core.read_idx

local FASHION_CLASSES = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
local MNIST_CLASSES = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

local function file_exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

-- images N x 1 x 28 x 28 float32 in [0, 1], labels int64 1..10 (IDX stores 0..9)
local function mnist_like(name, opts, default_root, classes, hint)
  if opts ~= nil and type(opts) ~= "table" then
    error(string.format("%s: expected an options table such as {split = \"test\"}, got %s", name, type(opts)), 2)
  end
  opts = opts or {}
  local split = opts.split or "train"
  if split ~= "train" and split ~= "test" then
    error(string.format("%s: split must be \"train\" or \"test\", got %s", name, tostring(split)), 2)
  end
  local root = opts.root or default_root
  local prefix = split == "train" and "train" or "t10k"
  local paths = {}
  for _, kind in ipairs{"images-idx3-ubyte", "labels-idx1-ubyte"} do
    local base = root .. "/" .. prefix .. "-" .. kind
    local path = file_exists(base .. ".gz") and base .. ".gz" or base
    if not file_exists(path) then
      error(string.format("%s: %s.gz not found%s", name, base, hint), 2)
    end
    paths[#paths + 1] = path
  end
  -- bytes to float32 / 255 in the reader itself: no int64 copy in between
  local images = data.idx(paths[1], {scale = 1 / 255})
  local labels = data.idx(paths[2])
  if images:dim() ~= 3 or labels:dim() ~= 1 or labels:size(1) ~= images:size(1) then
    error(string.format("%s: %s and %s do not hold N images and N labels (shapes %s and %s)", name,
      paths[1], paths[2], table.concat(images:shape(), "x"), table.concat(labels:shape(), "x")), 2)
  end
  local n = images:size(1)
  local d = {
    images = images:view(n, 1, images:size(2), images:size(3)),
    labels = labels + 1,
    classes = classes,
  }
  -- the table is also a dataset: #d, d[i] = {image, label}, and d:batch(idx)
  -- gathered in C, so data.DataLoader(d, ...) takes it as it is
  if data.TensorDataset then
    local td = data.TensorDataset(d.images, d.labels)
    function d.batch(_, idx) return td:batch(idx) end
    setmetatable(d, {
      __name = "lunet.data." .. name,
      __len = function() return n end,
      __index = function(_, k) if type(k) == "number" then return td[k] end end,
    })
  end
  return d
end

function data.fashion_mnist(opts)
  return mnist_like("fashion_mnist", opts, "/usr/share/datasets/fashion-mnist", FASHION_CLASSES,
    " (install it with: apt-get install dataset-fashion-mnist, or pass root = the folder)")
end

function data.mnist(opts)
  return mnist_like("mnist", opts, "/usr/share/datasets/mnist", MNIST_CLASSES,
    " (pass root = the folder holding the MNIST IDX files)")
end
end
