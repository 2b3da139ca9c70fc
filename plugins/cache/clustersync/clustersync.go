package clustersync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// KindAll is the kind of a purge of everything. A queued purge of
// everything stands for every purge queued with it.
const KindAll = "all"

// Op is one purge: a kind ("url", "prefix", "route", "tag", KindAll) and
// its key, in the form the cache applies them (normalized paths).
type Op struct {
	Kind string
	Key  string
}

// Handler applies to the node what the stream says. Its methods are
// called from one goroutine at a time.
type Handler interface {
	// Apply applies a purge made on another node. A kind it does not
	// know (a newer node's) must purge everything.
	Apply(op Op)
	// DropAll drops every entry: purges were missed.
	DropAll()
	// MayHoldEntries reports whether the node may hold entries (cached
	// since it started, or loaded from a saved cache): when it first
	// learns its place in the stream without a saved one, those may
	// predate purges it never heard of.
	MayHoldEntries() bool
}

// Position is where a node is in the stream: the epoch of the stream,
// the ID and the sequence number of the last entry applied. The zero
// Position is "unknown".
type Position struct {
	Epoch string `json:"epoch"`
	ID    string `json:"id"`
	Seq   int64  `json:"seq"`
}

// Known reports whether p is a place in a stream.
func (p Position) Known() bool { return p.Epoch != "" }

// Options configure a Sync. Zero values take the defaults below.
type Options struct {
	// Stream is the Redis key of the stream. Required.
	Stream string
	// MaxLen is the number of entries the stream keeps, approximately
	// (XADD MAXLEN ~). Default 10000.
	MaxLen int64
	// MaxOffline, when positive, drops the node's entries after that
	// long without reading the stream, and again every MaxOffline while
	// it lasts. Default 0: keep serving.
	MaxOffline time.Duration
	// Logger gets the Sync's log lines. Default slog.Default().
	Logger *slog.Logger
	// Counter returns a counter by name (store.Namespace.Counter), so
	// that the counters show where the owner's do. Default: the Sync's
	// own.
	Counter func(name string) *atomic.Uint64

	// Block is how long a read waits for new entries. Default 2s.
	Block time.Duration
	// Timeout bounds every other Redis call, and a blocked read beyond
	// Block. Default 1s.
	Timeout time.Duration
	// QueueSize bounds the purges waiting to be published. Default 4096.
	QueueSize int
	// RetryMin and RetryMax bound the wait between attempts while Redis
	// fails (doubling). Defaults 50ms and 1s.
	RetryMin, RetryMax time.Duration
	// Batch is the most entries published or read in one call. Default 256.
	Batch int
}

// Defaults of Options.
const (
	DefaultMaxLen    = 10000
	DefaultBlock     = 2 * time.Second
	DefaultTimeout   = time.Second
	DefaultQueueSize = 4096
	DefaultRetryMin  = 50 * time.Millisecond
	DefaultRetryMax  = time.Second
	DefaultBatch     = 256
	// LogInterval is the least time between two log lines about the
	// same failure.
	LogInterval = 10 * time.Second
	// flushTimeout bounds the last attempt to publish the queue when the
	// last attachment goes (shutdown).
	flushTimeout = 2 * time.Second
)

