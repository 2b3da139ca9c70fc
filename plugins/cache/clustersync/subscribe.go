package clustersync

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// reader is what the subscriber reads with: a connection of its own
// (redis.Conn) for a single server or Sentinel, the client itself for a
// Cluster.
type reader interface {
	XRead(ctx context.Context, a *redis.XReadArgs) *redis.XStreamSliceCmd
}

// subscribe reads the stream until ctx is done: on each (re)connection it
// takes its place (resume), then blocks on new entries. A failure closes
// the connection and starts over after a pause.
func (s *Sync) subscribe(ctx context.Context, c redis.UniversalClient) {
	var (
		rd        reader
		closeConn = func() {}
		backoff   = s.o.RetryMin
		lastDrop  int64 // the last drop for MaxOffline, unix ns
	)
	defer func() { closeConn() }()
	for ctx.Err() == nil {
		var err error
		if rd == nil {
			rd, closeConn, err = s.dial(ctx, c)
			if err == nil {
				var replayed uint64
				replayed, err = s.resume(ctx, c, rd)
				if err == nil {
					s.online(replayed)
				}
			}
		} else {
			_, err = s.read(ctx, rd, true, false)
		}
		if err == nil {
			backoff = s.o.RetryMin
			continue
		}
		closeConn()
		rd, closeConn = nil, func() {}
		if ctx.Err() != nil {
			return
		}
		s.offline(err)
		if mo := s.o.MaxOffline; mo > 0 && since(s.offlineSince.Load()) >= mo && (lastDrop == 0 || since(lastDrop) >= mo) {
			lastDrop = time.Now().UnixNano()
			s.h.DropAll()
			s.n.offlineDrops.Add(1)
			s.o.Logger.Warn("cache: cluster purges: redis unreachable for longer than max_offline, the proxy cache is dropped",
				"stream", s.o.Stream, "max_offline", mo.String())
		}
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, s.o.RetryMax)
	}
}

// dial returns what to read the stream with: a connection of the
// subscriber's own when the client has them, whose CLIENT ID lets stop
// wake a blocked read.
func (s *Sync) dial(ctx context.Context, c redis.UniversalClient) (reader, func(), error) {
	cl, ok := c.(*redis.Client)
	if !ok {
		return c, func() {}, nil
	}
	conn := cl.Conn()
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	id, err := conn.ClientID(ctx).Result()
	if err != nil {
		conn.Close()
		return nil, func() {}, err
	}
	s.blockedID.Store(id)
	return conn, func() { s.blockedID.Store(0); conn.Close() }, nil
}

// resume takes the node's place in the stream after a (re)connection and
// reads what it missed; it returns how many purges it applied so.
func (s *Sync) resume(ctx context.Context, c redis.UniversalClient, rd reader) (uint64, error) {
	newest, err := s.appendOps(ctx, c, nil)
	if err != nil {
		return 0, err
	}
	pos := s.Position()
	switch {
	case !pos.Known():
		// The first place: entries cached before it may predate purges
		// this node never heard of.
		// Dropping is free when nothing is cached (at start), and also
		// catches a response on its way from the upstream.
		s.setPosition(newest)
		if s.h.MayHoldEntries() {
			s.drop("this node cached entries before it knew its place in the purge stream (it started, or loaded its cache, without Redis)")
		} else {
			s.h.DropAll()
		}
		return 0, nil
	case newest.Epoch != pos.Epoch || newest.Seq < pos.Seq:
		s.setPosition(newest)
		s.drop("the purge stream was lost (Redis restarted without persistence, or was replaced), with the purges this node had not read")
		return 0, nil
	}
	before := s.n.applied.Load()
	for {
		n, err := s.read(ctx, rd, false, true)
		if err != nil {
			return s.n.applied.Load() - before, err
		}
		if n < s.o.Batch {
			return s.n.applied.Load() - before, nil
		}
	}
}

// read reads the entries after the node's position (waiting up to Block
// for some when block) and applies them; it returns how many it read.
func (s *Sync) read(ctx context.Context, rd reader, block, replay bool) (int, error) {
	args := &redis.XReadArgs{Streams: []string{s.o.Stream, s.Position().ID}, Count: int64(s.o.Batch), Block: -1}
	timeout := s.o.Timeout
	if block {
		args.Block = s.o.Block
		timeout += s.o.Block
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := rd.XRead(rctx, args).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, st := range res {
		for _, m := range st.Messages {
			s.process(m, replay)
			n++
		}
	}
	return n, nil
}

// process applies one entry, after checking that it follows the last one
// applied.
func (s *Sync) process(m redis.XMessage, replay bool) {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	seq, err := strconv.ParseInt(str("seq"), 10, 64)
	epoch := str("epoch")
	if err != nil || epoch == "" {
		// Not an entry moongate wrote: nothing can be proved.
		pos := s.Position()
		pos.ID = m.ID
		s.setPosition(pos)
		s.drop("the purge stream holds an entry moongate did not write")
		return
	}
	next := Position{Epoch: epoch, ID: m.ID, Seq: seq}
	pos := s.Position()
	switch {
	case epoch == pos.Epoch && seq <= pos.Seq:
		return // read again (a retried read): applied already
	case epoch != pos.Epoch || seq != pos.Seq+1:
		s.setPosition(next)
		s.drop("purges of other nodes left the stream before this node read them (max_len), or Redis lost them")
		return
	}
	if op := str("op"); op != opEpoch && str("node") != s.node {
		s.h.Apply(Op{Kind: op, Key: str("key")})
		s.n.applied.Add(1)
		if replay {
			s.n.replayed.Add(1)
		}
	}
	s.setPosition(next)
}

func (s *Sync) setPosition(p Position) {
	s.posMu.Lock()
	s.pos = p
	s.posMu.Unlock()
}

// drop drops the node's entries because purges may have been missed.
func (s *Sync) drop(reason string) {
	s.h.DropAll()
	s.n.gaps.Add(1)
	s.o.Logger.Warn("cache: cluster purges: the proxy cache is dropped: "+reason, "stream", s.o.Stream)
}

// online records a successful (re)connection.
func (s *Sync) online(replayed uint64) {
	s.connected.Store(true)
	s.offlineSince.Store(0)
	if s.readLog.last.Load() != 0 {
		s.o.Logger.Info("cache: cluster purges: redis answers again", "stream", s.o.Stream, "replayed", replayed)
		s.readLog.reset()
	}
}

// offline records a failed read.
func (s *Sync) offline(err error) {
	s.n.readErrors.Add(1)
	s.connected.Store(false)
	s.offlineSince.CompareAndSwap(0, time.Now().UnixNano())
	if s.readLog.allow() {
		s.o.Logger.Warn("cache: cluster purges: redis failed, this node keeps serving and reads the purges it missed when redis answers",
			"stream", s.o.Stream, "error", err.Error())
	}
}
