local s = gwtest.load("redact.lua", { fields = { "password", "number" } })

local function upstream(body, ct)
  return { response = { status = 200, headers = { ["Content-Type"] = ct or "application/json" }, body = body } }
end

gwtest.test("redacts fields at any depth, keeps the rest", function()
  local r = s:run(upstream('{"user":"bob","password":"hunter2","cards":[{"number":"4111","exp":"12/30"}],"tags":[],"note":null}'))
  gwtest.eq(r.status, 200)
  gwtest.eq(r.body, '{"cards":[{"exp":"12/30","number":"[redacted]"}],"note":null,"password":"[redacted]","tags":[],"user":"bob"}')
end)

gwtest.test("leaves non-JSON and invalid JSON alone", function()
  local r = s:run(upstream("password=hunter2", "text/plain"))
  gwtest.eq(r.body, "password=hunter2")
  r = s:run(upstream('{"password": "hunter2"'))
  gwtest.eq(r.body, '{"password": "hunter2"')
end)

gwtest.test("uses the configured mask", function()
  local masked = gwtest.load("redact.lua", { fields = { "ssn" }, mask = "***" })
  local r = masked:run(upstream('{"ssn":"078-05-1120"}'))
  gwtest.eq(gw.json.decode(r.body).ssn, "***")
end)

gwtest.test("refuses a streamed JSON response rather than pass it unredacted", function()
  local r = s:run{ response = { headers = { ["Content-Type"] = "application/json" }, body = '{"password":"hunter2"}', stream = true } }
  gwtest.eq(r.status, 502)
  gwtest.ok(not r.body:find("hunter2"), r.body)
end)
