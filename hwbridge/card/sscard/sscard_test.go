package sscard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/card/apdu"
	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
)

const profilePath = "../../sim/cardsim/testdata/ss_zhangsan.json"

func loadProfile(t testing.TB) cardsim.Profile {
	t.Helper()
	p, err := cardsim.LoadProfile(profilePath)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newCard(t testing.TB, p cardsim.Profile) *cardsim.Card {
	t.Helper()
	c, err := cardsim.New(p, cardsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantHolder(p cardsim.Profile) Holder {
	return Holder{
		CardNumber: p.CardNumber, SSN: p.SSN, Name: p.Name, Gender: p.Gender,
		BirthDate: p.BirthDate, IssueDate: p.IssueDate, ExpiryDate: p.ExpiryDate,
		IssuerCode: p.IssuerCode, CardType: p.CardType, SpecVersion: p.SpecVersion,
		// Nationality is not on EF05/EF06: Read leaves it empty.
	}
}

func TestReadEveryField(t *testing.T) {
	p := loadProfile(t)
	card := newCard(t, p)
	h, err := Read(context.Background(), cardsim.Direct(card))
	if err != nil {
		t.Fatal(err)
	}
	if want := wantHolder(p); h != want {
		t.Fatalf("Read = %#v\nwant   %#v", h, want)
	}
	if card.Count() != 14 {
		t.Fatalf("Read used %d APDUs, the layout needs 14", card.Count())
	}
}

func TestReadEveryTestdataProfile(t *testing.T) {
	paths, err := filepath.Glob("../../sim/cardsim/testdata/ss_*.json")
	if err != nil || len(paths) < 2 {
		t.Fatalf("ss test profiles: %v %v", paths, err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			p, err := cardsim.LoadProfile(path)
			if err != nil {
				t.Fatal(err)
			}
			card := cardsim.Direct(newCard(t, p))
			h, err := Read(context.Background(), card)
			if err != nil {
				t.Fatal(err)
			}
			if want := wantHolder(p); h != want {
				t.Fatalf("Read = %#v\nwant   %#v", h, want)
			}
			if err := VerifyPIN(context.Background(), card, p.PIN); err != nil {
				t.Fatalf("the profile's PIN: %v", err)
			}
		})
	}
}

func TestReadOtherProfiles(t *testing.T) {
	p := loadProfile(t)
	p.Name = "欧阳娜娜"
	p.Gender = "2"
	p.CardNumber = "B987"
	p.IssuerCode = "4401A"
	p.SSN = "44010619801231005X"
	p.BirthDate = "19801231"
	if !ValidIDNumber(p.SSN) {
		t.Fatal("test ID number is not valid")
	}
	h, err := Read(context.Background(), cardsim.Direct(newCard(t, p)))
	if err != nil {
		t.Fatal(err)
	}
	if want := wantHolder(p); h != want {
		t.Fatalf("Read = %#v\nwant   %#v", h, want)
	}
}

func TestReadBadCheckCharacter(t *testing.T) {
	p := loadProfile(t)
	p.SSN = "110101199003071234" // DESIGN.md's example: its check character would be 3
	_, err := Read(context.Background(), cardsim.Direct(newCard(t, p)))
	var fe *FieldError
	if !errors.Is(err, ErrIDNumberCheck) || !errors.As(err, &fe) || fe.Tag != 0x08 {
		t.Fatalf("Read = %v, want ErrIDNumberCheck in a FieldError for record 08", err)
	}
	if strings.Contains(err.Error(), p.SSN) {
		t.Fatalf("error leaks the ID number: %v", err)
	}
}

func TestVerifyPIN(t *testing.T) {
	p := loadProfile(t)
	card := cardsim.Direct(newCard(t, p))
	ctx := context.Background()
	if err := VerifyPIN(ctx, card, p.PIN); err != nil {
		t.Fatalf("right PIN: %v", err)
	}
	for _, want := range []int{2, 1} {
		err := VerifyPIN(ctx, card, "000000")
		var w *WrongPIN
		if !errors.As(err, &w) || w.TriesLeft != want {
			t.Fatalf("wrong PIN: %v, want %d tries left", err, want)
		}
		if n, err := TriesLeft(ctx, card); err != nil || n != want {
			t.Fatalf("TriesLeft = %d, %v; want %d", n, err, want)
		}
	}
	if err := VerifyPIN(ctx, card, "000000"); !errors.Is(err, ErrPINBlocked) {
		t.Fatalf("third wrong PIN: %v, want ErrPINBlocked", err)
	}
	if err := VerifyPIN(ctx, card, p.PIN); !errors.Is(err, ErrPINBlocked) {
		t.Fatalf("right PIN after blocking: %v, want ErrPINBlocked", err)
	}
	if _, err := TriesLeft(ctx, card); !errors.Is(err, ErrPINBlocked) {
		t.Fatalf("TriesLeft on a blocked card: %v", err)
	}
}

func TestVerifyPINResetsCounterAndKeepsItAcrossPowerCycles(t *testing.T) {
	p := loadProfile(t)
	sim := newCard(t, p)
	card := cardsim.Direct(sim)
	ctx := context.Background()
	var w *WrongPIN
	if err := VerifyPIN(ctx, card, "999999"); !errors.As(err, &w) || w.TriesLeft != 2 {
		t.Fatalf("wrong PIN: %v", err)
	}
	sim.Reset()
	if err := VerifyPIN(ctx, card, "9999"); !errors.As(err, &w) || w.TriesLeft != 1 {
		t.Fatalf("wrong PIN after a power cycle: %v, want 1 try left", err)
	}
	if err := VerifyPIN(ctx, card, p.PIN); err != nil {
		t.Fatalf("right PIN: %v", err)
	}
	if n, err := TriesLeft(ctx, card); err != nil || n != -1 {
		t.Fatalf("TriesLeft after verifying = %d, %v", n, err)
	}
	sim.Reset()
	if n, err := TriesLeft(ctx, card); err != nil || n != 3 {
		t.Fatalf("TriesLeft after the right PIN and a power cycle = %d, %v; want 3", n, err)
	}
}

func TestVerifyPINNeverLeaksPIN(t *testing.T) {
	card := cardsim.Direct(newCard(t, loadProfile(t)))
	for _, pin := range []string{"12a4x6", "77", "9876543210987", "987654"} {
		err := VerifyPIN(context.Background(), card, pin)
		if err == nil {
			t.Fatalf("PIN %q accepted", pin)
		}
		if strings.Contains(err.Error(), pin) {
			t.Fatalf("error leaks the PIN: %v", err)
		}
	}
}

func TestPinBCD(t *testing.T) {
	for pin, want := range map[string][]byte{"123456": {0x12, 0x34, 0x56}, "12345": {0x12, 0x34, 0x5F}, "0000": {0, 0}} {
		got, err := pinBCD(pin)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("pinBCD(%s) = % X, %v; want % X", pin, got, err, want)
		}
	}
}

// t0Card sits between the driver and a simulated card and makes READ RECORD
// behave like a fussier T=0 card: the first try of each record gets 6CXX
// (the command is passed on with Le 00, which the card answers so), and the
// data then comes as 61XX, to be fetched with GET RESPONSE.
type t0Card struct {
	hwbridge.Card
	asked   map[byte]bool
	pending []byte
	n       int
}

func (c *t0Card) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c.n++
	if len(cmd) == 5 && cmd[1] == apdu.INSGetResponse && c.pending != nil {
		out := append(c.pending, 0x90, 0x00)
		c.pending = nil
		if int(cmd[4]) != len(out)-2 {
			return []byte{0x67, 0x00}, nil
		}
		return out, nil
	}
	if len(cmd) == 5 && cmd[1] == apdu.INSReadRecord {
		if !c.asked[cmd[2]] {
			c.asked[cmd[2]] = true
			return c.Card.Transmit(ctx, []byte{cmd[0], cmd[1], cmd[2], cmd[3], 0x00})
		}
		resp, err := c.Card.Transmit(ctx, cmd)
		if err != nil || len(resp) <= 2 {
			return resp, err
		}
		c.pending = resp[:len(resp)-2]
		return []byte{0x61, byte(len(c.pending))}, nil
	}
	return c.Card.Transmit(ctx, cmd)
}

