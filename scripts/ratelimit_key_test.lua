local s = gwtest.load("ratelimit_key.lua", { domain = "api.example.com" })

gwtest.test("counts per tenant, the first label of the host", function()
  local r = s:run{ host = "ACME.api.example.com:8080", client_ip = "198.51.100.1" }
  gwtest.eq(r.status, 200)
  gwtest.eq(r.values.ratelimit_key, "tenant:acme")
  -- Another client of the same tenant shares its count.
  r = s:run{ host = "acme.api.example.com", client_ip = "198.51.100.2" }
  gwtest.eq(r.values.ratelimit_key, "tenant:acme")
  r = s:run{ host = "globex.api.example.com" }
  gwtest.eq(r.values.ratelimit_key, "tenant:globex")
end)

gwtest.test("other hosts count per client IP", function()
  for _, host in ipairs({ "api.example.com", "a.b.api.example.com", "evil-api.example.com", "localhost" }) do
    local r = s:run{ host = host, client_ip = "198.51.100.7" }
    gwtest.eq(r.values.ratelimit_key, "ip:198.51.100.7", host)
  end
end)

gwtest.test("fallback = none leaves them to the step's missing_key", function()
  local none = gwtest.load("ratelimit_key.lua", { domain = "api.example.com", fallback = "none" })
  local r = none:run{ host = "localhost" }
  gwtest.eq(r.status, 200)
  gwtest.eq(r.values.ratelimit_key, nil)
end)

gwtest.test("the config is checked", function()
  local ok, err = pcall(gwtest.load, "ratelimit_key.lua", {})
  gwtest.eq(ok, false)
  gwtest.contains(err, "config.domain")
  ok, err = pcall(gwtest.load, "ratelimit_key.lua", { domain = "x", fallback = "consumer" })
  gwtest.contains(err, "config.fallback")
end)
