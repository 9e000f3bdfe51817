package mask

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"张", "*"},
		{"张三", "张*"},
		{"王小明", "王**"},
		{"欧阳娜娜", "欧***"},
		{"Nguyễn Văn An", "N************"},
		{"Đặng Thị Ánh", "Đ***********"},
		{"John Smith", "J*********"},
		{"A", "*"},
	}
	for _, tt := range tests {
		if got := Name(tt.in); got != tt.want {
			t.Errorf("Name(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"1", "*"},
		{"12", "*2"},
		{"1234", "1**4"},
		{"A12345678", "A1*****78"},
		{"001099012345", "001******345"},
		{"110101199003071234", "110***********1234"},
		{"11010119900307123X", "110***********123X"},
		{"6222021234567890123", "622************0123"},
	}
	for _, tt := range tests {
		if got := Number(tt.in); got != tt.want {
			t.Errorf("Number(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNumberAlwaysHalfMasked checks the rule every caller relies on, for
// every length a real number could have.
func TestNumberAlwaysHalfMasked(t *testing.T) {
	for n := 1; n <= 40; n++ {
		in := strings.Repeat("7", n)
		got := Number(in)
		masked := strings.Count(got, "*")
		if utf8.RuneCountInString(got) != n {
			t.Fatalf("Number of %d chars returned %d chars", n, utf8.RuneCountInString(got))
		}
		if masked*2 < n {
			t.Errorf("Number of %d chars masks only %d", n, masked)
		}
		if n-masked > 7 {
			t.Errorf("Number of %d chars shows %d", n, n-masked)
		}
	}
}

func FuzzName(f *testing.F) {
	f.Add("张三")
	f.Add("Nguyễn Văn An")
	f.Add("\xff\x1b@")
	f.Fuzz(func(t *testing.T, s string) {
		got := []rune(Name(s))
		if len(got) != len([]rune(s)) {
			t.Fatalf("Name(%q) changed the length to %d", s, len(got))
		}
		for i, r := range got {
			if i > 0 && r != Placeholder {
				t.Fatalf("Name(%q) = %q: rune %d not masked", s, string(got), i)
			}
		}
	})
}

func TestNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"card A12345678 already reported":            "card A1*****78 already reported",
		"id 110101199003071233: no such person":      "id 110***********1233: no such person",
		"retry in 30s (code 429, request 12 of 100)": "retry in 30s (code 429, request 12 of 100)",
		"": "",
	} {
		if got := Numbers(in); got != want {
			t.Errorf("Numbers(%q) = %q, want %q", in, got, want)
		}
	}
}
