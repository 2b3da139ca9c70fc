package sdk

import (
	"context"
	"log/slog"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

func init() {
	logFn := func(level slog.Level, name, example string) *Binding {
		return &Binding{Name: name, Doc: "Logs a message at " + level.String() + " level, tagged with the script's path, " +
			"the line that logged it, the route and the request ID. Arguments are joined with spaces (tostring each).",
			Params:  []Param{{"...", "any", "the message's parts"}},
			Example: example,
			Fn:      func(s *State, L *lua.LState) int { s.log(L, level); return 0 }}
	}
	addNamespace(&Namespace{Name: "log", Doc: "The process log (moongate's [log] settings decide the level and format)."},
		logFn(slog.LevelDebug, "debug", `gw.log.debug("tenant", tenant)`),
		logFn(slog.LevelInfo, "info", `gw.log.info("new key for", who.name)`),
		logFn(slog.LevelWarn, "warn", `gw.log.warn("upstream answered", gw.response.get_status())`),
		logFn(slog.LevelError, "err", `gw.log.err("auth service unreachable:", err)`),
	)
}

// Logger is the logger used outside a request (at load time, in tests);
// Options.Logger sets it.
func (s *State) logger() *slog.Logger {
	if s.C != nil {
		return s.C.Logger()
	}
	if s.opts.Logger != nil {
		return s.opts.Logger
	}
	return slog.Default()
}

func (s *State) log(L *lua.LState, level slog.Level) {
	if !s.logger().Enabled(context.Background(), level) {
		return
	}
	var b strings.Builder
	for i := 1; i <= L.GetTop(); i++ {
		if i > 1 {
			b.WriteByte(' ')
		}
		b.WriteString(L.ToStringMeta(L.Get(i)).String())
	}
	line := 0
	if dbg, ok := L.GetStack(1); ok {
		if _, err := L.GetInfo("l", dbg, lua.LNil); err == nil {
			line = dbg.CurrentLine
		}
	}
	attrs := []slog.Attr{slog.String("script", s.opts.Script), slog.Int("line", line)}
	if s.C != nil {
		s.C.LogAttrs(level, b.String(), attrs...)
		return
	}
	s.logger().LogAttrs(context.Background(), level, b.String(), attrs...)
}
