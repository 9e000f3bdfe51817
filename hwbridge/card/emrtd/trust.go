package emrtd

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// oidCSCAMasterList is id-icao-cscaMasterList (ICAO 9303 part 12, 9).
var oidCSCAMasterList = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 2}

// cscaMasterList is CscaMasterList ::= SEQUENCE { version, certList SET OF Certificate }.
type cscaMasterList struct {
	Version  int
	CertList []asn1.RawValue `asn1:"set"`
}

// ParseCSCAs reads trusted CSCA certificates for Options.CSCA from one of:
// PEM (one or more CERTIFICATE blocks), DER (one or more certificates), or
// an ICAO CSCA master list (CMS SignedData, part 12). The master list's own
// signature is not checked: whoever installs the file vouches for it.
func ParseCSCAs(b []byte) ([]*x509.Certificate, error) {
	if bytes.Contains(b, []byte("-----BEGIN")) {
		var out []*x509.Certificate
		for n := 1; ; n++ {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			if blk.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("CSCA: PEM block %d: %w", n, err)
			}
			out = append(out, c)
		}
		if len(out) == 0 {
			return nil, errors.New("CSCA: no CERTIFICATE block in the PEM data")
		}
		return out, nil
	}
	if certs, err := x509.ParseCertificates(b); err == nil && len(certs) > 0 {
		return certs, nil
	}
	var ci contentInfo
	if rest, err := asn1.Unmarshal(b, &ci); err != nil || len(rest) != 0 || !ci.ContentType.Equal(oidSignedData) {
		return nil, errors.New("CSCA: not PEM, DER certificates or an ICAO CSCA master list")
	}
	var sd signedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, errors.New("CSCA: master list SignedData is malformed")
	}
	if !sd.EncapContent.EContentType.Equal(oidCSCAMasterList) {
		return nil, fmt.Errorf("CSCA: SignedData holds %v, not a CSCA master list", sd.EncapContent.EContentType)
	}
	var ml cscaMasterList
	if _, err := asn1.Unmarshal(sd.EncapContent.EContent, &ml); err != nil {
		return nil, errors.New("CSCA: master list content is malformed")
	}
	var out []*x509.Certificate
	for _, raw := range ml.CertList {
		c, err := x509.ParseCertificate(raw.FullBytes)
		if err != nil {
			continue // e.g. brainpool keys Go cannot parse; the rest still count
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("CSCA: the master list holds no certificate that can be read")
	}
	return out, nil
}

// LoadCSCAs reads ParseCSCAs' formats from a file.
func LoadCSCAs(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CSCA: %w", err)
	}
	certs, err := ParseCSCAs(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs, nil
}
