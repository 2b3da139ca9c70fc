// Command idleconns opens N idle keep-alive connections to a server (one
// request answered on each, then silence) and holds them, for measuring a
// server's memory per idle connection.
//
//	idleconns -addr 127.0.0.1:8080 -n 10000 -path /100
//
// Once every connection has been answered it prints "open N". Each line
// then read on standard input is answered with "alive N", the number the
// server has not closed. It closes everything and exits at the end of
// standard input, on SIGTERM, or after -hold.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/moongate/moongate/bench/idle"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server host:port")
	n := flag.Int("n", 10000, "connections to open")
	path := flag.String("path", "/", "path requested once on each connection")
	parallel := flag.Int("parallel", 128, "connections set up at once")
	hold := flag.Duration("hold", 5*time.Minute, "give up and exit after this long")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *hold)
	defer cancel()

	conns, err := idle.Open(ctx, *addr, *n, idle.Options{Path: *path, Parallel: *parallel})
	if err != nil {
		fmt.Fprintln(os.Stderr, "idleconns:", err)
		os.Exit(1)
	}
	defer conns.Close()
	fmt.Printf("open %d\n", conns.Len())

	lines := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- struct{}{}
		}
		close(lines)
	}()
	for {
		select {
		case _, ok := <-lines:
			if !ok {
				return
			}
			fmt.Printf("alive %d\n", conns.Alive())
		case <-ctx.Done():
			return
		}
	}
}
