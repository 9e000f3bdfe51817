package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// TestListenersMustNotBeExposed: the settings that would open the screen
// or the management API to the network are refused, naming the key.
func TestListenersMustNotBeExposed(t *testing.T) {
	for _, tc := range []struct {
		name, file, key, msg string
	}{
		{"UI off loopback", "[ui]\nlisten = \"0.0.0.0:8080\"\n", "ui.listen", "ui.allowed_origins"},
		{"UI on a LAN address", "[ui]\nlisten = \"10.0.0.5:8080\"\n", "ui.listen", "not a loopback address"},
		{"bad origin", "[ui]\nallowed_origins = [\"http://kiosk.local:8080/page\"]\n", "ui.allowed_origins", "not an origin"},
		{"client CA without TLS", "[mgmt]\nlisten = \"0.0.0.0:9100\"\nclient_ca = \"/etc/kioskd/ca.pem\"\n", "mgmt.client_ca", "tls_cert"},
		{"token in clear", "[mgmt]\nlisten = \"0.0.0.0:9100\"\ntoken_file = \"/etc/kioskd/token\"\n", "mgmt.token_file", "in clear"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("k.toml", []byte(tc.file))
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want *Problems, got %v", err)
			}
			found := false
			for _, p := range ps.List {
				found = found || p.Key == tc.key && p.Line > 0 && strings.Contains(p.Msg, tc.msg)
			}
			if !found {
				t.Errorf("no problem on %s mentioning %q with its line: %v", tc.key, tc.msg, err)
			}
		})
	}
	for _, ok := range []string{
		"[ui]\nlisten = \"0.0.0.0:8080\"\nallowed_origins = [\"http://kiosk.local:8080\"]\n",
		"[ui]\nlisten = \"localhost:8080\"\n",
		"[mgmt]\nlisten = \"127.0.0.1:9100\"\ntoken_file = \"/etc/kioskd/token\"\n",
		"[mgmt]\nlisten = \"0.0.0.0:9100\"\ntoken_file = \"/t\"\ntls_cert = \"/c\"\ntls_key = \"/k\"\nclient_ca = \"/ca\"\n",
	} {
		if _, err := Parse("k.toml", []byte(ok)); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}

// TestCheckFiles: a missing or empty token file and secrets other users
// can read are refused, naming the key and its line.
func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("token", "t0ken\n", 0o600)
	goodKey := write("kioskd.key", "k", 0o600)
	for _, tc := range []struct {
		name, key, msg string
		cfg            func(c *Config)
	}{
		{"missing token file", "mgmt.token_file", "cannot read", func(c *Config) { c.Mgmt.TokenFile = filepath.Join(dir, "nope") }},
		{"empty token file", "mgmt.token_file", "empty", func(c *Config) { c.Mgmt.TokenFile = write("empty", " \n", 0o600) }},
		{"token readable by others", "mgmt.token_file", "other users", func(c *Config) { c.Mgmt.TokenFile = write("open", "t0ken", 0o644) }},
		{"data key readable by others", "key_file", "other users", func(c *Config) { c.KeyFile = write("open.key", "k", 0o604) }},
		{"TLS key readable by others", "mgmt.tls_key", "other users", func(c *Config) { c.Mgmt.TLSKey = write("tls.key", "k", 0o644) }},
		{"central key readable by others", "central.key_file", "other users", func(c *Config) { c.Central.KeyFile = write("c.key", "k", 0o606) }},
		{"central key missing", "central.key_file", "cannot read", func(c *Config) { c.Central.KeyFile = filepath.Join(dir, "nope.key") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.DataDir = dir
			tc.cfg(&c)
			file := fmt.Sprintf("key_file = %q\n[mgmt]\ntoken_file = %q\ntls_key = %q\n[central]\nkey_file = %q\n", c.KeyFile, c.Mgmt.TokenFile, c.Mgmt.TLSKey, c.Central.KeyFile)
			err := CheckFiles("k.toml", []byte(file), c)
			var ps *Problems
			if !errors.As(err, &ps) || len(ps.List) != 1 || ps.List[0].Key != tc.key || ps.List[0].Line == 0 || !strings.Contains(ps.List[0].Msg, tc.msg) {
				t.Errorf("want one problem on %s with its line mentioning %q, got %v", tc.key, tc.msg, err)
			}
		})
	}
	c := Default()
	c.DataDir, c.KeyFile, c.Mgmt.TokenFile = dir, goodKey, good
	if ps := c.CheckFiles(); len(ps) > 0 {
		t.Errorf("good files refused: %v", ps)
	}
	c.KeyFile = filepath.Join(dir, "not-yet.key") // created on first start
	if ps := c.CheckFiles(); len(ps) > 0 {
		t.Errorf("a data key to be created refused: %v", ps)
	}
}

// TestReceiptTranslations: the receipt's texts are per language with the
// documents' defaults; a language left empty, or left at its default while
// another was configured, is named as a missing translation with its key
// and line; the old single-language keys say where they went.
func TestReceiptTranslations(t *testing.T) {
	d := Default().Receipt
	if d.ZH.Fee != "10 元" || d.VI.Fee != "10 nhân dân tệ" || d.EN.Fee != "10 yuan" || d.ReplacementDays != 5 || d.Hotline != "96102" {
		t.Errorf("defaults %+v", d)
	}
	if d.ZH.Agency == d.EN.Agency || d.VI.Agency == d.EN.Agency || d.ZH.Location == d.EN.Location {
		t.Errorf("the zh-CN and vi receipts start with the English agency or location: %+v", d)
	}
	const file = `[receipt]
hotline = "12333"

[receipt.zh-CN]
agency = "北京市社会保障卡服务中心"

[receipt.vi]
agency = "Trung tâm thẻ BHXH Bắc Kinh"
fee = ""
`
	_, err := Parse("t.toml", []byte(file))
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want *Problems, got %v", err)
	}
	got := map[string]Problem{}
	for _, p := range ps.List {
		got[p.Key] = p
	}
	if p, ok := got["receipt.en.agency"]; !ok || !strings.Contains(p.Msg, "missing translation") || !strings.Contains(p.Msg, "北京市社会保障卡服务中心") {
		t.Errorf("no missing en agency named: %v", err)
	}
	if p, ok := got["receipt.vi.fee"]; !ok || p.Line != 9 || !strings.Contains(p.Msg, "missing translation") {
		t.Errorf("no missing vi fee at line 9: %v", err)
	}
	if len(ps.List) != 2 {
		t.Errorf("want exactly the two problems: %v", err)
	}
	// A partial table keeps the other defaults of its language.
	c, err := Parse("ok.toml", []byte("[receipt.en]\nlocation = \"Lobby, no. 2\"\n[receipt.vi]\nlocation = \"Sảnh, máy số 2\"\n[receipt.zh-CN]\nlocation = \"大厅2号机\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Receipt.EN.Agency != d.EN.Agency || c.Receipt.EN.Location != "Lobby, no. 2" {
		t.Errorf("partial [receipt.en]: %+v", c.Receipt.EN)
	}
	// A language the terminal does not offer needs no translation.
	if _, err := Parse("zh.toml", []byte("[ui]\nlanguages = [\"zh-CN\"]\n[receipt.zh-CN]\nagency = \"北京市社会保障卡服务中心\"\n")); err != nil {
		t.Errorf("zh-CN only: %v", err)
	}
	_, err = Parse("old.toml", []byte("[receipt]\nreplacement_fee = \"10 CNY\"\n"))
	if err == nil || !strings.Contains(err.Error(), "receipt.en.fee") {
		t.Errorf("old key: %v", err)
	}
}
