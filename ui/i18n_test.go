package ui

import (
	"encoding/json"
	"io/fs"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Catalogue loads one language's texts from the embedded page.
func catalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := fs.ReadFile(StaticFS(), "i18n/"+lang+".json")
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]string
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	return c
}

func TestCataloguesComplete(t *testing.T) {
	cats := map[string]map[string]string{}
	all := map[string]bool{}
	for _, l := range DefaultLanguages {
		cats[l] = catalogue(t, l)
		for k := range cats[l] {
			all[k] = true
		}
	}
	for k := range all {
		for _, l := range DefaultLanguages {
			if strings.TrimSpace(cats[l][k]) == "" {
				t.Errorf("%s.json: key %q missing or empty", l, k)
			}
		}
	}
	// Texts that must differ per language (a copy-paste of English is a gap).
	for _, k := range []string{"idle.touch", "done.not_printed", "error.pin_blocked", "btn.back", "btn.cancel"} {
		if cats["en"][k] == cats["vi"][k] || cats["en"][k] == cats["zh-CN"][k] {
			t.Errorf("key %q is not translated", k)
		}
	}
}

// Every literal key app.js asks for is in the catalogue.
func TestPageKeysInCatalogue(t *testing.T) {
	js, err := fs.ReadFile(StaticFS(), "app.js")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := fs.ReadFile(StaticFS(), "index.html")
	c := catalogue(t, "en")
	re := regexp.MustCompile(`(?:\bt\(|button\(|data-i18n=|data-k=|\bk: )"([a-z][a-z_.\-]*[a-z_])"`)
	found := 0
	for _, src := range [][]byte{js, html} {
		for _, m := range re.FindAllSubmatch(src, -1) {
			found++
			if _, ok := c[string(m[1])]; !ok {
				t.Errorf("key %q used by the page is not in the catalogue", m[1])
			}
		}
	}
	if found < 20 {
		t.Fatalf("only %d keys found: the pattern no longer matches app.js", found)
	}
	// Keys the page builds from a prefix and a daemon-given value.
	for _, k := range []string{"device.printer.paper_out", "identify.id.title", "identify.ss.hint", "error.pin_blocked", "err.taken_over"} {
		if _, ok := c[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
}

// The page loads nothing from elsewhere: no CDN, no remote fonts.
func TestPageIsSelfContained(t *testing.T) {
	err := fs.WalkDir(StaticFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(StaticFS(), p)
		for _, bad := range []string{"http://", "https://", "//cdn", "@import"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s refers to %q", p, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(DefaultLanguages, []string{"zh-CN", "vi", "en"}) {
		t.Errorf("languages %v", DefaultLanguages)
	}
}

// TestFactsFilled: the page and its speech get the catalogues with the
// configured facts in place of {fee}, {days} and {hotline}.
func TestFactsFilled(t *testing.T) {
	facts := Facts{"en": {"fee": "10 yuan", "days": "5", "hotline": "96102"}, "zh-CN": {"fee": "10 元", "days": "5", "hotline": "96102"}}
	srv := NewServer(Config{Facts: facts})
	for lang, fee := range map[string]string{"en": "10 yuan", "zh-CN": "10 元"} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", "/i18n/"+lang+".json", nil))
		var c map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil {
			t.Fatalf("%s: %v (%d)", lang, err, rec.Code)
		}
		if !strings.Contains(c["note.then"], fee) || !strings.Contains(c["step.collect"], "5") || !strings.Contains(c["step.hotline"], "96102") {
			t.Errorf("%s: facts not filled: %q / %q", lang, c["note.then"], c["step.hotline"])
		}
		for k, v := range c {
			for _, ph := range []string{"{fee}", "{days}", "{hotline}"} {
				if strings.Contains(v, ph) {
					t.Errorf("%s %s still has %s", lang, k, ph)
				}
			}
		}
	}
	b, err := fs.ReadFile(PageFS(facts), "i18n/en.json")
	if err != nil || !strings.Contains(string(b), "10 yuan") {
		t.Errorf("PageFS: %v", err)
	}
}
