package escpos

import (
	"testing"
	"unicode"
	"unicode/utf8"
)

// dangerous counts the commands that change what the printer does beyond
// printing text: a user string must not add or remove any of them.
func dangerous(t *testing.T, out []byte) map[Op]int {
	t.Helper()
	cmds, err := Scan(out)
	if err != nil {
		t.Fatalf("output does not scan: %v", err)
	}
	m := map[Op]int{}
	for _, c := range cmds {
		switch c.Op {
		case OpInit, OpCut, OpStatus, OpAutoStatus, OpFeed, OpQRStore, OpQRPrint, OpQRModel, OpCR, OpLF:
			m[c.Op]++
		}
	}
	return m
}

func FuzzEncodeNoCommandFromText(f *testing.F) {
	f.Add("张三", "https://x.example/v/1", uint8(0))
	f.Add("Nguyễn\x1b@Văn\x1dV\x00An\x10\x04\x01", "u\x1b@", uint8(1))
	f.Add("\x1b\x1d\x1c\x10\x7f\u0085\u009b\r\n", "\x1d(k", uint8(2))
	f.Add("Đặng Thị Ánh 王小明 \xff\xfe", "q", uint8(3))
	f.Fuzz(func(t *testing.T, s, qr string, mode uint8) {
		opt := Options{QR: QRMode(mode & 1), Viet: VietMode(mode >> 1 & 1), Paper: Paper80}
		build := func(s, qr string) Doc {
			return Doc{Lang: []string{"zh-CN", "vi", "en"}[mode%3], Blocks: []Block{
				Text{S: s}, Text{S: s, Bold: true, Size: 3, Align: Right}, QR{Data: qr}, Feed(2), Cut{},
			}}
		}
		if len(Clean(qr)) == 0 || len(Clean(qr)) > MaxQRData {
			qr = "x"
		}
		out, err := Encode(build(s, qr), opt)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		ref, err := Encode(build("x", "x"), opt)
		if err != nil {
			t.Fatal(err)
		}
		got, want := dangerous(t, out), dangerous(t, ref)
		// A long text is wrapped: one LF more per extra line, each line
		// within the paper.
		for _, cols := range []int{Paper80.Columns(), Paper80.Columns() / 3} {
			lines := Wrap(Clean(s), cols)
			want[OpLF] += len(lines) - 1
			for _, l := range lines {
				if Width(l) > cols {
					t.Fatalf("Wrap(%q, %d): line %q is %d columns", Clean(s), cols, l, Width(l))
				}
			}
		}
		for _, op := range []Op{OpInit, OpCut, OpStatus, OpAutoStatus, OpFeed, OpQRStore, OpQRPrint, OpQRModel, OpCR, OpLF} {
			if got[op] != want[op] {
				t.Fatalf("user text changed the number of %v commands: %d, want %d", op, got[op], want[op])
			}
		}
		cmds, _ := Scan(out)
		for _, c := range cmds {
			if c.Op == OpQRStore && string(c.Data) != Clean(qr) {
				t.Fatalf("QR data %q, want %q", c.Data, Clean(qr))
			}
		}
		for _, r := range Clean(s) {
			if unicode.IsControl(r) || r == utf8.RuneError {
				t.Fatalf("Clean left %U", r)
			}
		}
	})
}

func FuzzDecodeStatus(f *testing.F) {
	for _, s := range []struct {
		n int
		b byte
	}{{1, 0x12}, {2, 0x32}, {3, 0x1A}, {4, 0x7E}, {0, 0}, {9, 0x13}} {
		f.Add(s.n, s.b)
	}
	f.Fuzz(func(t *testing.T, n int, b byte) {
		s, err := DecodeStatus(n, b)
		if err != nil {
			return
		}
		_ = s.String()
		again, err := DecodeStatus(n, StatusByte(n, s))
		if err != nil || again != s {
			t.Fatalf("StatusByte(%d, %+v) does not decode back: %+v, %v", n, s, again, err)
		}
		if b == XON || b == XOFF {
			t.Fatalf("%#x decoded as a status byte", b)
		}
	})
}
