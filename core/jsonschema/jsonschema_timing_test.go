package jsonschema

import (
	"strconv"
	"strings"
	"testing"
)

// typicalBody is an order of about 1 KB.
func typicalBody() []byte {
	var b strings.Builder
	b.WriteString(`{"id":"ord-123456","email":"ann@example.com","items":[`)
	for i := 0; b.Len() < 950; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"sku":"SKU-` + strconv.Itoa(1000+i) + `","qty":` + strconv.Itoa(1+i%5) + `,"a/b~c":true}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkValidate(b *testing.B) {
	s, err := Compile([]byte(orderSchema))
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"valid-1KB", typicalBody()},
		{"invalid-1KB", []byte(strings.Replace(string(typicalBody()), `"qty":1`, `"qty":0`, -1))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.Validate(tc.body, 1<<20)
			}
		})
	}
}
