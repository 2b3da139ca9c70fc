package dashboard

import (
	"embed"
	"io/fs"
	"path"
	"strings"

	"github.com/moongate/moongate/core/admin"
	"github.com/valyala/fasthttp"
)

//go:embed ui
var files embed.FS

// Prefix is the path of the dashboard on the admin listener.
const Prefix = "/ui/"

// CSP is the Content-Security-Policy of the page and its files: the
// page's own origin for scripts, styles, images and the API it polls;
// no inline script or style, no plugins, no <base>, no form posting
// anywhere (the token form is handled by the script; were the script
// not to run, the browser would not send the form, so the token never
// ends up in a URL), and no framing by any page (clickjacking).
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// types are the Content-Types of the embedded files, by extension.
var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// Register adds the dashboard to an admin API: GET and HEAD of "/"
// (a redirect to /ui/), "/ui" (the same), "/ui/" (the page) and of each
// of the page's files under /ui/, all answered without the admin token.
// Any other path under /ui/ is a 404 (with the token, as for every
// unknown admin path).
func Register(a *admin.Server) {
	redirect := func(ctx *fasthttp.RequestCtx) {
		secure(ctx)
		ctx.Response.Header.Set("Location", Prefix)
		ctx.SetStatusCode(fasthttp.StatusFound)
	}
	a.HandleOpen("/", redirect)
	a.HandleOpen(strings.TrimSuffix(Prefix, "/"), redirect)
	page := mustRead("ui/index.html")
	a.HandleOpen(Prefix, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != Prefix {
			admin.WriteError(ctx, 404, "no such admin endpoint")
			return
		}
		serve(ctx, types[".html"], page)
	})
	entries, err := fs.ReadDir(files, "ui")
	if err != nil {
		panic("dashboard: " + err.Error()) // the embedded folder is part of the binary
	}
	for _, e := range entries {
		name := e.Name()
		ct, ok := types[path.Ext(name)]
		if e.IsDir() || name == "index.html" || !ok {
			continue
		}
		body := mustRead("ui/" + name)
		a.HandleOpen(Prefix+name, func(ctx *fasthttp.RequestCtx) { serve(ctx, ct, body) })
	}
}

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("dashboard: " + err.Error())
	}
	return b
}

// serve answers with one embedded file.
func serve(ctx *fasthttp.RequestCtx, contentType string, body []byte) {
	secure(ctx)
	ctx.SetContentType(contentType)
	// Revalidated on every load, so that a new binary's page is used at
	// once; the files are small.
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(body)
}

// secure sets the headers every answer of the dashboard carries.
func secure(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}
