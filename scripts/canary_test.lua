local conf = { upstream = "api-canary" }
local canary = gwtest.load("canary.lua", conf, { upstreams = { "api", "api-canary" } })

gwtest.test("a request that asks for the canary goes there, keyed apart", function()
  local r = canary:run{ path = "/items", headers = { ["X-Canary"] = "1" } }
  gwtest.eq(r.status, 200)
  gwtest.eq(r.upstream, "api-canary")
  gwtest.eq(r.cache_key, { "canary" })
  gwtest.eq(r.values.release, "canary")
  gwtest.eq(r.request_headers["x-release"], "canary")
end)

gwtest.test("the others stay on the route's upstream, keyed as stable", function()
  local r = canary:run{ path = "/items" }
  gwtest.eq(r.upstream_called, true)
  gwtest.eq(r.cache_key, { "stable" })
  gwtest.eq(r.request_headers["x-release"], "stable")
  r = canary:run{ path = "/items", headers = { ["X-Canary"] = "0" } }
  gwtest.eq(r.cache_key, { "stable" })
end)

gwtest.test("percent = 100 sends every request to the canary", function()
  local all = gwtest.load("canary.lua", { upstream = "api-canary", percent = 100 }, { upstreams = { "api-canary" } })
  gwtest.eq(all:run{ path = "/" }.upstream, "api-canary")
end)

gwtest.test("the config is checked against the schema", function()
  local ok, err = pcall(gwtest.load, "canary.lua", { percent = 5 })
  gwtest.eq(ok, false)
  gwtest.contains(err, "config.upstream")
  ok, err = pcall(gwtest.load, "canary.lua", { upstream = "api-canary", percent = 101 })
  gwtest.eq(ok, false)
  gwtest.contains(err, "config.percent")
end)

gwtest.test("an upstream missing from the configuration is a script error (500)", function()
  local broken = gwtest.load("canary.lua", { upstream = "nowhere" }, { upstreams = { "api" } })
  local r = broken:run{ headers = { ["X-Canary"] = "1" } }
  gwtest.eq(r.status, 500)
  gwtest.contains(r.error, 'unknown upstream "nowhere"')
end)
