package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui/uitest"
)

// Speech tests: real headless Chromium driven by the keyboard only (key
// events through DevTools, never a click or a touch) on the real daemon
// with the real espeak-ng. The page's audio requests are recorded from
// DevTools' network events.

// withSpeech turns speech on over one WAV cache shared by the package's
// tests and runs (keyed by each text's hash, so a changed text is
// synthesised again): the whole-cache build is TestEveryScreenSpeaks's
// business (kiosk/speech), not every daemon's.
func withSpeech(c *config.Config) {
	c.Speech.Enabled = true
	c.Speech.CacheDir = filepath.Join(os.TempDir(), "kioskd-test-speech-cache")
}

// clips records the page's requests under /speech/.
type clips struct {
	mu   sync.Mutex
	urls []string
}

func (c *clips) record(ev any) {
	if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.Contains(e.Request.URL, "/speech/") {
		c.mu.Lock()
		c.urls = append(c.urls, e.Request.URL[strings.Index(e.Request.URL, "/speech/"):])
		c.mu.Unlock()
	}
}

// since returns the paths requested from index i on, and the next index.
func (c *clips) since(i int) ([]string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.urls[min(i, len(c.urls)):]...), len(c.urls)
}

// keyboard is a Chromium tab on the daemon driven by keys only.
type keyboard struct {
	*uitest.Browser
	e    *e2e
	c    *clips
	lang string
	mark int // requests before the last key
}

func newKeyboard(t *testing.T, e *e2e) *keyboard {
	t.Helper()
	k := &keyboard{Browser: uitest.NewBrowser(t, e.a.UI+"/", uitest.ShotsDir(t)), e: e, c: &clips{}, lang: "zh-CN"}
	k.Listen(k.c.record)
	return k
}

// press sends keys; what the page requests from then on is checked by
// heard.
func (k *keyboard) press(t *testing.T, keys string) {
	t.Helper()
	_, k.mark = k.c.since(0)
	k.Run(t, uitest.Keys(keys))
}

