package redisconn

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moongate/moongate/core/ratelimit"
	"github.com/moongate/moongate/core/redistest"
	"github.com/redis/go-redis/v9"
)

// eventually polls cond every 50 ms for at most 15 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSentinel: with master_name, the client asks the Sentinels for the
// master and talks to it.
func TestSentinel(t *testing.T) {
	master := redistest.Start(t)
	bin, _ := exec.LookPath("redis-server")
	dir := t.TempDir()
	port := redistest.FreePort(t)
	_, mport, _ := strings.Cut(master.Addr, ":")
	conf := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte("port "+strconv.Itoa(port)+"\nbind 127.0.0.1\ndir "+dir+
		"\nsentinel monitor mymaster 127.0.0.1 "+mport+" 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, conf, "--sentinel")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sentinel := "127.0.0.1:" + strconv.Itoa(port)
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel})
	defer sc.Close()
	eventually(t, "the Sentinel knows the master", func() bool {
		addr, err := sc.GetMasterAddrByName(context.Background(), "mymaster").Result()
		return err == nil && len(addr) == 2 && addr[1] == mport
	})

	c, err := New(Options{Addresses: []string{sentinel}, MasterName: "mymaster"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "via-sentinel", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	direct := redis.NewClient(&redis.Options{Addr: master.Addr})
	defer direct.Close()
	if v, err := direct.Get(ctx, "via-sentinel").Result(); v != "v" {
		t.Errorf("on the master: %q, %v; want the value set through the Sentinel", v, err)
	}
}

// TestCluster: with cluster = true and one seed address, the client is a
// Cluster client, and a rate limit's script runs on it (its one key is in
// one hash slot).
func TestCluster(t *testing.T) {
	srv := redistest.Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	ctx := context.Background()
	direct := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer direct.Close()
	if err := direct.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "cluster_state:ok", func() bool {
		info, _ := direct.ClusterInfo(ctx).Result()
		return strings.Contains(info, "cluster_state:ok")
	})

	c, err := New(Options{Addresses: []string{srv.Addr}, Cluster: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*redis.ClusterClient); !ok {
		t.Fatalf("client %T, want a *redis.ClusterClient", c)
	}
	if err := c.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	lim, err := ratelimit.NewRedis(c, ratelimit.Limit{Windows: []ratelimit.Window{{Requests: 2, Per: time.Minute}}},
		ratelimit.RedisOptions{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var res ratelimit.Result
	var got []bool
	for range 3 {
		lim.Allow(ctx, []byte("alice"), &res)
		if res.Source != ratelimit.SourceRedis {
			t.Fatalf("decided by %v (%v), want on Redis", res.Source, res.Err)
		}
		got = append(got, res.Allowed)
	}
	if got[0] != true || got[1] != true || got[2] != false {
		t.Errorf("three requests of a limit of 2 on the cluster: %v", got)
	}
}
