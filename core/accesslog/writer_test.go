package accesslog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// recorder is an output that keeps what it is given, one entry per
// write call, and signals each call.
type recorder struct {
	mu     sync.Mutex
	writes [][]byte
	wrote  chan struct{}
}

func newRecorder() *recorder { return &recorder{wrote: make(chan struct{}, 1<<16)} }

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.writes = append(r.writes, bytes.Clone(p))
	r.mu.Unlock()
	select {
	case r.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (r *recorder) all() (calls int, data string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.writes), string(bytes.Join(r.writes, nil))
}

// testLine is a line that proves itself whole: its writer, its number and
// a checksum of both.
func testLine(g, i int) string {
	body := fmt.Sprintf("g=%d i=%06d pad=%s", g, i, strings.Repeat("x", i%37))
	return fmt.Sprintf("%s crc=%08x\n", body, crc32.ChecksumIEEE([]byte(body)))
}

// checkLine returns the key (g, i) of a whole line, or an error.
func checkLine(line string) (string, error) {
	body, sum, ok := strings.Cut(line, " crc=")
	if !ok || fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(body))) != sum {
		return "", fmt.Errorf("torn or corrupt line %q", line)
	}
	f := strings.Fields(body)
	return f[0] + " " + f[1], nil
}

func TestWriterWritesEveryLineWhole(t *testing.T) {
	out := newRecorder()
	w := New(out, Options{BufferSize: 4096})
	const goroutines, perG = 8, 2000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				line := testLine(g, i)
				if i%2 == 1 {
					line = strings.TrimSuffix(line, "\n") // Write adds it
				}
				if n, err := w.Write([]byte(line)); err != nil || n != len(line) {
					t.Errorf("Write: %d, %v", n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	calls, data := out.all()
	seen := map[string]bool{}
	for _, line := range strings.SplitAfter(strings.TrimSuffix(data, "\n"), "\n") {
		key, err := checkLine(strings.TrimSuffix(line, "\n"))
		if err != nil {
			t.Fatal(err)
		}
		if seen[key] {
			t.Fatalf("line %s written twice", key)
		}
		seen[key] = true
	}
	if len(seen) != goroutines*perG || w.Written() != goroutines*perG || w.Dropped() != 0 {
		t.Errorf("got %d lines (Written %d, Dropped %d), want %d", len(seen), w.Written(), w.Dropped(), goroutines*perG)
	}
	// Batches: every write call carries whole lines and at most one
	// buffer; ~50-byte lines in 4 KiB batches need far fewer calls than
	// lines.
	out.mu.Lock()
	for _, p := range out.writes {
		if len(p) > 4096 || p[len(p)-1] != '\n' {
			t.Errorf("write call of %d bytes not ending a line", len(p))
		}
	}
	out.mu.Unlock()
	if max := len(data)/(4096-100) + 2*len(w.shards) + 1; calls > max {
		t.Errorf("%d write calls for %d bytes, want at most %d", calls, len(data), max)
	}
}

// A line waits at most FlushInterval: it is written without Close and
// without a full buffer.
func TestWriterFlushesEveryInterval(t *testing.T) {
	out := newRecorder()
	w := New(out, Options{FlushInterval: 5 * time.Millisecond})
	defer w.Close()
	if _, err := w.Write([]byte("one line\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-out.wrote:
	case <-time.After(30 * time.Second):
		t.Fatal("line not written after the flush interval")
	}
	if _, data := out.all(); data != "one line\n" {
		t.Errorf("got %q", data)
	}
	// The line is counted once its write call has returned, just after
	// the recorder saw it.
	for deadline := time.Now().Add(10 * time.Second); w.Written() != 1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if w.Written() != 1 {
		t.Errorf("Written = %d, want 1", w.Written())
	}
}

// The rotation test of the issue: logrotate renames the file mid-stream
// of 100k lines from several goroutines and the gateway reopens it; every
// line ends up in exactly one of the files, none lost, none torn.
func TestWriterReopenLosesNoLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	w, err := Open(path, Options{BufferSize: 4096, FlushInterval: time.Millisecond, MaxBuffered: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, perG, rotations = 4, 25000, 5
	const every = goroutines * perG / (rotations + 1)
	var written atomic.Int64
	milestone := make(chan chan struct{})
	rotated := make(chan error)
	go func() {
		for k := 1; k <= rotations; k++ {
			ack := <-milestone
			err := os.Rename(path, fmt.Sprintf("%s.%d", path, k))
			if err == nil {
				err = w.Reopen()
			}
			close(ack)
			if err != nil {
				rotated <- err
				return
			}
		}
		rotated <- nil
	}()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				if _, err := w.Write([]byte(testLine(g, i))); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
				if n := written.Add(1); n%every == 0 && n/every <= rotations {
					// This writer waits for the rotation, the others
					// keep writing through it.
					ack := make(chan struct{})
					milestone <- ack
					<-ack
				}
			}
		}()
	}
	wg.Wait()
	if err := <-rotated; err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	seen := map[string]string{}
	files := []string{path}
	for k := 1; k <= rotations; k++ {
		files = append(files, fmt.Sprintf("%s.%d", path, k))
	}
	var counts []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			key, err := checkLine(sc.Text())
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if prev, dup := seen[key]; dup {
				t.Fatalf("line %s in %s and in %s", key, prev, f)
			}
			seen[key] = f
			n++
		}
		fh.Close()
		counts = append(counts, fmt.Sprintf("%s: %d", filepath.Base(f), n))
	}
	t.Logf("lines per file: %s", strings.Join(counts, ", "))
	if len(seen) != goroutines*perG {
		t.Errorf("found %d lines, want %d (Written %d, Dropped %d)", len(seen), goroutines*perG, w.Written(), w.Dropped())
	}
	if w.Written() != goroutines*perG || w.Dropped() != 0 || w.WriteErrors() != 0 {
		t.Errorf("Written %d, Dropped %d, WriteErrors %d", w.Written(), w.Dropped(), w.WriteErrors())
	}
}

