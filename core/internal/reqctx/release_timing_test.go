package reqctx

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkAcquireRelease is what every request pays for its context:
// taken from the pool with the connection's addresses, reset field by
// field and put back.
func BenchmarkAcquireRelease(b *testing.B) {
	fc := &fasthttp.RequestCtx{}
	fc.Init(&fasthttp.Request{}, nil, nil)
	b.ReportAllocs()
	for b.Loop() {
		Release(Acquire(fc))
	}
}
