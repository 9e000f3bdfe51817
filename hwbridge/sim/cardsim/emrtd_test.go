package cardsim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/card/apdu"
	"github.com/kioskd/kioskd/hwbridge/card/emrtd"
	"github.com/kioskd/kioskd/hwbridge/card/emrtd/bac"
	"github.com/kioskd/kioskd/hwbridge/card/tlv"
)

func emrtdCard(t *testing.T, file string) (*Card, Profile) {
	t.Helper()
	p, err := LoadProfile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, p
}

func send(t *testing.T, c *Card, cmd apdu.Command) apdu.Response {
	t.Helper()
	b, err := cmd.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	r, err := apdu.ParseResponse(c.Process(b))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var selectApp = apdu.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: emrtd.AID, Le: -1}

// authenticate runs BAC as a reader would and returns the reader's session.
func authenticate(t *testing.T, c *Card, p Profile) *bac.Session {
	t.Helper()
	m, err := emrtd.ParseMRZ(p.MRZ)
	if err != nil {
		t.Fatal(err)
	}
	keys := bac.DeriveKeys(bac.Seed(emrtd.KeyFromMRZ(m).MRZInfo()))
	if r := send(t, c, selectApp); !r.OK() {
		t.Fatalf("select application: %04X", r.SW())
	}
	ch := send(t, c, apdu.Command{INS: 0x84, Le: 8})
	if !ch.OK() || len(ch.Data) != 8 {
		t.Fatalf("get challenge: %04X %X", ch.SW(), ch.Data)
	}
	rndIFD, kIFD := bytes.Repeat([]byte{0x11}, 8), bytes.Repeat([]byte{0x22}, 16)
	r := send(t, c, apdu.Command{INS: 0x82, Data: bac.AuthenticateCommand(keys, rndIFD, ch.Data, kIFD), Le: 40})
	if !r.OK() {
		t.Fatalf("mutual authenticate: %04X", r.SW())
	}
	s, err := bac.FinishAuthenticate(keys, r.Data, rndIFD, ch.Data, kIFD)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sendSM(t *testing.T, c *Card, s *bac.Session, cmd apdu.Command) apdu.Response {
	t.Helper()
	w, err := s.Wrap(cmd)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Unwrap(send(t, c, w))
	if err != nil {
		t.Fatalf("unwrap answer to %v: %v", cmd, err)
	}
	return r
}

func TestEMRTDNeedsBAC(t *testing.T) {
	c, _ := emrtdCard(t, "emrtd_vn.json")
	if r := send(t, c, apdu.Command{INS: 0x84, Le: 8}); r.SW() != apdu.SWConditionsNotMet {
		t.Errorf("GET CHALLENGE before SELECT: %04X", r.SW())
	}
	send(t, c, selectApp)
	for name, cmd := range map[string]apdu.Command{
		"select EF":   {INS: 0xA4, P1: 0x02, P2: 0x0C, Data: []byte{0x01, 0x01}, Le: -1},
		"read binary": {INS: 0xB0, P1: 0x81, Le: 4},
	} {
		if r := send(t, c, cmd); r.SW() != apdu.SWSecurityNotSatisfied {
			t.Errorf("plain %s before BAC: %04X, want 6982", name, r.SW())
		}
	}
	if r := send(t, c, apdu.Command{INS: 0x82, Data: make([]byte, 40), Le: 40}); r.SW() != apdu.SWConditionsNotMet {
		t.Errorf("MUTUAL AUTHENTICATE without challenge: %04X", r.SW())
	}
	if r := send(t, c, apdu.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: []byte{0xA0, 0, 0, 0, 0x03}, Le: -1}); r.SW() != apdu.SWFileNotFound {
		t.Errorf("SELECT of another application: %04X", r.SW())
	}
	if c.ATR()[0] != 0x3B || c.ATR()[2] != 0x80 {
		t.Errorf("ATR %X is not a contactless PC/SC ATR", c.ATR())
	}
}

func TestEMRTDWrongKeyAnswers6300(t *testing.T) {
	c, _ := emrtdCard(t, "emrtd_vn.json")
	send(t, c, selectApp)
	ch := send(t, c, apdu.Command{INS: 0x84, Le: 8})
	keys := bac.DeriveKeys(bac.Seed("090012346<" + "9003071" + "3003079"))
	cmd := bac.AuthenticateCommand(keys, make([]byte, 8), ch.Data, make([]byte, 16))
	if r := send(t, c, apdu.Command{INS: 0x82, Data: cmd, Le: 40}); r.SW() != 0x6300 {
		t.Errorf("wrong key: %04X, want 6300", r.SW())
	}
	// The challenge is used up: the same cryptogram again is refused.
	if r := send(t, c, apdu.Command{INS: 0x82, Data: cmd, Le: 40}); r.SW() != apdu.SWConditionsNotMet {
		t.Errorf("second attempt on one challenge: %04X, want 6985", r.SW())
	}
}

