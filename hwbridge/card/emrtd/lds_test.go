package emrtd

import (
	"bytes"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/card/tlv"
)

func TestParseCOM(t *testing.T) {
	com := tlv.Encode(0x60, bytes.Join([][]byte{
		tlv.Encode(0x5F01, []byte("0107")), tlv.Encode(0x5F36, []byte("040000")), tlv.Encode(0x5C, []byte{0x61, 0x75, 0x6D, 0x6E, 0x99}),
	}, nil))
	got, err := parseCOM(com)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 2, 13, 14}; !equalInts(got, want) {
		t.Errorf("parseCOM = %v, want %v (unknown tag 99 skipped)", got, want)
	}
	if _, err := parseCOM(tlv.Encode(0x60, tlv.Encode(0x5F01, []byte("0107")))); err == nil {
		t.Error("EF.COM without a tag list accepted")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseDG2(t *testing.T) {
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9}
	bdb := append([]byte("FAC\x00010\x00 header bytes "), jpeg...)
	dg2 := tlv.Encode(0x75, tlv.Encode(0x7F61, append(tlv.Encode(0x02, []byte{1}), tlv.Encode(0x7F60, tlv.Encode(0x5F2E, bdb))...)))
	got, err := parseDG2(dg2)
	if err != nil || !bytes.Equal(got, jpeg) {
		t.Fatalf("parseDG2 = %X, %v; want %X", got, err, jpeg)
	}
	if _, err := parseDG2(tlv.Encode(0x75, tlv.Encode(0x7F61, tlv.Encode(0x02, []byte{0})))); err == nil {
		t.Error("DG2 without an image accepted")
	}
}

// FuzzParseLDS feeds the same bytes to every LDS file decoder: none may
// panic, whatever the chip sends.
func FuzzParseLDS(f *testing.F) {
	f.Add(tlv.Encode(0x60, tlv.Encode(0x5C, []byte{0x61, 0x6D})))
	f.Add(tlv.Encode(0x61, tlv.Encode(0x5F1F, []byte(NormalizeMRZ(specimenTD3)))))
	f.Add(tlv.Encode(0x75, tlv.Encode(0x7F61, tlv.Encode(0x7F60, tlv.Encode(0x5F2E, []byte{0xFF, 0xD8, 0xFF, 0})))))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseCOM(b)
		_, _ = parseDG1(b)
		_, _ = parseDG2(b)
		_, _ = ParseDG13(b)
	})
}
