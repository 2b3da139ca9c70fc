-- A bucket of 20 that refills one token per 3 minutes: a test's requests
-- never see a refill, so the counts are exact.
local limits = { ["per-client"] = { limits = { { requests = 20, per = "1h", burst = 20 } }, algorithm = "gcra" } }
local s = gwtest.load("ratelimit.lua", {}, { rate_limits = limits })

gwtest.test("a burst of 20 per client IP passes, the 21st gets 429", function()
  for i = 1, 20 do
    local r = s:run{ client_ip = "198.51.100.1" }
    gwtest.eq(r.status, 200, "request " .. i)
    gwtest.eq(r.headers["x-ratelimit-remaining"], tostring(20 - i), "request " .. i)
  end
  local r = s:run{ client_ip = "198.51.100.1" }
  gwtest.eq(r.status, 429)
  gwtest.eq(r.headers["x-ratelimit-remaining"], "0")
  gwtest.ok(tonumber(r.headers["retry-after"]) > 0, "Retry-After " .. tostring(r.headers["retry-after"]))
  gwtest.contains(r.body, "rate limit exceeded")
  -- Another client has its own bucket.
  gwtest.eq(s:run{ client_ip = "198.51.100.2" }.status, 200)
end)

gwtest.test("header = counts per value of the header", function()
  local h = gwtest.load("ratelimit.lua", { header = "X-API-Key" },
    { rate_limits = { ["per-client"] = { limits = { { requests = 2, per = "1h" } }, algorithm = "gcra" } } })
  for _, ip in ipairs({ "198.51.100.1", "198.51.100.2" }) do
    gwtest.eq(h:run{ client_ip = ip, headers = { ["X-API-Key"] = "k1" } }.status, 200)
  end
  -- Two requests of k1 from two IPs used its bucket up.
  gwtest.eq(h:run{ client_ip = "198.51.100.3", headers = { ["X-API-Key"] = "k1" } }.status, 429)
  gwtest.eq(h:run{ client_ip = "198.51.100.3", headers = { ["X-API-Key"] = "k2" } }.status, 200)
end)

gwtest.test("an unknown limit name fails the request", function()
  local bad = gwtest.load("ratelimit.lua", { limit = "nope" }, { rate_limits = limits })
  local r = bad:run{}
  gwtest.eq(r.status, 500)
end)
