package redisconn

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/redistest"
	"github.com/redis/go-redis/v9"
)

const secret = "s3cret-PASSWORD-value"

func TestValidateNamesTheOption(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    Options
		want []string
	}{
		{"no address", Options{}, []string{"redis.addresses: at least one"}},
		{"bad address", Options{Addresses: []string{"localhost"}}, []string{`redis.addresses[0]: "localhost" is not host:port`}},
		{"bad port", Options{Addresses: []string{"a:1", "b:70000"}}, []string{`redis.addresses[1]: "b:70000": port`}},
		{"sentinel and cluster", Options{Addresses: []string{"a:1"}, MasterName: "m", Cluster: true}, []string{"redis.master_name:"}},
		{"db in cluster", Options{Addresses: []string{"a:1", "b:2"}, DB: 2}, []string{"redis.db: a Redis Cluster has only database 0"}},
		{"negative", Options{Addresses: []string{"a:1"}, DB: -1, ReadTimeout: -time.Second, PoolSize: -1},
			[]string{"redis.db: must not be negative", "redis.read_timeout: must not be negative", "redis.pool_size"}},
		{"tls file without tls", Options{Addresses: []string{"a:1"}, TLS: TLSOptions{CA: "x"}}, []string{"redis.tls.ca: set while tls.enabled is false"}},
		{"missing ca", Options{Addresses: []string{"a:1"}, TLS: TLSOptions{Enabled: true, CA: filepath.Join(dir, "nope.pem")}}, []string{"redis.tls.ca: open", "nope.pem"}},
		{"ca not pem", Options{Addresses: []string{"a:1"}, TLS: TLSOptions{Enabled: true, CA: notPEM}}, []string{"redis.tls.ca: no PEM certificate in"}},
		{"cert without key", Options{Addresses: []string{"a:1"}, TLS: TLSOptions{Enabled: true, Cert: notPEM}}, []string{"redis.tls.cert, redis.tls.key: give both"}},
		{"bad pair", Options{Addresses: []string{"a:1"}, Password: secret, TLS: TLSOptions{Enabled: true, Cert: notPEM, Key: notPEM}}, []string{"redis.tls.cert, redis.tls.key:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.o)
			if err == nil {
				c.Close()
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

// TestPasswordIsNeverPrinted: however Options is printed or logged, the
// passwords stay out.
func TestPasswordIsNeverPrinted(t *testing.T) {
	o := Options{Addresses: []string{"127.0.0.1:6379"}, Username: "alice", Password: secret, SentinelPassword: secret + "2"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("redis", "options", o)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("redis", "options", &o)
	for _, s := range []string{fmt.Sprint(o), fmt.Sprintf("%+v", o), fmt.Sprintf("%#v", o), fmt.Sprintf("%v", &o), fmt.Sprintf("%+v", struct{ R Options }{o}), logged.String()} {
		if strings.Contains(s, secret) {
			t.Errorf("printed the password: %s", s)
		}
		if !strings.Contains(s, "127.0.0.1:6379") {
			t.Errorf("printed no address: %s", s)
		}
	}
}

func ping(c redis.UniversalClient) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// TestConnectsWithACLUserAndDB: username, password and db reach the
// server; a wrong password is refused with an error that does not repeat
// it.
func TestConnectsWithACLUserAndDB(t *testing.T) {
	srv := redistest.Start(t, "--user", "alice", "on", ">"+secret, "~*", "&*", "+@all", "--user", "default", "off")
	c, err := New(Options{Addresses: []string{srv.Addr}, Username: "alice", Password: secret, DB: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	info, err := c.Do(ctx, "CLIENT", "INFO").Text()
	if err != nil || !strings.Contains(info, " db=3 ") || !strings.Contains(info, " user=alice ") {
		t.Fatalf("CLIENT INFO %q (%v), want db=3 user=alice", info, err)
	}

	wrong, err := New(Options{Addresses: []string{srv.Addr}, Username: "alice", Password: secret + "x"})
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	err = ping(wrong)
	if err == nil {
		t.Fatal("a wrong password was accepted")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error %q contains the password", err)
	}
}

// TestTLS: a server that requires TLS and client certificates is reached
// with ca/cert/key, and refused without the client certificate or with a
// server name its certificate does not carry.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	files := writePKI(t, dir)
	tlsPort := strconv.Itoa(redistest.FreePort(t))
	srv := redistest.Start(t, "--tls-port", tlsPort,
		"--tls-cert-file", files["server.crt"], "--tls-key-file", files["server.key"],
		"--tls-ca-cert-file", files["ca.crt"], "--tls-auth-clients", "yes")
	addr := net.JoinHostPort("127.0.0.1", tlsPort)
	_ = srv

	for _, tc := range []struct {
		name string
		tls  TLSOptions
		ok   bool
	}{
		{"ca cert key", TLSOptions{Enabled: true, CA: files["ca.crt"], Cert: files["client.crt"], Key: files["client.key"]}, true},
		{"server name", TLSOptions{Enabled: true, CA: files["ca.crt"], Cert: files["client.crt"], Key: files["client.key"], ServerName: "redis.test"}, true},
		{"no client cert", TLSOptions{Enabled: true, CA: files["ca.crt"]}, false},
		{"wrong server name", TLSOptions{Enabled: true, CA: files["ca.crt"], Cert: files["client.crt"], Key: files["client.key"], ServerName: "other.test"}, false},
		{"unknown ca", TLSOptions{Enabled: true, Cert: files["client.crt"], Key: files["client.key"]}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Options{Addresses: []string{addr}, TLS: tc.tls, DialTimeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = ping(c)
			if tc.ok && err != nil {
				t.Fatalf("PING over TLS: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("PING over TLS succeeded, want a refusal")
			}
		})
	}
}

// writePKI writes a CA, a server certificate for 127.0.0.1 and
// redis.test, and a client certificate, all signed by the CA.
func writePKI(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	write := func(name, typ string, der []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		files[name] = p
	}
	newKey := func(name string) *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		write(name, "PRIVATE KEY", der)
		return k
	}
	now := time.Now()
	caKey := newKey("ca.key")
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	write("ca.crt", "CERTIFICATE", caDER)
	caCert, _ := x509.ParseCertificate(caDER)
	for i, leaf := range []struct {
		name string
		use  x509.ExtKeyUsage
	}{{"server", x509.ExtKeyUsageServerAuth}, {"client", x509.ExtKeyUsageClientAuth}} {
		k := newKey(leaf.name + ".key")
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: leaf.name}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{leaf.use},
			DNSNames: []string{"redis.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		write(leaf.name+".crt", "CERTIFICATE", der)
	}
	return files
}
