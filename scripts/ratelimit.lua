-- ratelimit.lua: a token bucket per client, kept in gw.cache.
--
--   [[routes.plugins]]
--   script = "scripts/ratelimit.lua"
--   [routes.plugins.config]
--   rate = 10          # tokens added per second; default 10
--   burst = 20         # bucket size: the most requests at once; default 20
--   header = ""        # count per value of this header (e.g. "X-API-Key") instead of per client IP
--
-- Over the limit a request gets 429 with Retry-After. Every response says
-- how many requests are left in X-RateLimit-Remaining.
--
-- The bucket is read and written with gw.cache.get/set, which are not one
-- atomic step: under heavy concurrency from one client a few requests more
-- than the limit may pass. For an exact, cluster-wide limit use a rate
-- limiting plugin.

local M = {}

M.schema = {
  rate = { type = "number", default = 10, min = 0.000001 },
  burst = { type = "integer", default = 20, min = 1 },
  header = { type = "string", default = "" },
}

function M.on_request(conf)
  local rate = conf.rate
  local burst = conf.burst
  local who
  if conf.header ~= "" then
    who = gw.request.get_header(conf.header) or "-"
  else
    who = gw.request.get_client_ip()
  end
  local key = "bucket:" .. who
  local now = gw.time.now()

  local tokens, last = burst, now
  local saved = gw.cache.get(key)
  if saved then
    local t, l = saved:match("^([%d%.]+):([%d%.]+)$")
    tokens, last = tonumber(t), tonumber(l)
  end
  -- last is stored rounded to the millisecond: never count negative time.
  tokens = math.min(burst, tokens + math.max(0, now - last) * rate)

  if tokens < 1 then
    local wait = math.ceil((1 - tokens) / rate)
    gw.cache.set(key, string.format("%.3f:%.3f", tokens, now), burst / rate + 1)
    return gw.response.exit(429, { error = "rate limit exceeded" },
      { ["Retry-After"] = tostring(wait), ["X-RateLimit-Remaining"] = "0" })
  end
  tokens = tokens - 1
  gw.cache.set(key, string.format("%.3f:%.3f", tokens, now), burst / rate + 1)
  gw.ctx.set("ratelimit_remaining", math.floor(tokens))
end

function M.on_response(conf)
  local left = gw.ctx.get("ratelimit_remaining")
  if left then
    gw.response.set_header("X-RateLimit-Remaining", tostring(left))
  end
end

return M
