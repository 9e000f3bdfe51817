package emrtd

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sort"

	"github.com/kioskd/kioskd/hwbridge/card/tlv"
)

// Object identifiers of ICAO 9303 part 10 (EF.SOD) and RFC 5652 (CMS).
var (
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidLDSSecurityObject = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 1}
	oidContentType       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAPSS        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidSHA1RSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256RSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384RSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512RSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidSHA224RSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 14}
	oidECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSASHA1     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidECDSASHA224   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 1}
	oidECDSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSASHA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSASHA512   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
)

// OIDs the card simulator needs to build an EF.SOD.
var (
	OIDSignedData        = oidSignedData
	OIDLDSSecurityObject = oidLDSSecurityObject
	OIDContentType       = oidContentType
	OIDMessageDigest     = oidMessageDigest
	OIDSHA256            = oidSHA256
	OIDECDSASHA256       = oidECDSASHA256
)

var hashByOID = []struct {
	oid asn1.ObjectIdentifier
	h   crypto.Hash
}{
	{oidSHA1, crypto.SHA1}, {oidSHA224, crypto.SHA224}, {oidSHA256, crypto.SHA256},
	{oidSHA384, crypto.SHA384}, {oidSHA512, crypto.SHA512},
}

func hashFor(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	for _, e := range hashByOID {
		if e.oid.Equal(oid) {
			return e.h, true
		}
	}
	return 0, false
}

func digest(h crypto.Hash, b []byte) []byte {
	switch h {
	case crypto.SHA1:
		s := sha1.Sum(b)
		return s[:]
	case crypto.SHA224:
		s := sha256.Sum224(b)
		return s[:]
	case crypto.SHA256:
		s := sha256.Sum256(b)
		return s[:]
	case crypto.SHA384:
		s := sha512.Sum384(b)
		return s[:]
	case crypto.SHA512:
		s := sha512.Sum512(b)
		return s[:]
	}
	return nil
}

// CMS structures (RFC 5652) as far as EF.SOD uses them.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContent     encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     []byte `asn1:"explicit,optional,tag:0"`
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

// LDSSecurityObject of ICAO 9303 part 10, 4.6.2.
type ldsSecurityObject struct {
	Version             int
	HashAlgorithm       pkix.AlgorithmIdentifier
	DataGroupHashValues []dataGroupHash
	LDSVersionInfo      asn1.RawValue `asn1:"optional"`
}

type dataGroupHash struct {
	DataGroupNumber    int
	DataGroupHashValue []byte
}

// SOD is a parsed EF.SOD: the data group hashes the issuer signed, and what
// is needed to check that signature.
type SOD struct {
	Hash   crypto.Hash
	Hashes map[int][]byte // data group number → hash

	eContent    []byte
	signedAttrs []byte // DER of the signed attributes with the SET tag, as signed
	attrs       []attribute
	signer      signerInfo
	certs       []*x509.Certificate
	certErr     error // why the certificates could not be parsed
}

func sodErr(format string, a ...any) error {
	return &PassiveAuthError{Reason: fmt.Sprintf(format, a...)}
}

