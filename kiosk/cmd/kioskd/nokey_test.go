package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/kioskd/kioskd/scripts/rig"
)

// The shipped binary holds no private key: a PEM private key in kioskd
// (the simulators' CSCA once was one) invites someone to trust it. The
// simulators make their keys at run time. The binary is the one `make`
// built ($KIOSKD_BIN), or one built for this test.
func TestBinaryHoldsNoPrivateKey(t *testing.T) {
	bin := rig.Kioskd(t)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.Index(b, []byte("PRIVATE KEY-----")); i >= 0 {
		start := max(0, bytes.LastIndex(b[:i], []byte("-----BEGIN")))
		t.Fatalf("%s holds a PEM private key at byte %d: %q", bin, start, b[start:i+len("PRIVATE KEY-----")])
	}
}
