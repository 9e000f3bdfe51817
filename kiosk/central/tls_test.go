package central

import (
	"context"
	"crypto/tls"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/scripts/rig"
)

// startMTLSSim serves a Sim over TLS that requires a client certificate
// signed by the test CA.
func startMTLSSim(t *testing.T, p *rig.TestPKI) (*Sim, *httptest.Server) {
	t.Helper()
	sim := NewSim(SimConfig{})
	srv := httptest.NewUnstartedServer(sim)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{p.ServerTLS},
		ClientCAs:    p.CAPool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return sim, srv
}

func TestClientMTLS(t *testing.T) {
	p := rig.PKI(t)
	sim, srv := startMTLSSim(t, p)
	ctx := context.Background()

	c, err := NewClient(ClientConfig{BaseURL: srv.URL, CAFile: p.CAFile, CertFile: p.ClientCert, KeyFile: p.ClientKey})
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
		{"no client certificate", ClientConfig{BaseURL: srv.URL, CAFile: p.CAFile}},
		{"client certificate from another CA", ClientConfig{BaseURL: srv.URL, CAFile: p.CAFile, CertFile: p.StrangerCert, KeyFile: p.StrangerKey}},
		{"server CA not trusted (system roots)", ClientConfig{BaseURL: srv.URL, CertFile: p.ClientCert, KeyFile: p.ClientKey}},
		{"server CA not trusted (other CA file)", ClientConfig{BaseURL: srv.URL, CAFile: p.OtherCAFile, CertFile: p.ClientCert, KeyFile: p.ClientKey}},
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
	p := rig.PKI(t)
	tc, err := SimTLSConfig(p.ServerCert, p.ServerKey, p.CAFile)
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
	c, err := NewClient(ClientConfig{BaseURL: url, CAFile: p.CAFile, CertFile: p.ClientCert, KeyFile: p.ClientKey})
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
	noCert, _ := NewClient(ClientConfig{BaseURL: url, CAFile: p.CAFile})
	if _, err := noCert.Operation(context.Background(), "x"); err == nil {
		t.Fatal("a client without certificate was served")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServeSim after cancel: %v", err)
	}
}

func TestSimTLSConfigErrors(t *testing.T) {
	p := rig.PKI(t)
	missing := filepath.Join(p.Dir, "nope.pem")
	for _, tc := range []struct {
		name          string
		cert, key, ca string
		want          string
	}{
		{"no key", p.ServerCert, "", "", "key"},
		{"missing cert", missing, p.ServerKey, "", missing},
		{"key of another cert", p.ServerCert, p.ClientKey, "", p.ServerCert},
		{"missing client CA", p.ServerCert, p.ServerKey, missing, missing},
		{"client CA not PEM", p.ServerCert, p.ServerKey, writePEMText(t, p.Dir, "junk.pem", "junk"), "junk.pem"},
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