func TestEMRTDSecureMessaging(t *testing.T) {
	c, p := emrtdCard(t, "emrtd_vn.json")
	s := authenticate(t, c, p)

	if r := sendSM(t, c, s, apdu.Command{INS: 0xA4, P1: 0x02, P2: 0x0C, Data: []byte{0x01, 0x01}, Le: -1}); !r.OK() {
		t.Fatalf("select DG1: %04X", r.SW())
	}
	r := sendSM(t, c, s, apdu.Command{INS: 0xB0, P1: 0, P2: 0, Le: 0})
	if r.SW() != 0x6282 {
		t.Errorf("read 256 bytes of a shorter file: %04X, want 6282 (end of file)", r.SW())
	}
	dg1, _, err := tlv.ParseOne(r.Data)
	if err != nil {
		t.Fatal(err)
	}
	mrz, _ := dg1.Find(0x5F1F)
	if string(mrz.Value) != emrtd.NormalizeMRZ(p.MRZ) {
		t.Errorf("DG1 MRZ %q", mrz.Value)
	}
	// READ BINARY at an offset, and by short file identifier (EF.COM = 1E).
	if r := sendSM(t, c, s, apdu.Command{INS: 0xB0, P1: 0, P2: 5, Le: 3}); !r.OK() || string(r.Data) != string(emrtd.NormalizeMRZ(p.MRZ)[:3]) {
		t.Errorf("read at offset 5: %04X %q", r.SW(), r.Data)
	}
	if r := sendSM(t, c, s, apdu.Command{INS: 0xB0, P1: 0x9E, P2: 0, Le: 1}); !r.OK() || r.Data[0] != 0x60 {
		t.Errorf("read EF.COM by SFI: %04X %X", r.SW(), r.Data)
	}
	if r := sendSM(t, c, s, apdu.Command{INS: 0xB0, P1: 0x7F, P2: 0, Le: 1}); r.SW() != apdu.SWWrongParams {
		t.Errorf("read past the end: %04X, want 6B00", r.SW())
	}
	if r := sendSM(t, c, s, apdu.Command{INS: 0xA4, P1: 0x02, P2: 0x0C, Data: []byte{0x01, 0x0F}, Le: -1}); r.SW() != apdu.SWFileNotFound {
		t.Errorf("select DG15 (absent): %04X, want 6A82", r.SW())
	}

	// A wrong MAC: a bare 6988, and the session is over.
	w, _ := s.Wrap(apdu.Command{INS: 0xB0, Le: 4})
	w.Data[len(w.Data)-1] ^= 1
	if r := send(t, c, w); r.SW() != apdu.SWSMObjectsIncorrect || len(r.Data) != 0 {
		t.Errorf("wrong MAC: %04X %X, want a bare 6988", r.SW(), r.Data)
	}
	w, _ = s.Wrap(apdu.Command{INS: 0xB0, Le: 4})
	if r := send(t, c, w); r.SW() != apdu.SWSecurityNotSatisfied {
		t.Errorf("after the session ended: %04X, want 6982", r.SW())
	}
}

func TestEMRTDMissingMACAnd6987(t *testing.T) {
	c, p := emrtdCard(t, "emrtd_td3.json")
	authenticate(t, c, p)
	// Protected CLA, only DO97, no DO8E.
	if r := send(t, c, apdu.Command{CLA: 0x0C, INS: 0xB0, Data: []byte{0x97, 0x01, 0x04}, Le: 0}); r.SW() != apdu.SWSMObjectsMissing {
		t.Errorf("no MAC: %04X, want 6987", r.SW())
	}
}

func TestEMRTDPlainCommandEndsSession(t *testing.T) {
	c, p := emrtdCard(t, "emrtd_vn.json")
	s := authenticate(t, c, p)
	// A strict chip: the plain SELECT inside the session is not carried
	// out, it is answered a bare 6987 and ends the session.
	if r := send(t, c, selectApp); r.SW() != apdu.SWSMObjectsMissing || len(r.Data) != 0 {
		t.Errorf("plain SELECT inside the session: %04X %X, want a bare 6987", r.SW(), r.Data)
	}
	w, _ := s.Wrap(apdu.Command{INS: 0xB0, P1: 0x81, Le: 4})
	if r := send(t, c, w); r.SW() != apdu.SWSecurityNotSatisfied {
		t.Errorf("protected command after a plain one: %04X, want 6982", r.SW())
	}
	// The session is over: the next plain SELECT is carried out.
	if r := send(t, c, selectApp); r.SW() != apdu.SWOK {
		t.Errorf("plain SELECT after the session ended: %04X, want 9000", r.SW())
	}
	// Reset (power cycle) also forgets the session; BAC works again.
	c.Reset()
	authenticate(t, c, p)
}

