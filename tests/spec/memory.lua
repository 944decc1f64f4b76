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
