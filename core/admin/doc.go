// Package admin is the admin API's HTTP layer: a small router of
// method + path to handler, the checks every request passes (Host, Origin
// and Sec-Fetch-Site against web pages and DNS rebinding, bearer-token
// authentication with a constant-time comparison, JSON-only state
// changes), and JSON answers. The gateway registers the endpoints on
// it: its own (status, reload, ...) and those plugins add with
// plugin.HandleAdmin. Reaches tells other packages (gw.http)
// whether an address is an admin listener of this process.
package admin
