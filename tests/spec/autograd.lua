-- Autograd: every differentiable op against finite differences in float64
-- (lunet.gradcheck), with contiguous, non-contiguous and broadcast inputs;
-- then the engine's behaviour: accumulation, retain_graph, detach, no_grad,
-- leaves, in-place guards, and memory.
local function leaf(...) return lunet.randn(...):double():requires_grad_() end
local function pos(...) return (lunet.rand(...):double() + 0.5):requires_grad_() end -- away from 0
-- the same values as a non-contiguous view: a transposed contiguous copy, transposed back
local function strided(t)
  local n = t:dim()
  if n < 2 then return t end
  local c = t:detach():transpose(1, n):contiguous():transpose(1, n)
  return c:requires_grad_()
end

local function check(name, fn, inputs, opts)
  it(name, function()
    lunet.manual_seed(7)
    T.truthy(lunet.gradcheck(fn, inputs, opts), name)
  end)
end

describe("gradients of pointwise ops", function()
  local a, b = leaf(3, 4), leaf(3, 4)
  local p, q = pos(3, 4), pos(3, 4)
  check("add, sub, mul, div", function(x, y) return (x + y) * (x - y) / (y * y + 1) end, {a, b})
  check("broadcast (3,1) with (1,4) and a row", function(x, y, r) return x * y + r end, {leaf(3, 1), leaf(1, 4), leaf(4)})
  check("broadcast a 0-dim tensor", function(x, s) return x * s end, {leaf(2, 3), leaf()})
  check("non-contiguous inputs", function(x, y) return x * y + x end, {strided(leaf(3, 4)), strided(leaf(3, 4))})
  check("pow with tensor exponent", function(x, y) return x ^ y end, {p, b})
  check("numbers on either side", function(x) return (2 - x) * 3 + x / 4 - 1 / (x * x + 1) + x ^ 2 + 2 ^ x end, {a})
  check("maximum, minimum", function(x, y) return x:maximum(y) + x:minimum(y) * 2 end, {a, b})
  check("atan2", function(x, y) return x:atan2(y) end, {a, p})
  check("remainder", function(x, y) return x % y end, {a, p})
  for _, op in ipairs{"neg", "exp", "tanh", "sigmoid", "sin", "cos", "expm1", "square", "abs", "relu", "erf"} do
    check(op, function(x) return x[op](x) end, {a})
  end
  for _, op in ipairs{"log", "sqrt", "log1p", "rsqrt", "reciprocal"} do
    check(op, function(x) return x[op](x) end, {p})
  end
  check("clamp", function(x) return x:clamp(-0.5, 0.5) end, {a})
  check("where", function(c, x, y) return lunet.where(c, x, y) end, {a:detach():gt(0), a, b})
  check("masked_fill", function(x, m) return x:masked_fill(m, 2) end, {a, b:detach():gt(0)})
  -- float32 rounds a 1e-6 step away, so this one steps by 1e-2 (the function is linear)
  check("float/double conversions", function(x) return x:float():double() * 2 end, {a}, {eps = 1e-2, atol = 1e-4})
end)

describe("gradients of reductions", function()
  local a = leaf(3, 4)
  for _, op in ipairs{"sum", "mean", "logsumexp", "var", "std"} do
    check(op .. " over all", function(x) return x[op](x) end, {a})
    check(op .. " over dim 2", function(x) return x[op](x, 2) end, {a})
    check(op .. " over dim 1 keepdim", function(x) return x[op](x, 1, true) end, {a})
  end
  check("prod", function(x) return x:prod(2) end, {pos(3, 4)})
  check("var with correction 0", function(x) return x:var(1, false, 0) end, {a})
  check("max and min over all", function(x) return x:max() + x:min() end, {a})
  check("max over a dim (values)", function(x) return (x:max(2)) end, {a})
  check("min over a dim keepdim", function(x) return (x:min(1, true)) end, {a})
  check("softmax", function(x) return x:softmax(2) end, {a})
  check("log_softmax", function(x) return x:log_softmax(1) end, {a})
  check("reductions of a strided view", function(x) return x:sum(1) + x:mean(1) end, {strided(leaf(4, 3))})
end)

describe("gradients of products", function()
  check("mm", function(x, y) return x:mm(y) end, {leaf(3, 4), leaf(4, 2)})
  check("mm of transposed views", function(x, y) return x:t():mm(y:t()) end, {leaf(4, 3), leaf(2, 4)})
  check("bmm", function(x, y) return x:bmm(y) end, {leaf(2, 3, 4), leaf(2, 4, 5)})
  check("matmul batched with broadcast", function(x, y) return x:matmul(y) end, {leaf(2, 1, 3, 4), leaf(5, 4, 2)})
  check("matmul matrix @ vector", function(x, v) return x:matmul(v) end, {leaf(3, 4), leaf(4)})
  check("matmul vector @ batched", function(v, y) return v:matmul(y) end, {leaf(4), leaf(2, 4, 3)})
  check("matmul (.., m, k) @ (k, n)", function(x, y) return x:matmul(y) end, {leaf(2, 3, 4), leaf(4, 5)})
  check("dot", function(x, y) return x:dot(y) end, {leaf(5), leaf(5)})
end)

