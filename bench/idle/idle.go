package idle

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Conns is a set of open connections. Its methods are not safe for
// concurrent use.
type Conns struct {
	conns []net.Conn
}

// Options shape Open.
type Options struct {
	// Path is requested once on every connection. Default "/".
	Path string
	// Parallel bounds the connections being set up at once (so as not to
	// overflow the server's listen backlog). Default 128.
	Parallel int
	// Timeout bounds setting up one connection, request and response
	// included. Default 10s.
	Timeout time.Duration
}

// Open connects n times to addr ("127.0.0.1:8080"), sends one keep-alive
// GET on each connection and reads its response, which must be 200. It
// returns once every connection has been answered, or with the first
// error (closing what it opened).
func Open(ctx context.Context, addr string, n int, o Options) (*Conns, error) {
	if o.Path == "" {
		o.Path = "/"
	}
	if o.Parallel <= 0 {
		o.Parallel = 128
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	request := []byte("GET " + o.Path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: idle\r\n\r\n")

	c := &Conns{conns: make([]net.Conn, n)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	work := make(chan int)
	for range min(o.Parallel, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				conn, err := openOne(ctx, addr, request, o.Timeout)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("connection %d: %w", i+1, err); cancel() })
					continue
				}
				c.conns[i] = conn
			}
		}()
	}
feed:
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		c.Close()
		return nil, firstErr
	}
	return c, nil
}

func openOne(ctx context.Context, addr string, request []byte, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	if _, err := conn.Write(request); err != nil {
		conn.Close()
		return nil, err
	}
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReaderSize(conn, 4096)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("status %d", resp.StatusCode())
	}
	if resp.ConnectionClose() {
		conn.Close()
		return nil, errors.New("the server closed the connection after the response")
	}
	conn.SetDeadline(time.Time{})
	return conn, nil
}

// Len returns the number of connections opened.
func (c *Conns) Len() int { return len(c.conns) }

// Alive returns how many connections the server has not closed: a short
// read that times out means the connection is still open; EOF, data or an
// error means it is not.
func (c *Conns) Alive() int {
	var (
		alive atomic.Int64
		wg    sync.WaitGroup
	)
	next := make(chan net.Conn)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b [1]byte
			for conn := range next {
				conn.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
				if _, err := conn.Read(b[:]); errors.Is(err, os.ErrDeadlineExceeded) {
					alive.Add(1)
				}
			}
		}()
	}
	for _, conn := range c.conns {
		if conn != nil {
			next <- conn
		}
	}
	close(next)
	wg.Wait()
	return int(alive.Load())
}

// Close closes every connection.
func (c *Conns) Close() {
	for _, conn := range c.conns {
		if conn != nil {
			conn.Close()
		}
	}
}
