-- Question answering with a small Transformer encoder-decoder (examples/qa/transformer_model.lua:
-- nn.TransformerEncoder/Decoder, sinusoidal positions, a causal mask), the same task,
-- corpus, reports and options as examples/qa_seq2seq.lua, to compare the two.
--
--   ./lunet examples/transformer_qa.lua [--epochs N] [--quick] [--beam K] [--d-model D] [--layers N]
--                                       [--batch N] [--lr LR] [--no-cosine] [--save PREFIX] [--load PREFIX]
--                                       [--interactive] [--data DIR]
local here = arg[0]:match("^(.*)/[^/]*$") or "."
local qa = dofile(here .. "/qa/common.lua")
local TransformerQA = dofile(here .. "/qa/transformer_model.lua")

local o, given = lunet.train.parse_args(arg, {
  epochs = 30, quick = false, lr = 1e-3, batch = 32, d_model = 128, heads = 4, layers = 2, ff = 256,
  dropout = 0.1, beam = 4, clip = 1.0, cosine = true, seed = 1, save = "transformer_qa", load = "", interactive = false,
  data = here .. "/qa/data"})
if o.quick and not given.epochs then o.epochs = 2 end
lunet.manual_seed(o.seed)

qa.main("transformer_qa", o, function(config, vocab_size) return TransformerQA(vocab_size, config) end,
        {model = "transformer", d_model = o.d_model, heads = o.heads, layers = o.layers, ff = o.ff,
         dropout = o.dropout})
