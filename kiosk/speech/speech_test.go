package speech

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/kioskd/kioskd/ui"
	"github.com/kioskd/kioskd/ui/uitest"
)

// Tests run the real espeak-ng (scripts/install-test-deps.sh installs it).

func needEspeak(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		if testing.Short() {
			tb.Skip("espeak-ng not installed; skipped in -short mode")
		}
		tb.Fatal("espeak-ng not found: `make test` installs it (scripts/install-test-deps.sh)")
	}
}

// small is a subset catalogue, for tests where the whole is not the point.
func small(texts map[string]map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for lang, kv := range texts {
		b, _ := json.Marshal(kv)
		fsys["i18n/"+lang+".json"] = &fstest.MapFile{Data: b}
	}
	return fsys
}

var smallTexts = map[string]map[string]string{
	"en":    {"menu.title": "What would you like to do?", "speech.hidden": "hidden", "speech.not_spoken": "not read out", "countdown": "The session ends in {n} s.", "card.state.active": "in use"},
	"vi":    {"menu.title": "Bạn muốn làm gì?", "speech.hidden": "ẩn", "speech.not_spoken": "không đọc", "countdown": "Phiên kết thúc sau {n} giây.", "card.state.active": "đang dùng"},
	"zh-CN": {"menu.title": "您要办理什么业务？", "speech.hidden": "隐藏", "speech.not_spoken": "不朗读", "countdown": "{n}秒后结束。", "card.state.active": "正常"},
}

func newSynth(tb testing.TB, fsys fstest.MapFS, mod func(*Config)) *Synth {
	tb.Helper()
	cfg := Config{Dir: tb.TempDir()}
	if mod != nil {
		mod(&cfg)
	}
	var cats fstest.MapFS = fsys
	s, err := New(cfg, cats)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// plausible fails t unless wav is a PCM WAV whose length fits text: not
// empty, not cut short, not a runaway.
func plausible(t *testing.T, what string, wav []byte, text string) time.Duration {
	t.Helper()
	w, err := ParseWAV(wav)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return 0
	}
	n := utf8.RuneCountInString(text)
	d := w.Duration()
	lo := max(150*time.Millisecond, time.Duration(n)*15*time.Millisecond)
	hi := 2*time.Second + time.Duration(n)*700*time.Millisecond
	if d < lo || d > hi {
		t.Errorf("%s: %q lasts %s, want %s..%s", what, text, d, lo, hi)
	}
	if w.SampleRate < 8000 || w.Channels != 1 || w.BitsPerSample != 16 {
		t.Errorf("%s: %+v", what, w)
	}
	return d
}

