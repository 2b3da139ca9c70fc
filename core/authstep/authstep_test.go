package authstep

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

func TestStripVariants(t *testing.T) {
	a := config.DefaultAuth()
	a.StripHeaders = []string{"X-User-Id", "X-" + strings.Repeat("Long", 20)}
	id := NewIdentity(a, "X-Email")
	var h fasthttp.RequestHeader
	keep := map[string]string{"Accept": "x", "X-Consumer": "keep", "X-Consumer-Names": "keep", "Authorization": "Bearer x",
		"Xconsumer-Name": "keep", "X-Consumer--Name": "keep"}
	for k, v := range keep {
		h.Set(k, v)
	}
	spoofed := []string{"X-Consumer-Name", "x-consumer-name", "X_Consumer_Name", "x_CONSUMER-name", "X-Consumer-Groups",
		"X-Credential-Identifier", "X-Anonymous-Consumer", "X-User-Id", "x_user_id", "X-Email", "X_EMAIL",
		"X-" + strings.Repeat("Long", 20), "x_" + strings.Repeat("long", 20),
		// Every byte that is not a letter or a digit is one separator.
		"X.Consumer.Groups", "x.consumer-name", "X~Consumer~Name", "X!Consumer#Groups", "X*User*Id", "X|Email"}
	for i := 0; i < 3; i++ { // more than the batch of eight
		for _, k := range spoofed {
			h.Add(k, "forged")
		}
	}
	h.DisableNormalizing()
	h.Add("x_consumer_name", "raw")
	h.Add("x.CONSUMER.groups", "raw")
	id.Strip(&h)
	got := map[string]string{}
	for k, v := range h.All() {
		got[string(k)] = string(v)
	}
	for k := range got {
		if _, ok := keep[k]; !ok && k != "Host" && k != "User-Agent" {
			t.Fatalf("header %q survived: %v", k, got)
		}
	}
	for k, v := range keep {
		if got[k] != v {
			t.Fatalf("header %q lost or changed: %v", k, got)
		}
	}
}

func TestIdentitySet(t *testing.T) {
	a := config.DefaultAuth()
	a.ConsumerHeader = "x-who"
	a.CredentialHeader = ""
	id := NewIdentity(a)
	c := plugintest.NewContext(&fasthttp.RequestCtx{})
	defer plugintest.Release(c)
	id.Set(c, &consumer.Consumer{Name: "alice", Groups: []string{"a", "b"}, CredentialID: "alice:key-auth:0", Anonymous: true})
	h := &c.Request.Header
	if string(h.Peek("X-Who")) != "alice" || string(h.Peek("X-Consumer-Groups")) != "a,b" ||
		h.Peek("X-Credential-Identifier") != nil || string(h.Peek("X-Anonymous-Consumer")) != "true" {
		t.Fatalf("headers: %s", h.String())
	}
}
