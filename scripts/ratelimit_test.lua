-- rate = 0.001 token/s: no token comes back while the test runs, so the
-- outcome does not depend on the machine's speed.
local s = gwtest.load("ratelimit.lua", { rate = 0.001, burst = 3 })

gwtest.test("allows the burst, then 429 with Retry-After", function()
  local ip = "198.51.100.1"
  for i = 1, 3 do
    local r = s:run{ client_ip = ip }
    gwtest.eq(r.status, 200, "request " .. i)
    gwtest.eq(r.headers["x-ratelimit-remaining"], tostring(3 - i))
  end
  local r = s:run{ client_ip = ip }
  gwtest.eq(r.status, 429)
  gwtest.eq(r.upstream_called, false)
  gwtest.ok(tonumber(r.headers["retry-after"]) >= 1)
  gwtest.contains(r.body, "rate limit exceeded")
end)

gwtest.test("each client has its own bucket", function()
  for i = 1, 3 do
    gwtest.eq(s:run{ client_ip = "198.51.100.2" }.status, 200)
  end
  gwtest.eq(s:run{ client_ip = "198.51.100.2" }.status, 429)
  gwtest.eq(s:run{ client_ip = "198.51.100.3" }.status, 200)
end)

gwtest.test("tokens come back at the configured rate", function()
  local fast = gwtest.load("ratelimit.lua", { rate = 1000, burst = 1, header = "X-Key" })
  gwtest.eq(fast:run{ headers = { ["X-Key"] = "k" } }.status, 200)
  -- 1000 tokens/s: one is back after 1 ms; wait 20 ms.
  local until_ms = gw.time.now_ms() + 20
  while gw.time.now_ms() < until_ms do end
  gwtest.eq(fast:run{ headers = { ["X-Key"] = "k" } }.status, 200)
end)

gwtest.test("the config is checked, defaults fill the rest", function()
  local ok, err = pcall(gwtest.load, "ratelimit.lua", { rate = "fast" })
  gwtest.eq(ok, false)
  gwtest.contains(err, "config.rate: must be a number, got a string")
  ok, err = pcall(gwtest.load, "ratelimit.lua", { burst = 0.5 })
  gwtest.contains(err, "config.burst: must be an integer")
  -- burst defaults to 20: 20 requests pass, the 21st does not.
  local defaults = gwtest.load("ratelimit.lua", { rate = 0.001 })
  for i = 1, 20 do
    gwtest.eq(defaults:run{ client_ip = "198.51.100.9" }.status, 200, "request " .. i)
  end
  gwtest.eq(defaults:run{ client_ip = "198.51.100.9" }.status, 429)
end)
