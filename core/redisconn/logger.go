package redisconn

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// logSink is where go-redis's own messages go: the process logger and the
// secrets to keep out of them.
type logSink struct {
	l       *slog.Logger
	secrets []string
}

var (
	sink      atomic.Pointer[logSink]
	installed atomic.Bool
)

// SetLogger sends go-redis's own messages (it logs from background
// goroutines: failed dials of the pool, Sentinel and Cluster topology
// changes) to l: at warn level when they report a failure, at debug level
// otherwise, under the message "redis", with the text in "message". Every
// occurrence of a non-empty secret (the passwords of [redis]) in a message
// is replaced by "[redacted]". go-redis's logger is global: the last call
// wins, for every client of the process.
func SetLogger(l *slog.Logger, secrets ...string) {
	var keep []string
	for _, s := range secrets {
		if s != "" {
			keep = append(keep, s)
		}
	}
	sink.Store(&logSink{l: l, secrets: keep})
	if installed.CompareAndSwap(false, true) {
		redis.SetLogger(adapter{})
	}
}

// adapter is go-redis's Logging, writing to the current sink.
type adapter struct{}

// Printf implements go-redis's internal.Logging.
func (adapter) Printf(ctx context.Context, format string, v ...any) {
	s := sink.Load()
	if s == nil || s.l == nil {
		return
	}
	level := slog.LevelDebug
	if failure(format) {
		level = slog.LevelWarn
	}
	if !s.l.Enabled(ctx, level) {
		return
	}
	s.l.Log(ctx, level, "redis", "message", s.redact(strings.TrimSpace(fmt.Sprintf(format, v...))))
}

// failure reports whether a go-redis message reports something that went
// wrong (rather than a topology change or a retry note). A failed dial of
// the pool is not: the command that needed the connection fails with the
// same error, and its caller reports it (the rate-limit plugin once per
// interval while Redis is down), where go-redis would log it once per
// attempt.
func failure(format string) bool {
	f := strings.ToLower(format)
	if strings.Contains(f, "failed to dial") {
		return false
	}
	for _, w := range []string{"fail", "error", "err=", "panic", "unable", "cannot", "can't", "refused", "timeout"} {
		if strings.Contains(f, w) {
			return true
		}
	}
	return false
}

func (s *logSink) redact(msg string) string {
	for _, sec := range s.secrets {
		msg = strings.ReplaceAll(msg, sec, "[redacted]")
	}
	return msg
}
