package idle_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/bench/idle"
	"github.com/moongate/moongate/bench/origin"
	"github.com/valyala/fasthttp"
)

func TestOpenHoldsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := origin.New()
	srv := o.Server()
	go srv.Serve(ln)
	defer srv.Shutdown()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 200
	conns, err := idle.Open(ctx, ln.Addr().String(), n, idle.Options{Path: origin.SmallPath, Parallel: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer conns.Close()
	if conns.Len() != n || o.Hits() != n {
		t.Fatalf("Len() = %d, origin hits %d; want %d and %d", conns.Len(), o.Hits(), n, n)
	}
	if got := conns.Alive(); got != n {
		t.Fatalf("Alive() = %d right after opening, want %d", got, n)
	}

	// The server going away closes them; Alive must notice.
	srv.Shutdown()
	deadline := time.Now().Add(10 * time.Second)
	for conns.Alive() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Alive() = %d after the server shut down, want 0", conns.Alive())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestOpenFailsOnBadStatus(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(503) }}
	go srv.Serve(ln)
	defer srv.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = idle.Open(ctx, ln.Addr().String(), 10, idle.Options{})
	if err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Fatalf("Open against a 503 server: err = %v, want one naming status 503", err)
	}
}

func TestOpenFailsWhenNobodyListens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := idle.Open(ctx, addr, 5, idle.Options{}); err == nil {
		t.Fatal("Open to a closed port succeeded")
	}
}
