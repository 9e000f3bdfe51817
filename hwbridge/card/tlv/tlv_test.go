package tlv

import (
	"bytes"
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	// DG1-like: 61 { 5F1F <mrz> }, followed by a primitive object.
	mrz := bytes.Repeat([]byte{'<'}, 90)
	dg1 := Encode(0x61, Encode(0x5F1F, mrz))
	in := append(dg1, 0x02, 0x01, 0x07)
	ts, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Tag != 0x61 || !ts[0].Constructed() || ts[1].Tag != 0x02 || !bytes.Equal(ts[1].Value, []byte{7}) {
		t.Fatalf("Parse = %+v", ts)
	}
	got, ok := Find(ts, 0x61, 0x5F1F)
	if !ok || !bytes.Equal(got.Value, mrz) {
		t.Fatalf("Find(61, 5F1F) = %v, %v", got, ok)
	}
	if _, ok := Find(ts, 0x61, 0x5F2E); ok {
		t.Fatal("Find found a tag that is not there")
	}
	if got, ok := ts[0].Find(0x5F1F); !ok || len(got.Value) != 90 {
		t.Fatal("TLV.Find did not find the child")
	}
	if !bytes.Equal(ts[0].Bytes(), dg1) {
		t.Fatal("Bytes did not re-encode the object")
	}
}

func TestEncodeLengths(t *testing.T) {
	tests := []struct {
		tag  uint32
		n    int
		head []byte
	}{
		{0x01, 0, []byte{0x01, 0x00}},
		{0x87, 0x7F, []byte{0x87, 0x7F}},
		{0x87, 0x80, []byte{0x87, 0x81, 0x80}},
		{0x5F1F, 0xFF, []byte{0x5F, 0x1F, 0x81, 0xFF}},
		{0x7F61, 0x100, []byte{0x7F, 0x61, 0x82, 0x01, 0x00}},
		{0x5F2E, 0x10000, []byte{0x5F, 0x2E, 0x83, 0x01, 0x00, 0x00}},
		{0x9F8101, 3, []byte{0x9F, 0x81, 0x01, 0x03}},
	}
	for _, tt := range tests {
		enc := Encode(tt.tag, make([]byte, tt.n))
		if !bytes.HasPrefix(enc, tt.head) || len(enc) != len(tt.head)+tt.n {
			t.Errorf("Encode(%X, %d bytes) head = % X, want % X", tt.tag, tt.n, enc[:min(len(enc), 6)], tt.head)
			continue
		}
		tag, n, hl, err := ParseHeader(enc)
		if err != nil || tag != tt.tag || n != tt.n || hl != len(tt.head) {
			t.Errorf("ParseHeader(Encode(%X)) = %X %d %d %v", tt.tag, tag, n, hl, err)
		}
		ts, err := Parse(enc)
		if err != nil || len(ts) != 1 || ts[0].Tag != tt.tag || len(ts[0].Value) != tt.n {
			t.Errorf("Parse(Encode(%X)) = %v, %v", tt.tag, ts, err)
		}
	}
}

func TestParseHeaderNeedsNoValue(t *testing.T) {
	// The first 4 bytes of a 1000-byte EF.SOD: enough to learn its size.
	tag, n, hl, err := ParseHeader([]byte{0x77, 0x82, 0x03, 0xE8})
	if err != nil || tag != 0x77 || n != 1000 || hl != 4 {
		t.Fatalf("ParseHeader = %X %d %d %v", tag, n, hl, err)
	}
}

func TestParseOne(t *testing.T) {
	in := append(Encode(0x6D, Encode(0x30, []byte{2, 1, 1})), 0xAA, 0xBB)
	one, rest, err := ParseOne(in)
	if err != nil || one.Tag != 0x6D || len(one.Children) != 1 || one.Children[0].Tag != 0x30 || !bytes.Equal(rest, []byte{0xAA, 0xBB}) {
		t.Fatalf("ParseOne = %+v % X %v", one, rest, err)
	}
}

func TestParseErrors(t *testing.T) {
	for name, b := range map[string][]byte{
		"missing length":      {0x5F},
		"tag truncated":       {0x5F, 0x81},
		"tag too long":        {0x5F, 0x81, 0x81, 0x81, 0x01, 0x00},
		"indefinite length":   {0x30, 0x80, 0x00, 0x00},
		"length truncated":    {0x04, 0x82, 0x01},
		"length field 5":      {0x04, 0x85, 0, 0, 0, 0, 1},
		"value short":         {0x04, 0x05, 1, 2},
		"bad child":           {0x30, 0x03, 0x04, 0x05, 0x01},
		"trailing tag byte":   {0x04, 0x00, 0x05},
		"huge length":         {0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF},
		"deep nesting broken": append(bytes.Repeat([]byte{0x30, 0x02}, 3), 0x04),
	} {
		if ts, err := Parse(b); err == nil {
			t.Errorf("%s: Parse(% X) = %v, want error", name, b, ts)
		} else if !errors.Is(err, ErrSyntax) {
			t.Errorf("%s: error %v does not wrap ErrSyntax", name, err)
		}
	}
}

func TestParseDepthLimit(t *testing.T) {
	v := []byte{}
	for range maxDepth + 5 {
		v = Encode(0x30, v)
	}
	if _, err := Parse(v); !errors.Is(err, ErrSyntax) {
		t.Fatalf("deep nesting: err = %v", err)
	}
}

func TestTagBytesAndConstructed(t *testing.T) {
	if !bytes.Equal(TagBytes(0), []byte{0}) || !bytes.Equal(TagBytes(0x7F61), []byte{0x7F, 0x61}) {
		t.Fatal("TagBytes")
	}
	if !IsConstructed(0x7F61) || !IsConstructed(0x30) || IsConstructed(0x5F1F) || IsConstructed(0x87) {
		t.Fatal("IsConstructed")
	}
}

func FuzzParseTLV(f *testing.F) {
	f.Add(Encode(0x61, Encode(0x5F1F, []byte("IDVNM0123456789<<<<"))))
	f.Add(Encode(0x77, Encode(0x30, Encode(0x02, []byte{1}))))
	f.Add([]byte{0x87, 0x81, 0x80})
	f.Add([]byte{0x5F, 0x81, 0x81})
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		// Every object's value must lie within the input, and the objects
		// must account for the input's length.
		total := 0
		for _, x := range ts {
			total += len(x.Bytes())
			if len(x.Value) > len(b) {
				t.Fatalf("value longer than input")
			}
		}
		if total > len(b) {
			t.Fatalf("objects re-encode to %d bytes from %d input bytes", total, len(b))
		}
	})
}
