package keyauth

import (
	"strings"
	"sync"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
)

func TestKeyHash(t *testing.T) {
	a, ok1 := KeyHash("bob-key")
	b, ok2 := KeyHash("sha256:9b94dc1a51a38769f135edf04033ad7f2f487b6c25929be7a861cfc1ab10cf98")
	if !ok1 || !ok2 || a != b {
		t.Fatal("sha256: form does not match the key's digest")
	}
	for _, bad := range []string{"sha256:", "sha256:zz94dc1a51a38769f135edf04033ad7f2f487b6c25929be7a861cfc1ab10cf98", "sha256:abc"} {
		if _, ok := KeyHash(bad); ok {
			t.Fatalf("%q accepted", bad)
		}
	}
}

// TestKeyConsumerMadeOnce: the Consumer of a key is made at the first
// request that presents it, once, even when many requests present it at
// the same moment; each key of a consumer names its own credential.
func TestKeyConsumerMadeOnce(t *testing.T) {
	cfg, err := config.Parse("c.toml", []byte(`
[[consumers]]
name = "alice"
groups = ["admins"]
keys = ["k0", "k1"]
[[consumers]]
name = "bob"
groups = ["admins"]
keys = ["k2"]
`))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := consumer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := keys.In(reg)
	sum, _ := KeyHash("k1")
	got := make([]*consumer.Consumer, 16)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = x.byHash(sum)
		}()
	}
	wg.Wait()
	for _, c := range got {
		if c != got[0] {
			t.Fatal("concurrent first requests got different consumers")
		}
	}
	if c := got[0]; c.Name != "alice" || c.CredentialID != "alice:key-auth:1" || strings.Join(c.Groups, ",") != "admins" {
		t.Fatalf("got %+v", c)
	}
	b, _ := KeyHash("k2")
	if c := x.byHash(b); c.Name != "bob" || c.CredentialID != "bob:key-auth:0" {
		t.Fatalf("got %+v", c)
	}
	if x.first != nil {
		t.Fatal("the index keeps the paths it only needed to find duplicates")
	}
}
