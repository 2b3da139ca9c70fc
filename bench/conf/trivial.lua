-- The trivial Lua step of the chain scenario: one request header set
-- before the request goes upstream. nginx-lua runs the same line in
-- access_by_lua_block.
local M = {}

function M.on_request(conf)
  gw.request.set_header("X-Lua", "1")
end

return M