// The drop policy: when nobody reads the output (a stuck pipe, a full
// disk), Write keeps returning at once and drops lines, counted; memory
// stays bounded. What was taken is written once the output drains.
func TestWriterDropsWhenOutputStalls(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	w := New(pw, Options{BufferSize: 1024, MaxBuffered: 16 << 10, FlushInterval: time.Millisecond})
	attempts, refused := 0, 0
	for ; attempts < 1_000_000 && w.Dropped() < 1000; attempts++ {
		if _, err := w.Write([]byte(testLine(0, attempts))); err != nil {
			if !errors.Is(err, ErrDropped) {
				t.Fatalf("Write: %v", err)
			}
			refused++
		}
	}
	if w.Dropped() < 1000 {
		t.Fatalf("%d lines written to a pipe nobody reads, none dropped", attempts)
	}
	// Memory is bounded: at most MaxBuffered (and a pipe buffer) taken.
	if taken := attempts - refused; taken*45 > 16<<10+1<<20 {
		t.Errorf("%d lines taken while the output was stuck", taken)
	}

	var got bytes.Buffer
	read := make(chan error)
	go func() {
		_, err := io.Copy(&got, pr)
		read <- err
	}()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(got.String(), "\n")
	for _, line := range strings.Split(strings.TrimSuffix(got.String(), "\n"), "\n") {
		if _, err := checkLine(line); err != nil {
			t.Fatal(err)
		}
	}
	if uint64(refused) != w.Dropped() || uint64(lines) != w.Written() || lines+refused != attempts {
		t.Errorf("attempts %d: refused %d (Dropped %d), read %d (Written %d)", attempts, refused, w.Dropped(), lines, w.Written())
	}
	if w.WriteErrors() != 0 {
		t.Errorf("WriteErrors = %d", w.WriteErrors())
	}
}