func TestReadThroughGetResponseAndWrongLe(t *testing.T) {
	p := loadProfile(t)
	card := &t0Card{Card: cardsim.Direct(newCard(t, p)), asked: map[byte]bool{}}
	h, err := Read(context.Background(), card)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantHolder(p); h != want {
		t.Fatalf("Read = %#v\nwant   %#v", h, want)
	}
	if card.n != 14+2*10 { // each of the 10 records: 6CXX retry and GET RESPONSE
		t.Fatalf("%d APDUs, want 34", card.n)
	}
}

// fakeCard answers by a function of the command.
type fakeCard struct {
	answer func(cmd []byte) ([]byte, error)
}

func (f fakeCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) { return f.answer(cmd) }
func (f fakeCard) ATR() []byte                                              { return nil }
func (f fakeCard) Close() error                                             { return nil }

func TestReadShortResponse(t *testing.T) {
	sim := cardsim.Direct(newCard(t, loadProfile(t)))
	n := 0
	card := fakeCard{func(cmd []byte) ([]byte, error) {
		n++
		if n == 6 { // a dying card: empty answer, no error
			return nil, nil
		}
		return sim.Transmit(context.Background(), cmd)
	}}
	if _, err := Read(context.Background(), card); err == nil || !strings.Contains(err.Error(), "no status word") {
		t.Fatalf("Read with an empty answer: %v", err)
	}
}