describe("gradients of shape and indexing ops", function()
  local a = leaf(2, 3, 4)
  check("view and reshape", function(x) return x:view(6, 4):reshape(4, 6) * 2 end, {a})
  check("reshape of a non-contiguous view", function(x) return x:transpose(1, 3):reshape(-1) end, {a})
  check("transpose, t, permute", function(x) return x:permute(3, 1, 2):transpose(1, 2) end, {a})
  check("t", function(x) return x:t() * 3 end, {leaf(3, 5)})
  check("squeeze, unsqueeze, flatten", function(x) return x:unsqueeze(2):squeeze(2):flatten(2) end, {a})
  check("expand", function(x) return x:expand(3, 4) * 2 end, {leaf(3, 1)})
  check("contiguous and clone", function(x) return x:t():contiguous():clone() end, {leaf(3, 4)})
  check("narrow and select", function(x) return x:narrow(3, 2, 2):select(1, 2) end, {a})
  check("indexing x[i] and x[{..}] with steps", function(x) return x[2] + x[{1, {1, 3}, {1, 4, 2}}]:sum() end, {a})
  check("index_select with repeats", function(x) return x:index_select(2, {3, 1, 3}) end, {a})
  check("gather", function(x) return x:gather(2, lunet.tensor{{1, 1}, {3, 2}}) end, {leaf(2, 3)})
  check("cat", function(x, y) return lunet.cat({x, y, x}, 2) end, {leaf(2, 3), leaf(2, 1)})
  check("stack", function(x, y) return lunet.stack({x, y}, 2) end, {leaf(2, 3), leaf(2, 3)})
  check("split and chunk", function(x) local p = x:split(2, 2); return p[1] * 2 + p[2]:sum() + x:chunk(2, 1)[2]:sum() end, {leaf(4, 4)})
end)

