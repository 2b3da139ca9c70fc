package ratelimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/moongate/moongate/core/ratelimit"
)

// A local limit of 3 per second and 100 per minute, and the header fields
// a gateway writes from a decision.
func ExampleLocal() {
	lim, err := ratelimit.NewLocal(ratelimit.Limit{Windows: []ratelimit.Window{
		{Requests: 100, Per: time.Minute},
		{Requests: 3, Per: time.Second},
	}}, ratelimit.LocalOptions{})
	if err != nil {
		panic(err)
	}
	var res ratelimit.Result // reuse one per goroutine: no allocation per decision
	for range 4 {
		lim.Allow(context.Background(), []byte("consumer:alice"), &res)
	}
	fmt.Println("allowed:", res.Allowed)
	fmt.Printf("RateLimit-Policy: %s\n", res.AppendRateLimitPolicy(nil))
	w := res.Windows[res.Tightest()]
	fmt.Println("RateLimit-Limit:", w.Limit, "RateLimit-Remaining:", w.Remaining)
	fmt.Println("Retry-After at most 2s:", res.RetryAfterSeconds() <= 2)
	// Output:
	// allowed: false
	// RateLimit-Policy: "60s";q=100;w=60, "1s";q=3;w=1
	// RateLimit-Limit: 3 RateLimit-Remaining: 0
	// Retry-After at most 2s: true
}
