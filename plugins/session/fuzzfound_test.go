package session

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
)

// TestReencodedCookieRefused: the last base64url digit of a session
// cookie has unused low bits, which the lenient decoder ignored; setting
// them wrote the same cookie another way, and it still authenticated (a
// cookie known to be stolen came in several spellings). Found by
// FuzzSessionFlip.
func TestReencodedCookieRefused(t *testing.T) {
	u, _ := upstreamNaming(t)
	g := gatewaytest.Start(t, sessionConfig(u, `["`+keyNew+`"]`, "aes-256-gcm", aliceConsumer))
	now := time.Now()
	// A cookie whose length leaves unused bits in its last digit.
	var ck string
	for cred := "x"; ck == "" || len(ck)%4 == 0; cred += "x" {
		s := contents{issued: now.Unix(), seen: now.Unix(), id: newID(), name: []byte("alice"), cred: []byte(cred)}
		ck = string(newPlugin(t, keyNew).sealValue(marshal(nil, &s)))
	}
	if st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/app/x", nil, "Cookie", "moongate_session="+ck); st != 200 {
		t.Fatalf("the cookie as sealed: %d %s", st, body)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	raw, err := base64.RawURLEncoding.Strict().DecodeString(ck)
	if err != nil {
		t.Fatal(err)
	}
	unused := 6*len(ck) - 8*len(raw)
	if unused == 0 {
		t.Fatalf("a cookie of %d bytes has no unused bits: seal another length", len(raw))
	}
	last := strings.IndexByte(alphabet, ck[len(ck)-1])
	for low := 1; low < 1<<unused; low++ {
		v := ck[:len(ck)-1] + string(alphabet[last|low])
		before := u.Hits()
		if st, _, _ := gatewaytest.Do(t, "GET", g.URL+"/app/x", nil, "Cookie", "moongate_session="+v); st != 401 || u.Hits() != before {
			t.Errorf("...%s: status %d, upstream called %d times, want 401 and none", v[len(v)-4:], st, u.Hits()-before)
		}
	}
}
