package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKeyGenerations(t *testing.T) {
	c := New(MinSize)
	ns := c.Namespace(HTTPNamespace)
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

func TestMarks(t *testing.T) {
	c := New(MinSize)
	ns := c.Namespace(HTTPNamespace)
	before := time.Now().UnixNano()
	if ns.MarksAfter(before) != nil {
		t.Fatal("marks reported with none recorded")
	}
	time.Sleep(time.Millisecond)
	ns.PurgePrefix("/api/v1")
	ns.Mark(ScopeTag, "user-42")
	after := time.Now().UnixNano() + 1
	m := ns.MarksAfter(before)
	if m == nil {
		t.Fatal("no marks after a purge")
	}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/api/v1", true}, {"/api/v1/users", true}, {"/api/v1/", true}, {"/api/v10", false}, {"/api", false}, {"/other", false},
	} {
		if got := m.PurgedPath([]byte(tc.path), before); got != tc.want {
			t.Errorf("PurgedPath(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
	if !m.Purged(ScopeTag, []byte("user-42"), before) || m.Purged(ScopeTag, []byte("user-43"), before) {
		t.Error("tag marks wrong")
	}
	if ns.MarksAfter(after) != nil {
		t.Error("an entry stored after the purge is checked against it")
	}
	if m.PurgedPath([]byte("/api/v1/x"), after) {
		t.Error("an entry stored after the purge is purged")
	}
}

func TestMarksFold(t *testing.T) {
	defer func(n int) { maxMarks = n }(maxMarks)
	maxMarks = 1024
	c := New(MinSize)
	ns := c.Namespace(HTTPNamespace)
	old := time.Now().UnixNano()
	for i := 0; i <= maxMarks+2*deltaMax; i++ {
		ns.MarkAt(ScopeTag, "t"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+itoa(i), old+int64(i)+1)
	}
	if n := ns.MarkCount(); n > maxMarks+deltaMax {
		t.Fatalf("%d marks kept, bound %d", n, maxMarks)
	}
	// What the dropped marks purged is still purged (by the floor).
	m := ns.MarksAfter(old)
	if m == nil || !m.Purged(ScopeTag, []byte("never-marked"), old) {
		t.Fatal("folding marks un-purged old entries")
	}
}

func itoa(i int) string {
	var b []byte
	for i > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(b)
}

func TestApply(t *testing.T) {
	ns := New(MinSize).Namespace(HTTPNamespace)
	if _, err := ns.Apply(Purge{}); err == nil {
		t.Fatal("an empty purge was accepted")
	}
	g := ns.RenewKeyGeneration([]byte("/a b"))
	done, err := ns.Apply(Purge{URL: "https://h.example/x/../a%20b?q=1", Prefix: "/p", Route: "r", Tags: []string{"t1", " "}, All: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "all, url /a b, prefix /p/, route r, tag t1"
	if strings.Join(done, ", ") != want {
		t.Fatalf("done = %q, want %q", strings.Join(done, ", "), want)
	}
	if ns.Generation() != 1 || ns.MarkCount() != 3 || ns.KeyGeneration([]byte("/a b")) == g {
		t.Fatalf("generation %d, marks %d", ns.Generation(), ns.MarkCount())
	}
}

func TestPersistence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cache")
	c, err := Open(file, MinSize)
	if err != nil || c.Stats().Loaded {
		t.Fatalf("opening a new file: %v", err)
	}
	ns := c.Namespace(HTTPNamespace)
	ns.Set([]byte("k"), []byte("v"), time.Hour)
	big := bytes.Repeat([]byte("b"), 200<<10)
	ns.Set([]byte("big"), big, 0)
	ns.Purge() // generation 1
	ns.Set([]byte("k2"), []byte("v2"), time.Hour)
	ns.Set([]byte("big2"), big, 0)
	ns.Mark(ScopeTag, "t")
	lua := c.Namespace("lua:x")
	lua.Set([]byte("k"), []byte("lua"), 0)
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}

	c2, err := Open(file, MinSize)
	if err != nil || !c2.Stats().Loaded {
		t.Fatalf("reopening: %v, %+v", err, c2.Stats())
	}
	ns2 := c2.Namespace(HTTPNamespace)
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
	if ns2.MarkCount() != 1 {
		t.Errorf("marks = %d, want 1", ns2.MarkCount())
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
