package plugintest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// Logs is a slog.Handler that keeps what is logged, each record as one
// line of slog's text format without the time:
//
//	level=ERROR msg="step failed" route=test step=hello phase=request error="..."
//
// Every level is kept, debug included. Make one with NewLogs and log to it
// with slog.New(logs); it is safe for concurrent use.
type Logs struct {
	s *logStore
	h slog.Handler
}

type logStore struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []string
}

// NewLogs returns an empty Logs.
func NewLogs() *Logs {
	s := &logStore{}
	h := slog.NewTextHandler(&s.buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return &Logs{s: s, h: h}
}

// Lines returns the lines logged so far, oldest first.
func (l *Logs) Lines() []string {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return append([]string(nil), l.s.lines...)
}

// String returns the lines logged so far, one per line.
func (l *Logs) String() string { return strings.Join(l.Lines(), "\n") }

// since returns the lines logged after the first n.
func (l *Logs) since(n int) []string {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if n >= len(l.s.lines) {
		return nil
	}
	return append([]string(nil), l.s.lines[n:]...)
}

func (l *Logs) count() int {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return len(l.s.lines)
}

// Enabled implements slog.Handler.
func (l *Logs) Enabled(ctx context.Context, level slog.Level) bool { return l.h.Enabled(ctx, level) }

// Handle implements slog.Handler.
func (l *Logs) Handle(ctx context.Context, r slog.Record) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.buf.Reset()
	err := l.h.Handle(ctx, r)
	l.s.lines = append(l.s.lines, strings.TrimSuffix(l.s.buf.String(), "\n"))
	return err
}

// WithAttrs implements slog.Handler.
func (l *Logs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Logs{s: l.s, h: l.h.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (l *Logs) WithGroup(name string) slog.Handler {
	return &Logs{s: l.s, h: l.h.WithGroup(name)}
}
