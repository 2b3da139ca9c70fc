local conf = { tenants = { acme = "acme-api", globex = "globex-api" } }
local tenant = gwtest.load("tenant.lua", conf, { upstreams = { "acme-api", "globex-api", "shared-api" } })

gwtest.test("routes each tenant to its upstream", function()
  local r = tenant:run{ path = "/orders", headers = { ["X-Tenant"] = "ACME" } }
  gwtest.eq(r.status, 200)
  gwtest.eq(r.upstream, "acme-api")
  gwtest.eq(r.request_headers["x-tenant-id"], "acme")
  gwtest.eq(r.values.tenant, "acme")
  r = tenant:run{ path = "/orders", headers = { ["X-Tenant"] = "globex" } }
  gwtest.eq(r.upstream, "globex-api")
end)

gwtest.test("refuses a request without the header", function()
  local r = tenant:run{ path = "/orders" }
  gwtest.eq(r.status, 400)
  gwtest.eq(r.upstream_called, false)
  gwtest.contains(r.body, "missing X-Tenant header")
end)

gwtest.test("unknown tenant: 404 unless there is a default", function()
  local r = tenant:run{ headers = { ["X-Tenant"] = "initech" } }
  gwtest.eq(r.status, 404)
  local with_default = gwtest.load("tenant.lua",
    { header = "X-Org", tenants = conf.tenants, default = "shared-api" },
    { upstreams = { "acme-api", "globex-api", "shared-api" } })
  r = with_default:run{ headers = { ["X-Org"] = "initech" } }
  gwtest.eq(r.status, 200)
  gwtest.eq(r.upstream, "shared-api")
end)

gwtest.test("a tenant mapped to a missing upstream is a script error (500)", function()
  local broken = gwtest.load("tenant.lua", { tenants = { acme = "nowhere" } }, { upstreams = { "acme-api" } })
  local r = broken:run{ headers = { ["X-Tenant"] = "acme" } }
  gwtest.eq(r.status, 500)
  gwtest.contains(r.error, "tenant.lua:36")
  gwtest.contains(r.error, 'unknown upstream "nowhere"')
end)

gwtest.test("the config is checked against the schema", function()
  local ok, err = pcall(gwtest.load, "tenant.lua", { tenants = { acme = 42 } })
  gwtest.eq(ok, false)
  gwtest.contains(err, "config.tenants.acme: must be a string")
end)
