package config

import (
	"net"
	"os"
	"slices"
	"strconv"
	"time"
)

// Redis configures the one Redis client a moongate process shares between
// its plugins ([redis]): the rate-limit plugin's policy = "redis", and what
// later shares state across nodes. Without the section there is no client,
// and a step that needs one is refused. The client is created when the
// gateway starts (or at the first reload that adds the section); changing
// the section needs a restart. It does not connect before it is used: a
// node starts, and serves with its plugins' documented fallbacks, while
// Redis is away.
type Redis struct {
	// Addresses are host:port seeds: one for a single server, several for
	// a Cluster, or the Sentinels when MasterName is set. Required.
	Addresses []string `toml:"addresses"`
	// Cluster forces Cluster mode with a single seed address (a managed
	// cluster's configuration endpoint). Default false.
	Cluster bool `toml:"cluster"`
	// MasterName selects Sentinel mode: the name of the monitored master.
	// Default "" (no Sentinel).
	MasterName string `toml:"master_name"`
	// Username for ACL authentication. Default "" (the "default" user).
	Username string `toml:"username"`
	// Password is a secret: inline, "${ENV}" or "file:/path". Default "".
	// It never appears in logs or errors.
	Password Secret `toml:"password"`
	// SentinelUsername and SentinelPassword authenticate to the Sentinels
	// themselves. Default "".
	SentinelUsername string `toml:"sentinel_username"`
	SentinelPassword Secret `toml:"sentinel_password"`
	// DB is the database number; a Cluster has only 0. Default 0.
	DB int `toml:"db"`
	// DialTimeout bounds one connection attempt. Default "1s".
	DialTimeout Duration `toml:"dial_timeout"`
	// ReadTimeout and WriteTimeout bound one socket read or write; each
	// plugin bounds its calls with a shorter deadline of its own (the
	// rate-limit plugin's redis_timeout). Default "1s" each.
	ReadTimeout  Duration `toml:"read_timeout"`
	WriteTimeout Duration `toml:"write_timeout"`
	// PoolSize is the number of connections per Redis server. Default 0:
	// 10 per CPU.
	PoolSize int `toml:"pool_size"`
	// TLS encrypts the connections. [redis.tls]
	TLS RedisTLS `toml:"tls"`
}

// RedisTLS configures TLS to Redis ([redis.tls]), with the keys of
// [upstreams.tls].
type RedisTLS struct {
	// Enabled turns TLS on. Default false; the other keys need it.
	Enabled bool `toml:"enabled"`
	// CAFile is a PEM file of the certificate authorities that sign the
	// server's certificate. Default "": the system's roots.
	CAFile string `toml:"ca_file"`
	// Cert and Key are a PEM client certificate and its key, for servers
	// that require one (tls-auth-clients). Both or neither. Default "".
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
	// ServerName is the name the server's certificate must carry.
	// Default: the host of the address dialled.
	ServerName string `toml:"server_name"`
	// InsecureSkipVerify turns certificate verification off (tests only).
	// Default false.
	InsecureSkipVerify bool `toml:"insecure_skip_verify"`
}

// SetDefaults implements Defaulter.
func (r *Redis) SetDefaults() {
	r.DialTimeout = Duration(time.Second)
	r.ReadTimeout = Duration(time.Second)
	r.WriteTimeout = Duration(time.Second)
}

// Equal reports whether a and b are the same settings (nil for no section).
func (r *Redis) Equal(o *Redis) bool {
	if r == nil || o == nil {
		return r == o
	}
	return slices.Equal(r.Addresses, o.Addresses) && r.Cluster == o.Cluster && r.MasterName == o.MasterName &&
		r.Username == o.Username && r.Password.Value() == o.Password.Value() &&
		r.SentinelUsername == o.SentinelUsername && r.SentinelPassword.Value() == o.SentinelPassword.Value() &&
		r.DB == o.DB && r.DialTimeout == o.DialTimeout && r.ReadTimeout == o.ReadTimeout &&
		r.WriteTimeout == o.WriteTimeout && r.PoolSize == o.PoolSize && r.TLS == o.TLS
}

// checkRedis checks [redis]: what the client would refuse, with the key
// that says it.
func (c *Config) checkRedis(rep *reporter) {
	r := c.Redis
	if r == nil {
		return
	}
	if len(r.Addresses) == 0 {
		rep.add("redis.addresses", `needs at least one "host:port", such as "127.0.0.1:6379"`)
	}
	for i, a := range r.Addresses {
		p := indexPath("redis.addresses", i)
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			rep.add(p, `must be "host:port" such as "127.0.0.1:6379", got `+strconv.Quote(a))
			continue
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			rep.add(p, "invalid port in "+strconv.Quote(a))
		}
	}
	if r.MasterName != "" && r.Cluster {
		rep.add("redis.master_name", "Sentinel (master_name) and cluster = true exclude each other")
	}
	if r.DB < 0 {
		rep.add("redis.db", "must not be negative, got "+strconv.Itoa(r.DB))
	} else if r.DB != 0 && (r.Cluster || (len(r.Addresses) > 1 && r.MasterName == "")) {
		rep.add("redis.db", "a Redis Cluster (several addresses, or cluster = true) has only database 0, got "+strconv.Itoa(r.DB))
	}
	for _, s := range []struct {
		key string
		v   Secret
	}{{"redis.password", r.Password}, {"redis.sentinel_password", r.SentinelPassword}} {
		if p := s.v.Problem(); p != "" {
			rep.add(s.key, p)
		}
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"redis.dial_timeout", r.DialTimeout}, {"redis.read_timeout", r.ReadTimeout}, {"redis.write_timeout", r.WriteTimeout}} {
		if d.v == 0 {
			rep.add(d.key, "must be more than 0s")
		}
	}
	if r.PoolSize < 0 {
		rep.add("redis.pool_size", "must not be negative, got "+strconv.Itoa(r.PoolSize))
	}
	t := &r.TLS
	if !t.Enabled {
		for _, f := range []struct {
			key string
			set bool
		}{{"ca_file", t.CAFile != ""}, {"cert", t.Cert != ""}, {"key", t.Key != ""},
			{"server_name", t.ServerName != ""}, {"insecure_skip_verify", t.InsecureSkipVerify}} {
			if f.set {
				rep.add("redis.tls."+f.key, "is set but redis.tls.enabled is false: set enabled = true to use TLS")
			}
		}
		return
	}
	if (t.Cert == "") != (t.Key == "") {
		rep.add("redis.tls", "cert and key go together: give both or neither")
	}
	for _, f := range []struct{ key, path string }{{"ca_file", t.CAFile}, {"cert", t.Cert}, {"key", t.Key}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			rep.add("redis.tls."+f.key, "cannot read "+strconv.Quote(f.path)+": "+statReason(err))
		}
	}
}

// statReason is the reason of a failed os.Stat, without the path it
// repeats.
func statReason(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
