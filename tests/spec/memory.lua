-- Lua's GC sees only the small boxes of tensors; lunet tells it about the
-- memory behind them (src/l_tensor.c, lb_account). Without that, a loop's
-- garbage tensors pile up to gigabytes before a collection.
describe("memory", function()
  it("stays flat over 10,000 steps that each make garbage tensors", function()
    collectgarbage()
    local base = lunet.memory().in_use
    local w = lunet.randn(256, 256)
    local peak, acc = 0, 0
    for step = 1, 10000 do
      local h = (w * 0.5 + 1):relu()   -- three 256 KiB temporaries per step
      acc = acc + h[{1, 1}]
      local used = lunet.memory().in_use
      if used > peak then peak = used end
    end
    T.near(acc, 10000 * math.max(0, w[{1, 1}] * 0.5 + 1), 1e-4, "the loop's result")
    T.truthy(peak - base < 200 * 2^20, string.format("peak tensor memory %.0f MiB stays under 200 MiB", (peak - base) / 2^20))
    collectgarbage()
    T.eq(lunet.memory().in_use - base, 256 * 256 * 4, "after a collection only w is live (bytes)")
  end)

  it("lets no more garbage pile up after a big tensor is freed", function()
    do
      local big = lunet.zeros(25 * 2^20)   -- 100 MiB live: the collector's limit rises past it
      T.truthy(big:numel() > 0)
    end
    collectgarbage()
    local base, peak = lunet.memory().in_use, 0
    local w = lunet.randn(256, 256)
    for _ = 1, 2000 do
      local h = w * 0.5                    -- 256 KiB of garbage a step
      local used = lunet.memory().in_use
      if used > peak then peak = used end
    end
    T.truthy(peak - base < 64 * 2^20, string.format("garbage peaked at %.0f MiB, under 64 MiB", (peak - base) / 2^20))
  end)

  it("stays flat over training steps: graphs, gradients and optimizer state are freed", function()
    local nn, F = lunet.nn, lunet.nn.F
    lunet.manual_seed(2)
    local model = nn.Sequential{nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                nn.Linear(4 * 3 * 3, 16), nn.Dropout(0.2), nn.Linear(16, 3)}
    local lstm = nn.LSTM(5, 8)
    local opt = lunet.optim.Adam(model:parameters(), {lr = 1e-3})
    local x, y, seq = lunet.randn(8, 1, 8, 8), lunet.randint(1, 4, {8}), lunet.randn(6, 8, 5)
    local function epoch()
      for _ = 1, 50 do
        local out = lstm(seq)
        local loss = F.cross_entropy(model(x), y) + out:pow(2):mean()
        opt:zero_grad(); loss:backward(); opt:step()
      end
      collectgarbage()
      return lunet.memory().in_use
    end
    local first = epoch()
    for _ = 1, 3 do T.eq(epoch(), first, "live tensor bytes after each further epoch") end
  end)

  it("frees a tensor at once when it goes out of a <close> scope", function()
    collectgarbage()
    local base = lunet.memory().in_use
    do
      local big <close> = lunet.zeros(1024, 1024)
      T.eq(lunet.memory().in_use - base, 4 * 2^20, "bytes while in scope")
    end
    T.eq(lunet.memory().in_use, base, "bytes after the scope")
  end)

  it("raises a clear error for a closed tensor", function()
    local t = lunet.zeros(2)
    do local c <close> = t end
    T.errors(function() return t + 1 end, "closed")
  end)
end)
