-- What the two QA examples (qa_seq2seq.lua, transformer_qa.lua) share: the corpus and its
-- character vocabulary, the training loop, greedy and beam-search decoding over any model
-- with start/step/reorder, exact-match scoring, checkpoints and the interactive loop.
--
-- A model for this file has:
--   model(src, src_mask, tgt_in)      -> logits (B, T, V), teacher forcing
--   model:start(src, src_mask)        -> a decoding state for B sequences
--   model:step(state, tokens)         -> log-probabilities (B, V) of the next token, new state
--   model:reorder(state, rows)        -> the state of the sequences `rows` (int64, 1-based)
local data, F, optim = lunet.data, lunet.nn.F, lunet.optim

local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."

-- Writes the corpus into `dir` with make_corpus.lua unless its three files are there already.
function M.ensure_corpus(dir)
  local f = io.open(dir .. "/unseen.tsv")  -- written last
  if f then f:close(); return end
  local saved = arg
  arg = {[0] = here .. "/make_corpus.lua", "--out", dir}
  local ok, err = pcall(dofile, here .. "/make_corpus.lua")
  arg = saved
  if not ok then error("qa: could not write the corpus into " .. dir .. ": " .. tostring(err), 0) end
end

-- The training, test and unseen-arithmetic sets, encoded with one character-level vocabulary
-- built from the training questions and answers (character tokens suit Chinese, and the
-- English number words share their spelling: "seven" and "seventeen").
function M.datasets(dir)
  M.ensure_corpus(dir)
  local train = data.QAPairs(dir .. "/train.tsv", {tokenizer = data.Tokenizer{level = "char"}})
  local test = data.QAPairs(dir .. "/test.tsv", {vocab = train.vocab})
  local unseen = data.QAPairs(dir .. "/unseen.tsv", {vocab = train.vocab})
  return train, test, unseen
end

-- One epoch of teacher forcing over the first `n` pairs of `ds`, shuffled; the mean loss.
function M.train_epoch(model, opt, ds, n, batch, clip)
  model:train()
  local perm = lunet.randperm(n)
  local total, steps = 0, 0
  for first = 1, n, batch do
    local src, tgt_in, tgt_out, src_mask = ds:batch(perm:narrow(1, first, math.min(batch, n - first + 1)))
    local logits = model(src, src_mask, tgt_in)
    local B, T, V = logits:size(1), logits:size(2), logits:size(3)
    local loss = F.cross_entropy(logits:reshape(B * T, V), tgt_out:reshape(B * T),
                                 {ignore_index = ds.vocab.pad_id})
    opt:zero_grad()
    loss:backward()
    optim.clip_grad_norm(model:parameters(), clip)
    opt:step()
    total, steps = total + loss:item(), steps + 1
  end
  return total / steps
end

