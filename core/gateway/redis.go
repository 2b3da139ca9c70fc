package gateway

import (
	"log/slog"
	"strings"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/redisconn"
	"github.com/redis/go-redis/v9"
)

// newRedis builds the shared Redis client of cfg's [redis] section (nil,
// nil without one) and sends go-redis's own log to logger. The client does
// not connect before its first command. Errors are problems located at the
// key they name (a CA file that holds no certificate, a bad key pair).
func newRedis(cfg *config.Config, logger *slog.Logger) (redis.UniversalClient, error) {
	r := cfg.Redis
	if r == nil {
		return nil, nil
	}
	c, err := redisconn.New(redisconn.Options{
		Addresses:        r.Addresses,
		Cluster:          r.Cluster,
		MasterName:       r.MasterName,
		Username:         r.Username,
		Password:         r.Password.Value(),
		SentinelUsername: r.SentinelUsername,
		SentinelPassword: r.SentinelPassword.Value(),
		DB:               r.DB,
		TLS: redisconn.TLSOptions{Enabled: r.TLS.Enabled, CA: r.TLS.CAFile, Cert: r.TLS.Cert, Key: r.TLS.Key,
			ServerName: r.TLS.ServerName, Insecure: r.TLS.InsecureSkipVerify},
		DialTimeout:  r.DialTimeout.Std(),
		ReadTimeout:  r.ReadTimeout.Std(),
		WriteTimeout: r.WriteTimeout.Std(),
		PoolSize:     r.PoolSize,
	})
	if err != nil {
		return nil, redisProblems(cfg, err)
	}
	redisconn.SetLogger(logger, r.Password.Value(), r.SentinelPassword.Value())
	return c, nil
}

// redisProblems turns the client's errors ("redis.tls.ca: reason", one per
// line) into problems at the configuration's keys ([redis.tls] calls CA
// "ca_file" and Insecure "insecure_skip_verify").
func redisProblems(cfg *config.Config, err error) config.Problems {
	var ps config.Problems
	for _, line := range strings.Split(err.Error(), "\n") {
		key, reason, ok := strings.Cut(line, ": ")
		if !ok || !strings.HasPrefix(key, "redis") {
			key, reason = "redis", line
		}
		key, _, _ = strings.Cut(key, ", ")
		switch key {
		case "redis.tls.ca":
			key = "redis.tls.ca_file"
		case "redis.tls.insecure":
			key = "redis.tls.insecure_skip_verify"
		}
		ps = append(ps, cfg.Problem(key, reason))
	}
	return ps
}
