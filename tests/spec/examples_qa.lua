-- The QA examples (qa_seq2seq.lua, transformer_qa.lua) in --quick mode, with small models:
-- they learn, print and log the exact match, save a model that answers piped questions, and
-- beam search with one beam is greedy decoding.
local exe = arg and arg[-1] or "./lunet"
local qa = dofile("examples/qa/common.lua")

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p " .. tmp))
local db = tmp .. "/runs.db"
local corpus = tmp .. "/data"

-- Runs `lunet cmd` with stdin from the lines `input` (or nothing); its output.
local function run(cmd, input)
  local stdin = tmp .. "/stdin"
  local f = assert(io.open(stdin, "w"))
  f:write(input and table.concat(input, "\n") .. "\n" or "")
  f:close()
  -- one thread: these models are tiny, and waiting for a second thread at each of the
  -- hundreds of small steps costs more than it saves on a busy machine
  local p = io.popen("LUNET_NUM_THREADS=1 LUNET_DB=" .. db .. " " .. exe .. " " .. cmd .. " < " .. stdin .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  T.truthy(out:find("exit=0", 1, true), "the example exits with 0:\n" .. out)
  return out
end

-- The epoch losses and the final exact match of a training run's output.
local function check_training(out, name)
  local losses = {}
  for loss in out:gmatch("epoch %d+/%d+  loss ([%d.]+)  exact match [%d.]+") do losses[#losses + 1] = tonumber(loss) end
  T.eq(#losses, 2, "two epoch lines in:\n" .. out)
  T.truthy(losses[2] < losses[1], "the loss decreases: " .. losses[1] .. " then " .. losses[2])
  local greedy, k, beam = out:match("final exact match: greedy ([%d.]+)  beam%((%d+)%) ([%d.]+)")
  T.truthy(greedy, "the final exact match is printed:\n" .. out)
  T.eq(tonumber(k), 2)
  local r = lunet.runs.get(name, db)
  T.eq(r.status, "finished")
  T.eq(r.summary.test_exact_match.count, 2, "test_exact_match logged once per epoch")
  T.near(r.metrics.final_exact_match, tonumber(greedy), 1e-4, "the logged final exact match")
  T.near(r.metrics.final_exact_match_beam, tonumber(beam), 1e-4, "the logged beam exact match")
  local train_em, unseen_em = out:match("training pairs ([%d.]+), arithmetic on unseen number pairs ([%d.]+)")
  T.truthy(train_em, "the training and unseen exact match are printed:\n" .. out)
  T.near(r.metrics.train_exact_match, tonumber(train_em), 1e-4, "the logged training exact match")
  T.near(r.metrics.unseen_exact_match, tonumber(unseen_em), 1e-4, "the logged unseen exact match")
  T.eq(r.params.train_pairs, 400)
  T.eq(r.params.unseen_pairs, 30)
end

-- Answers do not depend on the padding; beam search with k = 1 gives greedy decoding's
-- answers; a wider beam returns an answer.
local function check_beam(model, vocab)
  local test = lunet.data.QAPairs(corpus .. "/test.tsv", {vocab = vocab})
  local src, _, _, mask = test:batch(lunet.arange(1, 21):long())
  model:eval()
  local greedy = qa.greedy(model, vocab, src, mask, 20)
  -- more padding after the questions changes nothing
  local extra = lunet.full({20, 7}, vocab.pad_id, {dtype = "int64"})
  local padded = qa.greedy(model, vocab, lunet.cat({src, extra}, 2), lunet.cat({mask, extra:mul(0)}, 2), 20)
  for i = 1, 20 do
    T.eq(table.concat(padded[i], " "), table.concat(greedy[i], " "), "the answer with more padding, question " .. i)
  end
  for i = 1, 20 do
    local row, row_mask = src:narrow(1, i, 1), mask:narrow(1, i, 1)
    local ids, score = qa.beam(model, vocab, row, row_mask, 1, 20)
    T.eq(table.concat(ids, " "), table.concat(greedy[i], " "), "beam 1 = greedy on question " .. i)
    T.truthy(score <= 0, "a log-probability")
    local ids3, score3 = qa.beam(model, vocab, row, row_mask, 3, 20)
    T.truthy(type(ids3) == "table" and score3 <= 0 and score3 > -math.huge, "beam 3 returns an answer")
    for _, id in ipairs(ids3) do T.truthy(id >= 1 and id <= #vocab and id ~= vocab.eos_id, "an answer token") end
  end
end

local threads = lunet.get_num_threads()
lunet.set_num_threads(1)

describe("examples: QA", function()
  it("qa_seq2seq.lua learns, logs exact match, saves, and answers piped questions", function()
    local prefix = tmp .. "/lstm"
    check_training(run("examples/qa_seq2seq.lua --quick --epochs 2 --emb 32 --hidden 64 --beam 2 --data "
                       .. corpus .. " --save " .. prefix), "qa_seq2seq")
    local questions = {"What is two plus three?", "三加四等于几？", "What day comes after Monday?"}
    local out = run("examples/qa_seq2seq.lua --load " .. prefix .. " --interactive --beam 1", questions)
    local Seq2Seq = dofile("examples/qa/lstm_model.lua")
    local model, vocab = qa.load(prefix, function(c, n) return Seq2Seq(n, c) end)
    local _, prompts = out:gsub("please enter your question: ", "")
    T.eq(prompts, #questions + 1, "a prompt per question, and one that reads the end of input")
    local answers = {}
    for a in out:gmatch("please enter your question: ([^\n]*)\n") do answers[#answers + 1] = a end
    for i, q in ipairs(questions) do
      T.eq(answers[i], qa.answer(model, vocab, q, 1, 40), "the answer to " .. q)
    end
    check_beam(model, vocab)
  end)

  it("transformer_qa.lua learns, logs exact match, and its beam 1 is greedy", function()
    local prefix = tmp .. "/transformer"
    check_training(run("examples/transformer_qa.lua --quick --epochs 2 --d-model 32 --heads 2 --layers 1 --ff 64 "
                       .. "--beam 2 --data " .. corpus .. " --save " .. prefix), "transformer_qa")
    local TransformerQA = dofile("examples/qa/transformer_model.lua")
    local model, vocab = qa.load(prefix, function(c, n) return TransformerQA(n, c) end)
    check_beam(model, vocab)
  end)

  it("the LSTM model names a bad attention kind", function()
    local Seq2Seq = dofile("examples/qa/lstm_model.lua")
    T.errors(function() Seq2Seq(10, {emb = 4, hidden = 4, attention = "bahdanau", pad_id = 1}) end,
             "Seq2Seq: attention must be 'dot', 'general' or 'additive', got bahdanau")
  end)
end)

lunet.set_num_threads(threads)
os.execute("rm -rf " .. tmp)
