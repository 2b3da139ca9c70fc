package gateway

import (
	"strconv"
	"time"

	"github.com/moongate/moongate/core/admin"
	"github.com/valyala/fasthttp"
)

// reloadHistory is how many reloads GET /reloads remembers.
const reloadHistory = 20

// reloadMaxMessages is how many problems (or warnings) a remembered
// reload keeps; the rest are counted in a last message.
const reloadMaxMessages = 10

// ReloadRecord is one reload as GET /reloads shows it.
type ReloadRecord struct {
	// Time is when the reload ended.
	Time time.Time `json:"time"`
	// OK is true when the new configuration was swapped in.
	OK bool `json:"ok"`
	// Hash is the hash of the configuration serving after the reload:
	// the new one, or the previous one, which keeps serving, when the
	// reload was refused.
	Hash string `json:"hash"`
	// Errors are the problems that refused the reload (file:line:
	// key.path: reason), at most reloadMaxMessages of them.
	Errors []string `json:"errors,omitempty"`
	// Warnings are those of an accepted reload, as many.
	Warnings []string `json:"warnings,omitempty"`
}

// record remembers a reload, newest first. The caller holds reloadMu.
// The slice is replaced, never changed in place, so a copy taken under
// the lock stays as it was.
func (s *reloadStats) record(at time.Time, res ReloadResult, serving string) {
	rec := ReloadRecord{Time: at.UTC(), OK: res.OK, Hash: serving,
		Errors: capMessages(res.Messages), Warnings: capMessages(res.Warnings)}
	keep := s.history[:min(len(s.history), reloadHistory-1)]
	s.history = append([]ReloadRecord{rec}, keep...)
}

func capMessages(m []string) []string {
	if len(m) <= reloadMaxMessages {
		return m
	}
	out := append([]string(nil), m[:reloadMaxMessages-1]...)
	return append(out, "... and "+strconv.Itoa(len(m)-reloadMaxMessages+1)+" more")
}

// Reloads returns the last reloads (SIGHUP, POST /reload, lua.watch),
// newest first, at most 20. The slice must not be changed.
func (g *Gateway) Reloads() []ReloadRecord {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	return g.reloads.history
}

// registerReloadsAdmin adds GET /reloads: the last reloads, newest first,
// as a JSON array of ReloadRecord (empty when there was none).
func (g *Gateway) registerReloadsAdmin(a *admin.Server) {
	a.Handle("GET", "/reloads", func(ctx *fasthttp.RequestCtx) {
		out := g.Reloads()
		if out == nil {
			out = []ReloadRecord{}
		}
		admin.WriteJSON(ctx, 200, out)
	})
}
