package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "moongate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

func TestHTTPSListener(t *testing.T) {
	up := recorder(t)
	cert, key := selfSigned(t, t.TempDir())
	g := gt.Start(t, `[server]
listen = "127.0.0.1:0"
[server.tls]
listen = "127.0.0.1:0"
cert = "`+cert+`"
key = "`+key+`"
`+upstreamTOML("u", up.URL)+catchAll)
	tlsAddr := g.Addrs()[1]
	c := &fasthttp.Client{TLSConfig: &tls.Config{InsecureSkipVerify: true}, ReadTimeout: 5 * time.Second}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI("https://" + tlsAddr + "/secure")
	if err := c.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	s := decodeSeen(t, resp.Body())
	if resp.StatusCode() != 200 || s.URI != "/secure" || s.Headers["X-Forwarded-Proto"] != "https" {
		t.Errorf("got %d, upstream saw %+v", resp.StatusCode(), s)
	}
}