// A failed write is counted, its lines too, and reported; the writer
// goes on.
func TestWriterCountsWriteErrors(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	pr.Close()
	var reported []error
	w := New(pw, Options{OnError: func(err error) { reported = append(reported, err) }})
	w.Write([]byte("a\n"))
	w.Write([]byte("b"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.WriteErrors() != 1 || w.Written() != 0 || w.Dropped() != 2 {
		t.Errorf("WriteErrors %d, Written %d, Dropped %d; want 1, 0, 2", w.WriteErrors(), w.Written(), w.Dropped())
	}
	if len(reported) != 1 || !errors.Is(reported[0], syscall.EPIPE) {
		t.Errorf("reported %v, want EPIPE", reported)
	}
}

func TestWriterRefusals(t *testing.T) {
	out := newRecorder()
	w := New(out, Options{BufferSize: 100})
	if n, err := w.Write(bytes.Repeat([]byte("x"), 100)); n != 0 || !errors.Is(err, ErrTooLong) {
		t.Errorf("line of 100 bytes + newline: %d, %v; want ErrTooLong", n, err)
	}
	if n, err := w.Write(append(bytes.Repeat([]byte("x"), 99), '\n')); n != 100 || err != nil {
		t.Errorf("line of 100 bytes: %d, %v", n, err)
	}
	if n, err := w.Write(nil); n != 0 || err != nil {
		t.Errorf("empty line: %d, %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n, err := w.Write([]byte("late\n")); n != 0 || !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %d, %v", n, err)
	}
	if err := w.Reopen(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen after Close: %v", err)
	}
	if w.Written() != 1 || w.Dropped() != 2 {
		t.Errorf("Written %d, Dropped %d; want 1, 2", w.Written(), w.Dropped())
	}
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	if err := os.WriteFile(path, []byte("before\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	w, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("one\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != FileMode&^umask() {
		t.Errorf("mode %v, want %v", fi.Mode().Perm(), FileMode&^umask())
	}
	// Appends to what is there.
	w, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("two\n"))
	w.Close()
	if b, _ := os.ReadFile(path); string(b) != "one\ntwo\n" {
		t.Errorf("got %q", b)
	}

	missing := filepath.Join(dir, "no", "access.log")
	if _, err := Open(missing, Options{}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Open in a missing directory: %v, want an error naming the file", err)
	}

	for _, std := range []string{"stdout", "stderr"} {
		w, err := Open(std, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Reopen(); err != nil {
			t.Errorf("%s: Reopen: %v", std, err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("%s: Close: %v", std, err)
		}
	}
	if _, err := os.Stdout.Stat(); err != nil {
		t.Errorf("stdout closed by Close: %v", err)
	}
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

// When the file cannot be reopened the old one is kept: no line is lost.
func TestWriterReopenFailureKeepsFile(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.Mkdir(logs, 0o755)
	w, err := Open(filepath.Join(logs, "access.log"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("one\n"))
	moved := filepath.Join(dir, "moved")
	if err := os.Rename(logs, moved); err != nil {
		t.Fatal(err)
	}
	if err := w.Reopen(); err == nil {
		t.Error("Reopen into a missing directory succeeded")
	}
	w.Write([]byte("two\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(moved, "access.log")); string(b) != "one\ntwo\n" {
		t.Errorf("got %q", b)
	}
	if w.WriteErrors() != 1 || w.Written() != 2 {
		t.Errorf("WriteErrors %d, Written %d; want 1, 2", w.WriteErrors(), w.Written())
	}
}

func TestWriterOptionsDefaults(t *testing.T) {
	w := New(io.Discard, Options{BufferSize: -1, FlushInterval: -1, MaxBuffered: 1})
	defer w.Close()
	if w.bufSize != DefaultBufferSize || w.interval != DefaultFlushInterval || int(w.maxBufs) < 2*len(w.shards) {
		t.Errorf("bufSize %d, interval %v, maxBufs %d", w.bufSize, w.interval, w.maxBufs)
	}
	if got := strconv.Itoa(len(w.shards)); len(w.shards)&(len(w.shards)-1) != 0 {
		t.Errorf("%s shards, want a power of two", got)
	}
}

// The lines taken before a reopen go to the file they were written for
// (the renamed one), even when they were still waiting in memory.
func TestWriterReopenWritesWaitingLinesToTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	w, err := Open(path, Options{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("before\n"))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("after\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{path + ".1": "before\n", path: "after\n"} {
		if got, err := os.ReadFile(f); err != nil || string(got) != want {
			t.Errorf("%s: %q (%v), want %q", f, got, err, want)
		}
	}
}
