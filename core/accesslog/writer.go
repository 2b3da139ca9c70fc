package accesslog

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultBufferSize    = 64 << 10
	DefaultFlushInterval = time.Second
	DefaultMaxBuffered   = 4 << 20
)

// FileMode is the mode a log file is created with (before the umask).
const FileMode os.FileMode = 0o640

// Errors Write returns for a line it did not take. Each is counted in
// Dropped.
var (
	ErrDropped = errors.New("accesslog: line dropped: the output is slower than the traffic and the buffer is full")
	ErrTooLong = errors.New("accesslog: line dropped: longer than the buffer size")
	ErrClosed  = errors.New("accesslog: writer closed")
)

// Options tune a Writer. Zero (or negative) values take the defaults.
type Options struct {
	// BufferSize is the size of a batch, in bytes: lines are written in
	// one write call per batch, when a batch is full or every
	// FlushInterval. A line longer than BufferSize is dropped. Default
	// 64 KiB.
	BufferSize int
	// FlushInterval bounds how long a line waits in memory before it is
	// written. Default 1s.
	FlushInterval time.Duration
	// MaxBuffered bounds the memory held by lines not written yet, in
	// bytes; beyond it (the output is slower than the traffic) new lines
	// are dropped and counted. It is raised to hold at least two batches
	// per shard. Default 4 MiB.
	MaxBuffered int
	// OnError, if set, is called with each failed write or reopen, on the
	// writer's own goroutine. It must not call the Writer.
	OnError func(error)
}

// Writer writes lines in batches to a file, stdout or stderr. Many
// goroutines may call Write at once: a line is copied into one of several
// shard buffers, each behind its own mutex (no global lock), and a single
// flusher goroutine writes full buffers, and every FlushInterval the
// partial ones, with one write call per batch.
//
// Write never blocks on the output: when the output is slower than the
// traffic and MaxBuffered bytes are waiting, new lines are dropped and
// counted (Dropped), so that the log phase never delays a response nor
// grows memory without bound. A line is written whole or not at all; lines
// of concurrent requests are ordered by batch, not strictly by time (as
// with nginx's buffered access_log and several workers).
//
// Reopen reopens a file (after logrotate renamed it) without losing or
// tearing a line. Close writes every line accepted and closes the file.
type Writer struct {
	shards []shard
	mask   uint32

	bufSize  int
	interval time.Duration
	maxBufs  int32
	nbufs    atomic.Int32
	free     chan *batch
	full     chan *batch

	reopenc chan chan error
	closing chan struct{}
	exited  chan struct{}
	once    sync.Once

	// Owned by the flusher goroutine.
	out          io.Writer
	file         *os.File // out, when writing to a file; nil for stdout/stderr
	path         string
	onError      func(error)
	scratch      []byte
	scratchLines int
	closeErr     error

	written, dropped, errs atomic.Uint64
}

// shard is one buffer lines are appended to, padded to its own cache
// line.
type shard struct {
	mu     sync.Mutex
	b      *batch
	closed bool
	_      [64 - 8 - 8 - 8]byte
}

// batch is a buffer of whole lines.
type batch struct {
	buf   []byte
	lines int
}

// Open returns a Writer to dest: "stdout", "stderr", or the path of a
// file, opened (created with FileMode if needed) for appending. The error
// names the file.
func Open(dest string, o Options) (*Writer, error) {
	switch dest {
	case "stdout":
		return New(os.Stdout, o), nil
	case "stderr":
		return New(os.Stderr, o), nil
	}
	f, err := openFile(dest)
	if err != nil {
		return nil, err
	}
	w := newWriter(f, o)
	w.file, w.path = f, dest
	go w.flusher()
	return w, nil
}

func openFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, FileMode)
}

// New returns a Writer to out, which only its flusher goroutine writes
// to. Close does not close out; Reopen does nothing.
func New(out io.Writer, o Options) *Writer {
	w := newWriter(out, o)
	go w.flusher()
	return w
}

