-- canary.lua: send a share of the requests, and those that ask for it, to a
-- canary upstream, and keep the canary's cached responses apart.
--
--   [[routes.plugins]]
--   script = "scripts/canary.lua"
--   [routes.plugins.config]
--   upstream = "api-canary"   # the canary's upstream (required)
--   percent = 5               # share of the other requests sent to it, 0 to 100 (default 0)
--   header = "X-Canary"       # "X-Canary: 1" always goes to the canary (default; "" turns it off)
--
-- Put it before a cache step: gw.cache_key.add puts the release in the
-- cache key, so a stable request is never served a canary's cached answer
-- (nor the other way round). The release ("canary" or "stable") is kept in
-- gw.ctx as "release" and sent upstream in X-Release.

local M = {}

M.schema = {
  upstream = { type = "string", required = true, min_length = 1, description = "the canary's upstream" },
  percent = { type = "number", min = 0, max = 100, default = 0 },
  header = { type = "string", default = "X-Canary" },
}

function M.on_request(conf)
  local header = conf.header
  local canary = header ~= "" and gw.request.get_header(header) == "1"
  if not canary and conf.percent > 0 then
    canary = math.random() * 100 < conf.percent
  end
  local release = "stable"
  if canary then
    local ok, err = gw.upstream.set_upstream(conf.upstream)
    if not ok then
      error(err)
    end
    release = "canary"
  end
  gw.cache_key.add(release)
  gw.ctx.set("release", release)
  gw.request.set_header("X-Release", release)
end

return M
