package voucher

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		terminal int
		seq      uint64
		want     string
	}{
		{1234, 42, "012340000427"},
		{0, 0, "000000000000"},
		{99999, 999999, "99999999999" + string(CheckDigit("99999999999"))},
		{1, 1234567, "000011234567" + string(CheckDigit("000011234567"))},
		{100001, 5, New(1, 5)},
		{-1, 5, New(99999, 5)},
		{math.MinInt, 5, New(int(int64(math.MinInt)%100000+100000), 5)},
		{7, math.MaxUint64, "00007" + "18446744073709551615" + string(CheckDigit("0000718446744073709551615"))},
	}
	for _, tt := range tests {
		got := New(tt.terminal, tt.seq)
		if got != tt.want {
			t.Errorf("New(%d, %d) = %q, want %q", tt.terminal, tt.seq, got, tt.want)
		}
		if !Valid(got) {
			t.Errorf("Valid(New(%d, %d)) = false", tt.terminal, tt.seq)
		}
	}
}

func TestCheckDigitKnownValue(t *testing.T) {
	// The worked example of the Damm algorithm: 572 gets check digit 4.
	if got := CheckDigit("572"); got != '4' {
		t.Errorf("CheckDigit(572) = %q, want '4'", got)
	}
	if !Valid("01234-000042-7") {
		t.Error("Valid(01234-000042-7) = false")
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr error
	}{
		{"012340000427", "012340000427", nil},
		{"01234-000042-7", "012340000427", nil},
		{" 01234 000042 7 ", "012340000427", nil},
		{"01234\u3000000042\u30007", "012340000427", nil},
		{"", "", ErrEmpty},
		{" - ", "", ErrEmpty},
		{"01234-000042-8", "", ErrChecksum},
		{"01234-000024-7", "", ErrChecksum},
		{"01234-00004", "", ErrLength},
		{"0123400000000000000000000000000", "", ErrLength},
		{"01234-00004x-7", "", ErrCharacter},
		{"０1234000042７", "", ErrCharacter},
		{"01234/000042/7", "", ErrCharacter},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("Normalize(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if err != nil && err.Error() == "" {
			t.Errorf("Normalize(%q): empty error message", tt.in)
		}
	}
}

func TestNormalizeErrorNamesCharacterAndPosition(t *testing.T) {
	_, err := Normalize("01234-00004x-7")
	if err == nil {
		t.Fatal("no error")
	}
	const want = `voucher may contain only digits, spaces and dashes: 'x' at position 12`
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ in, want string }{
		{"012340000427", "01234-000042-7"},
		{"01234 000042 7", "01234-000042-7"},
		{New(5, 1234567), "00005-1234567-" + New(5, 1234567)[12:]},
		{"not a voucher", "not a voucher"},
		{"012340000428", "012340000428"},
	}
	for _, tt := range tests {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("Format(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestDetectsEverySingleErrorAndAdjacentSwap changes every position of many
// random vouchers to every other digit, and swaps every pair of different
// neighbours: each must be rejected.
func TestDetectsEverySingleErrorAndAdjacentSwap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 2000; n++ {
		seq := r.Uint64() >> uint(r.IntN(64))
		v := New(r.IntN(MaxTerminal+1), seq)
		if !Valid(v) {
			t.Fatalf("Valid(%q) = false", v)
		}
		b := []byte(v)
		for i := range b {
			orig := b[i]
			for d := byte('0'); d <= '9'; d++ {
				if d == orig {
					continue
				}
				b[i] = d
				if Valid(string(b)) {
					t.Fatalf("%q with digit %d changed to %c is accepted", v, i+1, d)
				}
			}
			b[i] = orig
		}
		for i := 0; i+1 < len(b); i++ {
			if b[i] == b[i+1] {
				continue
			}
			b[i], b[i+1] = b[i+1], b[i]
			if Valid(string(b)) {
				t.Fatalf("%q with digits %d and %d swapped is accepted", v, i+1, i+2)
			}
			b[i], b[i+1] = b[i+1], b[i]
		}
	}
}

func FuzzVoucher(f *testing.F) {
	f.Add("01234-000042-7", 1234, uint64(42), uint8(3), uint8(5))
	f.Add("", 0, uint64(0), uint8(0), uint8(0))
	f.Add("９９９", 99999, uint64(math.MaxUint64), uint8(24), uint8(9))
	f.Add("0000000000000000000000000000000", -5, uint64(1), uint8(200), uint8(1))
	f.Fuzz(func(t *testing.T, s string, terminal int, seq uint64, pos, delta uint8) {
		if n, err := Normalize(s); err == nil {
			if !Valid(n) || !Valid(Format(n)) {
				t.Fatalf("Normalize(%q) = %q, which is not Valid", s, n)
			}
		} else if Valid(s) {
			t.Fatalf("Normalize(%q) failed (%v) but Valid is true", s, err)
		}
		v := New(terminal, seq)
		if !Valid(v) {
			t.Fatalf("Valid(New(%d, %d)) = false: %q", terminal, seq, v)
		}
		if n, err := Normalize(Format(v)); err != nil || n != v {
			t.Fatalf("Normalize(Format(%q)) = %q, %v", v, n, err)
		}
		b := []byte(v)
		i := int(pos) % len(b)
		b[i] = '0' + (b[i]-'0'+1+delta%9)%10
		if Valid(string(b)) {
			t.Fatalf("%q with digit %d changed is accepted: %q", v, i+1, b)
		}
	})
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		terminal int
		seq      uint64
	}{{1234, 42}, {0, 0}, {99999, math.MaxUint64}, {7, 1234567}} {
		term, seq, err := Parse(Format(New(tc.terminal, tc.seq)))
		if err != nil || term != tc.terminal || seq != tc.seq {
			t.Errorf("Parse(New(%d, %d)) = %d, %d, %v", tc.terminal, tc.seq, term, seq, err)
		}
	}
	big := "00001" + "99999999999999999999"
	if _, _, err := Parse(big + string(CheckDigit(big))); !errors.Is(err, ErrLength) {
		t.Errorf("Parse(sequence beyond uint64) error = %v, want ErrLength", err)
	}
	if _, _, err := Parse("01234-000042-8"); !errors.Is(err, ErrChecksum) {
		t.Errorf("Parse(typo) error = %v, want ErrChecksum", err)
	}
}
