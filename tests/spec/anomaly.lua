-- lunet.detect_anomaly: the first nan or infinity made by an op in forward,
-- or by a backward function, raises an error naming it; off by default, and
-- the engine stays usable after the error.
local exe = arg and arg[-1] or "./lunet"
local nn, F = lunet.nn, lunet.nn.F

-- err of pcall(fn) with detect_anomaly on, restoring the mode
local function anomaly_error(fn)
  local ok, err = pcall(lunet.detect_anomaly, fn)
  T.truthy(not ok, "an anomaly error was raised")
  return tostring(err)
end

local function has(text, part) T.truthy(text:find(part, 1, true), "'" .. part .. "' in: " .. text) end

describe("detect_anomaly in forward", function()
  it("names log of a negative number, division by zero and 0 * inf", function()
    local x = lunet.tensor{4.0, -1, 2}
    local e = anomaly_error(function() return x:log() end)
    has(e, "log: anomaly detected in forward: Log produced nan values (1 of 3 elements) from inputs without nan")
    e = anomaly_error(function() return lunet.tensor{1.0, 0, 2} / lunet.tensor{0.0, 1, 1} end)
    has(e, "div: anomaly detected in forward: Div produced inf values (1 of 3 elements) from finite inputs")
    e = anomaly_error(function() return lunet.tensor{-1.0, 2} / 0 end)
    has(e, "div: anomaly detected in forward:")
    has(e, "inf and -inf values (2 of 2 elements)")
    e = anomaly_error(function() return lunet.zeros(2) * lunet.tensor{math.huge, 1} end)
    has(e, "mul: anomaly detected in forward: Mul produced nan values (1 of 2 elements) from inputs without nan")
  end)

  it("checks ops with and without gradients, and float64 too", function()
    local w = lunet.tensor({1.0, -1}, {requires_grad = true, dtype = "float64"})
    has(anomaly_error(function() return w:sqrt() end), "Sqrt produced nan values (1 of 2 elements)")
    has(anomaly_error(function() return lunet.no_grad(function() return w:log() end) end), "Log produced nan")
    has(anomaly_error(function() return F.linear(lunet.ones(1, 2) * 1e30, lunet.ones(3, 2) * 1e30) end),
        "Linear produced inf values (3 of 3 elements) from finite inputs")
  end)

  it("blames the input when a nan came from outside the checked ops (data, a leaf)", function()
    local data = lunet.tensor{{1.0, 0 / 0}, {3, 4}}
    local e = anomaly_error(function() return nn.Linear(2, 3)(data) end)
    has(e, "input 1 of Linear holds nan values (1 of 4 elements) that no checked op produced")
  end)

  it("finds values in non-contiguous outputs", function()
    local m = lunet.tensor{{1.0, 2}, {3, -4}}
    has(anomaly_error(function() return m:t():sqrt():t() end), "Sqrt produced nan values (1 of 4 elements)")
    has(anomaly_error(function() return m:expand(3, 2, 2):log() end), "Log produced nan values (3 of 12 elements)")
  end)

  it("lets a -inf attention mask through, and catches a row masked entirely", function()
    lunet.manual_seed(1)
    local mha = nn.MultiheadAttention(4, 2)
    local q = lunet.randn(3, 2, 4)
    local out = lunet.detect_anomaly(function()
      local o = mha(q, q, q, {is_causal = true})
      o:sum():backward()
      return o
    end)
    T.shape(out, {3, 2, 4})
    local masked = lunet.zeros(2, 3):masked_fill(lunet.tensor({{1, 1, 1}, {0, 1, 0}}, {dtype = "int64"}), -math.huge)
    has(anomaly_error(function() return masked:softmax(2) end), "Softmax produced nan values (3 of 6 elements)")
  end)
end)

