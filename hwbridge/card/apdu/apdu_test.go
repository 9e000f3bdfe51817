package apdu

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCommandBytesAndParse(t *testing.T) {
	long := bytes.Repeat([]byte{0xAB}, 300)
	tests := []struct {
		name string
		cmd  Command
		want []byte
	}{
		{"case1", Command{CLA: 0x00, INS: 0xA4, P1: 0x00, P2: 0x00, Le: -1}, []byte{0x00, 0xA4, 0x00, 0x00}},
		{"case2S", Command{CLA: 0x00, INS: 0x84, Le: 8}, []byte{0x00, 0x84, 0x00, 0x00, 0x08}},
		{"case2S le 0 means 256", Command{INS: 0xB0, Le: 0}, []byte{0x00, 0xB0, 0x00, 0x00, 0x00}},
		{"case3S select MF", Command{INS: 0xA4, Data: []byte{0x3F, 0x00}, Le: -1}, []byte{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00}},
		{"case4S", Command{INS: 0x82, Data: []byte{1, 2, 3}, Le: 0x28}, []byte{0x00, 0x82, 0x00, 0x00, 0x03, 1, 2, 3, 0x28}},
		{"case2E", Command{INS: 0xB0, Le: 1000}, []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x03, 0xE8}},
		{"case2E 65536", Command{INS: 0xB0, Le: 65536}, []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00}},
		{"case3E", Command{INS: 0xD6, Data: long, Le: -1}, append([]byte{0x00, 0xD6, 0x00, 0x00, 0x00, 0x01, 0x2C}, long...)},
		{"case4E", Command{INS: 0xD6, Data: long, Le: 512}, append(append([]byte{0x00, 0xD6, 0x00, 0x00, 0x00, 0x01, 0x2C}, long...), 0x02, 0x00)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cmd.Bytes()
			if err != nil {
				t.Fatalf("Bytes: %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("Bytes = % X, want % X", got, tt.want)
			}
			back, err := ParseCommand(got)
			if err != nil {
				t.Fatalf("ParseCommand: %v", err)
			}
			if back.CLA != tt.cmd.CLA || back.INS != tt.cmd.INS || back.P1 != tt.cmd.P1 || back.P2 != tt.cmd.P2 ||
				!bytes.Equal(back.Data, tt.cmd.Data) || back.Le != tt.cmd.Le {
				t.Fatalf("ParseCommand = %+v, want %+v", back, tt.cmd)
			}
		})
	}
}

func TestCommandBytesShort256(t *testing.T) {
	got, err := Command{INS: 0xB0, Le: 256}.Bytes()
	if err != nil || !bytes.Equal(got, []byte{0, 0xB0, 0, 0, 0}) {
		t.Fatalf("Le 256 = % X, %v; want short 00", got, err)
	}
}

func TestCommandBytesExtendedLe0(t *testing.T) {
	got, err := Command{INS: 0xD6, Data: make([]byte, 300), Le: 0}.Bytes()
	if err != nil || !bytes.Equal(got[len(got)-2:], []byte{0x01, 0x00}) {
		t.Fatalf("extended with Le 0 ends % X, %v; want Le 0100 (256), not 0000 (65536)", got[len(got)-2:], err)
	}
}

func TestCommandBytesErrors(t *testing.T) {
	for _, c := range []Command{
		{Le: -2},
		{Le: 65537},
		{Data: make([]byte, 65536), Le: -1},
	} {
		if _, err := c.Bytes(); err == nil {
			t.Errorf("Bytes(%v) succeeded, want error", c)
		}
	}
}

func TestParseCommandErrors(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{0x00, 0xA4, 0x00},
		{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F}, // Lc 2, one byte
		{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00, 1, 2}, // two extra
		{0x00, 0xA4, 0x00, 0x00, 0x00, 0x01},             // truncated extended
		{0x00, 0xA4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}, // extended Lc 0 with data
		{0x00, 0xA4, 0x00, 0x00, 0x00, 0x00, 0x05, 1, 2}, // extended Lc 5, 2 bytes
	} {
		if c, err := ParseCommand(b); err == nil {
			t.Errorf("ParseCommand(% X) = %v, want error", b, c)
		}
	}
}

func TestCommandStringHidesData(t *testing.T) {
	s := Command{INS: INSVerify, Data: []byte("123456"), Le: -1}.String()
	if strings.Contains(s, "123456") || strings.Contains(s, "31 32 33") {
		t.Fatalf("String() leaks command data: %s", s)
	}
}

func TestParseResponse(t *testing.T) {
	r, err := ParseResponse([]byte{0x01, 0x02, 0x90, 0x00})
	if err != nil || !bytes.Equal(r.Data, []byte{1, 2}) || r.SW() != SWOK || !r.OK() || r.Err() != nil {
		t.Fatalf("ParseResponse = %+v, %v", r, err)
	}
	if !bytes.Equal(r.Bytes(), []byte{0x01, 0x02, 0x90, 0x00}) {
		t.Fatalf("Bytes = % X", r.Bytes())
	}
	for _, b := range [][]byte{nil, {}, {0x90}} {
		if _, err := ParseResponse(b); err == nil {
			t.Errorf("ParseResponse(% X) succeeded, want error", b)
		}
	}
	r, _ = ParseResponse([]byte{0x6A, 0x82})
	var se *StatusError
	if err := r.Err(); !errors.As(err, &se) || se.SW != SWFileNotFound || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("Err() = %v", err)
	}
}

