package compress

import (
	"math/rand/v2"
	"strconv"
)

var words = []string{"gateway", "request", "response", "upstream", "route", "consumer", "alpha", "beta",
	"gamma", "delta", "order", "invoice", "customer", "status", "pending", "shipped", "the", "of", "and",
	"a", "to", "in", "is", "for", "with", "on", "that", "by", "this", "from", "at", "be", "it", "an"}

// jsonSample returns a JSON array of API-like records, about n bytes.
func jsonSample(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := []byte(`{"items":[`)
	for i := 0; len(b) < n-2; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, int64(10000+r.IntN(90000)), 10)
		b = append(b, `,"name":"`...)
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, ' ')
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, `","price":`...)
		b = strconv.AppendFloat(b, float64(r.IntN(100000))/100, 'f', 2, 64)
		b = append(b, `,"status":"`...)
		b = append(b, words[9+r.IntN(3)]...)
		b = append(b, `","tags":["`...)
		b = append(b, words[r.IntN(8)]...)
		b = append(b, `"],"created":"2025-0`...)
		b = strconv.AppendInt(b, int64(1+r.IntN(9)), 10)
		b = append(b, `-1`...)
		b = strconv.AppendInt(b, int64(r.IntN(10)), 10)
		b = append(b, `T12:`...)
		b = strconv.AppendInt(b, int64(10+r.IntN(50)), 10)
		b = append(b, `:00Z"}`...)
	}
	return append(b, "]}"...)
}

// htmlSample returns an HTML page of paragraphs and tables, about n bytes.
func htmlSample(n int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	b := []byte("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Orders</title><link rel=\"stylesheet\" href=\"/static/site.css\"></head>\n<body><div class=\"container\">\n")
	for len(b) < n-30 {
		switch r.IntN(3) {
		case 0:
			b = append(b, "<p class=\"text\">"...)
			for j := 0; j < 8+r.IntN(20); j++ {
				b = append(b, words[r.IntN(len(words))]...)
				b = append(b, ' ')
			}
			b = append(b, "</p>\n"...)
		case 1:
			b = append(b, "<tr><td class=\"id\"><a href=\"/orders/"...)
			b = strconv.AppendInt(b, int64(r.IntN(1000000)), 10)
			b = append(b, "\">"...)
			b = append(b, words[r.IntN(len(words))]...)
			b = append(b, "</a></td><td class=\"status\">"...)
			b = append(b, words[9+r.IntN(3)]...)
			b = append(b, "</td></tr>\n"...)
		default:
			b = append(b, "<li><span class=\"label\">"...)
			b = append(b, words[r.IntN(len(words))]...)
			b = append(b, "</span></li>\n"...)
		}
	}
	return append(b, "</div></body></html>\n"...)
}