describe("detect_anomaly in backward", function()
  it("names sqrt's backward at 0 (an infinite gradient)", function()
    local x = lunet.tensor({0.0, 1, 4}, {requires_grad = true})
    local y = x:sqrt():sum()
    local e = anomaly_error(function() y:backward() end)
    has(e, "backward: anomaly detected in backward: SqrtBackward returned inf values (1 of 3 elements) in its gradient for input 1")
  end)

  it("names a custom function and the input its backward spoilt", function()
    local Bad = lunet.autograd.Function{name = "BadScale",
      forward = function(_, a, b) return a * b end,
      backward = function(_, g) return g, g * (0 / 0) end}
    local a = lunet.ones(2, {requires_grad = true})
    local b = lunet.ones(2, {requires_grad = true})
    local e = anomaly_error(function() Bad(a, b):sum():backward() end)
    has(e, "BadScale returned nan values (2 of 2 elements) in its gradient for input 2")
  end)

  it("names a nan gradient given to backward", function()
    local x = lunet.ones(2, {requires_grad = true})
    has(anomaly_error(function() (x * 2):backward(lunet.tensor{1.0, 0 / 0}) end),
        "the gradient given to backward holds nan values (1 of 2 elements)")
  end)

  it("leaves the engine usable: a later backward runs and the modes are restored", function()
    local x = lunet.tensor({0.0, 1, 4}, {requires_grad = true})
    anomaly_error(function() x:sqrt():sum():backward() end)
    T.eq(lunet.is_grad_enabled(), true, "grad mode after the error")
    T.eq(lunet.is_anomaly_enabled(), false, "anomaly mode after the scoped error")
    x.grad = nil
    local z = lunet.tensor({1.0, 4}, {requires_grad = true})
    lunet.detect_anomaly(function() (z:sqrt() * 2):sum():backward() end)
    T.values(z.grad, {1, 0.5})
    lunet.detect_anomaly(true)
    local y = x:sqrt():sum()
    T.errors(function() y:backward() end, "SqrtBackward returned inf")
    lunet.detect_anomaly(false)
    -- the graph was consumed by the failed backward, as by any backward
    T.errors(function() y:backward() end, "a second time")
  end)
end)

describe("detect_anomaly switches", function()
  it("is off by default: the same code gives nan silently", function()
    local p = io.popen(exe .. [[ -e 'print(lunet.is_anomaly_enabled(), lunet.tensor{-1.0}:log():item())' 2>&1]])
    local text = p:read("a")
    p:close()
    T.truthy(text:match("^false\t%-?nan\n$"), "a fresh lunet prints false and nan: " .. text)
  end)

  it("turns on and off, and the scoped form restores the previous mode and returns f's results", function()
    lunet.detect_anomaly(true)
    T.eq(lunet.is_anomaly_enabled(), true)
    T.errors(function() return lunet.tensor{-1.0}:log() end, "Log produced nan")
    lunet.detect_anomaly(false)
    T.eq(lunet.is_anomaly_enabled(), false)
    local y = lunet.tensor{-1.0}:log()
    T.truthy(y:item() ~= y:item(), "nan passes silently when off")
    local a, b = lunet.detect_anomaly(function(u, v) return u + v, lunet.is_anomaly_enabled() end, 1, 2)
    T.eq(a, 3)
    T.eq(b, true, "on inside")
    T.eq(lunet.is_anomaly_enabled(), false, "off after")
    lunet.detect_anomaly(true)
    lunet.detect_anomaly(function() end)
    T.eq(lunet.is_anomaly_enabled(), true, "an outer true survives a scoped call")
    lunet.detect_anomaly(false)
    T.eq(lunet.autograd.detect_anomaly, lunet.detect_anomaly, "also in lunet.autograd")
  end)

  it("checks its argument", function()
    T.errors(function() lunet.detect_anomaly("yes") end, "bad argument #1 to")
    T.errors(function() lunet.detect_anomaly() end, "boolean or function expected")
  end)

  it("trains a small model with the mode on exactly as with it off", function()
    local function run(on)
      lunet.manual_seed(5)
      local model = nn.Sequential{nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2)}
      local opt = lunet.optim.Adam(model:parameters(), {lr = 0.01})
      local x, y = lunet.randn(16, 3), lunet.randint(1, 3, {16})
      local function step()
        local loss = F.cross_entropy(model(x), y)
        opt:zero_grad(); loss:backward(); opt:step()
        return loss:item()
      end
      local last
      for _ = 1, 5 do last = on and lunet.detect_anomaly(step) or step() end
      return last
    end
    T.eq(run(true), run(false), "final loss")
  end)
end)