// ParseSOD parses EF.SOD (tag 77 around a CMS ContentInfo of SignedData
// holding an LDSSecurityObject). Errors match ErrPassiveAuth.
func ParseSOD(b []byte) (*SOD, error) {
	// Only the header of 77 is parsed here: its content may be BER.
	tag, n, hl, err := tlv.ParseHeader(b)
	if err != nil {
		return nil, sodErr("EF.SOD is not a data object: %v", err)
	}
	if tag != 0x77 {
		return nil, sodErr("EF.SOD has tag %X, want 77", tag)
	}
	if n > len(b)-hl {
		return nil, sodErr("EF.SOD is shorter than its length says")
	}
	content := b[hl : hl+n]
	var ci contentInfo
	if rest, err := asn1.Unmarshal(content, &ci); err != nil || len(rest) != 0 {
		// Not DER: some issuers use BER framing (indefinite or long-form
		// lengths). Re-frame it as DER and try again.
		der, nerr := normalizeBER(content)
		if nerr != nil {
			return nil, sodErr("EF.SOD content is not a CMS ContentInfo")
		}
		if rest, err := asn1.Unmarshal(der, &ci); err != nil || len(rest) != 0 {
			return nil, sodErr("EF.SOD content is not a CMS ContentInfo")
		}
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, sodErr("EF.SOD content type is %v, want signedData", ci.ContentType)
	}
	var sd signedData
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) != 0 {
		return nil, sodErr("EF.SOD SignedData is malformed")
	}
	if !sd.EncapContent.EContentType.Equal(oidLDSSecurityObject) {
		return nil, sodErr("EF.SOD signs %v, want an LDS security object", sd.EncapContent.EContentType)
	}
	if len(sd.SignerInfos) != 1 {
		return nil, sodErr("EF.SOD has %d signers, want 1", len(sd.SignerInfos))
	}
	var lds ldsSecurityObject
	if rest, err := asn1.Unmarshal(sd.EncapContent.EContent, &lds); err != nil || len(rest) != 0 {
		return nil, sodErr("EF.SOD LDS security object is malformed")
	}
	h, ok := hashFor(lds.HashAlgorithm.Algorithm)
	if !ok {
		return nil, sodErr("EF.SOD hash algorithm %v is not supported", lds.HashAlgorithm.Algorithm)
	}
	s := &SOD{Hash: h, Hashes: map[int][]byte{}, eContent: sd.EncapContent.EContent, signer: sd.SignerInfos[0]}
	for _, d := range lds.DataGroupHashValues {
		if d.DataGroupNumber < 1 || d.DataGroupNumber > 16 {
			return nil, sodErr("EF.SOD lists data group %d, want 1..16", d.DataGroupNumber)
		}
		if len(d.DataGroupHashValue) != h.Size() {
			return nil, sodErr("EF.SOD hash of DG%d has %d bytes, want %d", d.DataGroupNumber, len(d.DataGroupHashValue), h.Size())
		}
		if _, dup := s.Hashes[d.DataGroupNumber]; dup {
			return nil, sodErr("EF.SOD lists DG%d twice", d.DataGroupNumber)
		}
		s.Hashes[d.DataGroupNumber] = d.DataGroupHashValue
	}
	if len(sd.Certificates.Bytes) > 0 {
		// A certificate Go cannot parse (brainpool curves, explicit EC
		// parameters) only prevents the signature check: the hashes can
		// still be compared.
		if s.certs, err = x509.ParseCertificates(sd.Certificates.Bytes); err != nil {
			s.certs, s.certErr = nil, err
		}
	}
	if sa := s.signer.SignedAttrs.FullBytes; len(sa) > 0 {
		// The signature covers the attributes DER-encoded with the SET tag,
		// not the [0] IMPLICIT tag they are stored under (RFC 5652, 5.4).
		s.signedAttrs = append([]byte{0x31}, sa[1:]...)
		if rest, err := asn1.UnmarshalWithParams(s.signedAttrs, &s.attrs, "set"); err != nil || len(rest) != 0 {
			return nil, sodErr("EF.SOD signed attributes are malformed")
		}
	}
	return s, nil
}

