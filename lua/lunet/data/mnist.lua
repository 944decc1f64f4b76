-- lunet.data.mnist: IDX files and the MNIST-format datasets (Fashion-MNIST, MNIST).
-- Installs data.idx, data.fashion_mnist and data.mnist into the data table given.
local core = require "lunet.core"

return function(data)

-- data.idx(path): an IDX file (plain or .gz) as a tensor of its stored shape;
-- integer types come as int64. A missing or malformed file raises, naming it.
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
  local images = data.idx(paths[1])
  local labels = data.idx(paths[2])
  local n = images:size(1)
  return {
    images = (images:float() / 255):view(n, 1, images:size(2), images:size(3)),
    labels = labels + 1,
    classes = classes,
  }
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