describe("the backward engine", function()
  it("accumulates gradients over several backward calls, and over shared uses", function()
    local x = lunet.tensor({1, 2, 3}, {dtype = "float64", requires_grad = true})
    ;(x * x):sum():backward()
    T.values(x.grad, {2, 4, 6})
    ;(x * 3):sum():backward()
    T.values(x.grad, {5, 7, 9})
    x.grad = nil
    local y = x * 2
    ;(y + y * x):sum():backward() -- d/dx (2x + 2x^2) = 2 + 4x
    T.values(x.grad, {6, 10, 14})
  end)

  it("gives each leaf a gradient of its own, never the caller's seed or another leaf's", function()
    local x = lunet.zeros(3, {requires_grad = true})
    local seed = lunet.tensor({1, 2, 3}, {dtype = "float32"})
    x:clone():backward(seed)      -- the seed reaches x unchanged
    seed:fill_(7)
    T.values(x.grad, {1, 2, 3})
    x:backward(seed)              -- a leaf as the root
    seed:fill_(0)
    T.values(x.grad, {8, 9, 10})
    local a, b = lunet.zeros(2, {requires_grad = true}), lunet.zeros(2, {requires_grad = true})
    ;(a + b):sum():backward()     -- one gradient tensor flows to both
    a.grad:add_(1)
    T.values(b.grad, {1, 1})
    local w = lunet.ones(2, 2, {requires_grad = true})
    lunet.ones(3, 2):matmul(w):sum():backward() -- a fresh result, kept without a copy
    T.values(w.grad, {{3, 3}, {3, 3}})
    lunet.ones(3, 2):matmul(w):sum():backward() -- and accumulated into later
    T.values(w.grad, {{6, 6}, {6, 6}})
  end)

  it("takes a gradient for a non-scalar root and checks its shape", function()
    local x = lunet.ones(2, 2, {requires_grad = true})
    local y = x * 3
    T.errors(function() y:backward() end, "backward: a gradient is needed for a tensor of shape 2x2")
    T.errors(function() y:backward(lunet.ones(3)) end, "gradient of shape 3 does not match")
    y:backward(lunet.tensor{{1, 2}, {3, 4}})
    T.values(x.grad, {{3, 6}, {9, 12}})
  end)

  it("refuses a second backward unless the graph is retained", function()
    local x = lunet.ones(3, {requires_grad = true})
    local y = (x:exp() * 2):sum()
    y:backward({retain_graph = true})
    y:backward()
    T.near(x.grad[1], 4 * math.exp(1), 1e-5)
    T.errors(function() y:backward() end, "a second time")
  end)

  it("reports a tensor saved for backward that was changed in place", function()
    local x = lunet.ones(3, {requires_grad = true})
    local h = lunet.ones(3)
    local y = (x * h):sum()
    h:add_(1)
    T.errors(function() y:backward() end, "modified in place")
  end)

  it("does not record under no_grad, and detach cuts the graph", function()
    local x = lunet.ones(2, {requires_grad = true})
    local y = lunet.no_grad(function() return x * 2 end)
    T.eq(y.requires_grad, false, "no_grad result requires grad")
    T.eq(lunet.is_grad_enabled(), true, "grad mode restored")
    T.errors(function() lunet.no_grad(function() error("inside") end) end, "inside")
    T.eq(lunet.is_grad_enabled(), true, "grad mode restored after an error")
    local d = (x * 2):detach()
    T.eq(d.requires_grad, false, "detached requires grad")
    T.eq(d.grad_fn, nil, "detached grad_fn")
    local z = x * 2
    T.eq(z.grad_fn, "MulBackward", "grad_fn names the op")
    T.eq(z.is_leaf, false, "z is not a leaf")
  end)

  it("guards in-place writes into tensors of a graph", function()
    local w = lunet.zeros(3, {requires_grad = true})
    T.errors(function() w:add_(1) end, "add_: a tensor that requires grad cannot be changed in place")
    T.errors(function() w[1] = 5 end, "cannot be changed in place")
    T.errors(function() w:zero_() end, "zero_: a tensor that requires grad")
    lunet.no_grad(function() w:add_(1); w[1] = 5 end)
    T.values(w, {5, 1, 1})
  end)

  it("allows requires_grad only on float leaves", function()
    T.errors(function() lunet.tensor{1, 2}:requires_grad_() end, "only floating-point tensors can require gradients")
    local x = lunet.ones(2, {requires_grad = true})
    T.errors(function() (x * 2).requires_grad = false end, "only be changed on a leaf")
    T.errors(function() x.grad = lunet.ones(3) end, "does not fit")
  end)

  it("gives no gradient through integer results", function()
    local x = lunet.tensor({1, -2, 3}, {dtype = "float32", requires_grad = true})
    local y = (x * x:gt(0)):sum()
    y:backward()
    T.values(x.grad, {1, 0, 1})
  end)

  it("frees the graph: memory stays flat over many training-like steps", function()
    local w = lunet.randn(64, 64, {requires_grad = true})
    local x = lunet.randn(32, 64)
    collectgarbage()
    local base = lunet.memory().in_use + lunet.memory().headers
    local peak = 0
    for step = 1, 2000 do
      local loss = x:matmul(w):tanh():pow(2):mean()
      loss:backward()
      lunet.no_grad(function() w:sub_(w.grad * 0.01) end)
      w.grad = nil
      local used = lunet.memory().in_use + lunet.memory().headers
      if used > peak then peak = used end
    end
    T.truthy(peak - base < 64 * 2^20, string.format("peak %.1f MiB over base", (peak - base) / 2^20))
    collectgarbage(); collectgarbage()
    local after = lunet.memory().in_use + lunet.memory().headers
    T.truthy(after - base < 2^20, string.format("%.0f KiB left after collection", (after - base) / 1024))
  end)

  it("releases a long chain without exhausting the C stack", function()
    local x = lunet.ones(1, {requires_grad = true})
    local y = x
    for i = 1, 200000 do y = y + 1 end
    y:sum():backward()
    T.values(x.grad, {1})
    y = nil
    collectgarbage()
  end)
end)

describe("functions written in Lua", function()
  local Cube = lunet.autograd.Function{
    name = "CubeBackward",
    forward = function(ctx, x, k) ctx:save_for_backward(x); ctx.k = k; return x ^ 3 * k end,
    backward = function(ctx, g) local x = ctx.saved_tensors[1]; return g * 3 * x ^ 2 * ctx.k, nil end,
  }
  check("a custom function inside a graph", function(a) return Cube(a, 2):sin() * a end, {leaf(4)})

  it("names its node and records nothing when no input requires grad", function()
    T.eq(Cube(leaf(2), 1).grad_fn, "CubeBackward")
    T.eq(Cube(lunet.ones(2), 1).requires_grad, false)
  end)

  it("reports errors and wrong gradients from a Lua backward", function()
    local x = leaf(3)
    local Boom = lunet.autograd.Function{forward = function(ctx, a) return a * 1 end,
                                         backward = function() error("boom") end}
    T.errors(function() Boom(x):sum():backward() end, "boom")
    local Wrong = lunet.autograd.Function{forward = function(ctx, a) return a * 1 end,
                                          backward = function() return lunet.ones(5) end}
    T.errors(function() Wrong(x):sum():backward() end, "returned a gradient of shape 5 for input 1 of shape 3")
    local NotTensor = lunet.autograd.Function{forward = function(ctx, a) return a * 1 end,
                                              backward = function() return "x" end}
    T.errors(function() NotTensor(x):sum():backward() end, "expected a tensor or nil")
    T.errors(function() lunet.autograd.Function{forward = 1} end, "expected a table with forward and backward")
  end)
end)
