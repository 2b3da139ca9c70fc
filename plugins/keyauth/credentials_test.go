package keyauth

import "testing"

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
