package redisconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options mirror the [redis] section of the configuration. Field comments
// give the TOML key, its unit and its default. The zero value (no
// addresses) is not usable: Validate says so.
type Options struct {
	// Addresses (addresses) are host:port seeds: one for a single server,
	// several for a Cluster, or the Sentinels when MasterName is set.
	Addresses []string
	// Cluster (cluster) forces Cluster mode with a single seed address
	// (a managed cluster's configuration endpoint). Default false.
	Cluster bool
	// MasterName (master_name) selects Sentinel mode: the name of the
	// monitored master. Default "" (no Sentinel).
	MasterName string
	// Username (username) for ACL authentication. Default "" (the
	// "default" user).
	Username string
	// Password (password) is the resolved secret. Default "". It never
	// appears in String, LogValue, GoString or any error of this package.
	Password string
	// SentinelUsername and SentinelPassword (sentinel_username,
	// sentinel_password) authenticate to the Sentinels themselves.
	SentinelUsername string
	SentinelPassword string
	// DB (db) is the database number, 0 to 15 by default in Redis; not
	// supported by Cluster. Default 0.
	DB int
	// TLS (tls) encrypts the connections when TLS.Enabled.
	TLS TLSOptions
	// DialTimeout (dial_timeout) bounds one connection attempt. Default 1s.
	DialTimeout time.Duration
	// ReadTimeout and WriteTimeout (read_timeout, write_timeout) bound one
	// socket read or write. Default 1s each. Callers bound each call with
	// their own context deadline (shorter, per call): the client honours
	// it.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// PoolSize (pool_size) is the number of connections per server.
	// Default 10 per CPU (go-redis's default).
	PoolSize int
}

// TLSOptions mirror [redis.tls].
type TLSOptions struct {
	Enabled bool // enabled: use TLS. Default false.
	// CA (ca) is a PEM file of the CAs that sign the server's certificate.
	// Default "": the system's roots.
	CA string
	// Cert and Key (cert, key) are PEM files of a client certificate, for
	// servers that require one (tls-auth-clients). Both or neither.
	Cert string
	Key  string
	// ServerName (server_name) is the name the server's certificate must
	// carry. Default: the host of the address dialled.
	ServerName string
	// Insecure (insecure) skips verifying the server's certificate. For
	// tests only. Default false.
	Insecure bool
}

const (
	defaultDialTimeout = time.Second
	defaultIOTimeout   = time.Second
)

// Validate reports every problem of o at once, each naming its key.
func (o *Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("redis.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(o.Addresses) == 0 {
		bad("addresses", "at least one host:port is required")
	}
	for i, a := range o.Addresses {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			bad("addresses["+strconv.Itoa(i)+"]", "%q is not host:port", a)
			continue
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			bad("addresses["+strconv.Itoa(i)+"]", "%q: port must be 1 to 65535", a)
		}
	}
	if o.MasterName != "" && o.Cluster {
		bad("master_name", "Sentinel (master_name) and cluster = true exclude each other")
	}
	if o.DB < 0 {
		bad("db", "must not be negative, got %d", o.DB)
	}
	if o.DB != 0 && (o.Cluster || (len(o.Addresses) > 1 && o.MasterName == "")) {
		bad("db", "a Redis Cluster has only database 0, got %d", o.DB)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"dial_timeout", o.DialTimeout}, {"read_timeout", o.ReadTimeout}, {"write_timeout", o.WriteTimeout}} {
		if d.v < 0 {
			bad(d.key, "must not be negative, got %s", d.v)
		}
	}
	if o.PoolSize < 0 {
		bad("pool_size", "must not be negative, got %d", o.PoolSize)
	}
	if _, err := o.TLS.config(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// config builds the tls.Config, or nil when TLS is off.
func (t *TLSOptions) config() (*tls.Config, error) {
	if !t.Enabled {
		for _, f := range []struct{ key, v string }{{"ca", t.CA}, {"cert", t.Cert}, {"key", t.Key}, {"server_name", t.ServerName}} {
			if f.v != "" {
				return nil, fmt.Errorf("redis.tls.%s: set while tls.enabled is false", f.key)
			}
		}
		if t.Insecure {
			return nil, errors.New("redis.tls.insecure: set while tls.enabled is false")
		}
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.Insecure}
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.ca: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis.tls.ca: no PEM certificate in %s", t.CA)
		}
	}
	if (t.Cert == "") != (t.Key == "") {
		return nil, errors.New("redis.tls.cert, redis.tls.key: give both or neither")
	}
	if t.Cert != "" {
		// The key's contents never reach the error: tls reports what is
		// wrong, not the bytes.
		pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.cert, redis.tls.key: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// New validates o and builds the one shared client: a single-server,
// Sentinel (MasterName) or Cluster client (several addresses, or Cluster)
// behind go-redis's UniversalClient. It does not connect: the first command
// does, so a gateway starts while Redis is away. Close it when the
// configuration that owns it is dropped.
//
// The client is set up for callers that bound every call with a short
// context deadline: the deadline applies to socket reads and writes
// (ContextTimeoutEnabled), and commands are never retried by go-redis
// (MaxRetries -1) because counting scripts are not idempotent: a retry
// after a lost reply would count a request twice.
func New(o Options) (redis.UniversalClient, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	tc, _ := o.TLS.config()
	uo := &redis.UniversalOptions{
		Addrs:                 o.Addresses,
		IsClusterMode:         o.Cluster,
		MasterName:            o.MasterName,
		Username:              o.Username,
		Password:              o.Password,
		SentinelUsername:      o.SentinelUsername,
		SentinelPassword:      o.SentinelPassword,
		DB:                    o.DB,
		TLSConfig:             tc,
		DialTimeout:           or(o.DialTimeout, defaultDialTimeout),
		ReadTimeout:           or(o.ReadTimeout, defaultIOTimeout),
		WriteTimeout:          or(o.WriteTimeout, defaultIOTimeout),
		PoolSize:              o.PoolSize,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		// One dial attempt per command: a down server must not cost a
		// request several dial attempts and their back-off.
		DialerRetries:   1,
		DisableIdentity: true,
	}
	return redis.NewUniversalClient(uo), nil
}

func or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// String describes o for logs with the passwords redacted.
func (o Options) String() string {
	var b strings.Builder
	b.WriteString("redis{addresses=")
	b.WriteString(strings.Join(o.Addresses, ","))
	if o.MasterName != "" {
		b.WriteString(" master_name=" + o.MasterName)
	}
	if o.Cluster {
		b.WriteString(" cluster=true")
	}
	if o.Username != "" {
		b.WriteString(" username=" + o.Username)
	}
	b.WriteString(" password=" + redacted(o.Password))
	if o.SentinelPassword != "" {
		b.WriteString(" sentinel_password=" + redacted(o.SentinelPassword))
	}
	b.WriteString(" db=" + strconv.Itoa(o.DB))
	b.WriteString(" tls=" + strconv.FormatBool(o.TLS.Enabled) + "}")
	return b.String()
}

// GoString is String, so that %#v redacts too.
func (o Options) GoString() string { return o.String() }

// LogValue is what log/slog prints for o: no password.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addresses", strings.Join(o.Addresses, ",")),
		slog.String("master_name", o.MasterName),
		slog.Bool("cluster", o.Cluster),
		slog.String("username", o.Username),
		slog.String("password", redacted(o.Password)),
		slog.Int("db", o.DB),
		slog.Bool("tls", o.TLS.Enabled),
	)
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}
