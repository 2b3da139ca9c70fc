-- ai_guard.lua: a guardrail and a router for AI routes, placed before
-- the ai-proxy step (docs/ai-gateway.md).
--
--   [[routes.plugins]]
--   script = "scripts/ai_guard.lua"
--   [routes.plugins.config]
--   block = ["password", "api[_ ]?key"]   # Lua patterns, matched on the lower-cased prompt
--   long_prompt_chars = 8000               # prompts longer than this...
--   long_prompt_model = "gpt-4o-mini"      # ...go to this model (a name of the models table)
--
-- A prompt that matches a pattern is refused with 400 in the error shape
-- of the client's API, before any provider is called. on_log logs the
-- tokens of every answer.

local M = {}

M.schema = {
  block = { type = "array", items = { type = "string", min_length = 1 }, default = {} },
  long_prompt_chars = { type = "integer", default = 0 },
  long_prompt_model = { type = "string", default = "" },
}

-- refuse answers in the shape the client's SDK expects.
local function refuse(message)
  if gw.request.get_path():find("/messages$") then
    return gw.response.exit(400, { type = "error", error = { type = "invalid_request_error", message = message } })
  end
  return gw.response.exit(400, { error = { message = message, type = "invalid_request_error", param = gw.json.null, code = gw.json.null } })
end

function M.on_request(conf)
  local messages = gw.ai.get_messages()
  if not messages then
    return -- not a chat request: ai-proxy answers it
  end
  local size = 0
  for _, m in ipairs(messages) do
    local text = m.content:lower()
    for _, pattern in ipairs(conf.block) do
      if text:find(pattern) then
        gw.log.warn("prompt refused: pattern", pattern, "in a", m.role, "message")
        return refuse("the prompt was refused by the gateway's policy")
      end
    end
    size = size + #m.content
  end
  if conf.long_prompt_chars > 0 and size > conf.long_prompt_chars and conf.long_prompt_model ~= "" then
    gw.ai.set_model(conf.long_prompt_model)
  end
end

function M.on_log(conf)
  local u = gw.ai.get_usage()
  if u then
    gw.log.info("ai usage: model=" .. u.model, "provider=" .. u.provider, "prompt=" .. u.prompt_tokens,
      "completion=" .. u.completion_tokens, "total=" .. u.total_tokens, "cost=" .. u.cost)
  end
end

return M
