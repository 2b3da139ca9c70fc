local s = gwtest.load("ai_guard.lua", { block = { "password", "api[_ ]?key" }, long_prompt_chars = 40, long_prompt_model = "gpt-4o-mini" })

local function chat(content, path)
  local body
  if path == "/v1/messages" then
    body = gw.json.encode({ model = "claude-sonnet", max_tokens = 10, system = "Be brief.",
      messages = { { role = "user", content = { { type = "text", text = content } } } } })
  else
    body = gw.json.encode({ model = "gpt-4o", messages = { { role = "system", content = "Be brief." },
      { role = "user", content = content } } })
  end
  return s:run{ method = "POST", path = path or "/v1/chat/completions", body = body,
    headers = { ["Content-Type"] = "application/json" } }
end

gwtest.test("lets an ordinary prompt through with its model", function()
  local r = chat("Hi there")
  gwtest.eq(r.upstream_called, true)
  gwtest.eq(r.values["ai.model"], nil)
end)

gwtest.test("refuses a prompt that matches a pattern, in OpenAI's shape", function()
  local r = chat("my API_KEY is 1234")
  gwtest.eq(r.status, 400)
  gwtest.eq(r.upstream_called, false)
  local e = gw.json.decode(r.body)
  gwtest.eq(e.error.type, "invalid_request_error")
end)

gwtest.test("refuses in Anthropic's shape on /messages", function()
  local r = chat("what is the admin Password?", "/v1/messages")
  gwtest.eq(r.status, 400)
  local e = gw.json.decode(r.body)
  gwtest.eq(e.type, "error")
  gwtest.eq(e.error.type, "invalid_request_error")
end)

gwtest.test("sends a long prompt to the cheaper model", function()
  local r = chat(string.rep("long text ", 10))
  gwtest.eq(r.upstream_called, true)
  gwtest.eq(r.values["ai.model"], "gpt-4o-mini")
end)

gwtest.test("leaves requests that are not chat requests alone", function()
  local r = s:run{ method = "GET", path = "/v1/models" }
  gwtest.eq(r.upstream_called, true)
end)
