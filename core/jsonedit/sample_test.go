package jsonedit

import (
	"math/rand/v2"
	"strconv"
)

// sampleDoc returns an API-like object of about n bytes: a few top-level
// fields the benchmarks edit, then an array of records.
func sampleDoc(n int) []byte {
	r := rand.New(rand.NewPCG(5, 6))
	b := []byte(`{"user":"ann","password":"s3cret","plan":"free","tags":["a","b"],"meta":{"v":1},"items":[`)
	for i := 0; len(b) < n-2; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, int64(r.IntN(1000000)), 10)
		b = append(b, `,"sku":"SKU-`...)
		b = strconv.AppendInt(b, int64(r.IntN(10000)), 10)
		b = append(b, `","qty":`...)
		b = strconv.AppendInt(b, int64(1+r.IntN(9)), 10)
		b = append(b, `,"price":`...)
		b = strconv.AppendFloat(b, float64(r.IntN(100000))/100, 'f', 2, 64)
		b = append(b, `,"note":"caf\u00e9 \"quoted\" text"}`...)
	}
	return append(b, "]}"...)
}
