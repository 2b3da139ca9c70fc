// Package dashboard serves the live dashboard of the admin listener: one
// page (GET /ui/, and GET / redirects to it) with its script and style,
// embedded in the binary. The page holds no data: it polls GET /metrics
// (Prometheus text, parsed in the browser) and the admin API's JSON
// endpoints (/status, /routes, /upstreams, /reloads) with the admin
// token the operator types in, and draws what it reads. So the page and
// its files are answered without the token (admin.Server.HandleOpen),
// while every request that returns data needs it.
//
// Nothing is fetched from elsewhere at run time: the files are in ui/,
// written for this page (no third-party code), and served with a strict
// Content-Security-Policy (scripts and styles from the page's origin
// only, no inline script, no framing) and X-Content-Type-Options:
// nosniff. The script writes every name it shows (routes, targets,
// scripts, errors) as text, never as HTML.
package dashboard
