-- hello.lua: the starter script of the README's tour. It greets callers
-- who say their name in X-Name, refuses the others, and tags the response.
local M = {}

-- The step's config: greeting = "..." (default "hello").
M.schema = {
  greeting = { type = "string", default = "hello" },
}

-- Runs before the upstream is called, in chain order.
function M.on_request(conf)
  local name = gw.request.get_header("X-Name")
  if not name then
    -- Answers the request: the upstream is not called.
    return gw.response.exit(400, { error = "who are you? send X-Name" })
  end
  gw.request.set_header("X-Greeting", conf.greeting .. ", " .. name)
  gw.ctx.set("name", name) -- for later steps and on_response
end

-- Runs on the response, in reverse chain order.
function M.on_response(conf)
  gw.response.set_header("X-Hello", gw.ctx.get("name") or "nobody")
end

return M