func TestReadNotSSCard(t *testing.T) {
	card := fakeCard{func(cmd []byte) ([]byte, error) {
		if cmd[2] == 0x04 {
			return []byte{0x6A, 0x82}, nil
		}
		return []byte{0x90, 0x00}, nil
	}}
	if _, err := Read(context.Background(), card); !errors.Is(err, ErrNotSSCard) {
		t.Fatalf("Read of another card: %v", err)
	}
}

func TestReadContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Read(ctx, cardsim.Direct(newCard(t, loadProfile(t)))); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with a cancelled context: %v", err)
	}
}

// corrupt answers READ RECORD <tag> with the simulated card's record passed
// through f.
func corrupt(t *testing.T, tag byte, f func(rec []byte) []byte) hwbridge.Card {
	sim := cardsim.Direct(newCard(t, loadProfile(t)))
	return fakeCard{func(cmd []byte) ([]byte, error) {
		resp, err := sim.Transmit(context.Background(), cmd)
		if err != nil || cmd[1] != apdu.INSReadRecord || cmd[2] != tag || len(resp) < 2 {
			return resp, err
		}
		return append(f(resp[:len(resp)-2]), 0x90, 0x00), nil
	}}
}

func TestReadCorruptedRecords(t *testing.T) {
	tests := []struct {
		name string
		tag  byte
		f    func([]byte) []byte
		want string
	}{
		{"truncated", 0x07, func(r []byte) []byte { return r[:5] }, "record"},
		{"empty", 0x02, func(r []byte) []byte { return nil }, "record 02"},
		{"wrong tag", 0x05, func(r []byte) []byte { r[0] = 0x01; return r }, "record 05"},
		{"date not BCD", 0x05, func(r []byte) []byte { r[3] = 0xAB; return r }, "issue date"},
		{"date not a date", 0x06, func(r []byte) []byte { r[4] = 0x13; return r }, "expiry date"},
		{"birth date", 0x0D, func(r []byte) []byte { r[2] = 0xFF; return r }, "birth date"},
		{"name bad GBK", 0x09, func(r []byte) []byte { r[2], r[3] = 0x81, 0x20; return r }, "name"},
		{"name empty", 0x09, func(r []byte) []byte { return append(r[:2], make([]byte, 30)...) }, "name"},
		{"gender", 0x0A, func(r []byte) []byte { r[2] = 'M'; return r }, "gender"},
		{"ssn letters", 0x08, func(r []byte) []byte { r[5] = 'A'; return r }, "ssn"},
		{"card number control", 0x07, func(r []byte) []byte { r[3] = 0x01; return r }, "card number"},
		{"issuer all padding", 0x04, func(r []byte) []byte {
			for i := 2; i < len(r); i++ {
				r[i] = 0xFF
			}
			return r
		}, "issuer code"},
		{"length lies", 0x03, func(r []byte) []byte { r[1] = 0x7F; return r }, "record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(context.Background(), corrupt(t, tt.tag, tt.f))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestValidIDNumber(t *testing.T) {
	for id, want := range map[string]bool{
		"110101199003071233": true,
		"110101199003071234": false, // DESIGN.md's example profile
		"44010619801231005X": true,
		"44010619801231005x": false,
		"4401061980123100":   false,
		"11010119900307123A": false,
		"":                   false,
		"11010119900307123３": false,
	} {
		if got := ValidIDNumber(id); got != want {
			t.Errorf("ValidIDNumber(%q) = %v, want %v", id, got, want)
		}
	}
}

func ef05Sample(t testing.TB) []byte {
	t.Helper()
	return []byte("\x02\x013" + "\x03\x043.00" + "\x04\x0c\x11\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
		"\x05\x04\x20\x20\x01\x01" + "\x06\x04\x20\x30\x01\x01" + "\x07\x09A12345678")
}

func ef06Sample(t testing.TB) []byte {
	t.Helper()
	name := append([]byte{0xD5, 0xC5, 0xC8, 0xFD}, make([]byte, 26)...)
	b := []byte("\x08\x12110101199003071233" + "\x09\x1e")
	b = append(b, name...)
	return append(b, []byte("\x0a\x011"+"\x0d\x04\x19\x90\x03\x07")...)
}

func TestDecodeSamples(t *testing.T) {
	var h Holder
	if err := decodeEF05(ef05Sample(t), &h); err != nil {
		t.Fatal(err)
	}
	if err := decodeEF06(ef06Sample(t), &h); err != nil {
		t.Fatal(err)
	}
	want := Holder{CardNumber: "A12345678", SSN: "110101199003071233", Name: "张三", Gender: "1", BirthDate: "19900307",
		IssueDate: "20200101", ExpiryDate: "20300101", IssuerCode: "110000", CardType: "3", SpecVersion: "3.00"}
	if h != want {
		t.Fatalf("decoded %#v\nwant    %#v", h, want)
	}
}

func FuzzDecodeEF05(f *testing.F) {
	f.Add(ef05Sample(f))
	f.Add([]byte{0x02, 0x01})
	f.Add([]byte{0x05, 0x04, 0x99, 0x99, 0x99, 0x99})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Holder
		if err := decodeEF05(b, &h); err != nil {
			if h != (Holder{}) {
				t.Fatalf("decodeEF05 failed (%v) but filled %+v", err, h)
			}
			return
		}
		if len(h.IssueDate) != 8 || len(h.ExpiryDate) != 8 || h.CardNumber == "" || h.IssuerCode == "" {
			t.Fatalf("decodeEF05 accepted incomplete data: %+v", h)
		}
	})
}

