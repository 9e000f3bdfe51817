package cardsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"time"
)

var (
	testCSCAOnce sync.Once
	testCSCA     *CSCA
)

// TestCSCA returns this process's test country signing CA, made at its
// first use with a fresh P-256 key: every eMRTD the process simulates with
// the default options is signed under it. No key is compiled into the
// binary (a private key shipped in kioskd would invite someone to trust
// it), so each process has a CSCA of its own: a process that reads the
// cards another one simulates trusts that one's certificate, which
// `kioskd vcard --csca-out FILE` writes for a daemon's readers.csca_file.
// It only ever signs simulated cards: never configure it on a terminal in
// service.
func TestCSCA() *CSCA {
	testCSCAOnce.Do(func() {
		ca, err := NewCSCA("kioskd TEST CSCA (not for production)")
		if err != nil {
			panic("cardsim: make the test CSCA: " + err.Error()) // only a broken crypto/rand fails here
		}
		testCSCA = ca
	})
	return testCSCA
}

// CertPEM is the CSCA's certificate in PEM, as a readers.csca_file holds it.
func (c *CSCA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

// NewCSCA makes a fresh self-signed P-256 CSCA with the given common name
// (valid from a day ago for ten years); tests that need a CSCA other than
// TestCSCA make one.
func NewCSCA(commonName string) (*CSCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	tpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Country: []string{"VN"}, Organization: []string{"kioskd test"}, CommonName: commonName},
		NotBefore:             time.Now().Add(-24 * time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("cardsim: make CSCA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CSCA{Cert: cert, Key: key}, nil
}
