package emrtd_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/card/emrtd"
	"github.com/kioskd/kioskd/hwbridge/card/tlv"
	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
)

const profileDir = "../../sim/cardsim/testdata/"

func loadProfile(t testing.TB, name string) cardsim.Profile {
	t.Helper()
	p, err := cardsim.LoadProfile(profileDir + name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newCard(t testing.TB, p cardsim.Profile, opt cardsim.Options) (*cardsim.Card, hwbridge.Card) {
	t.Helper()
	c, err := cardsim.New(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	return c, cardsim.Direct(c)
}

func keyOf(t testing.TB, p cardsim.Profile) emrtd.BACKey {
	t.Helper()
	m, err := emrtd.ParseMRZ(p.MRZ)
	if err != nil {
		t.Fatal(err)
	}
	return emrtd.KeyFromMRZ(m)
}

func testCSCA() []*x509.Certificate { return []*x509.Certificate{cardsim.TestCSCA().Cert} }

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestReadVietnameseCCCD(t *testing.T) {
	p := loadProfile(t, "emrtd_vn.json")
	_, card := newCard(t, p, cardsim.Options{})
	doc, err := emrtd.Read(ctx(t), card, keyOf(t, p), emrtd.Options{CSCA: testCSCA()})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	wantMRZ, _ := emrtd.ParseMRZ(p.MRZ)
	if doc.DG1 != wantMRZ {
		t.Errorf("DG1 = %+v\nwant %+v", doc.DG1, wantMRZ)
	}
	if doc.DG1.DocumentNumber != "090012345" || doc.DG1.OptionalData1 != "001090012345" || doc.DG1.Surname != "NGUYEN" {
		t.Errorf("DG1 fields: %+v", doc.DG1)
	}
	var want emrtd.DG13
	if err := json.Unmarshal(p.DG13, &want); err != nil {
		t.Fatal(err)
	}
	if doc.DG13 == nil {
		t.Fatal("DG13 missing")
	}
	if fmt.Sprintf("%+v", *doc.DG13) != fmt.Sprintf("%+v", want) {
		t.Errorf("DG13 = %+v\nwant %+v", *doc.DG13, want)
	}
	if doc.DG13.FullName != "Nguyễn Văn An" || doc.DG13.MotherName != "Trần Thị Cúc" || doc.DG13.IDNumber != "001090012345" {
		t.Errorf("DG13 text fields: %+v", *doc.DG13)
	}
	if !doc.PA.HashesOK || !doc.PA.SignatureChecked || !strings.Contains(doc.PA.Signer, "document signer") {
		t.Errorf("PA = %+v, want hashes OK, signature checked, signer named", doc.PA)
	}
	if fmt.Sprint(doc.DataGroups) != "[1 13]" || fmt.Sprint(doc.PA.Checked) != "[1 13]" {
		t.Errorf("EF.COM lists %v, hashes checked %v, want [1 13] both", doc.DataGroups, doc.PA.Checked)
	}
	if doc.Photo != nil {
		t.Error("photo read without being asked for")
	}
}

func TestReadPassportWithPhoto(t *testing.T) {
	p := loadProfile(t, "emrtd_td3.json")
	_, card := newCard(t, p, cardsim.Options{})
	doc, err := emrtd.Read(ctx(t), card, keyOf(t, p), emrtd.Options{CSCA: testCSCA(), Photo: true})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if doc.DG1.Format != "TD3" || doc.DG1.Surname != "ERIKSSON" || doc.DG1.GivenNames != "ANNA MARIA" || doc.DG1.DocumentNumber != "L898902C3" {
		t.Errorf("DG1 = %+v", doc.DG1)
	}
	if doc.DG13 != nil {
		t.Error("DG13 on a card without one")
	}
	jpeg, _ := base64.StdEncoding.DecodeString(p.PhotoJPEGB64)
	if !bytes.Equal(doc.Photo, jpeg) {
		t.Errorf("photo = %X, want %X", doc.Photo, jpeg)
	}
	if !doc.PA.HashesOK || !doc.PA.SignatureChecked || fmt.Sprint(doc.PA.Checked) != "[1 2]" {
		t.Errorf("PA = %+v, want DG1 and DG2 checked and the signature", doc.PA)
	}
}

func TestReadWithoutCSCAChecksHashesOnly(t *testing.T) {
	p := loadProfile(t, "emrtd_vn.json")
	_, card := newCard(t, p, cardsim.Options{})
	doc, err := emrtd.Read(ctx(t), card, keyOf(t, p), emrtd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !doc.PA.HashesOK || doc.PA.SignatureChecked {
		t.Errorf("PA = %+v, want hashes checked and signature not", doc.PA)
	}
}

func TestReadOtherCSCAFailsSignature(t *testing.T) {
	other, err := cardsim.NewCSCA("another country's CSCA")
	if err != nil {
		t.Fatal(err)
	}
	p := loadProfile(t, "emrtd_vn.json")

	_, card := newCard(t, p, cardsim.Options{})
	_, err = emrtd.Read(ctx(t), card, keyOf(t, p), emrtd.Options{CSCA: []*x509.Certificate{other.Cert}})
	var pa *emrtd.PassiveAuthError
	if !errors.Is(err, emrtd.ErrPassiveAuth) || !errors.As(err, &pa) || pa.DataGroup != 0 || !strings.Contains(err.Error(), "CSCA") {
		t.Fatalf("card of the test CSCA read trusting another CSCA: %v, want a passive authentication error about the CSCA", err)
	}

	// The other way round, and both trusted: the card's own CSCA wins.
	_, card = newCard(t, p, cardsim.Options{CSCA: other})
	if _, err := emrtd.Read(ctx(t), card, keyOf(t, p), emrtd.Options{CSCA: testCSCA()}); !errors.Is(err, emrtd.ErrPassiveAuth) {
		t.Fatalf("card of another CSCA read trusting the test CSCA: %v", err)
	}
	_, card = newCard(t, p, cardsim.Options{CSCA: other})
	doc, err := emrtd.Read(ctx(t), card, keyOf(t, p), emrtd.Options{CSCA: []*x509.Certificate{cardsim.TestCSCA().Cert, other.Cert}})
	if err != nil || !doc.PA.SignatureChecked {
		t.Fatalf("card of a trusted CSCA: %v", err)
	}
}

func TestReadWrongKeyFailsBAC(t *testing.T) {
	p := loadProfile(t, "emrtd_vn.json")
	good := keyOf(t, p)
	for name, k := range map[string]emrtd.BACKey{
		"document number": {DocumentNumber: "090012346", BirthDate: good.BirthDate, ExpiryDate: good.ExpiryDate},
		"birth date":      {DocumentNumber: good.DocumentNumber, BirthDate: "900308", ExpiryDate: good.ExpiryDate},
		"expiry date":     {DocumentNumber: good.DocumentNumber, BirthDate: good.BirthDate, ExpiryDate: "310307"},
	} {
		t.Run(name, func(t *testing.T) {
			c, card := newCard(t, p, cardsim.Options{})
			_, err := emrtd.Read(ctx(t), card, k, emrtd.Options{CSCA: testCSCA()})
			if !errors.Is(err, emrtd.ErrBACFailed) {
				t.Fatalf("wrong %s: %v, want ErrBACFailed", name, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "check them and try again") {
				t.Errorf("message %q does not tell the citizen what to do", msg)
			}
			if strings.Contains(msg, k.DocumentNumber) || strings.Contains(msg, k.BirthDate) {
				t.Errorf("message %q repeats personal data", msg)
			}
			// The card is not left in a bad state: the right key reads it.
			c.Reset()
			if _, err := emrtd.Read(ctx(t), card, good, emrtd.Options{}); err != nil {
				t.Errorf("right key after a wrong one: %v", err)
			}
		})
	}
}

func TestReadRejectsMalformedKey(t *testing.T) {
	p := loadProfile(t, "emrtd_vn.json")
	c, card := newCard(t, p, cardsim.Options{})
	_, err := emrtd.Read(ctx(t), card, emrtd.BACKey{DocumentNumber: "090012345", BirthDate: "07/03/90", ExpiryDate: "300307"}, emrtd.Options{})
	if err == nil || !strings.Contains(err.Error(), "birth date") {
		t.Fatalf("malformed birth date: %v", err)
	}
	if c.Count() != 0 {
		t.Errorf("%d APDUs sent for a key that cannot be right", c.Count())
	}
}

func TestReadTamperedDG1FailsPassiveAuth(t *testing.T) {
	for _, name := range []string{"emrtd_vn.json", "emrtd_td3.json"} {
		t.Run(name, func(t *testing.T) {
			p := loadProfile(t, name)
			c, card := newCard(t, p, cardsim.Options{})
			if err := cardsim.TamperDG1(c); err != nil {
				t.Fatal(err)
			}
			_, err := emrtd.Read(ctx(t), card, keyOf(t, p), emrtd.Options{})
			var pa *emrtd.PassiveAuthError
			if !errors.Is(err, emrtd.ErrPassiveAuth) || !errors.As(err, &pa) || pa.DataGroup != 1 {
				t.Fatalf("tampered DG1: %v, want a passive authentication error for DG1", err)
			}
			if !strings.Contains(err.Error(), "DG1") {
				t.Errorf("error %q does not name DG1", err)
			}
		})
	}
}

// notEMRTD answers every command with 6A82, as a card without the
// application does.
type notEMRTD struct{}

func (notEMRTD) Transmit(context.Context, []byte) ([]byte, error) { return []byte{0x6A, 0x82}, nil }
func (notEMRTD) ATR() []byte                                      { return nil }
func (notEMRTD) Close() error                                     { return nil }

func TestReadOtherCard(t *testing.T) {
	k := emrtd.BACKey{DocumentNumber: "L898902C3", BirthDate: "740812", ExpiryDate: "120415"}
	if _, err := emrtd.Read(ctx(t), notEMRTD{}, k, emrtd.Options{}); !errors.Is(err, emrtd.ErrNotEMRTD) {
		t.Fatalf("got %v, want ErrNotEMRTD", err)
	}
}

func TestReadGivesUpWithContext(t *testing.T) {
	p := loadProfile(t, "emrtd_vn.json")
	_, card := newCard(t, p, cardsim.Options{Delay: time.Second})
	c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := emrtd.Read(c, card, keyOf(t, p), emrtd.Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow card: %v, want the context's deadline", err)
	}
}

func TestReadGarbageCard(t *testing.T) {
	p := loadProfile(t, "emrtd_vn.json")
	_, card := newCard(t, p, cardsim.Options{Garbage: true})
	for i := 0; i < 20; i++ {
		if _, err := emrtd.Read(ctx(t), card, keyOf(t, p), emrtd.Options{}); err == nil {
			t.Fatal("a card answering garbage was read")
		}
	}
}

func ExampleRead() {
	p, _ := cardsim.LoadProfile("../../sim/cardsim/testdata/emrtd_td3.json")
	c, _ := cardsim.New(p, cardsim.Options{})
	card := cardsim.Direct(c)

	m, _ := emrtd.ParseMRZ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F3204153ZE184226B<<<<<16")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	doc, err := emrtd.Read(ctx, card, emrtd.KeyFromMRZ(m), emrtd.Options{CSCA: []*x509.Certificate{cardsim.TestCSCA().Cert}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(doc.DG1.Format, doc.DG1.Issuer, doc.PA.HashesOK, doc.PA.SignatureChecked)
	// Output: TD3 UTO true true
}

func FuzzParseSOD(f *testing.F) {
	for _, name := range []string{"emrtd_vn.json", "emrtd_td3.json"} {
		p := loadProfile(f, name)
		_, card := newCard(f, p, cardsim.Options{})
		doc, err := emrtd.Read(context.Background(), card, keyOf(f, p), emrtd.Options{})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc.SOD)
		if outer, _, err := tlv.ParseOne(doc.SOD); err == nil {
			f.Add(tlv.Encode(0x77, indefinite(outer.Children)))
		}
	}
	f.Add([]byte{0x77, 0x00})
	f.Add([]byte{0x77, 0x03, 0x30, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := emrtd.ParseSOD(b)
		if err != nil {
			if !errors.Is(err, emrtd.ErrPassiveAuth) {
				t.Errorf("error %v does not match ErrPassiveAuth", err)
			}
			return
		}
		for _, n := range s.DataGroups() {
			_ = s.CheckHash(n, b)
		}
		_, _ = s.VerifySignature(testCSCA())
	})
}

// indefinite re-encodes every constructed object below the top one with
// BER indefinite lengths, as some issuers write EF.SOD.
func indefinite(ts []tlv.TLV) []byte {
	var out []byte
	for _, t := range ts {
		if t.Constructed() && len(t.Children) > 0 {
			out = append(out, tlv.TagBytes(t.Tag)...)
			out = append(out, 0x80)
			out = append(out, indefinite(t.Children)...)
			out = append(out, 0, 0)
			continue
		}
		out = append(out, t.Bytes()...)
	}
	return out
}

func TestParseSODWithBERFraming(t *testing.T) {
	p := loadProfile(t, "emrtd_vn.json")
	_, card := newCard(t, p, cardsim.Options{})
	doc, err := emrtd.Read(ctx(t), card, keyOf(t, p), emrtd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	outer, _, err := tlv.ParseOne(doc.SOD)
	if err != nil {
		t.Fatal(err)
	}
	ber := tlv.Encode(0x77, indefinite(outer.Children))
	if bytes.Equal(ber, doc.SOD) {
		t.Fatal("the BER version is the same as the DER one")
	}
	s, err := emrtd.ParseSOD(ber)
	if err != nil {
		t.Fatalf("BER-framed EF.SOD: %v", err)
	}
	if fmt.Sprint(s.DataGroups()) != "[1 13]" {
		t.Errorf("data groups %v", s.DataGroups())
	}
	if _, err := s.VerifySignature(testCSCA()); err != nil {
		t.Errorf("signature of the BER-framed EF.SOD: %v", err)
	}
}

func TestLogsCarryNoPersonalData(t *testing.T) {
	p := loadProfile(t, "emrtd_vn.json")
	_, card := newCard(t, p, cardsim.Options{})
	k := keyOf(t, p)
	doc, err := emrtd.Read(ctx(t), card, k, emrtd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("read", "doc", doc, "mrz", doc.DG1, "dg13", doc.DG13, "key", k)
	out := buf.String()
	for _, secret := range []string{k.DocumentNumber, k.BirthDate, "NGUYEN", "001090012345", "Nguyễn", doc.DG13.Residence} {
		if strings.Contains(out, secret) {
			t.Errorf("log line %q carries personal data", out)
		}
	}
	if !strings.Contains(out, "TD1") || !strings.Contains(out, "pa_hashes_ok=true") {
		t.Errorf("log line %q lacks the non-personal facts", out)
	}
}

// scripted answers each command with its function, as a chip of another
// make might.
type scripted func(cmd []byte) []byte

func (s scripted) Transmit(_ context.Context, cmd []byte) ([]byte, error) { return s(cmd), nil }
func (scripted) ATR() []byte                                              { return nil }
func (scripted) Close() error                                             { return nil }

func TestReadPACEOnlyChip(t *testing.T) {
	card := scripted(func(cmd []byte) []byte {
		if cmd[1] == 0xA4 {
			return []byte{0x90, 0x00}
		}
		return []byte{0x6D, 0x00}
	})
	k := emrtd.BACKey{DocumentNumber: "L898902C3", BirthDate: "740812", ExpiryDate: "120415"}
	_, err := emrtd.Read(ctx(t), card, k, emrtd.Options{})
	if err == nil || !strings.Contains(err.Error(), "PACE") || errors.Is(err, emrtd.ErrBACFailed) {
		t.Fatalf("chip without BAC: %v, want an error saying PACE is needed", err)
	}
}

func TestReadEmptyResponseIsAnError(t *testing.T) {
	card := scripted(func([]byte) []byte { return nil })
	k := emrtd.BACKey{DocumentNumber: "L898902C3", BirthDate: "740812", ExpiryDate: "120415"}
	if _, err := emrtd.Read(ctx(t), card, k, emrtd.Options{}); err == nil {
		t.Fatal("a card giving empty responses was read")
	}
}

// A document signer certificate Go cannot parse (here: an unknown curve,
// as with brainpool on real passports) still lets the hashes be checked;
// only the signature check fails, naming the certificate.
func TestParseSODUnreadableCertificate(t *testing.T) {
	p := loadProfile(t, "emrtd_vn.json")
	_, card := newCard(t, p, cardsim.Options{})
	doc, err := emrtd.Read(ctx(t), card, keyOf(t, p), emrtd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p256 := []byte{0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07}
	if bytes.Count(doc.SOD, p256) != 1 {
		t.Fatalf("expected one P-256 OID in EF.SOD, found %d", bytes.Count(doc.SOD, p256))
	}
	bad := bytes.Replace(doc.SOD, p256, append(p256[:9:9], 0x63), 1)
	s, err := emrtd.ParseSOD(bad)
	if err != nil {
		t.Fatalf("EF.SOD with an unreadable certificate: %v", err)
	}
	if fmt.Sprint(s.DataGroups()) != "[1 13]" {
		t.Errorf("data groups %v", s.DataGroups())
	}
	_, err = s.VerifySignature(testCSCA())
	if !errors.Is(err, emrtd.ErrPassiveAuth) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("VerifySignature = %v, want an error about the certificate", err)
	}
}

// noReset hides the card connection's Reset: a reader that cannot reset.
type noReset struct{ hwbridge.Card }

// A chip left on the reader keeps Read's secure-messaging session while it
// stays powered, and a strict chip answers the next plain SELECT 6987. Read
// ends with a reset of a card that can: after it, the chip takes a plain
// SELECT at once, and the next Read sends no more APDUs than the first.
func TestReadEndsWithReset(t *testing.T) {
	p := loadProfile(t, "emrtd_vn.json")
	c, card := newCard(t, p, cardsim.Options{})
	if _, err := emrtd.Read(ctx(t), card, keyOf(t, p), emrtd.Options{CSCA: testCSCA()}); err != nil {
		t.Fatalf("first Read: %v", err)
	}
	first := c.Count()
	rsp, err := card.Transmit(ctx(t), append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(emrtd.AID))}, emrtd.AID...))
	if err != nil || !bytes.Equal(rsp, []byte{0x90, 0x00}) {
		t.Fatalf("plain SELECT after Read = % X, %v; want 90 00 (the session ended by a reset)", rsp, err)
	}
	before := c.Count()
	if _, err := emrtd.Read(ctx(t), card, keyOf(t, p), emrtd.Options{CSCA: testCSCA()}); err != nil {
		t.Fatalf("second Read: %v", err)
	}
	if n := c.Count() - before; n != first {
		t.Errorf("second Read sent %d APDUs, the first %d", n, first)
	}
}

// A chip still in a session another read left open (a reader that cannot
// reset, another application, a crash): its 6987 to the plain SELECT closed
// the session, and Read selects once more and reads, with or without a
// reset.
func TestReadAfterSessionLeftOpen(t *testing.T) {
	p := loadProfile(t, "emrtd_vn.json")
	for name, wrap := range map[string]func(hwbridge.Card) hwbridge.Card{
		"card that resets":       func(c hwbridge.Card) hwbridge.Card { return c },
		"card that cannot reset": func(c hwbridge.Card) hwbridge.Card { return noReset{c} },
	} {
		t.Run(name, func(t *testing.T) {
			_, card := newCard(t, p, cardsim.Options{})
			// The first read through a connection without reset leaves the
			// session open.
			if _, err := emrtd.Read(ctx(t), noReset{card}, keyOf(t, p), emrtd.Options{}); err != nil {
				t.Fatalf("first Read: %v", err)
			}
			doc, err := emrtd.Read(ctx(t), wrap(card), keyOf(t, p), emrtd.Options{CSCA: testCSCA()})
			if err != nil {
				t.Fatalf("Read of a chip left in a session: %v", err)
			}
			if doc.DG1.DocumentNumber != "090012345" || !doc.PA.SignatureChecked {
				t.Errorf("Read of a chip left in a session: DG1 %+v, PA %+v", doc.DG1, doc.PA)
			}
		})
	}
}
