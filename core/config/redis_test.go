package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRedisSection: [redis] decodes with its defaults, the password is a
// secret (env or file) that never prints, and no section means no client.
func TestRedisSection(t *testing.T) {
	cfg, ps := parse(t, "")
	if ps != nil || cfg.Redis != nil {
		t.Fatalf("no [redis]: got %+v, %v; want nil", cfg.Redis, ps)
	}

	pw := filepath.Join(t.TempDir(), "redis-pw")
	if err := os.WriteFile(pw, []byte("s3cret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, ps = parse(t, `[redis]
addresses = ["127.0.0.1:6379"]
username = "gw"
password = "file:`+pw+`"
db = 2
pool_size = 20
read_timeout = "250ms"
`)
	if ps != nil {
		t.Fatal(ps)
	}
	r := cfg.Redis
	if r == nil || r.Username != "gw" || r.Password.Value() != "s3cret-from-file" || r.DB != 2 || r.PoolSize != 20 ||
		r.ReadTimeout.Std() != 250*time.Millisecond || r.DialTimeout.Std() != time.Second || r.WriteTimeout.Std() != time.Second {
		t.Fatalf("got %+v", r)
	}
	if s := r.Password.String(); strings.Contains(s, "s3cret") {
		t.Errorf("the password prints as %q", s)
	}
	if !r.Equal(r) || r.Equal(nil) || (*Redis)(nil).Equal(r) || !(*Redis)(nil).Equal(nil) {
		t.Error("Equal is wrong")
	}
	other := *r
	other.Password = Secret{value: "changed"}
	if r.Equal(&other) {
		t.Error("a changed password is not a change")
	}
}

// TestRedisProblems: every mistake in [redis] is reported at once, as
// file:line: redis.key: reason, without the password's value.
func TestRedisProblems(t *testing.T) {
	t.Setenv("MOONGATE_TEST_REDIS_PW", "pw-from-env-Zx81")
	src := `[redis]
addresses = ["127.0.0.1", "localhost:99999"]
password = "file:/nonexistent/redis-password"
db = -1
pool_size = -3
dial_timeout = "0s"
master_name = "mymaster"
cluster = true
  [redis.tls]
  ca_file = "/etc/ca.pem"
`
	_, ps := parse(t, src)
	wantProblem(t, ps, 2, "redis.addresses[0]", `must be "host:port"`)
	wantProblem(t, ps, 2, "redis.addresses[1]", "invalid port")
	wantProblem(t, ps, 3, "redis.password", "cannot read secret file")
	wantProblem(t, ps, 4, "redis.db", "must not be negative, got -1")
	wantProblem(t, ps, 5, "redis.pool_size", "must not be negative, got -3")
	wantProblem(t, ps, 6, "redis.dial_timeout", "must be more than 0s")
	wantProblem(t, ps, 7, "redis.master_name", "exclude each other")
	wantProblem(t, ps, 10, "redis.tls.ca_file", "redis.tls.enabled is false")
	if len(ps) != 8 {
		t.Errorf("got %d problems, want 8:\n%v", len(ps), ps)
	}

	_, ps = parse(t, `[redis]
addresses = ["a:1", "b:2"]
db = 3
password = "${MOONGATE_TEST_REDIS_PW}"
  [redis.tls]
  enabled = true
  cert = "/nonexistent/cert.pem"
`)
	wantProblem(t, ps, 3, "redis.db", "has only database 0")
	wantProblem(t, ps, 5, "redis.tls", "give both or neither")
	wantProblem(t, ps, 7, "redis.tls.cert", "no such file or directory")
	if strings.Contains(ps.Error(), "pw-from-env") {
		t.Errorf("the password leaked into a problem:\n%v", ps)
	}

	_, ps = parse(t, "[redis]\n")
	wantProblem(t, ps, 1, "redis.addresses", "needs at least one")

	_, ps = parse(t, "[redis]\naddresses = [\"127.0.0.1:6379\"]\npasword = \"x\"\n")
	wantProblem(t, ps, 3, "redis.pasword", `did you mean "password"?`)
}
