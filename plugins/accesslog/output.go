package accesslog

import (
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/accesslog"
)

// output is a destination of lines, shared by the steps writing there:
// one writer (one file descriptor, one batch) per stdout, stderr or file,
// opened by the first step and closed by the last one's Cleanup. A
// reload builds the new steps before the old ones are cleaned up, so the
// writer, and the lines it holds, carry over.
type output struct {
	key  string
	w    *accesslog.Writer
	refs int // guarded by outputs.mu
}

var outputs = struct {
	mu sync.Mutex
	m  map[string]*output
}{m: map[string]*output{}}

// openOutput returns the output dest ("stdout", "stderr" or a file path),
// opening it with o unless a step has it open already. Write errors are
// logged with logger, at most one every errorEvery.
func openOutput(dest string, o accesslog.Options, logger *slog.Logger) (*output, error) {
	key := dest
	if dest != "stdout" && dest != "stderr" {
		abs, err := filepath.Abs(dest)
		if err != nil {
			return nil, err
		}
		key = abs
	}
	outputs.mu.Lock()
	defer outputs.mu.Unlock()
	if out, ok := outputs.m[key]; ok {
		out.refs++
		return out, nil
	}
	var last atomic.Int64
	o.OnError = func(err error) {
		now := time.Now().UnixNano()
		if prev := last.Load(); prev != 0 && now-prev < int64(errorEvery) {
			return
		}
		last.Store(now)
		logger.Error("access log: write failed; its lines are dropped and counted", "output", key, "error", err)
	}
	w, err := accesslog.Open(key, o)
	if err != nil {
		return nil, err
	}
	out := &output{key: key, w: w, refs: 1}
	outputs.m[key] = out
	return out, nil
}

// errorEvery bounds how often write errors of one output are logged.
const errorEvery = 10 * time.Second

// close releases a step's use of the output; the last one writes the
// lines left and closes it.
func (o *output) close() error {
	outputs.mu.Lock()
	o.refs--
	last := o.refs == 0
	if last {
		delete(outputs.m, o.key)
	}
	outputs.mu.Unlock()
	if !last {
		return nil
	}
	return o.w.Close()
}
