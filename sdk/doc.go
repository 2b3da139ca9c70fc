// Package sdk is the API Lua scripts program against: the global table
// `gw`, whose functions act on the request being served (gw.request,
// gw.response, gw.ctx, gw.upstream, ...) or give scripts the tools a
// gateway script needs (gw.cache, gw.log, gw.json, gw.http, gw.base64,
// gw.hash, gw.time).
//
// Each function is described once, in a Binding (name, phases, parameters,
// returns, example) next to its Go implementation, one file per
// namespace. The SDK reference (docs/lua-sdk.md) and the editor
// annotation file (sdk/gw.lua, LuaLS ---@meta format) are generated from
// those descriptions by `go generate ./sdk`; a test fails when the
// committed files are stale.
//
// The package binds `gw` into a Lua state (Open) and knows nothing of
// pools, sandboxes or deadlines: plugins/lua runs scripts.
package sdk

//go:generate go run ./gen