// heard waits until the page has requested, since the last key, a clip
// for each of paths (relative to /speech/<lang>/; a leading "/" is from
// /speech/ itself), and returns what it requested.
func (k *keyboard) heard(t *testing.T, paths ...string) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, _ := k.c.since(k.mark)
		var missing []string
		for _, p := range paths {
			want := "/speech/" + k.lang + "/" + p
			if strings.HasPrefix(p, "/") {
				want = "/speech" + p
			}
			found := false
			for _, u := range got {
				if u == want || strings.HasPrefix(u, want+"?") && !strings.Contains(p, "?") {
					found = true
				}
			}
			if !found {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the page did not ask for %v; it asked for %v", k.lang, missing, got)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// screen waits for a screen (and keypad field) and for its announcement.
func (k *keyboard) screen(t *testing.T, name, field string, clips ...string) {
	t.Helper()
	k.Run(t, uitest.Screen(name, field))
	k.heard(t, clips...)
}

// focusedClip is the clip the focused control must ask for.
const focusedClip = `(() => {
	const b = document.activeElement;
	if (!b || b.tagName !== "BUTTON") return "";
	if (b.dataset.lang) return "/" + b.dataset.lang + "/k/lang.name.wav";
	if (b.dataset.card !== undefined) return "data/card/" + b.dataset.card + ".wav";
	const k = b.getAttribute("data-k") || b.getAttribute("data-i18n");
	return k ? "k/" + k.split(" ")[0] + ".wav" : "";
})()`

// choose moves the focus with the arrow key dir until it is on sel, each
// focused control spoken on the way, then presses Enter.
func (k *keyboard) choose(t *testing.T, sel, dir string) {
	t.Helper()
	is := fmt.Sprintf(`!!document.activeElement && document.activeElement.matches(%q)`, sel)
	for range 40 {
		k.press(t, dir)
		clip := uitest.Get(t, k.Browser, chromedp.Evaluate[string](focusedClip))
		if clip == "" {
			t.Fatalf("%s: the arrow key focused no button", k.lang)
		}
		k.heard(t, clip)
		if uitest.Get(t, k.Browser, chromedp.Evaluate[bool](is)) {
			k.press(t, kb.Enter)
			return
		}
	}
	t.Fatalf("%s: arrows never reached %s", k.lang, sel)
}

// typeKeys types s on the keyboard, then Enter.
func (k *keyboard) typeKeys(t *testing.T, s string) {
	t.Helper()
	k.press(t, s+kb.Enter)
}

// finish waits for the receipt (the session takes no Finish while it
// prints), then presses Finish.
func (k *keyboard) finish(t *testing.T) {
	t.Helper()
	k.Run(t, chromedp.WaitVisible(chromedp.CSS(`#screen[data-name="done"] #preview, #screen[data-name="lookup_result"] #btn-finish`)))
	k.choose(t, "#btn-finish", kb.ArrowDown)
	k.Run(t, uitest.Screen("idle", ""))
}

// start leaves idle with a key (speech mode on) and picks the language.
func (k *keyboard) start(t *testing.T, lang string) {
	t.Helper()
	k.lang = "zh-CN" // every session starts in the default language
	k.press(t, kb.ArrowDown)
	k.screen(t, "menu", "", "k/speech.on.wav", "k/menu.title.wav")
	if lang != k.lang {
		k.choose(t, fmt.Sprintf(`#langs [data-lang=%q]`, lang), kb.ArrowUp)
		k.lang = lang
		k.Run(t, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#langs [data-lang=%q][aria-pressed="true"]`, lang))))
		k.heard(t, "k/menu.title.wav", "k/menu.report_loss.wav", "k/menu.lookup.wav")
	}
}

// TestSpeechKeyboardFlows walks every citizen flow in each language with
// the keyboard alone: every screen is reached and announced, each focused
// control spoken, the voucher read out twice, PIN digits heard as tones
// and never spoken.
func TestSpeechKeyboardFlows(t *testing.T) {
	e := runDaemon(t, withSpeech)
	k := newKeyboard(t, e)
	for _, lang := range []string{"zh-CN", "vi", "en"} {
		// Report for oneself; Escape is Back on the way.
		k.start(t, lang)
		k.choose(t, `#screen [data-value="report_loss"]`, kb.ArrowDown)
		k.screen(t, "menu", "mode", "k/menu.mode.title.wav", "k/option.self.wav", "k/option.proxy.wav")
		k.press(t, kb.Escape)
		k.screen(t, "menu", "", "k/menu.title.wav")
		k.choose(t, `#screen [data-value="report_loss"]`, kb.ArrowDown)
		k.screen(t, "menu", "mode", "k/menu.mode.title.wav")
		k.choose(t, `#screen [data-value="self"]`, kb.ArrowDown)
		k.screen(t, "keypad", "doc_number", "k/field.doc_number.wav", "k/hint.doc_number.wav", "k/speech.keypad.wav")
		k.typeKeys(t, vnDoc)
		k.screen(t, "keypad", "birth_date", "k/field.birth_date.wav", "k/hint.birth_date.wav")
		k.press(t, "?") // repeat: the prompt and what was typed so far
		k.heard(t, "k/field.birth_date.wav", "k/speech.keypad.wav")
		k.typeKeys(t, vnBirth)
		k.screen(t, "keypad", "expiry_date", "k/field.expiry_date.wav")
		k.typeKeys(t, vnExpiry)
		k.screen(t, "identify", "", "k/identify.id.title.wav", "k/identify.id.hint.wav")
		e.insert(hwbridge.SlotID, loadCard(t, "emrtd_vn.json"))
		_, k.mark = k.c.since(0)
		k.screen(t, "confirm", "", "k/confirm.title.report_loss.wav", "data/row/row.name.wav", "data/row/row.id_number.wav", "k/note.promise.wav")
		k.choose(t, "#btn-confirm", kb.ArrowDown)
		k.screen(t, "done", "", "k/done.title.report_loss.wav", "k/done.voucher.wav", "data/voucher.wav", "data/voucher.wav?r=2")
		v := e.ops()[0].Voucher
		k.finish(t)
		e.remove(hwbridge.SlotID)

		// Report by proxy.
		k.start(t, lang)
		k.choose(t, `#screen [data-value="report_loss"]`, kb.ArrowDown)
		k.screen(t, "menu", "mode", "k/menu.mode.title.wav")
		k.choose(t, `#screen [data-value="proxy"]`, kb.ArrowDown)
		k.screen(t, "keypad", "doc_number", "k/field.doc_number.wav")
		k.typeKeys(t, tdDoc)
		k.screen(t, "keypad", "birth_date", "k/field.birth_date.wav")
		k.typeKeys(t, tdBirth)
		k.screen(t, "keypad", "expiry_date", "k/field.expiry_date.wav")
		k.typeKeys(t, tdExpiry)
		k.screen(t, "identify", "", "k/identify.id.title.wav")
		e.insert(hwbridge.SlotID, loadCard(t, "emrtd_td3.json"))
		_, k.mark = k.c.since(0)
		k.screen(t, "keypad", "subject_id", "k/field.subject_id.wav", "k/hint.subject_id.wav")
		k.typeKeys(t, "110101199003071234") // a wrong check character: the error is spoken
		k.heard(t, "k/err.id_check_failed.wav")
		k.press(t, strings.Repeat(kb.Backspace, 18))
		k.Run(t, uitest.WaitText("#display", ""))
		k.typeKeys(t, ssID)
		k.screen(t, "menu", "relationship", "k/menu.relationship.title.wav", "k/rel.child.wav")
		k.choose(t, `#screen [data-value="child"]`, kb.ArrowDown)
		k.screen(t, "confirm", "", "k/confirm.title.report_loss.wav", "data/row/row.agent.wav", "k/rel.child.wav", "data/row/row.subject_id.wav", "k/note.proxy.wav")
		k.choose(t, "#btn-confirm", kb.ArrowDown)
		k.screen(t, "done", "", "k/done.title.report_loss.wav", "data/voucher.wav", "data/voucher.wav?r=2")
		k.finish(t)
		e.remove(hwbridge.SlotID)

		// Suspend and resume settlement: the PIN is heard as tones.
		card := loadCard(t, "ss_zhangsan.json")
		for _, kind := range []string{"suspend_settlement", "resume_settlement"} {
			k.start(t, lang)
			k.choose(t, fmt.Sprintf(`#screen [data-value=%q]`, kind), kb.ArrowDown)
			k.screen(t, "identify", "", "k/identify.ss.title.wav", "k/identify.ss.hint.wav")
			e.insert(hwbridge.SlotSS, card)
			_, k.mark = k.c.since(0)
			k.screen(t, "keypad", "pin", "k/field.pin.wav", "k/hint.pin.wav")
			_, pinStart := k.c.since(0)
			for i, d := range ssPIN {
				k.press(t, string(d))
				k.heard(t, "/tone.wav")
				if got := uitest.Get(t, k.Browser, chromedp.Evaluate[int](`document.getElementById("display").textContent.length`)); got != i+1 {
					t.Fatalf("%s: %d PIN digits shown after %d keys", lang, got, i+1)
				}
			}
			k.press(t, "?")
			k.heard(t, "k/field.pin.wav", fmt.Sprintf("k/speech.digits_entered.wav?n=%d", len(ssPIN)))
			during, _ := k.c.since(pinStart)
			for _, u := range during {
				if strings.Contains(u, "/spell/") || strings.Contains(u, "?n=") && !strings.Contains(u, "digits_entered") {
					t.Errorf("%s: a PIN digit was spoken: %s", lang, u)
				}
			}
			k.press(t, kb.Enter)
			k.screen(t, "confirm", "", "k/confirm.title."+kind+".wav", "data/row/row.card.wav")
			k.choose(t, "#btn-confirm", kb.ArrowDown)
			k.screen(t, "done", "", "k/done.title."+kind+".wav", "data/voucher.wav", "data/voucher.wav?r=2")
			k.finish(t)
			e.remove(hwbridge.SlotSS)
		}

		// Look up the first report by its voucher.
		k.start(t, lang)
		k.choose(t, `#screen [data-value="lookup"]`, kb.ArrowDown)
		k.screen(t, "keypad", "voucher", "k/field.voucher.wav", "k/hint.voucher.wav")
		k.typeKeys(t, v)
		k.screen(t, "lookup_result", "", "k/lookup.title.wav", "data/voucher.wav", "data/voucher.wav?r=2", "k/kind.report_loss.wav")
		if got := k.Text(t, "#voucher"); got != voucher.Format(v) {
			t.Errorf("%s: lookup shows %q, want %q", lang, got, voucher.Format(v))
		}
		k.finish(t)
	}
	if n := len(e.ops()); n != 12 {
		t.Errorf("%d operations stored, want 12 (4 per language)", n)
	}
	// Nothing personal went into a URL.
	all, _ := k.c.since(0)
	assertNoPersonalData(t, "the page's speech requests", strings.Join(all, "\n"))
}

// TestSpeechWithoutEspeak: with no espeak-ng on PATH the daemon starts,
// logs one warning, hides the speaker button and asks for no audio, and a
// citizen still gets through a flow with the keyboard alone.
func TestSpeechWithoutEspeak(t *testing.T) {
	path := os.Getenv("PATH")
	t.Setenv("PATH", t.TempDir()) // for the daemon's look-up only: Chromium needs the real one
	e := runDaemon(t, withSpeech)
	os.Setenv("PATH", path)
	k := newKeyboard(t, e)
	if n := strings.Count(e.logs.String(), "level=WARN msg=\"speech mode is silent"); n != 1 {
		t.Errorf("%d warnings about espeak-ng, want 1:\n%s", n, e.logs.String())
	}
	if !uitest.Get(t, k.Browser, chromedp.Evaluate[bool](`document.getElementById("btn-speech").hidden`)) {
		t.Error("the speaker button is shown on a terminal that cannot speak")
	}
	// The keypad path: start, look up a voucher, finish.
	k.press(t, kb.ArrowDown)
	k.Run(t, uitest.Screen("menu", ""))
	k.choose2(t, `#screen [data-value="lookup"]`)
	k.Run(t, uitest.Screen("keypad", "voucher"))
	k.typeKeys(t, "000010000012")
	k.Run(t, uitest.Screen("lookup_result", ""))
	k.choose2(t, "#btn-finish")
	k.Run(t, uitest.Screen("idle", ""))
	if got, _ := k.c.since(0); len(got) > 0 {
		t.Errorf("the page asked for audio the daemon cannot make: %v", got)
	}
}

// choose2 is choose without speech: arrows until sel has the focus, Enter.
func (k *keyboard) choose2(t *testing.T, sel string) {
	t.Helper()
	is := fmt.Sprintf(`!!document.activeElement && document.activeElement.matches(%q)`, sel)
	for range 40 {
		k.press(t, kb.ArrowDown)
		if uitest.Get(t, k.Browser, chromedp.Evaluate[bool](is)) {
			k.press(t, kb.Enter)
			return
		}
	}
	t.Fatalf("arrows never reached %s", sel)
}

// TestSpeechIdleWarning: in speech mode the page says the session is about
// to end when the daemon's countdown starts; a key extends the session;
// the focused button has a thick outline; when the session ends, speech
// mode ends with it.
func TestSpeechIdleWarning(t *testing.T) {
	e := runDaemon(t, withSpeech, func(c *config.Config) {
		// The countdown starts 10 s into the session: time enough to reach
		// the menu on a busy machine before the warning interrupts it.
		c.Speech.IdleTimeout = config.Duration{Duration: 20 * time.Second}
		c.Speech.Warning = config.Duration{Duration: 10 * time.Second}
	})
	k := newKeyboard(t, e)
	k.start(t, "zh-CN")
	_, k.mark = k.c.since(0)
	k.Run(t, chromedp.WaitVisible(chromedp.CSS("#countdown")))
	k.heard(t, "k/speech.timeout_warning.wav")
	k.press(t, kb.ArrowDown) // any key
	k.Run(t, chromedp.WaitNotVisible(chromedp.CSS("#countdown")))
	if name := uitest.Get(t, k.Browser, chromedp.Evaluate[string](`document.getElementById("screen").dataset.name`)); name != "menu" {
		t.Fatalf("after a key the page shows %q, want the menu still", name)
	}
	k.press(t, "+") // volume up: a tone at the new volume
	k.heard(t, "/tone.wav")
	outline := uitest.Get(t, k.Browser, chromedp.Evaluate[float64](`parseFloat(getComputedStyle(document.activeElement).outlineWidth) || 0`))
	if outline < 6 {
		t.Errorf("the focused button's outline is %v px, want a thick one", outline)
	}
	// No key now: the session ends, and speech mode with it (20 s after
	// the key; a step waits 15 s at most).
	time.Sleep(8 * time.Second)
	k.Run(t, uitest.Screen("idle", ""))
	if uitest.Get(t, k.Browser, chromedp.Evaluate[bool](`document.body.classList.contains("keys-on")`)) {
		t.Error("speech mode outlived the session")
	}
}
