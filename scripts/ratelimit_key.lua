-- ratelimit_key.lua: says who a rate-limit step counts, when none of the
-- step's own keys (consumer, ip, route, header:, param:, query:) does.
-- This one counts per tenant, the first label of the Host: requests to
-- acme.api.example.com count as "acme", whatever client sends them.
-- Requests to other hosts count per client IP (or are left to the step's
-- missing_key, with fallback = "none").
--
--   [[routes.plugins]]
--   script = "scripts/ratelimit_key.lua"
--   [routes.plugins.config]
--   domain = "api.example.com"    # tenants are <name>.<domain>; required
--   fallback = "ip"               # "ip" (default) or "none"
--   [[routes.plugins]]
--   name = "rate-limit"
--   [routes.plugins.config]
--   limits = [{ requests = 100, per = "1m" }]
--   key = "ctx:ratelimit_key"
--
-- The script only names the key; the rate-limit plugin counts, exactly on
-- one node, and across nodes with policy = "redis" (docs/ratelimit.md).
-- A script that also decides what a request over the limit gets calls a
-- named limit itself: scripts/ratelimit.lua.

local M = {}

M.schema = {
  domain = { type = "string", required = true, min_length = 1 },
  fallback = { type = "string", default = "ip", one_of = { "ip", "none" } },
}

function M.on_request(conf)
  local host = (gw.request.get_host() or ""):lower():gsub(":%d+$", "")
  local suffix = "." .. conf.domain:lower()
  local tenant
  if #host > #suffix and host:sub(-#suffix) == suffix then
    tenant = host:sub(1, #host - #suffix)
    -- One label only: "a.b.api.example.com" is not tenant "a.b".
    if tenant:find(".", 1, true) then tenant = nil end
  end
  if tenant then
    gw.ctx.set("ratelimit_key", "tenant:" .. tenant)
  elseif conf.fallback == "ip" then
    gw.ctx.set("ratelimit_key", "ip:" .. gw.request.get_client_ip())
  end
end

return M
