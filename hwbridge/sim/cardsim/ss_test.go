package cardsim

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadZhangsan(t *testing.T) Profile {
	t.Helper()
	p, err := LoadProfile("testdata/ss_zhangsan.json")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newSS(t *testing.T) *Card {
	t.Helper()
	c, err := New(loadZhangsan(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// script sends each command (hex) and checks the answer (hex).
func script(t *testing.T, c *Card, steps ...[2]string) {
	t.Helper()
	for i, st := range steps {
		got := c.Process(mustHex(t, st[0]))
		if want := mustHex(t, st[1]); !bytes.Equal(got, want) {
			t.Fatalf("step %d: %s -> % X, want % X", i, st[0], got, want)
		}
	}
}

const (
	selMF   = "00A4000002 3F00"
	selDDF1 = "00A404000F 7378312E73682EC9E7BBE1B1A3D5CF"
	selEF05 = "00A4020002 EF05"
	selEF06 = "00A4020002 EF06"
)

func TestSSReadAsDomainSays(t *testing.T) {
	c := newSS(t)
	script(t, c,
		[2]string{selMF, "6106"},
		[2]string{selDDF1, "6113"},
		[2]string{"00C0000013", "6F11 840F 7378312E73682EC9E7BBE1B1A3D5CF 9000"},
		[2]string{"00C0000013", "6985"}, // nothing pending any more
		[2]string{selEF05, "9000"},
		[2]string{"00B2070000", "6C0B"}, // T=0: Le 00 gets the right Le back
		[2]string{"00B207000B", "0709 413132333435363738 9000"},
		[2]string{"00B2020003", "0201 33 9000"},
		[2]string{"00B2030006", "0304 332E3030 9000"},
		[2]string{"00B204000E", "040C 110000FFFFFFFFFFFFFFFFFF 9000"},
		[2]string{"00B2050006", "0504 20200101 9000"},
		[2]string{"00B2060006", "0604 20300101 9000"},
		[2]string{"00B2080000", "6A83"}, // tag 08 lives in EF06
		[2]string{selEF06, "9000"},
		[2]string{"00B2080014", "0812 313130313031313939303033303731323333 9000"},
		[2]string{"00B2090020", "091E D5C5C8FD" + strings.Repeat("00", 26) + " 9000"},
		[2]string{"00B20A0003", "0A01 31 9000"},
		[2]string{"00B20B0003", "0B01 01 9000"},
		[2]string{"00B20C0005", "0C03 110101 9000"},
		[2]string{"00B20D0006", "0D04 19900307 9000"},
	)
}

func TestSSSelectVariants(t *testing.T) {
	c := newSS(t)
	script(t, c,
		[2]string{selEF05, "6A82"}, // no EF05 under the MF
		[2]string{"00B2070000", "6986"},
		[2]string{"00A404000F 7378312E73682EC9E7BBE1B1A3D5D0", "6A82"},
		[2]string{"00A4040C0F 7378312E73682EC9E7BBE1B1A3D5CF", "9000"},
		[2]string{"00A404000F 7378312E73682EC9E7BBE1B1A3D5CF 00", "6F11 840F 7378312E73682EC9E7BBE1B1A3D5CF 9000"},
		[2]string{"00A4000002 EF06", "9000"},
		[2]string{"00A4020002 EF07", "6A82"},
		[2]string{"00A4050002 3F00", "6A86"},
		[2]string{"00A4020001 EF", "6A80"},
		[2]string{"00CA000000", "6D00"},
		[2]string{"80B2080014", "6E00"},
		[2]string{"00B2080114", "6A86"},
		[2]string{"00B2010414", "0812 313130313031313939303033303731323333 9000"}, // by number: EF06 record 1 is tag 08
		[2]string{"00B2060406", "0D04 19900307 9000"},
		[2]string{"00B2070400", "6A83"},
		[2]string{"00B2000400", "6A83"},
	)
}

func TestSSVerifyCountsDownAndBlocks(t *testing.T) {
	c := newSS(t)
	script(t, c,
		[2]string{selMF, "6106"},
		[2]string{"0020000000", "63C3"}, // tries left, no PIN sent
		[2]string{"0020000003 123456", "9000"},
		[2]string{"0020000000", "9000"}, // verified
		[2]string{"0020000003 123457", "63C2"},
		[2]string{"0020000003 123456", "9000"}, // right PIN resets the counter
		[2]string{"0020000003 654321", "63C2"},
		[2]string{"0020000002 1234", "63C1"},
	)
	c.Reset() // power cycle: the counter stays
	script(t, c,
		[2]string{"0020000000", "63C1"},
		[2]string{"0020000006 313233343536", "63C0"}, // ASCII is not how this card takes the PIN
		[2]string{"0020000003 123456", "6983"},       // blocked: even the right PIN is refused
		[2]string{"0020000000", "6983"},
	)
	c.Reset()
	script(t, c, [2]string{"0020000003 123456", "6983"})
}

func TestSSProfileValidation(t *testing.T) {
	good := loadZhangsan(t)
	tests := []struct {
		field string
		mut   func(p *Profile)
	}{
		{"card_number", func(p *Profile) { p.CardNumber = "A1234567890" }},
		{"ssn", func(p *Profile) { p.SSN = "11010119900307123" }},
		{"ssn", func(p *Profile) { p.SSN = "1101011990030712Y3" }},
		{"name", func(p *Profile) { p.Name = "" }},
		{"name", func(p *Profile) { p.Name = strings.Repeat("张", 16) }},
		{"name", func(p *Profile) { p.Name = "😀" }},
		{"gender", func(p *Profile) { p.Gender = "M" }},
		{"nationality", func(p *Profile) { p.Nationality = "China" }},
		{"birth_date", func(p *Profile) { p.BirthDate = "1990-03-07" }},
		{"issue_date", func(p *Profile) { p.IssueDate = "20201301" }},
		{"expiry_date", func(p *Profile) { p.ExpiryDate = "" }},
		{"issuer_code", func(p *Profile) { p.IssuerCode = "11000G" }},
		{"issuer_code", func(p *Profile) { p.IssuerCode = "4401a" }},
		{"issuer_code", func(p *Profile) { p.IssuerCode = "1100F" }},
		{"name", func(p *Profile) { p.Name = "张三 " }},
		{"name", func(p *Profile) { p.Name = "张\x01三" }},
		{"spec_version", func(p *Profile) { p.SpecVersion = "3.0\x00" }},
		{"card_type", func(p *Profile) { p.CardType = "33" }},
		{"spec_version", func(p *Profile) { p.SpecVersion = "3.0" }},
		{"pin", func(p *Profile) { p.PIN = "12a456" }},
		{"pin", func(p *Profile) { p.PIN = "123" }},
	}
	for _, tt := range tests {
		p := good
		tt.mut(&p)
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), "field "+tt.field) {
			t.Errorf("%s: Validate = %v, want it to name the field", tt.field, err)
			continue
		}
		if _, err := New(p, Options{}); err == nil {
			t.Errorf("%s: New accepted a bad profile", tt.field)
		}
	}
	// Every problem at once.
	p := good
	p.Gender, p.PIN = "x", "x"
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "gender") || !strings.Contains(err.Error(), "pin") {
		t.Errorf("two bad fields: %v", err)
	}
	// Values never appear in errors: profiles carry personal data.
	p = good
	p.SSN = "1101011990030712Z4"
	if err := p.Validate(); err == nil || strings.Contains(err.Error(), p.SSN) {
		t.Errorf("Validate error leaks the value: %v", err)
	}
}

func TestProfileStringHidesPersonalData(t *testing.T) {
	p := loadZhangsan(t)
	s := fmt.Sprintf("%v %+v", p, p)
	for _, secret := range []string{p.PIN, p.SSN, p.Name, p.CardNumber} {
		if strings.Contains(s, secret) {
			t.Fatalf("%s shows %q", s, secret)
		}
	}
}

// FuzzSSProcess sends arbitrary APDUs, after a valid opening, to the social
// security card: it must always answer with at least a status word, and a
// wrong PIN must never unblock it.
func FuzzSSProcess(f *testing.F) {
	for _, s := range []string{selMF, selDDF1, selEF05, "00B207000B", "0020000003123456", "00C0000013", "00B2010414", "0020000000"} {
		b, _ := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		f.Add(b, b)
	}
	p, err := LoadProfile("testdata/ss_zhangsan.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		c, err := New(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, cmd := range [][]byte{a, b, a} {
			if resp := c.Process(cmd); len(resp) < 2 {
				t.Fatalf("Process(% X) = % X: no status word", cmd, resp)
			}
		}
	})
}
