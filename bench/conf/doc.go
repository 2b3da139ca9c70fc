// Package conf holds the configurations of every contender of the
// side-by-side benchmarks, as text/template files, and the Lua script of
// the chain scenario. The harness (bench/compare) renders them with the
// addresses, core count and run directory of a run; the rendered files
// are kept in the run directory.
//
// Template fields: .Listen (the proxy's address), .Backend (the origin's
// host:port), .BackendHost, .BackendPort, .Cores (CPU cores given to the
// proxy), .Dir (the contender's run directory), .Script (the path of
// trivial.lua), .Key (the API key of the chain scenario), .NoFile (the
// open-files limit), .MaxConn (haproxy's maxconn within it), .LuaModules
// (nginx load_module lines), .Redis (the host:port of the redis-server the
// harness starts for the rate-limit scenario).
package conf

import "embed"

// FS holds the templates (*.tmpl) and trivial.lua.
//
//go:embed *.tmpl *.lua
var FS embed.FS
