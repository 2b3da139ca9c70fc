package clustersync

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// appendScript writes purges to the stream, numbered: each entry's seq is
// one above the newest entry's, in the newest entry's epoch; a stream
// that is empty (or not moongate's) starts a new epoch, named by Redis's
// clock. Without purges to write it returns the newest entry, writing an
// "epoch" entry first when there is none, so that a node always has an
// entry to take as its place. It returns the last entry: {id, seq, epoch}.
//
// KEYS[1] the stream; ARGV[1] MAXLEN; ARGV[2] the node; ARGV[3..] pairs of
// kind and key.
var appendScript = redis.NewScript(`
local seq, epoch, id = nil, nil, nil
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then
  id = last[1][1]
  local f = last[1][2]
  for i = 1, #f, 2 do
    if f[i] == 'seq' then seq = tonumber(f[i + 1]) elseif f[i] == 'epoch' then epoch = f[i + 1] end
  end
end
if not seq or not epoch then
  local t = redis.call('TIME')
  epoch, seq = t[1] .. '.' .. t[2], 0
  if #ARGV < 3 then
    id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
      'seq', 0, 'epoch', epoch, 'node', ARGV[2], 'op', 'epoch', 'key', '')
  end
end
for i = 3, #ARGV - 1, 2 do
  seq = seq + 1
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
    'seq', seq, 'epoch', epoch, 'node', ARGV[2], 'op', ARGV[i], 'key', ARGV[i + 1])
end
return {id, tostring(seq), epoch}
`)

// opEpoch is the kind of the entry that starts an epoch: nothing to apply.
const opEpoch = "epoch"

// appendOps runs appendScript with ops (none: read the newest entry) and
// returns the position of the last entry.
func (s *Sync) appendOps(ctx context.Context, c redis.Scripter, ops []Op) (Position, error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	args := make([]any, 0, 2+2*len(ops))
	args = append(args, s.o.MaxLen, s.node)
	for _, op := range ops {
		args = append(args, op.Kind, op.Key)
	}
	res, err := appendScript.Run(ctx, c, []string{s.o.Stream}, args...).Slice()
	if err != nil {
		return Position{}, err
	}
	if len(res) != 3 {
		return Position{}, errors.New("unexpected answer from the purge script")
	}
	id, _ := res[0].(string)
	seqs, _ := res[1].(string)
	epoch, _ := res[2].(string)
	seq, err := strconv.ParseInt(seqs, 10, 64)
	if id == "" || epoch == "" || err != nil {
		return Position{}, errors.New("unexpected answer from the purge script")
	}
	return Position{Epoch: epoch, ID: id, Seq: seq}, nil
}

// Publish queues a purge the node applied itself, for the other nodes. It
// never blocks: when the queue is full, the purge is counted and the
// publisher sends a purge of everything instead of what is queued.
func (s *Sync) Publish(op Op) {
	select {
	case s.queue <- op:
	default:
		s.n.queueFull.Add(1)
		s.overflow.Store(true)
	}
}

// publish writes the queue to the stream until ctx is done, retrying a
// batch that failed (the purges stay queued meanwhile).
func (s *Sync) publish(ctx context.Context, c redis.UniversalClient) {
	backoff := s.o.RetryMin
	for {
		if len(s.pending) == 0 && !s.overflow.Load() {
			select {
			case <-ctx.Done():
				return
			case op := <-s.queue:
				s.pending = append(s.pending, op)
				s.pendingLen.Store(int64(len(s.pending)))
			}
		}
		batch := s.fill()
		_, err := s.appendOps(ctx, c, batch)
		if err == nil {
			s.sent(len(batch))
			if backoff > s.o.RetryMin {
				s.o.Logger.Info("cache: cluster purges: published again", "stream", s.o.Stream)
				s.publishLog.reset()
			}
			backoff = s.o.RetryMin
			continue
		}
		if ctx.Err() != nil {
			return
		}
		s.n.publishErrors.Add(1)
		if s.publishLog.allow() {
			s.o.Logger.Warn("cache: cluster purges: redis failed, this node's purges wait to be published (they hold on this node)",
				"stream", s.o.Stream, "queued", len(s.pending)+len(s.queue), "error", err.Error())
		}
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, s.o.RetryMax)
	}
}

// fill moves queued purges into the pending batch, up to Batch, and
// returns the batch to send. After an overflow, or with a purge of
// everything among them, the batch is one purge of everything: every
// queued purge was applied on this node before it, so the other nodes
// applying it later drop all they stood for. After an overflow the queue
// is drained without keeping what it held.
func (s *Sync) fill() []Op {
	all := s.overflow.Swap(false)
	for len(s.pending) < s.o.Batch || all {
		select {
		case op := <-s.queue:
			if !all {
				s.pending = append(s.pending, op)
			}
			continue
		default:
		}
		break
	}
	if !all {
		for _, op := range s.pending {
			if op.Kind == KindAll {
				all = true
				break
			}
		}
	}
	if all {
		clear(s.pending)
		s.pending = append(s.pending[:0], Op{Kind: KindAll})
	}
	s.pendingLen.Store(int64(len(s.pending)))
	return s.pending[:min(len(s.pending), s.o.Batch)]
}

// sent drops the first n pending purges, published.
func (s *Sync) sent(n int) {
	s.n.published.Add(uint64(n))
	m := copy(s.pending, s.pending[n:])
	clear(s.pending[m:])
	s.pending = s.pending[:m]
	s.pendingLen.Store(int64(m))
}

// flush makes one last attempt to publish what is queued, once the
// publisher has ended; what it cannot publish stays queued (for a later
// Attach) and is logged.
func (s *Sync) flush(c redis.UniversalClient) {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	for len(s.pending) > 0 || len(s.queue) > 0 || s.overflow.Load() {
		batch := s.fill()
		if _, err := s.appendOps(ctx, c, batch); err != nil {
			s.n.publishErrors.Add(1)
			s.o.Logger.Warn("cache: cluster purges: stopping with purges the other nodes have not received",
				"stream", s.o.Stream, "queued", len(s.pending)+len(s.queue), "error", err.Error())
			return
		}
		s.sent(len(batch))
	}
}

// since returns how long ago unix ns t was.
func since(t int64) time.Duration { return time.Duration(time.Now().UnixNano() - t) }
