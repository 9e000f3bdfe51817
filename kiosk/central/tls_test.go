package central

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	dir                       string
	caFile, otherCAFile       string
	serverCert, serverKey     string
	clientCert, clientKey     string
	strangerCert, strangerKey string // client cert signed by another CA
	serverTLS                 tls.Certificate
	caPool                    *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	p := &testPKI{dir: dir}
	caKey, caCert, caDER := makeCA(t, "kioskd test CA")
	otherKey, otherCert, otherDER := makeCA(t, "someone else's CA")
	p.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	p.otherCAFile = writePEM(t, dir, "other-ca.pem", "CERTIFICATE", otherDER)
	p.caPool = x509.NewCertPool()
	p.caPool.AddCert(caCert)

	p.serverCert, p.serverKey = makeLeaf(t, dir, "server", caCert, caKey, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = makeLeaf(t, dir, "client", caCert, caKey, x509.ExtKeyUsageClientAuth)
	p.strangerCert, p.strangerKey = makeLeaf(t, dir, "stranger", otherCert, otherKey, x509.ExtKeyUsageClientAuth)
	var err error
	p.serverTLS, err = tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func makeCA(t *testing.T, name string) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, der
}

func makeLeaf(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "PRIVATE KEY", keyDER)
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startMTLSSim serves a Sim over TLS that requires a client certificate
// signed by the test CA.
func startMTLSSim(t *testing.T, p *testPKI) (*Sim, *httptest.Server) {
	t.Helper()
	sim := NewSim(SimConfig{})
	srv := httptest.NewUnstartedServer(sim)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{p.serverTLS},
		ClientCAs:    p.caPool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return sim, srv
}

func TestClientMTLS(t *testing.T) {
	p := newTestPKI(t)
	sim, srv := startMTLSSim(t, p)
	ctx := context.Background()

	c, err := NewClient(ClientConfig{BaseURL: srv.URL, CAFile: p.caFile, CertFile: p.clientCert, KeyFile: p.clientKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(ctx, testOp(1)); err != nil {
		t.Fatalf("Submit with a client certificate: %v", err)
	}
	if len(sim.Applied()) != 1 {
		t.Fatalf("sim applied %d operations, want 1", len(sim.Applied()))
	}

	for _, tc := range []struct {
		name string
		cfg  ClientConfig
	}{
		{"no client certificate", ClientConfig{BaseURL: srv.URL, CAFile: p.caFile}},
		{"client certificate from another CA", ClientConfig{BaseURL: srv.URL, CAFile: p.caFile, CertFile: p.strangerCert, KeyFile: p.strangerKey}},
		{"server CA not trusted (system roots)", ClientConfig{BaseURL: srv.URL, CertFile: p.clientCert, KeyFile: p.clientKey}},
		{"server CA not trusted (other CA file)", ClientConfig{BaseURL: srv.URL, CAFile: p.otherCAFile, CertFile: p.clientCert, KeyFile: p.clientKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Submit(ctx, testOp(2))
			if err == nil {
				t.Fatal("Submit succeeded, want a TLS failure")
			}
			if IsPermanent(err) {
				t.Fatalf("TLS failure %v reported as a central rejection", err)
			}
		})
	}
	if len(sim.Applied()) != 1 {
		t.Fatalf("sim applied %d operations, want still 1", len(sim.Applied()))
	}
}

// kioskd central-sim's own TLS setup: SimTLSConfig + ListenAndServeSim.
func TestListenAndServeSimTLS(t *testing.T) {
	p := newTestPKI(t)
	tc, err := SimTLSConfig(p.serverCert, p.serverKey, p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- ListenAndServeSim(ctx, "127.0.0.1:0", SimConfig{DropRate: 1}, tc, func(u string) { urls <- u })
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("ListenAndServeSim: %v", err)
	}
	if !strings.HasPrefix(url, "https://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("ready URL %q, want https://127.0.0.1:<real port>", url)
	}
	c, err := NewClient(ClientConfig{BaseURL: url, CAFile: p.caFile, CertFile: p.clientCert, KeyFile: p.clientKey})
	if err != nil {
		t.Fatal(err)
	}
	// DropRate 1 over TLS: applied, then the connection is cut.
	if _, err := c.Submit(context.Background(), testOp(1)); err == nil || IsPermanent(err) {
		t.Fatalf("dropped answer over TLS: err = %v, want a transient error", err)
	}
	if _, err := c.Operation(context.Background(), testOp(1).IdempotencyKey); err != nil {
		t.Fatalf("the dropped operation is not known at central: %v", err)
	}
	noCert, _ := NewClient(ClientConfig{BaseURL: url, CAFile: p.caFile})
	if _, err := noCert.Operation(context.Background(), "x"); err == nil {
		t.Fatal("a client without certificate was served")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServeSim after cancel: %v", err)
	}
}

func TestSimTLSConfigErrors(t *testing.T) {
	p := newTestPKI(t)
	missing := filepath.Join(p.dir, "nope.pem")
	for _, tc := range []struct {
		name          string
		cert, key, ca string
		want          string
	}{
		{"no key", p.serverCert, "", "", "key"},
		{"missing cert", missing, p.serverKey, "", missing},
		{"key of another cert", p.serverCert, p.clientKey, "", p.serverCert},
		{"missing client CA", p.serverCert, p.serverKey, missing, missing},
		{"client CA not PEM", p.serverCert, p.serverKey, writePEMText(t, p.dir, "junk.pem", "junk"), "junk.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SimTLSConfig(tc.cert, tc.key, tc.ca)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func writePEMText(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
