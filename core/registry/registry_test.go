package registry

import (
	"regexp"
	"strings"
	"sync"
	"testing"
)

// things is a registry used the way packages use theirs: through a
// registration function of their own.
var things = New[int]("thing")

func register(name string, v int) { things.Register(name, v) }

func TestRegisterLookup(t *testing.T) {
	r := New[string]("word")
	add := func(name, v string) { r.Register(name, v) }
	add("b", "bee")
	add("a", "ay")
	if v, ok := r.Lookup("a"); !ok || v != "ay" {
		t.Fatalf("Lookup(a) = %q, %v; want \"ay\", true", v, ok)
	}
	if v, ok := r.Lookup("c"); ok || v != "" {
		t.Fatalf("Lookup(c) = %q, %v; want \"\", false", v, ok)
	}
	if got := strings.Join(r.Names(), ","); got != "a,b" {
		t.Fatalf("Names = %s, want a,b (sorted)", got)
	}
	var order []string
	r.Each(func(name, v string) { order = append(order, name+"="+v) })
	if got := strings.Join(order, ","); got != "b=bee,a=ay" {
		t.Fatalf("Each saw %s, want b=bee,a=ay (registration order)", got)
	}
	if r.Len() != 2 {
		t.Fatalf("Len = %d, want 2", r.Len())
	}
}

// panicOf returns what f panicked with, "" if it did not.
func panicOf(f func()) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg, _ = p.(string)
		}
	}()
	f()
	return ""
}

func TestDuplicateNamesBothPlaces(t *testing.T) {
	register("one", 1) // first place
	msg := panicOf(func() {
		register("one", 2) // second place
	})
	// Both registration lines are this file's: the callers of register.
	re := regexp.MustCompile(`^registry: thing "one" registered twice: at \S*registry_test\.go:(\d+) and at \S*registry_test\.go:(\d+)$`)
	m := re.FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("panic = %q, want both places of registration", msg)
	}
	if m[1] == m[2] {
		t.Fatalf("panic = %q names the same line twice", msg)
	}
	if v, _ := things.Lookup("one"); v != 1 {
		t.Fatalf("the duplicate replaced the first registration: got %d", v)
	}
}

func TestEmptyNamePanics(t *testing.T) {
	msg := panicOf(func() { register("", 1) })
	if !regexp.MustCompile(`^registry: thing with an empty name, at \S*registry_test\.go:\d+$`).MatchString(msg) {
		t.Fatalf("panic = %q, want the place of the empty name", msg)
	}
	if _, ok := things.Lookup(""); ok {
		t.Fatal("the empty name was registered")
	}
}

func TestConcurrentUse(t *testing.T) {
	r := New[int]("n")
	add := func(name string, v int) { r.Register(name, v) }
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				add(string(rune('a'+i))+strings.Repeat("x", j), j)
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				r.Lookup("a")
				r.Names()
				r.Each(func(string, int) {})
			}
		}()
	}
	wg.Wait()
	if r.Len() != 800 {
		t.Fatalf("Len = %d, want 800", r.Len())
	}
}