func TestEMRTDProfileValidation(t *testing.T) {
	good, err := LoadProfile("testdata/emrtd_vn.json")
	if err != nil {
		t.Fatal(err)
	}
	mut := func(f func(*Profile)) Profile { p := good; f(&p); return p }
	for name, tc := range map[string]struct {
		p    Profile
		want string
	}{
		"bad check digit": {mut(func(p *Profile) { p.MRZ = strings.Replace(p.MRZ, "9003071", "9003072", 1) }), "mrz"},
		"short mrz":       {mut(func(p *Profile) { p.MRZ = p.MRZ[:40] }), "mrz"},
		"unknown dg13":    {mut(func(p *Profile) { p.DG13 = json.RawMessage(`{"id_number":"1","shoe_size":"42"}`) }), "dg13"},
		"empty dg13":      {mut(func(p *Profile) { p.DG13 = json.RawMessage(`{}`) }), "dg13"},
		"dg13 not text":   {mut(func(p *Profile) { p.DG13 = json.RawMessage(`{"id_number":1}`) }), "dg13"},
	} {
		err := tc.p.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "090012345") || strings.Contains(err.Error(), "NGUYEN") {
			t.Errorf("%s: error %q repeats personal data", name, err)
		}
		if _, err := New(tc.p, Options{}); err == nil {
			t.Errorf("%s: New accepted the profile", name)
		}
	}
}

// The test CSCA is one per process, a CA, and its certificate in PEM is
// what a readers.csca_file holds.
func TestTestCSCAIsOnePerProcess(t *testing.T) {
	a, b := TestCSCA(), TestCSCA()
	if a != b || !a.Cert.IsCA || a.Cert.Subject.CommonName == "" {
		t.Fatalf("TestCSCA: %+v", a.Cert.Subject)
	}
	certs, err := emrtd.ParseCSCAs(a.CertPEM())
	if err != nil || len(certs) != 1 || !certs[0].Equal(a.Cert) {
		t.Fatalf("CertPEM does not parse back to the certificate: %v", err)
	}
	if bytes.Contains(a.CertPEM(), []byte("PRIVATE")) {
		t.Fatal("CertPEM holds a private key")
	}
	// Its key matches its certificate: a document signer it issues verifies.
	ds, _, err := newDocumentSigner(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.CheckSignatureFrom(a.Cert); err != nil {
		t.Fatalf("document signer does not chain to the test CSCA: %v", err)
	}
}

// FuzzEMRTDProcess sends the eMRTD applet arbitrary commands, plain and,
// after a real BAC, properly protected ones: it must answer each with at
// least a status word and never panic (a panic would kill `kioskd vcard`).
func FuzzEMRTDProcess(f *testing.F) {
	p, err := LoadProfile("testdata/emrtd_vn.json")
	if err != nil {
		f.Fatal(err)
	}
	c, err := New(p, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(false, []byte{0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01})
	f.Add(true, []byte{0x00, 0xB0, 0x7F, 0xFF, 0x00})
	f.Add(true, []byte{0x00, 0xB0, 0x9D, 0x00, 0x00})
	f.Add(true, []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1D})
	f.Add(false, []byte{0x0C, 0xB0, 0x00, 0x00, 0x03, 0x8E, 0x01, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, protect bool, raw []byte) {
		c.Reset()
		var s *bac.Session
		if protect {
			s = authenticate(t, c, p)
		}
		cmd, err := apdu.ParseCommand(raw)
		if err != nil {
			if r := c.Process(raw); len(r) < 2 {
				t.Fatalf("answer of %d bytes to an unparsable command", len(r))
			}
			return
		}
		if s != nil && cmd.CLA&0x0C == 0 && cmd.INS&1 == 0 {
			if cmd, err = s.Wrap(cmd); err != nil {
				return
			}
		}
		b, err := cmd.Bytes()
		if err != nil {
			return
		}
		r, err := apdu.ParseResponse(c.Process(b))
		if err != nil {
			t.Fatal(err)
		}
		if s != nil && len(r.Data) > 0 {
			if _, err := s.Unwrap(r); err != nil {
				t.Fatalf("the applet's protected answer does not unwrap: %v", err)
			}
		}
	})
}