func newWriter(out io.Writer, o Options) *Writer {
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.MaxBuffered <= 0 {
		o.MaxBuffered = DefaultMaxBuffered
	}
	n := 1
	for n < 2*runtime.GOMAXPROCS(0) && n < 64 {
		n *= 2
	}
	maxBufs := max(o.MaxBuffered/o.BufferSize, 2*n)
	return &Writer{
		shards:   make([]shard, n),
		mask:     uint32(n - 1),
		bufSize:  o.BufferSize,
		interval: o.FlushInterval,
		maxBufs:  int32(maxBufs),
		free:     make(chan *batch, maxBufs),
		full:     make(chan *batch, maxBufs),
		reopenc:  make(chan chan error),
		closing:  make(chan struct{}),
		exited:   make(chan struct{}),
		out:      out,
		onError:  o.OnError,
		scratch:  make([]byte, 0, o.BufferSize),
	}
}

// Write queues p, one line, to be written; a '\n' is added if p does not
// end with one. It copies p and never blocks on the output. It returns
// len(p), or 0 and ErrDropped, ErrTooLong or ErrClosed when the line was
// not taken (and counted in Dropped). It does not allocate in steady
// state. Safe for concurrent use.
func (w *Writer) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n := len(p)
	if p[n-1] != '\n' {
		n++
	}
	if n > w.bufSize {
		w.dropped.Add(1)
		return 0, ErrTooLong
	}
	s := w.lockShard()
	if s.closed {
		s.mu.Unlock()
		w.dropped.Add(1)
		return 0, ErrClosed
	}
	handedOff := false
	if s.b == nil || len(s.b.buf)+n > cap(s.b.buf) {
		nb := w.newBatch()
		if nb == nil {
			s.mu.Unlock()
			w.dropped.Add(1)
			return 0, ErrDropped
		}
		if s.b != nil {
			// Never blocks: full holds every batch there can be.
			w.full <- s.b
			handedOff = true
		}
		s.b = nb
	}
	s.b.buf = append(s.b.buf, p...)
	if n > len(p) {
		s.b.buf = append(s.b.buf, '\n')
	}
	s.b.lines++
	s.mu.Unlock()
	if handedOff {
		// Let the flusher run now, once per batch: when every P is busy
		// (a saturated gateway) it would otherwise wait for preemption
		// while the buffers fill up and lines are dropped.
		runtime.Gosched()
	}
	return len(p), nil
}

// lockShard locks and returns a shard: the first one when it is free, so
// that lines written one at a time (light traffic) stay in order in the
// output; under contention a random one, or the next free one, so that
// concurrent writers rarely wait for each other.
func (w *Writer) lockShard() *shard {
	if s := &w.shards[0]; s.mu.TryLock() {
		return s
	}
	i := rand.Uint32()
	for k := uint32(0); k <= w.mask; k++ {
		s := &w.shards[(i+k)&w.mask]
		if s.mu.TryLock() {
			return s
		}
	}
	s := &w.shards[i&w.mask]
	s.mu.Lock()
	return s
}

// newBatch returns an empty batch, or nil when MaxBuffered is reached.
func (w *Writer) newBatch() *batch {
	select {
	case b := <-w.free:
		return b
	default:
	}
	if w.nbufs.Add(1) > w.maxBufs {
		w.nbufs.Add(-1)
		return nil
	}
	return &batch{buf: make([]byte, 0, w.bufSize)}
}

func (w *Writer) release(b *batch) {
	b.buf, b.lines = b.buf[:0], 0
	w.free <- b // never blocks: free holds every batch there can be
}

// Reopen reopens the file the Writer appends to, at the same path, so
// that after logrotate renamed it new lines go to a new file: the lines
// taken before Reopen are written to the renamed file (those waiting in
// memory first), the others to the new one, none lost or split. It waits for a write in progress. When the file
// cannot be opened, the old one is kept and the error returned (and
// counted in WriteErrors). For stdout, stderr and New's writers it does
// nothing.
func (w *Writer) Reopen() error {
	reply := make(chan error, 1)
	select {
	case w.reopenc <- reply:
		return <-reply
	case <-w.exited:
		return ErrClosed
	}
}

