package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
)

// TestShutdownRightAfterStart stops gateways that never served a request,
// at once: Shutdown must return even when the serving goroutines have not
// started yet.
func TestShutdownRightAfterStart(t *testing.T) {
	for i := 0; i < 20; i++ {
		cfg, err := config.Parse("t.toml", []byte(`[server]
listen = ["127.0.0.1:0", "127.0.0.1:0"]
[admin]
listen = "127.0.0.1:0"
[echo]
listen = "127.0.0.1:0"
`))
		if err != nil {
			t.Fatal(err)
		}
		g, err := gateway.New(cfg, gatewaytest.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			done <- g.Shutdown(ctx)
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("shutdown %d: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("shutdown %d did not return", i)
		}
	}
}
