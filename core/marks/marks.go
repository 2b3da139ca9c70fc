package marks

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/store"
	"github.com/redis/go-redis/v9"
)

// Defaults of Options.
const (
	DefaultTimeout       = 50 * time.Millisecond
	DefaultRetryInterval = time.Second
	LogInterval          = 10 * time.Second
)

// Options configure a Set.
type Options struct {
	// What names the Set in its log lines: "hmac-auth replay protection".
	What string
	// Local keeps the node's marks; nil keeps none (every Add is new).
	Local *store.Namespace
	// Redis is the shared client; nil: the node's marks only.
	Redis redis.UniversalClient
	// Prefix starts the Redis keys: "moongate:hmac-auth:replay:".
	Prefix string
	// Timeout bounds one Redis call (default DefaultTimeout).
	Timeout time.Duration
	// RetryInterval is how long after a failure Redis is not asked
	// (default DefaultRetryInterval).
	RetryInterval time.Duration
	// Logger receives the Set's log lines (default slog.Default()).
	Logger *slog.Logger
}

// Set is a set of marks that expire. It is safe for concurrent use.
type Set struct {
	o Options

	downUntil atomic.Int64 // unix ns until which Redis is not asked; 0: up
	probing   atomic.Bool
	lastLog   atomic.Int64

	calls, errs, fallbacks atomic.Uint64
}

// New returns a Set.
func New(o Options) *Set {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = DefaultRetryInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Set{o: o}
}

// Adding a mark to the node's store is a check and a set: atomic per
// stripe.
var (
	stripes [64]sync.Mutex
	seed    = maphash.MakeSeed()
)

// Add marks key for ttl and reports whether it was not marked yet: false
// when this node, or (with Redis) any node, marked it within its TTL.
func (s *Set) Add(key []byte, ttl time.Duration) bool {
	if !s.addLocal(key, ttl) {
		return false
	}
	if s.o.Redis == nil {
		return true
	}
	var added bool
	err := s.call(func(ctx context.Context) (err error) {
		added, err = s.o.Redis.SetNX(ctx, s.o.Prefix+string(key), "1", ttl).Result()
		return err
	})
	if err != nil {
		return true // this node had not seen it: the node's word
	}
	return added
}

func (s *Set) addLocal(key []byte, ttl time.Duration) bool {
	if s.o.Local == nil {
		return true
	}
	mu := &stripes[maphash.Bytes(seed, key)%uint64(len(stripes))]
	mu.Lock()
	defer mu.Unlock()
	var buf [8]byte
	if _, ok := s.o.Local.Get(buf[:0], key); ok {
		return false
	}
	s.o.Local.Set(key, []byte{1}, ttl)
	return true
}

// Put marks key for ttl, on this node and (with Redis) for every node.
func (s *Set) Put(key []byte, ttl time.Duration) {
	if s.o.Local != nil {
		s.o.Local.Set(key, []byte{1}, ttl)
	}
	if s.o.Redis == nil {
		return
	}
	s.call(func(ctx context.Context) error {
		return s.o.Redis.Set(ctx, s.o.Prefix+string(key), "1", ttl).Err()
	})
}

// Has reports whether key is marked, on this node or (with Redis) by any
// node. A mark Redis knows of is kept on the node for remember, so that
// the next lookups of key do not ask Redis again. Without Redis (and
// without a store) Has allocates nothing.
func (s *Set) Has(key []byte, remember time.Duration) bool {
	if s.o.Local != nil {
		var buf [8]byte
		if _, ok := s.o.Local.Get(buf[:0], key); ok {
			return true
		}
	}
	if s.o.Redis == nil {
		return false
	}
	var n int64
	if err := s.call(func(ctx context.Context) (err error) {
		n, err = s.o.Redis.Exists(ctx, s.o.Prefix+string(key)).Result()
		return err
	}); err != nil || n == 0 {
		return false
	}
	if s.o.Local != nil && remember > 0 {
		s.o.Local.Set(key, []byte{1}, remember)
	}
	return true
}

// errSkipped is the error of a call not made: Redis failed less than
// RetryInterval ago.
var errSkipped = errors.New("redis failed recently, not asked")

// call runs f under the Set's timeout, unless Redis failed recently, and
// keeps the counters and the log.
func (s *Set) call(f func(ctx context.Context) error) error {
	if until := s.downUntil.Load(); until != 0 {
		if time.Now().UnixNano() < until || !s.probing.CompareAndSwap(false, true) {
			s.fallback(errSkipped)
			return errSkipped
		}
		defer s.probing.Store(false)
	}
	s.calls.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), s.o.Timeout)
	err := f(ctx)
	cancel()
	if err == nil {
		if s.downUntil.Load() != 0 && s.downUntil.Swap(0) != 0 {
			s.o.Logger.Info(s.o.What+": redis answers again", "fallbacks", s.fallbacks.Load())
		}
		return nil
	}
	s.errs.Add(1)
	if s.downUntil.Swap(time.Now().UnixNano()+int64(s.o.RetryInterval)) == 0 {
		s.lastLog.Store(time.Now().UnixNano())
		s.o.Logger.Warn(s.o.What+": redis failed, deciding on this node's marks until it answers again",
			"error", reason(err))
	}
	s.fallback(err)
	return err
}

// fallback counts a decision taken without Redis and logs it at most
// every LogInterval.
func (s *Set) fallback(err error) {
	n := s.fallbacks.Add(1)
	now := time.Now().UnixNano()
	last := s.lastLog.Load()
	if now-last < int64(LogInterval) || !s.lastLog.CompareAndSwap(last, now) {
		return
	}
	s.o.Logger.Warn(s.o.What+": still deciding without redis, on this node's marks",
		"fallbacks", n, "errors", s.errs.Load(), "error", reason(err))
}

// reason is err as a log value: "timeout" for the deadline.
func reason(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return err.Error()
}

// Stats are the counters of a Set since it was built.
type Stats struct {
	Calls     uint64 // Redis calls made
	Errors    uint64 // of which failed (timeouts included)
	Fallbacks uint64 // lookups and marks decided on the node alone because Redis failed
	Down      bool   // Redis failed and has not answered since
}

// Stats returns the Set's counters.
func (s *Set) Stats() Stats {
	return Stats{Calls: s.calls.Load(), Errors: s.errs.Load(), Fallbacks: s.fallbacks.Load(), Down: s.downUntil.Load() != 0}
}