-- The ids before the first <eos> of a generated sequence.
local function cut(ids, eos)
  local out = {}
  for _, id in ipairs(ids) do
    if id == eos then break end
    out[#out + 1] = id
  end
  return out
end

-- Greedy decoding of a batch: a list of B id lists (without <bos>/<eos>).
function M.greedy(model, vocab, src, src_mask, max_len)
  return lunet.no_grad(function()
    local B = src:size(1)
    local state = model:start(src, src_mask)
    local tokens = lunet.full({B}, vocab.bos_id, {dtype = "int64"})
    local seqs, done, ndone = {}, {}, 0
    for b = 1, B do seqs[b] = {} end
    for _ = 1, max_len do
      local logp
      logp, state = model:step(state, tokens)
      tokens = logp:argmax(2)
      local t = tokens:totable()
      for b = 1, B do
        if not done[b] then
          seqs[b][#seqs[b] + 1] = t[b]
          if t[b] == vocab.eos_id then done[b] = true; ndone = ndone + 1 end
        end
      end
      if ndone == B then break end
    end
    for b = 1, B do seqs[b] = cut(seqs[b], vocab.eos_id) end
    return seqs
  end)
end

-- Beam search for one question (src is 1 x S): the ids of the best finished hypothesis by
-- total log-probability, and that score. Each step extends every live hypothesis by every
-- token and keeps the k best; one that ends in <eos> is finished. The search stops when no
-- live hypothesis can beat the best finished one (scores only fall as a sequence grows),
-- so k = 1 is greedy decoding exactly.
function M.beam(model, vocab, src, src_mask, k, max_len)
  return lunet.no_grad(function()
    local state = model:start(src, src_mask)
    local live = {{ids = {}, score = 0, last = vocab.bos_id}}
    local best
    for _ = 1, max_len do
      local last = {}
      for i, h in ipairs(live) do last[i] = h.last end
      local logp
      logp, state = model:step(state, lunet.tensor(last):long())
      local lp = logp:totable()
      local cands = {}
      for i, h in ipairs(live) do
        for v, l in ipairs(lp[i]) do cands[#cands + 1] = {i = i, v = v, score = h.score + l} end
      end
      -- ties go to the earlier hypothesis and the smaller id, as argmax does
      table.sort(cands, function(a, b)
        if a.score ~= b.score then return a.score > b.score end
        if a.i ~= b.i then return a.i < b.i end
        return a.v < b.v
      end)
      local nxt, rows = {}, {}
      for j = 1, math.min(k, #cands) do
        local c = cands[j]
        local ids = table.move(live[c.i].ids, 1, #live[c.i].ids, 1, {})
        if c.v == vocab.eos_id then
          if not best or c.score > best.score then best = {ids = ids, score = c.score} end
        else
          ids[#ids + 1] = c.v
          nxt[#nxt + 1] = {ids = ids, score = c.score, last = c.v}
          rows[#rows + 1] = c.i
        end
      end
      if #nxt == 0 or (best and best.score >= nxt[1].score) then break end
      live, state = nxt, model:reorder(state, lunet.tensor(rows):long())
    end
    best = best or live[1]
    return best.ids, best.score
  end)
end

-- Exact match of the answers to the first `n` questions of `ds`: greedy in batches, or
-- beam search one question at a time when k is given.
function M.exact_match(model, ds, n, k)
  model:eval()
  local vocab, max_len, hits = ds.vocab, ds.tgt_len + 4, 0
  local batch = k and 1 or 256
  for first = 1, n, batch do
    local idx = lunet.arange(first, math.min(first + batch - 1, n) + 1):long()
    local src, _, _, src_mask = ds:batch(idx)
    local seqs
    if k then seqs = {(M.beam(model, vocab, src, src_mask, k, max_len))}
    else seqs = M.greedy(model, vocab, src, src_mask, max_len) end
    for j, ids in ipairs(seqs) do
      local _, answer = ds:pair(first + j - 1)
      if vocab:decode(ids) == answer then hits = hits + 1 end
    end
  end
  model:train()
  return hits / n
end

-- The answer to one question typed by a person (greedy, or beam search with k > 1).
function M.answer(model, vocab, question, k, max_len)
  model:eval()
  local ids = vocab:encode(question)
  if #ids == 0 then ids = {vocab.unk_id} end
  local src = lunet.tensor({ids}):long()
  local mask = lunet.ones_like(src)
  local out
  if k and k > 1 then out = M.beam(model, vocab, src, mask, k, max_len)
  else out = M.greedy(model, vocab, src, mask, max_len)[1] end
  return vocab:decode(out)
end

-- The design's loop: reads questions from stdin until end of file or an empty line.
function M.interactive(model, vocab, k, max_len)
  while true do
    io.write("please enter your question: ")
    io.flush()
    local q = io.read("l")
    if not q or q:match("^%s*$") then io.write("\n"); break end
    local ok, answer = pcall(M.answer, model, vocab, q, k, max_len)  -- bad UTF-8 ends nothing
    print(ok and answer or "error: " .. tostring(answer))
  end
end

-- Checkpoints: PREFIX.safetensors holds the weights and, as metadata, the sizes the model
-- is rebuilt from; PREFIX.vocab the vocabulary.
function M.save(model, vocab, prefix, config)
  local meta = {}
  for key, v in pairs(config) do meta[key] = tostring(v) end
  model:save(prefix .. ".safetensors", meta)
  vocab:save(prefix .. ".vocab")
  return prefix .. ".safetensors", prefix .. ".vocab"
end

-- Reads a checkpoint written by M.save: the model made by `build(config, #vocab)`, the
-- vocabulary and the config (numbers as numbers).
function M.load(prefix, build)
  local _, meta = lunet.load(prefix .. ".safetensors")
  local config = {}
  for key, v in pairs(meta) do config[key] = math.tointeger(tonumber(v)) or tonumber(v) or v end
  local vocab = data.Vocab.load(prefix .. ".vocab")
  local model = build(config, #vocab)
  model:load(prefix .. ".safetensors")
  return model, vocab, config
end

-- The number of trainable weights.
function M.count_parameters(model)
  local n = 0
  for _, p in ipairs(model:parameters()) do n = n + p:numel() end
  return n
end

-- The body of both examples: with o.load, read the checkpoint; otherwise train `build(config,
-- #vocab)` on the corpus, reporting exact match per epoch (greedy) and at the end (greedy and
-- beam), logging params, metrics and the checkpoint into a run named `name`. Then, with
-- o.interactive, answer questions from stdin. `params` are the model's hyper-parameters to log.
function M.main(name, o, build, config)
  local model, vocab
  if o.load ~= "" then
    model, vocab = M.load(o.load, build)
    print(string.format("%s: loaded %s (%d parameters)", name, o.load, M.count_parameters(model)))
  else
    local train, test, unseen = M.datasets(o.data)
    vocab = train.vocab
    config.pad_id = vocab.pad_id
    model = build(config, #vocab)
    local ntrain, ntest, nunseen = #train, #test, #unseen
    if o.quick then ntrain, ntest, nunseen = math.min(400, ntrain), math.min(60, ntest), math.min(30, nunseen) end
    local opt = optim.Adam(model:parameters(), {lr = o.lr})
    -- with --cosine the learning rate falls along a half cosine to 0 at the last epoch
    local schedule = o.cosine and optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = o.epochs})
    local params = {lr = o.lr, batch = o.batch, epochs = o.epochs, beam = o.beam, clip = o.clip, seed = o.seed,
                    optimizer = "Adam", cosine = o.cosine, tokens = "char", quick = o.quick, vocab = #vocab, train_pairs = ntrain,
                    test_pairs = ntest, unseen_pairs = nunseen, parameters = M.count_parameters(model)}
    for key, v in pairs(config) do params[key] = v end
    local run = lunet.runs.start{name = name, experiment = "qa", params = params}
    print(string.format("%s: %d training and %d test pairs, %d characters, %d epochs, %d threads, %d parameters",
                        name, ntrain, ntest, #vocab, o.epochs, lunet.get_num_threads(), M.count_parameters(model)))
    for epoch = 1, o.epochs do
      local t0 = lunet.clock()
      local loss = M.train_epoch(model, opt, train, ntrain, o.batch, o.clip)
      local seconds = lunet.clock() - t0
      if schedule then schedule:step() end
      local em = M.exact_match(model, test, ntest)
      run:log({loss = loss, test_exact_match = em, epoch_seconds = seconds}, epoch)
      print(string.format("epoch %d/%d  loss %.4f  exact match %.4f  (%.2f s)", epoch, o.epochs, loss, em, seconds))
    end
    local t0 = lunet.clock()
    local greedy = M.exact_match(model, test, ntest)
    local beam = M.exact_match(model, test, ntest, o.beam)
    local train_em = M.exact_match(model, train, ntrain)
    local unseen_em = M.exact_match(model, unseen, nunseen)
    run:log{final_exact_match = greedy, final_exact_match_beam = beam, train_exact_match = train_em,
            unseen_exact_match = unseen_em}
    print(string.format("final exact match: greedy %.4f  beam(%d) %.4f  (%.2f s)",
                        greedy, o.beam, beam, lunet.clock() - t0))
    print(string.format("training pairs %.4f, arithmetic on unseen number pairs %.4f (no target: see docs/examples/qa.md)",
                        train_em, unseen_em))
    local weights, vocab_file = M.save(model, vocab, o.save, config)
    run:artifact(weights, "model")
    run:artifact(vocab_file, "vocab")
    print("saved " .. weights .. " and " .. vocab_file)
  end
  if o.interactive then M.interactive(model, vocab, o.beam, 40) end
  return model, vocab
end

return M
