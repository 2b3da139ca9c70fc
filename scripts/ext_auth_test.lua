-- A real HTTP server on 127.0.0.1 plays the authorization service.
local auth = gwtest.serve{ status = 200, headers = { ["Content-Type"] = "application/json" }, body = '{"user":"alice"}' }
local s = gwtest.load("ext_auth.lua", { url = auth.url .. "/verify", timeout = 5 }, { timeout = 10 })

gwtest.test("allowed: the service's user goes upstream, the token does not", function()
  local r = s:run{ path = "/orders", headers = { Authorization = "Bearer good" } }
  gwtest.eq(r.status, 200)
  gwtest.eq(r.request_headers["x-user"], "alice")
  gwtest.eq(r.request_headers["authorization"], nil)
  local calls = auth:requests()
  local last = calls[#calls]
  gwtest.eq(last.path, "/verify")
  gwtest.eq(last.headers["authorization"], "Bearer good")
  gwtest.eq(last.headers["x-original-path"], "/orders")
end)

gwtest.test("denied by the service: its status, no upstream call", function()
  auth:set{ status = 403, body = "no" }
  local r = s:run{ headers = { Authorization = "Bearer bad" } }
  gwtest.eq(r.status, 403)
  gwtest.eq(r.upstream_called, false)
  auth:set{ status = 500 }
  gwtest.eq(s:run{ headers = { Authorization = "Bearer x" } }.status, 503)
end)

gwtest.test("no credentials: 401 without calling the service", function()
  local before = #auth:requests()
  gwtest.eq(s:run{}.status, 401)
  gwtest.eq(#auth:requests(), before)
end)

gwtest.test("service down: 503 and an error log", function()
  local down = gwtest.serve{}
  local url = down.url
  down:close()
  local s2 = gwtest.load("ext_auth.lua", { url = url .. "/verify", timeout = 5 }, { timeout = 10 })
  local r = s2:run{ headers = { Authorization = "Bearer good" } }
  gwtest.eq(r.status, 503)
  gwtest.eq(r.logs[1].level, "error")
  gwtest.contains(r.logs[1].message, "auth service:")
end)

gwtest.test("the service's URL is required and checked", function()
  local ok, err = pcall(gwtest.load, "ext_auth.lua", {})
  gwtest.eq(ok, false)
  gwtest.contains(err, "config.url: is required")
  ok, err = pcall(gwtest.load, "ext_auth.lua", { url = "ftp://x" })
  gwtest.contains(err, 'config.url: must match the pattern "^https?://"')
end)
