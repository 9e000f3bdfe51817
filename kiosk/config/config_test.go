package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestExampleIsTheDefault(t *testing.T) {
	c, err := Parse("example.toml", Example)
	if err != nil {
		t.Fatalf("example does not load: %v", err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("example.toml differs from Default():\n got %+v\nwant %+v", c, Default())
	}
	if ps := Default().Validate(); len(ps) > 0 {
		t.Errorf("Default() is invalid: %v", ps)
	}
}

func TestEmptyFileIsTheDefault(t *testing.T) {
	c, err := Parse("empty.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Error("an empty file must give the embedded default")
	}
}

func TestProblemsNameKeyAndLine(t *testing.T) {
	const file = `kiosk_id = "K-1"
terminal_no = 123456

[printer]
baud = 9601
paperr = 80

[central]
url = "ftp://x"
otp = "sometimes"

[[maintenance.technicians]]
label = ""
pin_hash = "1234"
`
	_, err := Parse("bad.toml", []byte(file))
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want *Problems, got %v", err)
	}
	want := []struct {
		key  string
		line int
		msg  string
	}{
		{"terminal_no", 2, "0..99999"},
		{"printer.baud", 5, "standard rate"},
		{"printer.paperr", 6, `unknown key (did you mean "printer.paper"?)`},
		{"central.url", 9, "http(s) URL"},
		{"central.otp", 10, "never"},
		{"maintenance.technicians[0].label", 13, "must not be empty"},
		{"maintenance.technicians[0].pin_hash", 14, "argon2id"},
	}
	if len(ps.List) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps.List), len(want), err)
	}
	for i, w := range want {
		p := ps.List[i]
		if p.Key != w.key || p.Line != w.line || !strings.Contains(p.Msg, w.msg) {
			t.Errorf("problem %d = %+v, want key %s line %d containing %q", i, p, w.key, w.line, w.msg)
		}
	}
	if !strings.Contains(err.Error(), "bad.toml") || !strings.Contains(err.Error(), "line 5: printer.baud") {
		t.Errorf("error text does not name file, line and key:\n%v", err)
	}
}

func TestSyntaxAndTypeErrorsHaveALine(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		line       int
	}{
		{"syntax", "kiosk_id = \"a\"\n\nlisten = = 1\n", 3},
		{"type", "kiosk_id = \"a\"\nterminal_no = \"seven\"\n", 2},
		{"duration", "[ui]\nidle_timeout = \"soon\"\n", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.toml", []byte(tc.file))
			var ps *Problems
			if !errors.As(err, &ps) || len(ps.List) != 1 {
				t.Fatalf("want one problem, got %v", err)
			}
			if ps.List[0].Line != tc.line {
				t.Errorf("line = %d, want %d (%v)", ps.List[0].Line, tc.line, err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Example)
	f.Add([]byte("[printer]\nbaud = 9601\n"))
	f.Add([]byte("[[maintenance.technicians]]\nlabel = \"a\"\n"))
	f.Add([]byte("a.b.c = 1\n[x.\"y.z\"]\nq = [1,2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			var ps *Problems
			if !errors.As(err, &ps) || len(ps.List) == 0 {
				t.Fatalf("error is not a non-empty *Problems: %v", err)
			}
			return
		}
		if ps := c.Validate(); len(ps) > 0 {
			t.Fatalf("accepted an invalid config: %v", ps)
		}
	})
}
