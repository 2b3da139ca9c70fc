package jsonedit

import (
	"encoding/json"
	"strconv"
	"testing"
)

var benchOps = []Op{
	{Kind: Remove, Path: "password"},
	{Kind: Rename, Path: "user", To: "username"},
	{Kind: Set, Path: "meta.source", Value: Arg(0)},
	{Kind: Append, Path: "tags", Value: String("edited")},
	{Kind: Set, Path: "items.1.qty", Value: JSON("5")},
}

// BenchmarkApply edits five fields of an API-like document; the
// encoding/json baseline decodes into map[string]any, makes the same
// edits and encodes again.
func BenchmarkApply(b *testing.B) {
	for _, size := range []int{1 << 10, 100 << 10} {
		doc := sampleDoc(size)
		name := strconv.Itoa(size>>10) + "KB"
		b.Run("jsonedit/"+name, func(b *testing.B) {
			p, err := Compile(benchOps)
			if err != nil {
				b.Fatal(err)
			}
			args := [][]byte{[]byte("gateway")}
			dst := make([]byte, 0, 2*len(doc))
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if dst, err = p.Apply(dst[:0], doc, args); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("encoding-json/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				var m map[string]any
				if err := json.Unmarshal(doc, &m); err != nil {
					b.Fatal(err)
				}
				delete(m, "password")
				if v, ok := m["user"]; ok {
					delete(m, "user")
					m["username"] = v
				}
				meta, _ := m["meta"].(map[string]any)
				if meta == nil {
					meta = map[string]any{}
					m["meta"] = meta
				}
				meta["source"] = "gateway"
				tags, _ := m["tags"].([]any)
				m["tags"] = append(tags, "edited")
				if items, _ := m["items"].([]any); len(items) > 1 {
					if it, ok := items[1].(map[string]any); ok {
						it["qty"] = 5
					}
				}
				if _, err := json.Marshal(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplyUntouched is a program whose paths are absent: the cost of
// checking and copying the document.
func BenchmarkApplyUntouched(b *testing.B) {
	p, _ := Compile([]Op{{Kind: Remove, Path: "absent.key"}})
	for _, size := range []int{1 << 10, 100 << 10} {
		doc := sampleDoc(size)
		b.Run(strconv.Itoa(size>>10)+"KB", func(b *testing.B) {
			dst := make([]byte, 0, 2*len(doc))
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dst, _ = p.Apply(dst[:0], doc, nil)
			}
		})
	}
}

// BenchmarkValidBaseline is encoding/json's own syntax check, for scale.
func BenchmarkValidBaseline(b *testing.B) {
	for _, size := range []int{1 << 10, 100 << 10} {
		doc := sampleDoc(size)
		b.Run(strconv.Itoa(size>>10)+"KB", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				json.Valid(doc)
			}
		})
	}
}
