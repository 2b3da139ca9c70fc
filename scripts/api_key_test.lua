local s = gwtest.load("api_key.lua", { keys = { alice = "alice-secret-1" } })

gwtest.test("a known key passes, the key is not forwarded", function()
  local r = s:run{ headers = { ["X-API-Key"] = "alice-secret-1" } }
  gwtest.eq(r.status, 200)
  gwtest.eq(r.upstream_called, true)
  gwtest.eq(r.request_headers["x-consumer"], "alice")
  gwtest.eq(r.request_headers["x-api-key"], nil)
end)

gwtest.test("missing and wrong keys get 401", function()
  local r = s:run{}
  gwtest.eq(r.status, 401)
  gwtest.eq(r.upstream_called, false)
  gwtest.eq(r.headers["www-authenticate"], "ApiKey")
  gwtest.contains(r.body, "missing API key")
  r = s:run{ headers = { ["X-API-Key"] = "guess" } }
  gwtest.eq(r.status, 401)
  gwtest.contains(r.body, "invalid API key")
  gwtest.ok(not r.body:find("guess"), "the key is not echoed")
end)

gwtest.test("keys added to the cache at run time work, removed ones stop", function()
  s:cache_set("key:" .. gw.hash.sha256("bob-key"), "bob")
  local r = s:run{ headers = { ["X-API-Key"] = "bob-key" } }
  gwtest.eq(r.status, 200)
  gwtest.eq(r.request_headers["x-consumer"], "bob")
  gwtest.eq(s:cache_get("key:" .. gw.hash.sha256("alice-secret-1")), "alice", "keys are stored hashed")
  s:cache_set("key:" .. gw.hash.sha256("bob-key"), "bob", 0.001)
  -- expired entries are gone: wait past the TTL without a sleep function
  local until_ms = gw.time.now_ms() + 20
  while gw.time.now_ms() < until_ms do end
  r = s:run{ headers = { ["X-API-Key"] = "bob-key" } }
  gwtest.eq(r.status, 401)
end)
