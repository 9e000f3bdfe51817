package emrtd_test

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/card/emrtd"
	"github.com/kioskd/kioskd/hwbridge/card/tlv"
	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
)

func TestParseCSCAs(t *testing.T) {
	a := cardsim.TestCSCA().Cert
	b, err := cardsim.NewCSCA("second")
	if err != nil {
		t.Fatal(err)
	}
	pemBoth := string(cardsim.TestCSCA().CertPEM()) + string(b.CertPEM())

	// A master list: ContentInfo { signedData, [0] SignedData { 1, {}, { masterList OID, [0] OCTET STRING { SEQUENCE { 0, SET { certs } } } }, {} } }.
	mlContent := tlv.Encode(0x30, append([]byte{0x02, 0x01, 0x00}, tlv.Encode(0x31, append(append([]byte(nil), a.Raw...), b.Cert.Raw...))...))
	encap := tlv.Encode(0x30, append(mustMarshal(t, asn1.ObjectIdentifier{2, 23, 136, 1, 1, 2}), tlv.Encode(0xA0, tlv.Encode(0x04, mlContent))...))
	sd := tlv.Encode(0x30, append(append(append([]byte{0x02, 0x01, 0x03}, tlv.Encode(0x31, mustMarshal(t, pkix.AlgorithmIdentifier{Algorithm: emrtd.OIDSHA256}))...), encap...), tlv.Encode(0x31, nil)...))
	masterList := tlv.Encode(0x30, append(mustMarshal(t, emrtd.OIDSignedData), tlv.Encode(0xA0, sd)...))

	for name, in := range map[string][]byte{
		"PEM":         []byte(pemBoth),
		"DER":         append(append([]byte(nil), a.Raw...), b.Cert.Raw...),
		"master list": masterList,
	} {
		certs, err := emrtd.ParseCSCAs(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(certs) != 2 || !certs[0].Equal(a) || !certs[1].Equal(b.Cert) {
			t.Errorf("%s: got %d certificates", name, len(certs))
		}
	}
	for name, in := range map[string][]byte{
		"empty":                 nil,
		"PEM key only":          []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
		"garbage":               []byte("not a certificate"),
		"bad PEM cert":          []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
		"truncated master list": masterList[:len(masterList)-1],
	} {
		if _, err := emrtd.ParseCSCAs(in); err == nil || !strings.HasPrefix(err.Error(), "CSCA") {
			t.Errorf("%s: %v, want an error starting with CSCA", name, err)
		}
	}

	path := filepath.Join(t.TempDir(), "csca.pem")
	if err := os.WriteFile(path, cardsim.TestCSCA().CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	certs, err := emrtd.LoadCSCAs(path)
	if err != nil || len(certs) != 1 || !certs[0].Equal(a) {
		t.Errorf("LoadCSCAs: %v", err)
	}
	if _, err := emrtd.LoadCSCAs(path + ".missing"); err == nil {
		t.Error("missing file accepted")
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzParseCSCAs(f *testing.F) {
	f.Add(cardsim.TestCSCA().CertPEM())
	f.Add(cardsim.TestCSCA().Cert.Raw)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		certs, err := emrtd.ParseCSCAs(b)
		if err == nil && len(certs) == 0 {
			t.Error("no error and no certificate")
		}
	})
}
