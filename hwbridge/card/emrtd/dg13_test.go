package emrtd

import (
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/card/tlv"
)

var sampleDG13 = &DG13{
	IDNumber: "001090012345", FullName: "Nguyễn Văn An", BirthDate: "07/03/1990", Sex: "Nam",
	Nationality: "Việt Nam", Ethnicity: "Kinh", Religion: "Không", Hometown: "Mỹ Đức, Hà Nội",
	Residence: "Hoàn Kiếm, Hà Nội", IdentifyingMarks: "Nốt ruồi", IssueDate: "15/04/2021",
	ExpiryDate: "07/03/2030", FatherName: "Nguyễn Văn Bình", MotherName: "Trần Thị Cúc",
	SpouseName: "Lê Thị Dung", OldIDNumber: "012345678", Other: map[int]string{16: "X1"},
}

func TestDG13RoundTrip(t *testing.T) {
	b := EncodeDG13(sampleDG13)
	got, err := ParseDG13(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sampleDG13) {
		t.Errorf("got %+v\nwant %+v", got, sampleDG13)
	}
	// The layout of DOMAIN.md: 6D { 30 { INTEGER 1, OID 1.0.10646.1.0.8, SET {...} } }.
	ts, err := tlv.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	seq, ok := tlv.Find(ts, 0x6D, 0x30)
	if !ok || len(seq.Children) != 3 || seq.Children[0].Tag != 0x02 || seq.Children[1].Tag != 0x06 || seq.Children[2].Tag != 0x31 {
		t.Fatalf("DG13 layout: %+v", seq)
	}
	if got := hex.EncodeToString(seq.Children[1].Value); got != "28d316010008" { // 1.0.10646.1.0.8
		t.Errorf("OID bytes %s, want 28d316010008", got)
	}
}

// TestParseDG13Variants reads layouts seen on different card batches:
// entries directly in a SEQUENCE, PrintableString values, parents as a
// nested SEQUENCE.
func TestParseDG13Variants(t *testing.T) {
	entry := func(n byte, vals ...[]byte) []byte {
		b := tlv.Encode(0x02, []byte{n})
		for _, v := range vals {
			b = append(b, v...)
		}
		return tlv.Encode(0x30, b)
	}
	utf := func(s string) []byte { return tlv.Encode(0x0C, []byte(s)) }
	prn := func(s string) []byte { return tlv.Encode(0x13, []byte(s)) }
	body := append(entry(1, prn("001090012345")), entry(2, utf("Nguyễn Văn An"))...)
	body = append(body, entry(13, tlv.Encode(0x30, append(utf("Cha"), utf("Mẹ")...)))...)
	b := tlv.Encode(0x6D, tlv.Encode(0x30, body))
	d, err := ParseDG13(b)
	if err != nil {
		t.Fatal(err)
	}
	want := &DG13{IDNumber: "001090012345", FullName: "Nguyễn Văn An", FatherName: "Cha", MotherName: "Mẹ"}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got %+v, want %+v", d, want)
	}
}

func TestParseDG13Errors(t *testing.T) {
	secret := "SECRET-NAME-\xff"
	bad := tlv.Encode(0x6D, tlv.Encode(0x30, tlv.Encode(0x30, append(tlv.Encode(0x02, []byte{2}), tlv.Encode(0x0C, []byte(secret))...))))
	for name, b := range map[string][]byte{
		"empty":       nil,
		"wrong tag":   tlv.Encode(0x61, []byte{1}),
		"no entries":  tlv.Encode(0x6D, tlv.Encode(0x30, tlv.Encode(0x02, []byte{1}))),
		"truncated":   EncodeDG13(sampleDG13)[:40],
		"bad UTF-8":   bad,
		"negative no": tlv.Encode(0x6D, tlv.Encode(0x30, append(tlv.Encode(0x02, []byte{0x80}), tlv.Encode(0x0C, []byte("x"))...))),
	} {
		_, err := ParseDG13(b)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "DG13") {
			t.Errorf("%s: error %q does not name DG13", name, err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error %q leaks the value", name, err)
		}
		if name == "truncated" && !errors.Is(err, tlv.ErrSyntax) {
			t.Errorf("truncated: %v, want tlv.ErrSyntax", err)
		}
	}
}

func FuzzParseDG13(f *testing.F) {
	f.Add(EncodeDG13(sampleDG13))
	f.Add(EncodeDG13(&DG13{IDNumber: "1"}))
	f.Add([]byte{0x6D, 0x00})
	f.Add([]byte{0x6D, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDG13(b)
		if err != nil {
			return
		}
		// What parses re-encodes and parses to the same fields.
		again, err := ParseDG13(EncodeDG13(d))
		if err != nil {
			t.Fatalf("re-encoded DG13 does not parse: %v", err)
		}
		if len(again.Entries()) != len(d.Entries()) {
			t.Errorf("re-encoding changed the entries: %v vs %v", again.Entries(), d.Entries())
		}
	})
}
