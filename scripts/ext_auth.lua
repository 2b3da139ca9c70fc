-- ext_auth.lua: ask an external service whether a request may pass.
--
--   [[routes.plugins]]
--   script = "scripts/ext_auth.lua"
--   timeout = "2s"                 # the step's deadline must cover the call
--   [routes.plugins.config]
--   url = "http://127.0.0.1:9000/verify"   # required
--   timeout = 0.5                  # seconds for the call; default 1
--
-- The client's Authorization header is sent to the service. 2xx lets the
-- request pass, with the user the service names (JSON {"user": "..."}) in
-- X-User; 401/403 from the service are passed to the client; anything else,
-- or no answer, gets 503.

local M = {}

M.schema = {
  url = { type = "string", required = true, pattern = "^https?://" },
  timeout = { type = "number", default = 1, min = 0.001 },
}

function M.on_request(conf)
  local token = gw.request.get_header("Authorization")
  if not token then
    return gw.response.exit(401, { error = "missing credentials" })
  end
  local res, err = gw.http.request{
    method = "GET",
    url = conf.url,
    headers = { Authorization = token, ["X-Original-Path"] = gw.request.get_path() },
    timeout = conf.timeout,
  }
  if not res then
    gw.log.err("auth service:", err)
    return gw.response.exit(503, { error = "authorization service unavailable" })
  end
  if res.status == 401 or res.status == 403 then
    return gw.response.exit(res.status, { error = "not authorized" })
  end
  if res.status < 200 or res.status > 299 then
    gw.log.warn("auth service answered", res.status)
    return gw.response.exit(503, { error = "authorization service unavailable" })
  end
  local who = gw.json.decode(res.body)
  if type(who) == "table" and type(who.user) == "string" then
    gw.request.set_header("X-User", who.user)
  end
  gw.request.clear_header("Authorization")
end

return M