// Close writes every line accepted, closes the file (not stdout, stderr or
// New's writer) and stops the flusher. Later Writes return ErrClosed. It
// waits for the output: a pipe nobody reads keeps it waiting. It returns
// the error of closing the file.
func (w *Writer) Close() error {
	w.once.Do(func() { close(w.closing) })
	<-w.exited
	return w.closeErr
}

// Written returns the number of lines written to the output.
func (w *Writer) Written() uint64 { return w.written.Load() }

// Dropped returns the number of lines not written: refused by Write
// (buffer full, line too long, writer closed) or lost to a write error.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// WriteErrors returns the number of failed writes and reopens.
func (w *Writer) WriteErrors() uint64 { return w.errs.Load() }

// flusher is the only goroutine that writes to the output.
func (w *Writer) flusher() {
	defer close(w.exited)
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for {
		select {
		case b := <-w.full:
			w.writeBatch(b)
		case <-tick.C:
			w.flushShards()
		case reply := <-w.reopenc:
			reply <- w.reopen()
		case <-w.closing:
			w.closeShards()
			if w.file != nil {
				w.closeErr = w.file.Close()
			}
			return
		}
	}
}

// writeBatch writes b, counts its lines and makes it free again.
func (w *Writer) writeBatch(b *batch) {
	w.write(b.buf, b.lines)
	w.release(b)
}

// write writes the lines in p with one write call.
func (w *Writer) write(p []byte, lines int) {
	if len(p) == 0 {
		return
	}
	n, err := w.out.Write(p)
	if err == nil && n == len(p) {
		w.written.Add(uint64(lines))
		return
	}
	if err == nil {
		err = io.ErrShortWrite
	}
	done := min(bytes.Count(p[:n], []byte{'\n'}), lines)
	w.written.Add(uint64(done))
	w.dropped.Add(uint64(lines - done))
	w.fail(err)
}

func (w *Writer) fail(err error) {
	w.errs.Add(1)
	if w.onError != nil {
		w.onError(err)
	}
}

// drainFull writes the full batches waiting.
func (w *Writer) drainFull() {
	for {
		select {
		case b := <-w.full:
			w.writeBatch(b)
		default:
			return
		}
	}
}

// flushShards writes the lines waiting in the shards' partial batches,
// gathered into as few writes as possible. Full batches are written
// before them: a batch a shard handed over is older than its partial one.
func (w *Writer) flushShards() {
	for i := range w.shards {
		s := &w.shards[i]
		s.mu.Lock()
		if s.b != nil && len(w.scratch)+len(s.b.buf) > cap(w.scratch) {
			s.mu.Unlock()
			w.flushScratch()
			s.mu.Lock()
		}
		if s.b != nil && len(s.b.buf) > 0 {
			w.scratch = append(w.scratch, s.b.buf...)
			w.scratchLines += s.b.lines
			s.b.buf, s.b.lines = s.b.buf[:0], 0
		}
		s.mu.Unlock()
	}
	w.flushScratch()
}

func (w *Writer) flushScratch() {
	w.drainFull()
	w.write(w.scratch, w.scratchLines)
	w.scratch, w.scratchLines = w.scratch[:0], 0
}

// closeShards closes every shard, so that no Write is taken any more, and
// writes everything they and the queue hold.
func (w *Writer) closeShards() {
	var last []*batch
	for i := range w.shards {
		s := &w.shards[i]
		s.mu.Lock()
		s.closed = true
		if s.b != nil {
			last = append(last, s.b)
			s.b = nil
		}
		s.mu.Unlock()
	}
	w.drainFull()
	for _, b := range last {
		w.writeBatch(b)
	}
}

// reopen writes the lines waiting to the file they were written for,
// then opens the file again and swaps it in, keeping the old one on
// failure.
func (w *Writer) reopen() error {
	if w.file == nil {
		return nil
	}
	w.flushShards()
	f, err := openFile(w.path)
	if err != nil {
		w.fail(err)
		return err
	}
	old := w.file
	w.file, w.out = f, f
	if err := old.Close(); err != nil {
		w.fail(err)
	}
	return nil
}