// DataGroups lists the data groups EF.SOD has hashes for, in order.
func (s *SOD) DataGroups() []int {
	out := make([]int, 0, len(s.Hashes))
	for n := range s.Hashes {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// CheckHash compares the hash of a data group's bytes as read with the
// signed one. The error names the data group, never its content.
func (s *SOD) CheckHash(dg int, data []byte) error {
	want, ok := s.Hashes[dg]
	if !ok {
		return &PassiveAuthError{DataGroup: dg, Reason: "EF.SOD has no hash for it"}
	}
	if !bytes.Equal(digest(s.Hash, data), want) {
		return &PassiveAuthError{DataGroup: dg, Reason: "its hash does not match EF.SOD: the data was altered"}
	}
	return nil
}

// DocumentSigner returns the document signer certificate carried in EF.SOD
// that issued the signature, or nil when there is none.
func (s *SOD) DocumentSigner() *x509.Certificate {
	var ias issuerAndSerial
	if rest, err := asn1.Unmarshal(s.signer.SID.FullBytes, &ias); err == nil && len(rest) == 0 {
		for _, c := range s.certs {
			if bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) && c.SerialNumber.Cmp(ias.Serial) == 0 {
				return c
			}
		}
	} else if s.signer.SID.Class == asn1.ClassContextSpecific && s.signer.SID.Tag == 0 {
		for _, c := range s.certs {
			if bytes.Equal(c.SubjectKeyId, s.signer.SID.Bytes) {
				return c
			}
		}
	}
	if len(s.certs) == 1 {
		return s.certs[0]
	}
	return nil
}

// VerifySignature checks that the signed attributes bind the LDS security
// object (content type and message digest), that the document signer's
// key signed them, and that one of cscas issued the document signer
// certificate. It returns the document signer's subject.
func (s *SOD) VerifySignature(cscas []*x509.Certificate) (string, error) {
	if s.certErr != nil {
		return "", sodErr("EF.SOD document signer certificate cannot be read: %v", s.certErr)
	}
	ds := s.DocumentSigner()
	if ds == nil {
		return "", sodErr("EF.SOD carries no document signer certificate")
	}
	if len(s.signedAttrs) == 0 {
		return "", sodErr("EF.SOD has no signed attributes")
	}
	dh, ok := hashFor(s.signer.DigestAlgorithm.Algorithm)
	if !ok {
		return "", sodErr("EF.SOD digest algorithm %v is not supported", s.signer.DigestAlgorithm.Algorithm)
	}
	var gotType, gotDigest bool
	for _, a := range s.attrs {
		if len(a.Values) != 1 {
			continue
		}
		switch {
		case a.Type.Equal(oidContentType):
			var ct asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(a.Values[0].FullBytes, &ct); err != nil || !ct.Equal(oidLDSSecurityObject) {
				return "", sodErr("EF.SOD signed content type is not an LDS security object")
			}
			gotType = true
		case a.Type.Equal(oidMessageDigest):
			var md []byte
			if _, err := asn1.Unmarshal(a.Values[0].FullBytes, &md); err != nil || !bytes.Equal(md, digest(dh, s.eContent)) {
				return "", sodErr("EF.SOD message digest does not match its LDS security object: the hashes were altered")
			}
			gotDigest = true
		}
	}
	if !gotType || !gotDigest {
		return "", sodErr("EF.SOD signed attributes lack the content type or message digest")
	}
	if err := verifySigned(ds.PublicKey, s.signer.SignatureAlgorithm.Algorithm, dh, s.signedAttrs, s.signer.Signature); err != nil {
		return "", sodErr("EF.SOD signature does not verify with its document signer certificate: %v", err)
	}
	for _, ca := range cscas {
		if ca == nil || !bytes.Equal(ds.RawIssuer, ca.RawSubject) {
			continue
		}
		if err := ca.CheckSignature(ds.SignatureAlgorithm, ds.RawTBSCertificate, ds.Signature); err == nil {
			return ds.Subject.String(), nil
		}
	}
	return "", sodErr("the document signer certificate was not issued by a configured CSCA")
}

// verifySigned checks sig over msg with pub. The signature algorithm OID
// may name the hash (sha256WithRSAEncryption, ecdsa-with-SHA256) or only
// the key type (rsaEncryption, id-ecPublicKey, RSASSA-PSS), in which case
// the signer's digest algorithm is the hash.
func verifySigned(pub any, alg asn1.ObjectIdentifier, dh crypto.Hash, msg, sig []byte) error {
	h := dh
	pss := false
	switch {
	case alg.Equal(oidSHA1RSA), alg.Equal(oidECDSASHA1):
		h = crypto.SHA1
	case alg.Equal(oidSHA224RSA), alg.Equal(oidECDSASHA224):
		h = crypto.SHA224
	case alg.Equal(oidSHA256RSA), alg.Equal(oidECDSASHA256):
		h = crypto.SHA256
	case alg.Equal(oidSHA384RSA), alg.Equal(oidECDSASHA384):
		h = crypto.SHA384
	case alg.Equal(oidSHA512RSA), alg.Equal(oidECDSASHA512):
		h = crypto.SHA512
	case alg.Equal(oidRSAPSS):
		pss = true
	case alg.Equal(oidRSAEncryption), alg.Equal(oidECPublicKey):
	default:
		return fmt.Errorf("signature algorithm %v is not supported", alg)
	}
	d := digest(h, msg)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if pss {
			return rsa.VerifyPSS(k, h, d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		}
		return rsa.VerifyPKCS1v15(k, h, d, sig)
	case *ecdsa.PublicKey:
		if ecdsa.VerifyASN1(k, d, sig) {
			return nil
		}
		// Some issuers store the plain r ‖ s form (BSI TR-03111).
		if n := (k.Curve.Params().BitSize + 7) / 8; len(sig) == 2*n {
			r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
			if ecdsa.Verify(k, d, r, s) {
				return nil
			}
		}
		return errors.New("ECDSA signature invalid")
	}
	return fmt.Errorf("document signer key type %T is not supported", pub)
}