func (o *Options) defaults() {
	if o.MaxLen <= 0 {
		o.MaxLen = DefaultMaxLen
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Block <= 0 {
		o.Block = DefaultBlock
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(DefaultRetryMax, o.RetryMin)
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Counter == nil {
		own := map[string]*atomic.Uint64{}
		o.Counter = func(name string) *atomic.Uint64 {
			if c, ok := own[name]; ok {
				return c
			}
			c := new(atomic.Uint64)
			own[name] = c
			return c
		}
	}
}

// The counters' names (Options.Counter).
const (
	CounterPublished     = "cluster_published"      // purges of this node written to the stream
	CounterPublishErrors = "cluster_publish_errors" // failed attempts to write them (each retried)
	CounterQueueFull     = "cluster_queue_full"     // purges that found the queue full (published as a purge of everything)
	CounterApplied       = "cluster_applied"        // purges of other nodes applied
	CounterReplayed      = "cluster_replayed"       // of which read late, when Redis answered again
	CounterGaps          = "cluster_gaps"           // whole-cache drops: purges missed or not provably heard
	CounterOfflineDrops  = "cluster_offline_drops"  // whole-cache drops after MaxOffline without Redis
	CounterReadErrors    = "cluster_read_errors"    // failed reads of the stream (each retried)
)

type counters struct {
	published, publishErrors, queueFull, applied, replayed, gaps, offlineDrops, readErrors *atomic.Uint64
}

// Sync publishes a node's purges and applies the other nodes'. It is
// safe for concurrent use.
type Sync struct {
	o    Options
	h    Handler
	node string
	n    counters

	queue    chan Op
	overflow atomic.Bool // the queue was full: publish a purge of everything

	mu       sync.Mutex // guards attached and the run
	attached []*attachment
	client   redis.UniversalClient // the running subscriber's and publisher's, nil when stopped
	cancel   context.CancelFunc
	done     chan struct{} // closed when the run's goroutines have ended

	posMu sync.Mutex
	pos   Position

	// pending is the publisher's batch, kept from one run to the next;
	// only the publisher (or flush, once it has ended) touches it.
	pending []Op
	// pendingLen is len(pending), for Stats.
	pendingLen atomic.Int64

	running      atomic.Bool // client != nil, for readers that must not wait on mu
	connected    atomic.Bool
	offlineSince atomic.Int64 // unix ns; 0 while connected
	blockedID    atomic.Int64 // the subscriber connection's CLIENT ID, 0 when unknown

	publishLog, readLog logThrottle
}

type attachment struct{ c redis.UniversalClient }

// New returns a Sync that starts from pos (the zero Position when the
// node has none) and applies the stream through h. Nothing runs until
// Attach.
func New(o Options, h Handler, pos Position) *Sync {
	o.defaults()
	var id [8]byte
	_, _ = rand.Read(id[:])
	s := &Sync{o: o, h: h, node: hex.EncodeToString(id[:]), pos: pos, queue: make(chan Op, o.QueueSize)}
	s.n = counters{
		published: o.Counter(CounterPublished), publishErrors: o.Counter(CounterPublishErrors),
		queueFull: o.Counter(CounterQueueFull), applied: o.Counter(CounterApplied),
		replayed: o.Counter(CounterReplayed), gaps: o.Counter(CounterGaps),
		offlineDrops: o.Counter(CounterOfflineDrops), readErrors: o.Counter(CounterReadErrors),
	}
	return s
}

// Node returns the node's random ID, written with each of its entries.
func (s *Sync) Node() string { return s.node }

// Attach starts the subscriber and the publisher on c, unless they run
// already; it returns the function that detaches (idempotent). When the
// last attachment is detached they stop, after one last attempt (2s at
// most) to publish what is queued. If c is not the client they run on,
// they move to it (a configuration that brought a client of its own),
// from the same position.
func (s *Sync) Attach(c redis.UniversalClient) (detach func()) {
	a := &attachment{c: c}
	s.mu.Lock()
	s.attached = append(s.attached, a)
	if s.client != c {
		s.stop()
		s.start(c)
	}
	s.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { s.detach(a) }) }
}

func (s *Sync) detach(a *attachment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.attached {
		if x == a {
			s.attached = append(s.attached[:i], s.attached[i+1:]...)
			break
		}
	}
	if len(s.attached) == 0 {
		c := s.client
		s.stop()
		if c != nil {
			s.flush(c)
		}
		return
	}
	if last := s.attached[len(s.attached)-1].c; last != s.client {
		s.stop()
		s.start(last)
	}
}

// Running reports whether the subscriber runs (some attachment is left).
func (s *Sync) Running() bool { return s.running.Load() }