func FuzzDecodeEF06(f *testing.F) {
	f.Add(ef06Sample(f))
	f.Add([]byte{0x09, 0x02, 0x81, 0x20})
	f.Add([]byte{0x08, 0x12})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Holder
		if err := decodeEF06(b, &h); err != nil {
			if h != (Holder{}) {
				t.Fatalf("decodeEF06 failed (%v) but filled %+v", err, h)
			}
			return
		}
		if !ValidIDNumber(h.SSN) || h.Name == "" || len(h.BirthDate) != 8 {
			t.Fatalf("decodeEF06 accepted bad data: %+v", h)
		}
	})
}

func TestHolderStringMasks(t *testing.T) {
	h := wantHolder(loadProfile(t))
	s := h.String()
	for _, secret := range []string{h.SSN, h.CardNumber, h.Name, h.SSN[:14]} {
		if strings.Contains(s, secret) {
			t.Fatalf("String() = %s shows %q", s, secret)
		}
	}
	if !strings.Contains(s, "5678") || !strings.Contains(s, "张*") {
		t.Fatalf("String() = %s, want the masked forms", s)
	}
	if got := fmt.Sprintf("%+v", h); got != s {
		t.Fatalf("%%+v = %s, want the masked String()", got)
	}
}

// FuzzProfileRoundTrip: whatever valid profile the simulator accepts, Read
// gives back field for field (the simulator and the reader implement
// DOMAIN.md's layout independently).
func FuzzProfileRoundTrip(f *testing.F) {
	f.Add("张三", "A12345678", "110000", "3.00", "3", "123456", "1")
	f.Add("欧阳娜娜", "B9", "4401A", "2.01", "A", "8642", "2")
	f.Add("Nguyễn", "1", "0", "abcd", "0", "0000", "1")
	base := loadProfile(f)
	f.Fuzz(func(t *testing.T, name, number, issuer, spec, typ, pin, gender string) {
		p := base
		p.Name, p.CardNumber, p.IssuerCode, p.SpecVersion, p.CardType, p.PIN, p.Gender = name, number, issuer, spec, typ, pin, gender
		sim, err := cardsim.New(p, cardsim.Options{})
		if err != nil {
			return // not a profile the card can hold
		}
		card := cardsim.Direct(sim)
		h, err := Read(context.Background(), card)
		if err != nil {
			t.Fatalf("Read of a valid profile: %v", err)
		}
		if want := wantHolder(p); h != want {
			t.Fatalf("Read = %#v\nwant   %#v", h, want)
		}
		if err := VerifyPIN(context.Background(), card, p.PIN); err != nil {
			t.Fatalf("VerifyPIN with the profile's PIN: %v", err)
		}
	})
}

func TestReadMisbehavingCards(t *testing.T) {
	p := loadProfile(t)
	garbage, err := cardsim.New(p, cardsim.Options{Garbage: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 { // random answers: always an error, never a panic or a half-read holder
		if h, err := Read(context.Background(), cardsim.Direct(garbage)); err == nil || h != (Holder{}) {
			t.Fatalf("Read of a garbage card = %#v, %v", h, err)
		}
	}
	slow, err := cardsim.New(p, cardsim.Options{Delay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Read(ctx, cardsim.Direct(slow)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read of a stuck card: %v, want the deadline", err)
	}
	if err := VerifyPIN(ctx, cardsim.Direct(slow), p.PIN); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("VerifyPIN on a stuck card: %v, want the deadline", err)
	}
}
