package cardsim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/kioskd/kioskd/hwbridge/card/emrtd"
	"github.com/kioskd/kioskd/hwbridge/card/tlv"
)

// The EF.SOD the applet builds: ICAO 9303 part 10, 4.6.2, a CMS SignedData
// (RFC 5652) over an LDSSecurityObject with SHA-256 data group hashes,
// signed with ECDSA P-256 by a document signer certified by the CSCA.

type sodDataGroupHash struct {
	DataGroupNumber    int
	DataGroupHashValue []byte
}

type sodLDSSecurityObject struct {
	Version             int
	HashAlgorithm       pkix.AlgorithmIdentifier
	DataGroupHashValues []sodDataGroupHash
}

type sodIssuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type sodSignerInfo struct {
	Version            int
	SID                sodIssuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
}

type sodEncap struct {
	EContentType asn1.ObjectIdentifier
	EContent     []byte `asn1:"explicit,tag:0"`
}

type sodSignedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	Encap            sodEncap
	Certificates     asn1.RawValue
	SignerInfos      []sodSignerInfo `asn1:"set"`
}

type sodAttribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

// newDocumentSigner issues a fresh document signer certificate under ca.
func newDocumentSigner(ca *CSCA) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, err
	}
	tpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Country: ca.Cert.Subject.Country, Organization: []string{"kioskd test"}, CommonName: "kioskd TEST document signer"},
		NotBefore:    time.Now().Add(-24 * time.Hour),
		NotAfter:     time.Now().Add(5 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue document signer: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// buildSOD returns EF.SOD (tag 77) over the given data groups.
func buildSOD(dgs map[int][]byte, ca *CSCA) ([]byte, error) {
	ds, key, err := newDocumentSigner(ca)
	if err != nil {
		return nil, err
	}
	sha256Alg := pkix.AlgorithmIdentifier{Algorithm: emrtd.OIDSHA256}
	nums := make([]int, 0, len(dgs))
	for n := range dgs {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	lds := sodLDSSecurityObject{HashAlgorithm: sha256Alg}
	for _, n := range nums {
		h := sha256.Sum256(dgs[n])
		lds.DataGroupHashValues = append(lds.DataGroupHashValues, sodDataGroupHash{n, h[:]})
	}
	eContent, err := asn1.Marshal(lds)
	if err != nil {
		return nil, err
	}

	ctVal, _ := asn1.Marshal(emrtd.OIDLDSSecurityObject)
	md := sha256.Sum256(eContent)
	mdVal, _ := asn1.Marshal(md[:])
	var attrs [][]byte
	for _, a := range []sodAttribute{
		{emrtd.OIDContentType, []asn1.RawValue{{FullBytes: ctVal}}},
		{emrtd.OIDMessageDigest, []asn1.RawValue{{FullBytes: mdVal}}},
	} {
		b, err := asn1.Marshal(a)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, b)
	}
	// DER orders a SET OF by its elements' encodings.
	sort.Slice(attrs, func(i, j int) bool { return bytes.Compare(attrs[i], attrs[j]) < 0 })
	attrContent := bytes.Join(attrs, nil)
	toSign := tlv.Encode(0x31, attrContent)
	digest := sha256.Sum256(toSign)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, err
	}

	sd := sodSignedData{
		Version:          3,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{sha256Alg},
		Encap:            sodEncap{EContentType: emrtd.OIDLDSSecurityObject, EContent: eContent},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: ds.Raw},
		SignerInfos: []sodSignerInfo{{
			Version:            1,
			SID:                sodIssuerAndSerial{Issuer: asn1.RawValue{FullBytes: ds.RawIssuer}, Serial: ds.SerialNumber},
			DigestAlgorithm:    sha256Alg,
			SignedAttrs:        asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: attrContent},
			SignatureAlgorithm: pkix.AlgorithmIdentifier{Algorithm: emrtd.OIDECDSASHA256},
			Signature:          sig,
		}},
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, err
	}
	oid, _ := asn1.Marshal(emrtd.OIDSignedData)
	ci := tlv.Encode(0x30, append(oid, tlv.Encode(0xA0, sdDER)...))
	return tlv.Encode(0x77, ci), nil
}
