-- lunet.train.parse_args: the command line of the example scripts.
local parse = lunet.train.parse_args
local defaults = {epochs = 5, lr = 1e-3, quick = false, save = "cnn", latent_dim = 20}

describe("train.parse_args", function()
  it("returns the defaults when nothing is given, without changing them", function()
    local o = parse({[0] = "x.lua"}, defaults)
    T.eq(o.epochs, 5, "epochs"); T.eq(o.lr, 1e-3, "lr"); T.eq(o.quick, false, "quick"); T.eq(o.save, "cnn", "save")
    T.truthy(o ~= defaults, "a copy")
  end)

  it("reads numbers, flags, strings, --name=value and dashes for underscores", function()
    local o = parse({[0] = "x.lua", "--epochs", "2", "--quick", "--lr=0.01", "--save", "/tmp/m", "--latent-dim", "2"}, defaults)
    T.eq(o.epochs, 2, "epochs"); T.eq(math.type(o.epochs), "integer", "an integer stays an integer")
    T.eq(o.quick, true, "flag"); T.eq(o.lr, 0.01, "lr"); T.eq(o.save, "/tmp/m", "save"); T.eq(o.latent_dim, 2, "latent_dim")
    T.eq(parse({"--no-quick"}, {quick = true}).quick, false, "--no-flag")
  end)

  it("says which options the command line gave", function()
    local _, given = parse({"--epochs", "5", "--quick", "--no-flag"}, {epochs = 5, quick = false, flag = true, lr = 1})
    T.eq(given.epochs, true, "epochs given (even with its default value)")
    T.eq(given.quick, true, "a flag"); T.eq(given.flag, true, "a --no- flag"); T.eq(given.lr, nil, "lr not given")
  end)

  it("refuses unknown options, missing and bad values, with the usage", function()
    T.errors(function() parse({[0] = "x.lua", "--epoch", "2"}, defaults) end, "x.lua: unknown option --epoch")
    T.errors(function() parse({"--epochs"}, defaults) end, "--epochs needs a value")
    T.errors(function() parse({"--epochs", "two"}, defaults) end, "--epochs needs a number, got 'two'")
    T.errors(function() parse({"--epochs", "2.5"}, defaults) end, "--epochs needs an integer, got '2.5'")
    T.errors(function() parse({"--quick=yes"}, defaults) end, "--quick is a flag and takes no value")
    T.errors(function() parse({"stray"}, defaults) end, "unexpected argument 'stray'")
    T.errors(function() parse({"--bad"}, defaults) end, "--latent-dim N")
    T.errors(function() parse("x", defaults) end, "argument 1 must be the arg table")
    T.errors(function() parse({}, {f = print}) end, "defaults must map names to numbers, booleans or strings")
  end)
end)
