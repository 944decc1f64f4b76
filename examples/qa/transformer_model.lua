-- The small Transformer encoder-decoder of examples/transformer_qa.lua: one embedding for
-- questions and answers scaled by sqrt(d_model), sinusoidal positional encodings,
-- nn.TransformerEncoder/Decoder (batch first), a causal mask on the decoder's
-- self-attention, padding masks on the question, and a Linear to the vocabulary.
-- It has the start/step/reorder interface of examples/qa/common.lua; a step runs the
-- decoder over the whole prefix again (answers are short, so no key/value cache).
local nn = lunet.nn

local TransformerQA = nn.Module:extend("TransformerQA")

-- config: d_model, heads, layers, ff, dropout, pad_id
function TransformerQA:init(vocab_size, config)
  local d = config.d_model
  self.scale = math.sqrt(d)
  self.embedding = nn.Embedding(vocab_size, d, {padding_idx = config.pad_id})
  self.position = nn.PositionalEncoding(d, {max_len = 512, batch_first = true, dropout = config.dropout})
  local opts = {dim_feedforward = config.ff, dropout = config.dropout, batch_first = true}
  self.encoder = nn.TransformerEncoder(function() return nn.TransformerEncoderLayer(d, config.heads, opts) end,
                                       config.layers)
  self.decoder = nn.TransformerDecoder(function() return nn.TransformerDecoderLayer(d, config.heads, opts) end,
                                       config.layers)
  self.out = nn.Linear(d, vocab_size)
end

function TransformerQA:embed(ids)
  return self.position(self.embedding(ids) * self.scale)
end

function TransformerQA:decode(tgt_in, memory, src_pad)
  local causal = nn.generate_square_subsequent_mask(tgt_in:size(2))
  return self.out(self.decoder(self:embed(tgt_in), memory,
                               {tgt_mask = causal, memory_key_padding_mask = src_pad}))
end

function TransformerQA:forward(src, src_mask, tgt_in)
  local src_pad = src_mask:eq(0)
  local memory = self.encoder(self:embed(src), {src_key_padding_mask = src_pad})
  return self:decode(tgt_in, memory, src_pad)
end

-- Decoding state: the encoder's memory, the question's padding and the tokens so far.
function TransformerQA:start(src, src_mask)
  local src_pad = src_mask:eq(0)
  return {memory = self.encoder(self:embed(src), {src_key_padding_mask = src_pad}), pad = src_pad}
end

function TransformerQA:step(s, tokens)
  local prefix = tokens:unsqueeze(2)
  if s.prefix then prefix = lunet.cat({s.prefix, prefix}, 2) end
  local logits = self:decode(prefix, s.memory, s.pad)
  local last = logits:select(2, logits:size(2))
  return last:log_softmax(2), {memory = s.memory, pad = s.pad, prefix = prefix}
end

function TransformerQA:reorder(s, rows)
  return {memory = s.memory:index_select(1, rows), pad = s.pad:index_select(1, rows),
          prefix = s.prefix and s.prefix:index_select(1, rows)}
end

return TransformerQA
