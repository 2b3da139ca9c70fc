// Package admin is the admin API's HTTP layer: a small router of
// method + path to handler, bearer-token authentication with a
// constant-time comparison, and JSON answers. The gateway registers the
// endpoints (status, reload, ...) on it.
package admin