// start runs the subscriber and the publisher on c. s.mu is held.
func (s *Sync) start(c redis.UniversalClient) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.client, s.cancel, s.done = c, cancel, done
	s.running.Store(true)
	s.connected.Store(false)
	s.offlineSince.Store(time.Now().UnixNano())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.subscribe(ctx, c) }()
	go func() { defer wg.Done(); s.publish(ctx, c) }()
	go func() { wg.Wait(); close(done) }()
}

// stop ends the run and waits for its goroutines. A subscriber blocked in
// XREAD is woken with CLIENT UNBLOCK (Redis cannot be interrupted by a
// context); without it, it returns within Block. s.mu is held.
func (s *Sync) stop() {
	if s.client == nil {
		return
	}
	s.cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	unblock := true
	for {
		if id := s.blockedID.Load(); id != 0 && unblock {
			ctx, cancel := context.WithTimeout(context.Background(), s.o.Timeout)
			// A failure (ACL, Redis away) leaves the read to end by itself.
			unblock = s.client.ClientUnblock(ctx, id).Err() == nil
			cancel()
		}
		select {
		case <-s.done:
			s.client, s.cancel, s.done = nil, nil, nil
			s.running.Store(false)
			s.connected.Store(false)
			return
		case <-tick.C:
		}
	}
}

// Position returns where the node is in the stream.
func (s *Sync) Position() Position {
	s.posMu.Lock()
	defer s.posMu.Unlock()
	return s.pos
}

// Stats is what GET /cache/cluster tells of the Sync.
type Stats struct {
	// Node is the node's random ID in the stream's entries.
	Node string `json:"node"`
	// Stream is the Redis key of the stream.
	Stream string `json:"stream"`
	// Running: a step of the configuration gave it a Redis client.
	Running bool `json:"running"`
	// Connected: it reads the stream now.
	Connected bool `json:"connected"`
	// OfflineSince is when it last lost the stream (or started without
	// it), while it is not connected.
	OfflineSince *time.Time `json:"offline_since,omitempty"`
	// Position is the last entry applied.
	Position Position `json:"position"`
	// Queued are the node's purges waiting to be published.
	Queued int `json:"queued"`
	// The counters (see the Counter names).
	Published     uint64 `json:"published"`
	PublishErrors uint64 `json:"publish_errors"`
	QueueFull     uint64 `json:"queue_full"`
	Applied       uint64 `json:"applied"`
	Replayed      uint64 `json:"replayed"`
	Gaps          uint64 `json:"gaps"`
	OfflineDrops  uint64 `json:"offline_drops"`
	ReadErrors    uint64 `json:"read_errors"`
}

// Stats returns the Sync's state and counters.
func (s *Sync) Stats() Stats {
	st := Stats{Node: s.node, Stream: s.o.Stream, Running: s.Running(), Connected: s.connected.Load(),
		Position: s.Position(), Queued: len(s.queue) + int(s.pendingLen.Load()),
		Published: s.n.published.Load(), PublishErrors: s.n.publishErrors.Load(), QueueFull: s.n.queueFull.Load(),
		Applied: s.n.applied.Load(), Replayed: s.n.replayed.Load(), Gaps: s.n.gaps.Load(),
		OfflineDrops: s.n.offlineDrops.Load(), ReadErrors: s.n.readErrors.Load()}
	if ns := s.offlineSince.Load(); ns != 0 && st.Running && !st.Connected {
		t := time.Unix(0, ns).UTC()
		st.OfflineSince = &t
	}
	return st
}

// logThrottle lets a log line through at most once per LogInterval.
type logThrottle struct{ last atomic.Int64 }

func (l *logThrottle) allow() bool {
	now := time.Now().UnixNano()
	last := l.last.Load()
	return now-last >= int64(LogInterval) && l.last.CompareAndSwap(last, now)
}

func (l *logThrottle) reset() { l.last.Store(0) }

// sleep waits d, or until ctx is done; it reports whether ctx is alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
