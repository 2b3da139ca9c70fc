local hello = gwtest.load("hello.lua", { greeting = "hi" })

gwtest.test("greets by name", function()
  local r = hello:run{ path = "/hello/", headers = { ["X-Name"] = "Ada" } }
  gwtest.eq(r.status, 200)
  gwtest.eq(r.request_headers["x-greeting"], "hi, Ada")
  gwtest.eq(r.headers["x-hello"], "Ada")
end)

gwtest.test("refuses strangers", function()
  local r = hello:run{ path = "/hello/" }
  gwtest.eq(r.status, 400)
  gwtest.eq(r.upstream_called, false)
  gwtest.contains(r.body, "who are you?")
end)

gwtest.test("greets with the default greeting", function()
  local r = gwtest.load("hello.lua"):run{ headers = { ["X-Name"] = "Ada" } }
  gwtest.eq(r.request_headers["x-greeting"], "hello, Ada")
end)
