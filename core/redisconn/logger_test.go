package redisconn

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/redistest"
	"github.com/redis/go-redis/v9"
)

// TestLoggerGoesToSlog: go-redis's own messages reach the process logger
// (a real one: a Sentinel client whose Sentinel is down logs its failed
// lookups from go-redis's code), failures at warn level, with the
// passwords replaced.
func TestLoggerGoesToSlog(t *testing.T) {
	var buf bytes.Buffer
	SetLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), secret, "")
	t.Cleanup(func() { SetLogger(nil) })

	dead := "127.0.0.1:" + strconv.Itoa(redistest.FreePort(t))
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{dead},
		Password: secret, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping through a dead Sentinel succeeded")
	}
	out := buf.String()
	if !strings.Contains(out, "level=WARN msg=redis") || !strings.Contains(out, "sentinel") || !strings.Contains(out, dead) {
		t.Errorf("go-redis's message did not reach slog at warn level:\n%s", out)
	}

	// Secrets are cut out of whatever go-redis prints; notes are debug.
	buf.Reset()
	adapter{}.Printf(context.Background(), "auth with %s failed: %v", secret, errors.New("WRONGPASS "+secret))
	adapter{}.Printf(context.Background(), "sentinel: new master=%q addr=%q", "m", "10.0.0.1:6379")
	adapter{}.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 1, errors.New("refused"))
	out = buf.String()
	if strings.Contains(out, secret) || strings.Count(out, "[redacted]") != 2 {
		t.Errorf("the secret was not redacted:\n%s", out)
	}
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, `level=DEBUG msg=redis message="sentinel: new master`) ||
		!strings.Contains(out, `level=DEBUG msg=redis message="redis: connection pool: failed to dial`) {
		t.Errorf("levels:\n%s", out)
	}
}
