package tests

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/redistest"
)

// TestClusterPurgeFromTheDocs runs the purge part of docs/cluster.md:
// three moongate processes on conf/cluster.toml and one redis-server;
// /catalog/items/42 is cached on each node, one purge on node 1's admin
// API, and none of the three serves it from its cache any more.
func TestClusterPurgeFromTheDocs(t *testing.T) {
	rd := redistest.Start(t)
	src, err := os.ReadFile("../conf/cluster.toml")
	if err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "cluster.toml", string(src))
	var nodes []*process
	for i := 0; i < 3; i++ {
		nodes = append(nodes, startNodeBin(t, file, "MOONGATE_LISTEN=127.0.0.1:0",
			"MOONGATE_ADMIN=127.0.0.1:0", "MOONGATE_ECHO="+freePort(t), "REDIS_ADDR="+rd.Addr))
	}
	cacheStatus := func(p *process) string {
		st, body, resp := gt.Do(t, "GET", "http://"+p.listen+"/catalog/items/42", nil)
		if st != 200 {
			t.Fatalf("GET /catalog/items/42: %d %s", st, body)
		}
		return string(resp.Header.Peek("X-Cache-Status"))
	}
	for i, p := range nodes {
		// Each node reads the stream (and so hears purges) once it says so.
		deadline := time.Now().Add(10 * time.Second)
		for !clusterConnected(t, p) {
			if time.Now().After(deadline) {
				t.Fatalf("node %d does not read the purge stream:\n%s", i, p.log())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if a, b := cacheStatus(p), cacheStatus(p); a != "MISS" || b != "HIT" {
			t.Fatalf("node %d: %s then %s, want MISS then HIT", i, a, b)
		}
	}
	st, body, _ := gt.Do(t, "POST", "http://"+nodes[0].admin+"/cache/purge", []byte(`{"url": "/catalog/items/42"}`),
		"Content-Type", "application/json")
	if st != 200 {
		t.Fatalf("purge: %d %s", st, body)
	}
	for i, p := range nodes {
		deadline := time.Now().Add(10 * time.Second)
		for cacheStatus(p) == "HIT" {
			if time.Now().After(deadline) {
				t.Fatalf("node %d still serves /catalog/items/42 from its cache 10s after the purge on node 0", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// clusterConnected reads GET /cache/cluster of p: whether it reads the
// purge stream.
func clusterConnected(t *testing.T, p *process) bool {
	t.Helper()
	_, body, _ := gt.Do(t, "GET", "http://"+p.admin+"/cache/cluster", nil)
	var st struct {
		Connected bool `json:"connected"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("GET /cache/cluster: %s", body)
	}
	return st.Connected
}
