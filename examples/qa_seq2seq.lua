-- Question answering with an Embedding + LSTM encoder and an LSTM decoder with attention
-- (examples/qa/lstm_model.lua), trained with teacher forcing on the English and Chinese QA
-- corpus (examples/qa/README.md), character by character. Reports the exact match on the
-- held-out test pairs each epoch (greedy) and at the end (greedy and beam search), saves
-- the model, then, with --interactive, answers questions read from stdin, like the
-- design's "please enter your question" loop.
--
--   ./lunet examples/qa_seq2seq.lua [--epochs N] [--quick] [--beam K] [--attention dot|general|additive]
--                                   [--batch N] [--lr LR] [--no-cosine] [--save PREFIX] [--load PREFIX]
--                                   [--interactive] [--data DIR]
-- --quick trains on 400 pairs and tests on 60 (the tests use it); --load skips training.
-- The corpus is written into --data (default examples/qa/data) when it is missing.
local here = arg[0]:match("^(.*)/[^/]*$") or "."
local qa = dofile(here .. "/qa/common.lua")
local Seq2Seq = dofile(here .. "/qa/lstm_model.lua")

local o, given = lunet.train.parse_args(arg, {
  epochs = 100, quick = false, lr = 2e-3, batch = 32, emb = 64, hidden = 128, attention = "general",
  beam = 4, clip = 1.0, cosine = true, seed = 1, save = "qa_seq2seq", load = "", interactive = false,
  data = here .. "/qa/data"})
if o.quick and not given.epochs then o.epochs = 2 end
lunet.manual_seed(o.seed)

qa.main("qa_seq2seq", o, function(config, vocab_size) return Seq2Seq(vocab_size, config) end,
        {model = "lstm", emb = o.emb, hidden = o.hidden, attention = o.attention})