// screenKeys are the texts that say what each citizen screen is about and
// what to do, as the session names them (kiosk/session/render.go).
func screenKeys(cat map[string]string) []string {
	keys := []string{"idle.title", "idle.touch", "menu.title", "menu.mode.title", "menu.relationship.title",
		"identify.id.title", "identify.id.hint", "identify.ss.title", "identify.ss.hint", "error.title", "lookup.title",
		"lookup.not_found", "done.voucher", "speech.on", "speech.keypad", "speech.again"}
	for k := range cat {
		for _, p := range []string{"field.", "hint.", "working.", "confirm.title.", "done.title.", "error.", "menu.", "option.", "rel.", "btn.", "err."} {
			if strings.HasPrefix(k, p) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// TestEveryScreenSpeaks builds the whole cache (every catalogue text, three
// languages) and checks every screen's texts in every language: a
// non-empty text, a cached WAV of plausible duration for it.
func TestEveryScreenSpeaks(t *testing.T) {
	needEspeak(t)
	dir := t.TempDir()
	s, err := New(Config{Dir: dir}, ui.StaticFS())
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.BuildCache(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Prompts < 3*120 || st.Synthesised == 0 {
		t.Fatalf("cache build %+v: expected every catalogue text of three languages", st)
	}
	for _, lang := range ui.DefaultLanguages {
		cat := uitest.Catalogue(t, lang)
		keys := screenKeys(cat)
		if len(keys) < 80 {
			t.Fatalf("%s: only %d screen texts found", lang, len(keys))
		}
		for _, k := range keys {
			text, ok := s.Text(lang, k, "")
			if strings.Contains(text, "{") {
				text, ok = s.Text(lang, k, "3")
			}
			if !ok || strings.TrimSpace(text) == "" {
				t.Errorf("%s %s: no speech text", lang, k)
				continue
			}
			// Cached by the build: File finds it without running espeak-ng.
			path, err := s.File(context.Background(), lang, text)
			if err != nil {
				t.Errorf("%s %s: %v", lang, k, err)
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			plausible(t, lang+" "+k, b, text)
		}
	}
	// A second start finds everything cached.
	st2, err := s.BuildCache(context.Background())
	if err != nil || st2.Synthesised != 0 || st2.Bytes != st.Bytes {
		t.Errorf("second build %+v (%v), first %+v: want nothing synthesised again", st2, err, st)
	}
}

// TestChangedTextSynthesisedAgain: the cache is keyed by the text, so an
// edited catalogue text gets a new WAV and the old one is removed.
func TestChangedTextSynthesisedAgain(t *testing.T) {
	needEspeak(t)
	dir := t.TempDir()
	texts := map[string]map[string]string{"en": {"a": "Report a lost card", "b": "Check a report"}}
	s := newSynth(t, small(texts), func(c *Config) { c.Dir, c.Languages = dir, []string{"en"} })
	if st, err := s.BuildCache(context.Background()); err != nil || st.Synthesised != 2 {
		t.Fatalf("first build %+v %v", st, err)
	}
	texts["en"]["b"] = "Look up a report"
	s = newSynth(t, small(texts), func(c *Config) { c.Dir, c.Languages = dir, []string{"en"} })
	st, err := s.BuildCache(context.Background())
	if err != nil || st.Synthesised != 1 || st.Removed != 1 {
		t.Fatalf("after a change %+v %v: want 1 synthesised, 1 removed", st, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.wav"))
	if len(files) != 2 {
		t.Errorf("cache holds %v", files)
	}
}

// TestVoucherSpelled: the voucher is spoken one character at a time, each
// character its own word, grouping dropped, a masked run said once.
func TestVoucherSpelled(t *testing.T) {
	needEspeak(t)
	s := newSynth(t, small(smallTexts), nil)
	const v = "00042 7311 9082 5"
	for _, lang := range []string{"en", "vi", "zh-CN"} {
		text := s.Spell(lang, v)
		sep := ", "
		if lang == "zh-CN" {
			sep = "，"
		}
		if got, want := strings.Split(text, sep), strings.Split(strings.ReplaceAll(v, " ", ""), ""); !slices.Equal(got, want) {
			t.Errorf("%s: spelled %q, want each of %v", lang, text, want)
		}
		wav, err := s.Render(context.Background(), lang, text)
		if err != nil {
			t.Fatal(err)
		}
		// Sixteen characters said one by one take longer than the number
		// said as a whole would.
		if d := plausible(t, lang+" voucher", wav, text); d < 16*200*time.Millisecond {
			t.Errorf("%s: spelled voucher lasts %s: not one character at a time", lang, d)
		}
	}
	if got := s.Spell("en", "0010********45"); got != "0, 0, 1, 0, hidden, 4, 5" {
		t.Errorf("masked number spelled %q", got)
	}
}

func get(t *testing.T, url string, hdr ...string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestDataRoutes: the data routes speak what the current screen shows,
// numbers as masked as shown, the name only with SpeakNames, and nothing
// that is not on the screen.
func TestDataRoutes(t *testing.T) {
	needEspeak(t)
	screen := map[string]any{
		"voucher": "00042 7311 9082 5",
		"rows": []map[string]any{
			{"label": "row.name", "value": "Nguyễn Văn An"},
			{"label": "row.id_number", "value": "0010******45"},
		},
		"cards": []map[string]any{{"number": "A1****78", "state": "active", "index": "0"}},
	}
	for _, names := range []bool{false, true} {
		s := newSynth(t, small(smallTexts), func(c *Config) { c.SpeakNames = names })
		srv := httptest.NewServer(s.Handler(func() map[string]any { return screen }))
		render := func(lang, text string) []byte {
			b, err := s.Render(context.Background(), lang, text)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		code, b := get(t, srv.URL+"/speech/en/data/row/row.name.wav")
		want := render("en", "not read out")
		if names {
			want = render("en", "Nguyễn Văn An")
		}
		if code != 200 || string(b) != string(want) {
			t.Errorf("speak_names=%v: the name row answers %d with %d bytes, want the %d bytes of %s", names, code, len(b), len(want),
				map[bool]string{false: "'not read out'", true: "the name"}[names])
		}
		if code, b := get(t, srv.URL+"/speech/vi/data/row/row.id_number.wav"); code != 200 || string(b) != string(render("vi", "0, 0, 1, 0, ẩn, 4, 5")) {
			t.Errorf("id number row: %d, not the masked number spelled", code)
		}
		if code, b := get(t, srv.URL+"/speech/zh-CN/data/voucher.wav"); code != 200 || string(b) != string(render("zh-CN", s.Spell("zh-CN", "00042 7311 9082 5"))) {
			t.Errorf("voucher: %d, not the voucher spelled", code)
		}
		if code, b := get(t, srv.URL+"/speech/en/data/card/0.wav"); code != 200 || string(b) != string(render("en", "A, 1, hidden, 7, 8. in use")) {
			t.Errorf("card choice: %d, not the masked number and state", code)
		}
		for path, want := range map[string]int{
			"/speech/en/data/row/row.card.wav": 404, // not on this screen
			"/speech/en/data/card/1.wav":       404,
			"/speech/en/k/menu.title.wav":      200,
			"/speech/en/k/countdown.wav?n=7":   200,
			"/speech/en/k/countdown.wav":       404, // a placeholder is never spoken as is
			"/speech/en/k/countdown.wav?n=x":   400,
			"/speech/en/k/nope.wav":            404,
			"/speech/de/k/menu.title.wav":      404,
			"/speech/en/spell/7.wav":           200,
			"/speech/en/spell/77.wav":          404, // one character only: no numbers in URLs
			"/speech/tone.wav":                 200,
		} {
			if code, _ := get(t, srv.URL+path); code != want {
				t.Errorf("GET %s: %d, want %d", path, code, want)
			}
		}
		if code, _ := get(t, srv.URL+"/speech/en/data/voucher.wav", "Sec-Fetch-Site", "cross-site"); code != http.StatusForbidden {
			t.Errorf("a cross-site request got %d", code)
		}
		srv.Close()
	}
}

// TestWithoutEspeak: with no espeak-ng on PATH, New logs one warning and
// everything answers "unavailable" instead of failing.
func TestWithoutEspeak(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var logs uitest.LockedBuffer
	s := newSynth(t, small(smallTexts), func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	if s.Available() {
		t.Fatal("espeak-ng found on an empty PATH")
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "espeak-ng") {
		t.Errorf("want one warning naming espeak-ng, log:\n%s", logs.String())
	}
	if _, err := s.BuildCache(context.Background()); err != ErrUnavailable {
		t.Errorf("BuildCache: %v", err)
	}
	srv := httptest.NewServer(s.Handler(func() map[string]any { return nil }))
	defer srv.Close()
	if code, _ := get(t, srv.URL+"/speech/en/k/menu.title.wav"); code != http.StatusServiceUnavailable {
		t.Errorf("a prompt without espeak-ng: %d", code)
	}
}

func TestTone(t *testing.T) {
	w, err := ParseWAV(Tone(880, 120*time.Millisecond))
	if err != nil || w.Duration() != 120*time.Millisecond {
		t.Errorf("tone %+v %v", w, err)
	}
}
