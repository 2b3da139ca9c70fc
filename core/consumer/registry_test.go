package consumer

import (
	"strconv"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/config"
)

// tokens is a kind of credential of these tests only, registered the way
// an authentication plugin registers its own: nothing else knows of it.
var tokens = RegisterCredential("test_tokens", func() *tokenIndex { return &tokenIndex{byToken: map[string]*Consumer{}} })

type tokenIndex struct {
	byToken  map[string]*Consumer
	finished bool
}

func (x *tokenIndex) Add(owner *Owner, t config.Table) error {
	var v struct {
		Tokens []config.Secret `toml:"test_tokens"`
	}
	problems := config.AsProblemsOrNil(t.Decode(&v))
	for j, s := range v.Tokens {
		kp := "test_tokens[" + strconv.Itoa(j) + "]"
		if err := CheckSecret(t, kp, s); err != nil {
			problems = append(problems, config.AsProblems(err)...)
			continue
		}
		x.byToken[s.Value()] = owner.Consumer(owner.Name + ":token:" + strconv.Itoa(j))
	}
	if len(problems) > 0 {
		return problems
	}
	return nil
}

func (x *tokenIndex) Finish() error { x.finished = true; return nil }

func parse(t *testing.T, toml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("c.toml", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestCredentialKinds: the credentials of a consumer go to the index of
// their kind, which gives each its own Consumer; the registry knows the
// consumers by name.
func TestCredentialKinds(t *testing.T) {
	r, err := New(parse(t, `
[[consumers]]
name = "alice"
groups = ["admins"]
test_tokens = ["t-alice"]
[[consumers]]
name = "bob"
`))
	if err != nil {
		t.Fatal(err)
	}
	idx := tokens.In(r)
	if !idx.finished {
		t.Error("the index was not finished")
	}
	c := idx.byToken["t-alice"]
	if c == nil || c.Name != "alice" || c.CredentialID != "alice:token:0" || strings.Join(c.Groups, ",") != "admins" {
		t.Fatalf("consumer of the token: %+v", c)
	}
	if b := r.Consumer("bob"); b == nil || b.CredentialID != "" {
		t.Fatalf("bob by name: %+v", b)
	}
	if a := r.Anonymous("alice"); a == nil || !a.Anonymous {
		t.Fatalf("alice as the anonymous consumer: %+v", a)
	}
	if s := r.Session([]byte("alice")); s == nil || s.CredentialID != "alice:session" {
		t.Fatalf("alice by session: %+v", s)
	}
	if len(tokens.In(Empty()).byToken) != 0 {
		t.Fatal("the empty registry has tokens")
	}
}

// TestCredentialProblems: a key no kind was registered under is reported
// with the closest known key, the kinds' problems are reported at their
// key in file order, and no secret is shown.
func TestCredentialProblems(t *testing.T) {
	_, err := New(parse(t, `
[[consumers]]
name = "alice"
test_tokenz = ["secret-one"]
[[consumers]]
name = "bob"
test_tokens = ["file:/nonexistent/secret-two", ""]
`))
	if err == nil {
		t.Fatal("accepted")
	}
	want := `c.toml:4: consumers[0].test_tokenz: unknown key (did you mean "test_tokens"?)
c.toml:7: consumers[1].test_tokens[0]: cannot read secret file "/nonexistent/secret-two": no such file or directory
c.toml:7: consumers[1].test_tokens[1]: is required`
	if got := err.Error(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(err.Error(), "secret-one") {
		t.Fatal("a secret was shown")
	}
}

func TestRegisterCredentialRefusesReservedKeys(t *testing.T) {
	for _, key := range []string{"name", "groups", "test_tokens", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RegisterCredential(%q) did not panic", key)
				}
			}()
			RegisterCredential(key, func() *tokenIndex { return nil })
		}()
	}
}

// TestLookupsMadeOnce: a consumer found by name or by session is made at
// the first lookup, and every later one returns the same, without
// allocating (requests look consumers up); consumers with the same
// groups share them.
func TestLookupsMadeOnce(t *testing.T) {
	r, err := New(parse(t, `
[[consumers]]
name = "alice"
groups = ["admins", "ops"]
[[consumers]]
name = "bob"
groups = ["admins", "ops"]
`))
	if err != nil {
		t.Fatal(err)
	}
	a := r.Consumer("alice")
	if a == nil || a != r.ConsumerBytes([]byte("alice")) || a.CredentialID != "" {
		t.Fatalf("alice by name: %+v", a)
	}
	s := r.Session([]byte("alice"))
	if s == nil || s == a || s != r.Session([]byte("alice")) || s.CredentialID != "alice:session" {
		t.Fatalf("alice by session: %+v", s)
	}
	if n := testing.AllocsPerRun(100, func() {
		r.ConsumerBytes([]byte("alice"))
		r.Session([]byte("alice"))
	}); n != 0 {
		t.Errorf("%v allocations per lookup, want 0", n)
	}
	b := r.Consumer("bob")
	if &a.Groups[0] != &b.Groups[0] {
		t.Error("alice and bob have the same groups, held twice")
	}
	if r.Consumer("carol") != nil || r.Session([]byte("carol")) != nil || r.Anonymous("carol") != nil {
		t.Error("carol found")
	}
}
