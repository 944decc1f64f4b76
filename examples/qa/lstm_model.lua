-- The LSTM encoder-decoder with attention of examples/qa_seq2seq.lua.
--
-- Embedding + LSTM encoder; an LSTM decoder started from the encoder's output at the
-- question's last token; at each decoder step, global attention over the encoder outputs
-- (Luong et al. 2015):
--   score(h_t, e_s) = h_t . e_s                   "dot"
--                   = h_t . W e_s                 "general"
--                   = v . tanh(W1 e_s + W2 h_t)   "additive" (Bahdanau's score)
-- then  out_t = tanh(Wc [context_t; h_t])  and the next-token logits  Wo out_t.
-- The attention reads the decoder's output rather than feeding back into its input, so
-- teacher forcing runs the decoder LSTM over the whole target in one call.
local nn = lunet.nn

local Seq2Seq = nn.Module:extend("Seq2Seq")

-- config: emb, hidden, attention ("dot", "general" or "additive"), pad_id
function Seq2Seq:init(vocab_size, config)
  local E, H = config.emb, config.hidden
  self.attention = config.attention
  self.embedding = nn.Embedding(vocab_size, E, {padding_idx = config.pad_id})
  self.encoder = nn.LSTM(E, H, {batch_first = true})
  self.decoder = nn.LSTM(E, H, {batch_first = true})
  if self.attention == "general" then
    self.attn_w = nn.Linear(H, H, {bias = false})
  elseif self.attention == "additive" then
    self.attn_enc = nn.Linear(H, H, {bias = false})
    self.attn_dec = nn.Linear(H, H)
    self.attn_v = nn.Linear(H, 1, {bias = false})
  elseif self.attention ~= "dot" then
    error("Seq2Seq: attention must be 'dot', 'general' or 'additive', got " .. tostring(self.attention), 2)
  end
  self.combine = nn.Linear(2 * H, H)
  self.out = nn.Linear(H, vocab_size)
end

-- dec (B, T, H) over enc (B, S, H), padding masked out: the logits (B, T, V).
function Seq2Seq:attend(dec, enc, src_pad)
  local scores
  if self.attention == "additive" then
    local e = self.attn_enc(enc):unsqueeze(2)           -- (B, 1, S, H)
    local d = self.attn_dec(dec):unsqueeze(3)           -- (B, T, 1, H)
    scores = self.attn_v((e + d):tanh()):squeeze(4)     -- (B, T, S)
  else
    local q = self.attention == "general" and self.attn_w(dec) or dec
    scores = q:bmm(enc:transpose(2, 3))
  end
  local weights = scores:masked_fill(src_pad:unsqueeze(2), -math.huge):softmax(3)
  local context = weights:bmm(enc)
  return self.out(self.combine(lunet.cat({context, dec}, 3)):tanh())
end

-- The encoder outputs (B, S, H) and the decoder's first state {h, c}: h is the encoder's
-- output at each question's last real token, c zeros. (The encoder's final state would
-- depend on how much padding follows the question, which differs between batches.)
function Seq2Seq:encode(src, src_mask)
  local enc = self.encoder(self.embedding(src))
  local B, H = enc:size(1), enc:size(3)
  local last = src_mask:sum(2):reshape(B, 1, 1):expand(B, 1, H)
  local h = enc:gather(2, last):reshape(1, B, H)
  return enc, {h, lunet.zeros(1, B, H)}
end

function Seq2Seq:forward(src, src_mask, tgt_in)
  local enc, state = self:encode(src, src_mask)
  local dec = self.decoder(self.embedding(tgt_in), state)
  return self:attend(dec, enc, src_mask:eq(0))
end

-- Decoding state: the encoder outputs, the padding and the decoder's {h, c}.
function Seq2Seq:start(src, src_mask)
  local enc, state = self:encode(src, src_mask)
  return {enc = enc, pad = src_mask:eq(0), hc = state}
end

function Seq2Seq:step(s, tokens)
  local dec, hc = self.decoder(self.embedding(tokens:unsqueeze(2)), s.hc)
  local logits = self:attend(dec, s.enc, s.pad):squeeze(2)
  return logits:log_softmax(2), {enc = s.enc, pad = s.pad, hc = hc}
end

function Seq2Seq:reorder(s, rows)
  return {enc = s.enc:index_select(1, rows), pad = s.pad:index_select(1, rows),
          hc = {s.hc[1]:index_select(2, rows), s.hc[2]:index_select(2, rows)}}
end

return Seq2Seq
