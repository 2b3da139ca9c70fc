package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/redistest"
)

// startNodeBin runs the binary on file with env added to its environment,
// as docs/cluster.md does, and waits until it logs that it started.
func startNodeBin(t *testing.T, file string, env ...string) *process {
	t.Helper()
	cmd := exec.Command(moongateBin(t), "run", "-c", file)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), env...)
	var mu sync.Mutex
	buf := &bytes.Buffer{}
	cmd.Stderr = lockedWriter{&mu, buf}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stderr: buf, mu: &mu, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("log of %v:\n%s", env, p.log())
		}
	})
	deadline := time.After(10 * time.Second)
	for {
		if m := startedLine.FindStringSubmatch(p.log()); m != nil {
			p.listen, p.admin = m[1], m[2]
			return p
		}
		select {
		case err := <-p.done:
			t.Fatalf("moongate exited before starting (%v):\n%s", err, p.log())
		case <-deadline:
			t.Fatalf("moongate did not start within 10s:\n%s", p.log())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestClusterFromTheDocs runs docs/cluster.md: three moongate processes
// on conf/cluster.toml and one redis-server; alice's requests, sent at
// once and spread over the three nodes, pass 100 times (100 requests per
// minute per consumer for the cluster), bob's all pass.
func TestClusterFromTheDocs(t *testing.T) {
	rd := redistest.Start(t)
	src, err := os.ReadFile("../conf/cluster.toml")
	if err != nil {
		t.Fatal(err)
	}
	// The file as shipped, but for a longer Redis timeout: on a busy test
	// machine a call over the default 50ms would be decided by the
	// fallback, and this test is about exactness.
	cfg := strings.Replace(string(src), "  policy = \"redis\"\n", "  policy = \"redis\"\n  redis_timeout = \"2s\"\n", 1)
	if cfg == string(src) {
		t.Fatal("conf/cluster.toml no longer has policy = \"redis\": update this test and docs/cluster.md")
	}
	file := writeFile(t, "cluster.toml", cfg)
	var nodes []*process
	for i := 0; i < 3; i++ {
		nodes = append(nodes, startNodeBin(t, file, "MOONGATE_LISTEN=127.0.0.1:0",
			"MOONGATE_ADMIN=127.0.0.1:0", "MOONGATE_ECHO="+freePort(t), "REDIS_ADDR="+rd.Addr))
	}
	const n = 150
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "alice-demo-key"
			if i%10 == 9 {
				key = "bob-demo-key"
			}
			statuses[i], _, _ = gt.Do(t, "GET", "http://"+nodes[i%3].listen+"/api/orders", nil, "X-API-Key", key)
		}()
	}
	wg.Wait()
	alice, bob := map[int]int{}, map[int]int{}
	for i, st := range statuses {
		if i%10 == 9 {
			bob[st]++
		} else {
			alice[st]++
		}
	}
	if alice[200] != 100 || alice[429] != 35 || bob[200] != 15 {
		t.Errorf("alice got %v, bob %v; want alice 100 × 200 and 35 × 429, bob 15 × 200", alice, bob)
	}
	var calls uint64
	for i, p := range nodes {
		_, body, _ := gt.Do(t, "GET", "http://"+p.admin+"/rate-limits", nil)
		var steps []struct {
			Redis struct {
				Calls  uint64 `json:"calls"`
				Errors uint64 `json:"errors"`
			} `json:"redis"`
		}
		if err := json.Unmarshal(body, &steps); err != nil || len(steps) != 1 || steps[0].Redis.Errors != 0 {
			t.Errorf("node %d: GET /rate-limits: %s", i, body)
			continue
		}
		calls += steps[0].Redis.Calls
	}
	if calls != n {
		t.Errorf("the nodes asked Redis %d times, want %d", calls, n)
	}
	if !strings.Contains(fmt.Sprint(statuses), "429") {
		t.Error("no 429 at all")
	}
}
