package cache

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/store"
)

func TestMarks(t *testing.T) {
	marks := marksOf(store.New(store.MinSize).Namespace(namespace))
	before := time.Now().UnixNano()
	if marks.after(before) != nil {
		t.Fatal("marks reported with none recorded")
	}
	time.Sleep(time.Millisecond)
	marks.purgePrefix("/api/v1")
	marks.mark(scopeTag, "user-42")
	after := time.Now().UnixNano() + 1
	m := marks.after(before)
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
	if !m.Purged(scopeTag, []byte("user-42"), before) || m.Purged(scopeTag, []byte("user-43"), before) {
		t.Error("tag marks wrong")
	}
	if marks.after(after) != nil {
		t.Error("an entry stored after the purge is checked against it")
	}
	if m.PurgedPath([]byte("/api/v1/x"), after) {
		t.Error("an entry stored after the purge is purged")
	}
}

func TestMarksFold(t *testing.T) {
	defer func(n int) { maxMarks = n }(maxMarks)
	maxMarks = 1024
	marks := marksOf(store.New(store.MinSize).Namespace(namespace))
	old := time.Now().UnixNano()
	for i := 0; i <= maxMarks+2*deltaMax; i++ {
		marks.markAt(scopeTag, "t"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+strconv.Itoa(i), old+int64(i)+1)
	}
	if n := marks.Len(); n > maxMarks+deltaMax {
		t.Fatalf("%d marks kept, bound %d", n, maxMarks)
	}
	// What the dropped marks purged is still purged (by the floor).
	m := marks.after(old)
	if m == nil || !m.Purged(scopeTag, []byte("never-marked"), old) {
		t.Fatal("folding marks un-purged old entries")
	}
}

func TestApply(t *testing.T) {
	ns := store.New(store.MinSize).Namespace(namespace)
	marks := marksOf(ns)
	if _, err := (Purge{}).apply(ns, marks); err == nil {
		t.Fatal("an empty purge was accepted")
	}
	g := ns.RenewKeyGeneration([]byte("/a b"))
	done, err := Purge{URL: "https://h.example/x/../a%20b?q=1", Prefix: "/p", Route: "r", Tags: []string{"t1", " "}, All: true}.apply(ns, marks)
	if err != nil {
		t.Fatal(err)
	}
	want := "all, url /a b, prefix /p/, route r, tag t1"
	if strings.Join(done, ", ") != want {
		t.Fatalf("done = %q, want %q", strings.Join(done, ", "), want)
	}
	if ns.Generation() != 1 || marks.Len() != 3 || ns.KeyGeneration([]byte("/a b")) == g {
		t.Fatalf("generation %d, marks %d", ns.Generation(), marks.Len())
	}
}

// TestMarksSavedWithTheStore: the purge marks are saved with the shared
// store ([cache] file) and found again by the proxy cache's namespace
// after a restart, also when a run in between did not use them.
func TestMarksSavedWithTheStore(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cache")
	s1, err := store.Open(file, store.MinSize)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().UnixNano()
	marks := marksOf(s1.Namespace(namespace))
	marks.mark(scopeTag, "t")
	marks.purgePrefix("/pre/")
	if err := s1.Save(); err != nil {
		t.Fatal(err)
	}

	// A run without a cache step: the marks stay in the file.
	s2, err := store.Open(file, store.MinSize)
	if err != nil || !s2.Stats().Loaded {
		t.Fatalf("reopening: %v", err)
	}
	if err := s2.Save(); err != nil {
		t.Fatal(err)
	}

	s3, err := store.Open(file, store.MinSize)
	if err != nil || !s3.Stats().Loaded {
		t.Fatalf("reopening: %v", err)
	}
	m := marksOf(s3.Namespace(namespace)).after(before)
	if m == nil || m.Len() != 2 || !m.Purged(scopeTag, []byte("t"), before) || !m.PurgedPath([]byte("/pre/x"), before) {
		t.Fatalf("marks after a restart: %+v", m)
	}
	for _, ns := range s3.Stats().Namespaces {
		if ns.Name == namespace && ns.Marks != 2 {
			t.Fatalf("stats show %d marks, want 2", ns.Marks)
		}
	}
}
