package store

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestKeyGenerations(t *testing.T) {
	c := New(MinSize)
	ns := c.Namespace("proxy")
	path := []byte("/users/42")
	if g := ns.KeyGeneration(path); g != 0 {
		t.Fatalf("generation of a new key = %d, want 0", g)
	}
	g1 := ns.RenewKeyGeneration(path)
	if g := ns.KeyGeneration(path); g != g1 || g == 0 {
		t.Fatalf("generation = %d, want %d", g, g1)
	}
	g2 := ns.RenewKeyGeneration(path)
	if g2 == g1 || ns.KeyGeneration(path) != g2 {
		t.Fatalf("renewed generation %d, was %d", g2, g1)
	}
	if ns.KeyGeneration([]byte("/users/43")) != 0 {
		t.Fatal("another key shares the generation")
	}
	ns.Purge()
	if ns.KeyGeneration(path) != 0 {
		t.Fatal("purging the namespace kept the key generation")
	}
	if other := c.Namespace("other"); other.KeyGeneration(path) != 0 {
		t.Fatal("namespaces share key generations")
	}
}

func TestPersistence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cache")
	c, err := Open(file, MinSize)
	if err != nil || c.Stats().Loaded {
		t.Fatalf("opening a new file: %v", err)
	}
	ns := c.Namespace("proxy")
	ns.Set([]byte("k"), []byte("v"), time.Hour)
	big := bytes.Repeat([]byte("b"), 200<<10)
	ns.Set([]byte("big"), big, 0)
	ns.Purge() // generation 1
	ns.Set([]byte("k2"), []byte("v2"), time.Hour)
	ns.Set([]byte("big2"), big, 0)
	ns.Extension(loadCount).(*count).n = 7
	lua := c.Namespace("lua:x")
	lua.Set([]byte("k"), []byte("lua"), 0)
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}

	c2, err := Open(file, MinSize)
	if err != nil || !c2.Stats().Loaded {
		t.Fatalf("reopening: %v, %+v", err, c2.Stats())
	}
	ns2 := c2.Namespace("proxy")
	if _, ok := ns2.Get(nil, []byte("k")); ok {
		t.Error("an entry purged before the save came back")
	}
	if v, ok := ns2.Get(nil, []byte("k2")); !ok || string(v) != "v2" {
		t.Errorf("k2 = %q %v", v, ok)
	}
	if v, ok := ns2.Get(nil, []byte("big2")); !ok || !bytes.Equal(v, big) {
		t.Errorf("big value lost (%d bytes)", len(v))
	}
	if v, ok := c2.Namespace("lua:x").Get(nil, []byte("k")); !ok || string(v) != "lua" {
		t.Errorf("other namespace lost: %q %v", v, ok)
	}
	if n := ns2.Extension(loadCount).(*count).n; n != 7 {
		t.Errorf("extension state = %d, want 7", n)
	}
	if st := c2.Stats(); st.Namespaces[1].Name != "proxy" || st.Namespaces[1].Marks != 7 {
		t.Errorf("stats: %+v", st.Namespaces)
	}

	// The load consumed the saved state: without a new Save (a crash),
	// the next start is empty.
	c3, err := Open(file, MinSize)
	if err == nil || c3.Stats().Loaded {
		t.Fatalf("a state loaded twice: %v", err)
	}
	if err := c2.Save(); err != nil {
		t.Fatal(err)
	}
	if c4, err := Open(file, 2*MinSize); err == nil || c4.Stats().Loaded {
		t.Fatalf("a cache of another size was loaded: %v", err)
	}
	if err := os.WriteFile(filepath.Join(file, stateFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c5, err := Open(file, MinSize); err == nil || c5.Stats().Loaded {
		t.Fatalf("a corrupt state was loaded: %v", err)
	}
}

// count is an Extension holding a number.
type count struct{ n int }

func (c *count) Len() int                       { return c.n }
func (c *count) Save() (json.RawMessage, error) { return json.Marshal(c.n) }

func loadCount(saved json.RawMessage) Extension {
	c := &count{}
	if saved != nil {
		json.Unmarshal(saved, &c.n)
	}
	return c
}

func TestStats(t *testing.T) {
	c := New(MinSize)
	ns := c.Namespace("x")
	ns.Counter("hit").Add(3)
	ns.Set([]byte("a"), []byte("b"), 0)
	ns.Get(nil, []byte("a"))
	ns.Get(nil, []byte("missing"))
	st := c.Stats()
	if st.Hits != 1 || st.Misses != 1 || st.Sets != 1 || len(st.Namespaces) != 1 || st.Namespaces[0].Counters["hit"] != 3 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestReadExpired: ReadExpired gives the same values as GetExpired, small
// and large (Big API), expired or not, appended after what dst held and
// left in place; a miss gives dst back.
func TestReadExpired(t *testing.T) {
	ns := New(MinSize).Namespace("proxy")
	small := []byte("a small value")
	big := bytes.Repeat([]byte("0123456789"), 20<<10) // 200 KB: the Big API
	ns.Set([]byte("small"), small, time.Hour)
	ns.Set([]byte("big"), big, 0)
	ns.Set([]byte("old"), small, time.Nanosecond)
	time.Sleep(time.Millisecond)
	prefix := []byte("kept")
	for _, tc := range []struct {
		name, key string
		want      []byte
	}{
		{"small", "small", small},
		{"large", "big", big},
		{"expired", "old", small},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := append(make([]byte, 0, 64), prefix...)
			buf, v, ok := ns.ReadExpired(dst, []byte(tc.key))
			if !ok || !bytes.Equal(v, tc.want) {
				t.Fatalf("got %d bytes %v, want %d bytes", len(v), ok, len(tc.want))
			}
			if !bytes.HasPrefix(buf, prefix) || len(buf) < len(prefix)+len(v) || &buf[len(buf)-1] != &v[len(v)-1] {
				t.Fatalf("the value is not the end of buf (%d bytes) after dst", len(buf))
			}
			if g, ok := ns.GetExpired(nil, []byte(tc.key)); !ok || !bytes.Equal(g, v) {
				t.Fatalf("GetExpired gives %d bytes %v, ReadExpired %d", len(g), ok, len(v))
			}
		})
	}
	if _, ok := ns.Get(nil, []byte("old")); ok {
		t.Fatal("Get returned an expired value")
	}
	buf, v, ok := ns.ReadExpired(prefix, []byte("missing"))
	if ok || v != nil || string(buf) != string(prefix) {
		t.Fatalf("a miss gave %q %q %v", buf, v, ok)
	}
}