func TestDescribe(t *testing.T) {
	for sw, want := range map[uint16]string{
		0x9000: "success", 0x63C2: "2 tries left", 0x6983: "blocked", 0x6A82: "not found",
		0x6110: "16 more", 0x6C00: "256 bytes", 0x6D00: "instruction", 0x1234: "unknown",
	} {
		if got := Describe(sw); !strings.Contains(got, want) {
			t.Errorf("Describe(%04X) = %q, want it to contain %q", sw, got, want)
		}
	}
}

// scripted is a fake card that checks each command against a script and
// returns the scripted answer.
type scripted struct {
	t     *testing.T
	steps [][2][]byte // command, response
	n     int
	err   error
}

func (s *scripted) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.n >= len(s.steps) {
		s.t.Fatalf("unexpected command % X after the script ended", cmd)
	}
	st := s.steps[s.n]
	s.n++
	if !bytes.Equal(cmd, st[0]) {
		s.t.Fatalf("command %d = % X, want % X", s.n, cmd, st[0])
	}
	return st[1], nil
}
func (s *scripted) ATR() []byte  { return []byte{0x3B, 0x00} }
func (s *scripted) Close() error { return nil }

func TestExchangeGetResponse(t *testing.T) {
	card := &scripted{t: t, steps: [][2][]byte{
		{{0x00, 0xB2, 0x07, 0x00, 0x0B}, {0x61, 0x05}},
		{{0x00, 0xC0, 0x00, 0x00, 0x05}, {1, 2, 3, 0x61, 0x02}},
		{{0x00, 0xC0, 0x00, 0x00, 0x02}, {4, 5, 0x90, 0x00}},
	}}
	r, err := Exchange(context.Background(), card, Command{INS: INSReadRecord, P1: 0x07, Le: 11})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Data, []byte{1, 2, 3, 4, 5}) || r.SW() != SWOK {
		t.Fatalf("Exchange = % X %04X", r.Data, r.SW())
	}
	if card.n != 3 {
		t.Fatalf("used %d APDUs, want 3", card.n)
	}
}

func TestExchangeWrongLe(t *testing.T) {
	card := &scripted{t: t, steps: [][2][]byte{
		{{0x00, 0xB2, 0x07, 0x00, 0x00}, {0x6C, 0x0B}},
		{{0x00, 0xB2, 0x07, 0x00, 0x0B}, {9, 9, 0x90, 0x00}},
	}}
	r, err := Exchange(context.Background(), card, Command{INS: INSReadRecord, P1: 0x07, Le: 0})
	if err != nil || !bytes.Equal(r.Data, []byte{9, 9}) || !r.OK() {
		t.Fatalf("Exchange = %+v, %v", r, err)
	}
}

func TestExchangeWrongLeForever(t *testing.T) {
	card := &scripted{t: t, steps: [][2][]byte{
		{{0x00, 0xB0, 0x00, 0x00, 0x00}, {0x6C, 0x0B}},
		{{0x00, 0xB0, 0x00, 0x00, 0x0B}, {0x6C, 0x0C}},
		{{0x00, 0xB0, 0x00, 0x00, 0x0C}, {0x6C, 0x0D}},
	}}
	if _, err := Exchange(context.Background(), card, Command{INS: INSReadBinary, Le: 0}); err == nil {
		t.Fatal("Exchange succeeded on a card that never accepts Le")
	}
}

func TestExchangeErrors(t *testing.T) {
	short := &scripted{t: t, steps: [][2][]byte{{{0x00, 0x84, 0x00, 0x00, 0x08}, {}}}}
	if _, err := Exchange(context.Background(), short, Command{INS: INSGetChallenge, Le: 8}); err == nil || !strings.Contains(err.Error(), "no status word") {
		t.Fatalf("empty response: err = %v", err)
	}
	ioErr := errors.New("reader gone")
	broken := &scripted{t: t, err: ioErr}
	if _, err := Exchange(context.Background(), broken, Command{INS: INSGetChallenge, Le: 8}); !errors.Is(err, ioErr) {
		t.Fatalf("transport error: err = %v, want it wrapped", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	idle := &scripted{t: t}
	if _, err := Exchange(ctx, idle, Command{INS: INSGetChallenge, Le: 8}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: err = %v", err)
	}
}

func FuzzParseCommand(f *testing.F) {
	f.Add([]byte{0x00, 0xA4, 0x04, 0x00, 0x0F, 0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9, 0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF})
	f.Add([]byte{0x00, 0xB2, 0x07, 0x00, 0x0B})
	f.Add([]byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x03, 0xE8})
	f.Add([]byte{0x0C, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x02, 0x97, 0x00, 0x00, 0x00})
	f.Add([]byte{0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			return
		}
		enc, err := c.Bytes()
		if err != nil {
			t.Fatalf("parsed %v but cannot encode it: %v", c, err)
		}
		back, err := ParseCommand(enc)
		if err != nil {
			t.Fatalf("re-encoded % X does not parse: %v", enc, err)
		}
		if back.CLA != c.CLA || back.INS != c.INS || back.P1 != c.P1 || back.P2 != c.P2 || !bytes.Equal(back.Data, c.Data) {
			t.Fatalf("round trip changed %v into %v", c, back)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte{0x90, 0x00})
	f.Add([]byte{1, 2, 3, 0x61, 0x10})
	f.Add([]byte{0x63})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if (err == nil) != (len(b) >= 2) {
			t.Fatalf("ParseResponse(% X) err = %v", b, err)
		}
		if err == nil && !bytes.Equal(r.Bytes(), b) {
			t.Fatalf("round trip % X -> % X", b, r.Bytes())
		}
		_ = Describe(r.SW())
	})
}
