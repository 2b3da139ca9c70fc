-- redact.lua: hide sensitive fields of JSON responses.
--
--   [[routes.plugins]]
--   script = "scripts/redact.lua"
--   [routes.plugins.config]
--   fields = ["password", "number", "ssn"]   # field names, at any depth
--   mask = "[redacted]"                      # default "[redacted]"
--
-- Responses that are not JSON, or not valid JSON, pass unchanged. A JSON
-- response that streams (larger than the upstream's stream_threshold, or
-- a stream type such as application/x-ndjson) cannot be read whole: it is
-- refused with 502 rather than sent unredacted.

local M = {}

M.schema = {
  fields = { type = "array", items = { type = "string", min_length = 1 }, default = { "password" } },
  mask = { type = "string", default = "[redacted]" },
}

local function redact(v, fields, mask)
  if type(v) ~= "table" then
    return v
  end
  for k, item in pairs(v) do
    if type(k) == "string" and fields[k] and item ~= gw.json.null then
      v[k] = mask
    else
      redact(item, fields, mask)
    end
  end
  return v
end

function M.on_response(conf)
  local ct = gw.response.get_header("Content-Type") or ""
  if not ct:find("json", 1, true) or gw.response.get_header("Content-Encoding") then
    return
  end
  local body = gw.response.get_body()
  if body == nil then
    gw.log.warn("the response streams: refused rather than sent unredacted")
    return gw.response.exit(502, { error = "response too large to redact" })
  end
  local data = gw.json.decode(body)
  if data == nil then
    return
  end
  local fields = {}
  for _, name in ipairs(conf.fields) do
    fields[name] = true
  end
  gw.response.set_body(gw.json.encode(redact(data, fields, conf.mask)))
end

return M
