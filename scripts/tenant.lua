-- tenant.lua: send each tenant's requests to its own upstream, chosen by a
-- request header.
--
--   [[routes.plugins]]
--   script = "scripts/tenant.lua"
--   [routes.plugins.config]
--   header = "X-Tenant"                       # default "X-Tenant"
--   tenants = { acme = "acme-api", globex = "globex-api" }   # tenant -> upstream
--   default = "shared-api"                    # optional: upstream for other tenants
--
-- A request without the header, or for an unknown tenant when there is no
-- default, gets 400 / 404. The tenant is passed upstream in X-Tenant-Id and
-- kept in gw.ctx for later steps.

local M = {}

M.schema = {
  header = { type = "string", default = "X-Tenant", min_length = 1 },
  tenants = { type = "table", values = "string", default = {} },
  default = { type = "string" },
}

function M.on_request(conf)
  local header = conf.header
  local tenant = gw.request.get_header(header)
  if not tenant or tenant == "" then
    return gw.response.exit(400, { error = "missing " .. header .. " header" })
  end
  local upstream = conf.tenants[tenant:lower()] or conf.default
  if not upstream then
    return gw.response.exit(404, { error = "unknown tenant" })
  end
  local ok, err = gw.upstream.set_upstream(upstream)
  if not ok then
    -- A configuration mistake: the tenants table names a missing upstream.
    error(err)
  end
  gw.request.set_header("X-Tenant-Id", tenant:lower())
  gw.ctx.set("tenant", tenant:lower())
  gw.log.debug("tenant", tenant, "->", upstream)
end

return M
