-- Judges the 1000 samples a GAN twin (gan_torch.py, dcgan_torch.py) wrote as one 25x40 grid
-- without padding, with the classifier and the numbers of examples/common/gan_quality.lua:
--   lunet experiments/examples/score_samples.lua SAMPLES.png CLASSIFIER.safetensors
-- prints the lines gan.lua prints, so experiments/examples/run.sh reads both sides alike.
-- The PNG holds bytes, so the twins' samples are judged after rounding to 1/255.
local root = arg[0]:match("^(.*)/experiments/examples/[^/]*$") or "."
local quality = dofile(root .. "/examples/common/gan_quality.lua")
if not arg[1] or not arg[2] then
  io.stderr:write("usage: lunet score_samples.lua SAMPLES.png CLASSIFIER.safetensors\n"); os.exit(2)
end
local x = lunet.image.load(arg[1]):view(25, 28, 40, 28):permute(1, 3, 2, 4):reshape(1000, 1, 28, 28)
local q = quality.score(quality.classifier{path = arg[2]}, x)
print(string.format("samples classified with confidence > 0.9: %.4f", q.confident))
print(string.format("entropy of the predicted classes: %.4f nats (max ln 10 = 2.3026)", q.entropy))
print("predicted classes of 1000 samples: " .. table.concat(q.counts, " "))
