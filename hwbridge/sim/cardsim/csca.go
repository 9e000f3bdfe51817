package cardsim

import (
	"crypto"
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

// TestCSCAPEM is the certificate of the fixed test country signing CA
// (P-256, valid 2020-2060). Every process that runs the eMRTD applet with
// the default options signs under it, so a `kioskd vcard` process and the
// test reading through pcscd agree on the trust anchor. It is public test
// material: never configure it on a terminal in service.
const TestCSCAPEM = `-----BEGIN CERTIFICATE-----
MIIB2zCCAYKgAwIBAgIBATAKBggqhkjOPQQDAjBTMQswCQYDVQQGEwJWTjEUMBIG
A1UEChMLa2lvc2tkIHRlc3QxLjAsBgNVBAMTJWtpb3NrZCBURVNUIENTQ0EgKG5v
dCBmb3IgcHJvZHVjdGlvbikwIBcNMjAwMTAxMDAwMDAwWhgPMjA2MDAxMDEwMDAw
MDBaMFMxCzAJBgNVBAYTAlZOMRQwEgYDVQQKEwtraW9za2QgdGVzdDEuMCwGA1UE
AxMla2lvc2tkIFRFU1QgQ1NDQSAobm90IGZvciBwcm9kdWN0aW9uKTBZMBMGByqG
SM49AgEGCCqGSM49AwEHA0IABLIpkRF/MoSaC0fxSFI/y5TbJNiNVyZ1hGm0iP5i
EuXDvHLEgaPgSpMxxyg8p5Ds3u0QliHYhe7lS2VS8zpKr1ajRTBDMA4GA1UdDwEB
/wQEAwIBBjASBgNVHRMBAf8ECDAGAQH/AgEAMB0GA1UdDgQWBBSUx6303/F2vH1N
XRu+xxlVRx8qGzAKBggqhkjOPQQDAgNHADBEAiAg4LzQ1lg97SLygX/qqDTUoYt7
ap1jcBclXDEtF66SrwIgWeqvVrfuogrltfljKmE4F3ulUXQPYb6YehQk8aXwfvc=
-----END CERTIFICATE-----
`

// testCSCAKeyPEM is the test CSCA's private key. It is in the source on
// purpose: it only ever signs simulated cards.
const testCSCAKeyPEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgGPshkMS/wUEZqR6h
NxuT5KYnThjJ09o9ySIznZGbhVShRANCAASyKZERfzKEmgtH8UhSP8uU2yTYjVcm
dYRptIj+YhLlw7xyxIGj4EqTMccoPKeQ7N7tEJYh2IXu5UtlUvM6Sq9W
-----END PRIVATE KEY-----
`

var (
	testCSCAOnce sync.Once
	testCSCA     *CSCA
)

// TestCSCA returns the fixed test CSCA (certificate TestCSCAPEM and its
// key). The same in every process.
func TestCSCA() *CSCA {
	testCSCAOnce.Do(func() {
		cb, _ := pem.Decode([]byte(TestCSCAPEM))
		cert, err := x509.ParseCertificate(cb.Bytes)
		if err != nil {
			panic("cardsim: embedded test CSCA certificate: " + err.Error()) // fixed data: a failure is a broken build
		}
		kb, _ := pem.Decode([]byte(testCSCAKeyPEM))
		key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
		if err != nil {
			panic("cardsim: embedded test CSCA key: " + err.Error())
		}
		testCSCA = &CSCA{Cert: cert, Key: key.(crypto.Signer)}
	})
	return testCSCA
}

// NewCSCA makes a fresh self-signed P-256 CSCA with the given common name,
// for tests that need a CSCA other than TestCSCA.
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
