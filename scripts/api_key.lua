-- api_key.lua: check an API key against the keys held in gw.cache.
--
--   [[routes.plugins]]
--   script = "scripts/api_key.lua"
--   [routes.plugins.config]
--   header = "X-API-Key"                      # default "X-API-Key"
--   keys = { alice = "${ALICE_KEY}" }         # consumer -> key, loaded into gw.cache
--
-- Keys live in gw.cache as "key:<sha256 of the key>" -> consumer name, so
-- the cache never holds a key in clear and other tools (or scripts) can add
-- and revoke keys at run time. The keys of the config are loaded on first
-- use. The key is not forwarded upstream; the consumer's name is, in
-- X-Consumer.

local M = {}

-- The config, checked when the configuration loads (docs/lua.md,
-- "Configuration schema").
M.schema = {
  header = { type = "string", default = "X-API-Key", min_length = 1 },
  keys = { type = "table", values = { type = "string", min_length = 1 }, default = {} },
}

local function load_keys(conf)
  if gw.cache.get("loaded") then
    return
  end
  for consumer, key in pairs(conf.keys) do
    gw.cache.set("key:" .. gw.hash.sha256(key), consumer)
  end
  gw.cache.set("loaded", "1")
end

function M.on_request(conf)
  load_keys(conf)
  local header = conf.header
  local key = gw.request.get_header(header)
  if not key or key == "" then
    return gw.response.exit(401, { error = "missing API key" }, { ["WWW-Authenticate"] = "ApiKey" })
  end
  local consumer = gw.cache.get("key:" .. gw.hash.sha256(key))
  if not consumer then
    gw.log.info("invalid API key from", gw.request.get_client_ip())
    return gw.response.exit(401, { error = "invalid API key" }, { ["WWW-Authenticate"] = "ApiKey" })
  end
  gw.request.clear_header(header)
  gw.request.set_header("X-Consumer", consumer)
  gw.ctx.set("consumer", consumer)
end

return M
