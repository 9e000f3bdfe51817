package session

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/op"
	"github.com/kioskd/kioskd/kiosk/receipt"
	"github.com/kioskd/kioskd/ui"
	"github.com/kioskd/kioskd/ui/uitest"
)

// gallery is where TestBrowserEveryScreen writes its pictures of the
// screens ($KIOSKD_GALLERY, set by `make screenshots`); "" writes none.
func gallery() string { return os.Getenv("KIOSKD_GALLERY") }

// galleryShots are the screens the gallery keeps (every language, both
// orientations), and galleryLarge those it also keeps in large text
// (portrait), so that it stays a few hundred kilobytes
// ($KIOSKD_GALLERY_ALL keeps every screen).
var (
	galleryShots = map[string]bool{"idle": true, "mode": true, "doc_number": true, "place_id": true, "insert_ss": true,
		"confirm": true, "done": true, "pin": true, "unreadable": true}
	galleryLarge = map[string]bool{"idle": true, "doc_number": true, "confirm": true, "done": true}
)

// pictures says, per screen, which pictures (pictures.js, inline SVG) it
// must show, visible, in both orientations: a selector each, or for the
// tiles "every tile" (each service or choice tile has its pictogram).
var pictures = map[string][]string{
	"idle":        {"every tile", "#screen .hero-pic svg"},
	"mode":        {"every tile"},
	"place_id":    {"#screen svg.action-pic .float"}, // the ID card coming down onto the pad
	"insert_ss":   {"#screen svg.action-pic .slide"}, // the card going into the slot
	"doc_number":  {"#screen .where svg.card-pic .mark"},
	"birth_date":  {"#screen .where svg.card-pic .mark"},
	"expiry_date": {"#screen .where svg.card-pic .mark"},
	"subject_id":  {"#screen .where svg.card-pic .mark"},
	"done":        {"#screen svg.slot-pic"},
	"unreadable":  {"#screen .counter svg", "#screen .hotline svg"},
}

// picturesJS lists the pictures of want the page does not show.
const picturesJS = `((want) => {
  const seen = (e) => { if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  return want.filter((sel) => sel === "every tile"
    ? ![...document.querySelectorAll("#screen .tile")].every((t) => seen(t.querySelector("svg")))
    : !seen(document.querySelector(sel)));
})`

// navJS is where the page's way back is: Back and Cancel (left, top,
// right, bottom; null when not shown), whether Finish is shown, and the
// step indicator's text.
const navJS = `(() => {
  const at = (id) => { const e = document.getElementById(id); if (!e || !e.offsetParent) return null; const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom].map(Math.round); };
  const p = document.getElementById("progress");
  return { back: at("btn-back"), cancel: at("btn-cancel"), finish: !!at("btn-finish"), progress: p && p.offsetParent ? p.innerText.trim() : "" };
})()`

// seenBox is a button's box (left, top, right, bottom) and where it was
// first seen (screen and language).
type seenBox struct {
	where string
	box   []int
}

type navShown struct {
	Back, Cancel []int
	Finish       bool
	Progress     string
}

// noNav are the screens without Back and Cancel: the idle screen, and the
// end of a flow that committed, which has one Finish. A lookup's result
// has Finish, and Back to look up another voucher.
var noNav = map[string]bool{"idle": true, "done": true, "done_proxy": true, "done_paper_out": true}

// stepped are screens of a flow with a step indicator: their step n of
// of.
var stepped = map[string][2]string{"mode": {"1", "4"}, "doc_number": {"2", "4"}, "birth_date": {"2", "4"}, "expiry_date": {"2", "4"},
	"place_id": {"3", "4"}, "confirm": {"4", "4"}, "subject_id": {"4", "5"}, "confirm_proxy": {"5", "5"},
	"insert_ss": {"1", "3"}, "pin": {"2", "3"}, "confirm_suspend": {"3", "3"}}

// nav checks Back, Cancel and the step indicator of screen name as shown
// in orientation o and language lang: Back and Cancel each in the same box
// (within 1 px) on every screen that has them and in every language (in
// one orientation);
// none on the idle screen and at a flow's end, which has one Finish; the
// step indicator where a flow has steps.
func (e *everyScreen) nav(name string, o uitest.Orientation, lang string) {
	t := e.t
	t.Helper()
	n := uitest.Get(t, e.Browser, chromedp.Evaluate[navShown](navJS))
	if e.navAt == nil {
		e.navAt = map[string]seenBox{}
	}
	for which, at := range map[string][]int{"Back": n.Back, "Cancel": n.Cancel} {
		if at == nil {
			continue
		}
		k := o.Name + " " + which
		first, ok := e.navAt[k]
		if !ok {
			e.navAt[k] = seenBox{name + ", " + lang, at}
			continue
		}
		for i := range at {
			if d := at[i] - first.box[i]; d > 1 || d < -1 {
				t.Errorf("%s, %s, %s: %s at %v, on %s at %v", name, lang, o.Name, which, at, first.where, first.box)
				break
			}
		}
	}
	if noNav[name] {
		if n.Back != nil || n.Cancel != nil {
			t.Errorf("%s, %s, %s: Back or Cancel shown (%v, %v) where they mean nothing", name, lang, o.Name, n.Back, n.Cancel)
		}
	} else if n.Back == nil && n.Cancel == nil {
		t.Errorf("%s, %s, %s: no way back (neither Back nor Cancel)", name, lang, o.Name)
	}
	if (noNav[name] || name == "lookup_result") && name != "idle" && !n.Finish {
		t.Errorf("%s, %s, %s: no Finish", name, lang, o.Name)
	}
	if step, ok := stepped[name]; ok {
		if want := strings.NewReplacer("{n}", step[0], "{of}", step[1]).Replace(e.cats[lang]["progress"]); n.Progress != want {
			t.Errorf("%s, %s, %s: step indicator %q, want %q", name, lang, o.Name, n.Progress, want)
		}
	}
}

// everyScreen walks the page in Chromium and audits each screen it is
// shown, in each language and orientation.
type everyScreen struct {
	*browserRig
	t       *testing.T
	cats    map[string]map[string]string
	audited int
	navAt   map[string]seenBox // orientation and button: Back's and Cancel's box where first seen
}

// screen audits what the page shows now as the screen called name: in
// both orientations, in each language, and in large-text mode.
func (e *everyScreen) screen(name string) { e.screenIn(name, ui.DefaultLanguages...) }

// screenIn is screen in the languages langs only: for a screen that shows what was done in one language
// (the done screen's receipt preview).
func (e *everyScreen) screenIn(name string, langs ...string) {
	t := e.t
	t.Helper()
	for _, o := range uitest.Orientations {
		e.SetViewport(t, o)
		if want := pictures[name]; want != nil {
			arg, _ := json.Marshal(want)
			if missing := uitest.Get(t, e.Browser, chromedp.Evaluate[[]string](picturesJS+"("+string(arg)+")")); len(missing) > 0 {
				t.Errorf("%s, %s: pictures not shown: %v", name, o.Name, missing)
			}
		}
		for i, lang := range langs {
			e.lang(lang)
			e.nav(name, o, lang)
			if p := e.Audit(t, uitest.AuditOptions{Lang: lang, Catalogue: e.cats[lang]}); len(p) > 0 {
				t.Errorf("%s, %s, %s: %s", name, lang, o.Name, uitest.Describe(p))
			}
			e.audited++
			if dir := gallery(); dir != "" && (galleryShots[name] || os.Getenv("KIOSKD_GALLERY_ALL") != "") {
				e.SaveGalleryShot(t, o, filepath.Join(dir, fmt.Sprintf("%s-%s-%s.png", name, lang, o.Name)))
			}
			// Large text: every text of the screen at least 1.5 times
			// its size in normal text (issue 13 item 6), and the screen
			// still fits, in each language.
			normal := e.TextSizes(t)
			e.large(true)
			if p := e.Audit(t, uitest.AuditOptions{Lang: lang, Catalogue: e.cats[lang], Large: true}); len(p) > 0 {
				t.Errorf("%s, large text, %s, %s: %s", name, lang, o.Name, uitest.Describe(p))
			}
			if p := uitest.GrownLess(normal, e.TextSizes(t), 1.5); len(p) > 0 {
				t.Errorf("%s, large text, %s, %s: %s", name, lang, o.Name, uitest.Describe(p))
			}
			// The gallery keeps the last language's.
			if dir := gallery(); dir != "" && i == len(langs)-1 && (galleryLarge[name] && o.Name == "portrait" || os.Getenv("KIOSKD_GALLERY_ALL") != "") {
				e.SaveGalleryShot(t, o, filepath.Join(dir, fmt.Sprintf("%s-large-%s.png", name, o.Name)))
			}
			e.large(false)
		}
	}
	e.lang("zh-CN")
	e.SetViewport(t, uitest.Orientations[0])
}

// preview checks that the done screen's receipt preview is lang's
// receipt: it has lang's voucher label and no other language's.
func (e *everyScreen) preview(lang string) {
	t := e.t
	t.Helper()
	p := e.Text(t, "#preview")
	for _, l := range ui.DefaultLanguages {
		label := receiptVoucherLabel(t, l)
		if has := strings.Contains(p, label); has != (l == lang) {
			t.Errorf("the %s done screen's receipt preview has %s's voucher label %q: %v\n%s", lang, l, label, has, p)
		}
	}
}

// receiptVoucherLabel is the line above the voucher on lang's receipt
// (package receipt's words for it).
func receiptVoucherLabel(t *testing.T, lang string) string {
	t.Helper()
	const v = "V0000"
	lines := strings.Split(escpos.PlainText(receipt.Build(receipt.Data{Kind: op.ReportLoss, Lang: lang, Voucher: v}, receiptConfig), 0), "\n")
	for i := 1; i < len(lines); i++ {
		if strings.Contains(lines[i], v) {
			return strings.TrimSpace(lines[i-1])
		}
	}
	t.Fatalf("no voucher %s on the %s receipt:\n%s", v, lang, strings.Join(lines, "\n"))
	return ""
}

// lang switches the page's language on its language buttons.
func (e *everyScreen) lang(l string) {
	e.t.Helper()
	// The daemon's answer (its screen in that language) is waited for: a
	// frame sent before the switch must not redraw the page after the
	// audit began.
	e.Run(e.t, uitest.Click(fmt.Sprintf(`#langs [data-lang=%q]`, l)),
		uitest.WaitTrue(fmt.Sprintf(`window.kiosk.screen().data.lang === %q && document.documentElement.lang === %q`, l, l)))
}

// large turns large-text mode on or off with its button.
func (e *everyScreen) large(on bool) {
	e.t.Helper()
	want := `html.large #btn-large[aria-pressed="true"]`
	if !on {
		want = `html:not(.large) #btn-large[aria-pressed="false"]`
	}
	e.Run(e.t, uitest.Click("#btn-large"), chromedp.WaitVisible(chromedp.CSS(want)))
}

// TestBrowserEveryScreen walks every citizen screen in real Chromium, in
// zh-CN, vi and en, on a portrait 1080×1920 and a landscape 1920×1080
// screen, and in large-text mode, and audits each (uitest.Audit): nothing
// outside the screen or clipped, the main action at least 96 px high in
// the lower half, touch targets at least 64 px (96 in large text), text at
// least 28 px with a contrast of at least 4.5:1, every control named, no
// catalogue key shown raw, every text in the screen's language. With
// $KIOSKD_GALLERY set (`make screenshots`) it also writes the gallery of
// the main screens there.
func TestBrowserEveryScreen(t *testing.T) {
	start := time.Now()
	// The working screen is audited while a card read waits: longer than
	// a call's usual deadline.
	r := newBrowserRig(t, func(_ *browserRig, c *Config, _ *Deps) { c.CallTimeout = 10 * time.Minute })
	e := &everyScreen{browserRig: r, t: t, cats: map[string]map[string]string{}}
	facts := ui.Facts(config.Default().Facts())
	for _, l := range ui.DefaultLanguages {
		raw, err := fs.ReadFile(ui.PageFS(facts), "i18n/"+l+".json")
		if err != nil {
			t.Fatal(err)
		}
		c := map[string]string{}
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		e.cats[l] = c
	}
	// Both readers are there, as on a working terminal.
	for _, slot := range []hwbridge.Slot{hwbridge.SlotID, hwbridge.SlotSS} {
		r.dev.ch <- DeviceEvent{Kind: hwbridge.ReaderAdded, Slot: slot}
	}
	if dir := gallery(); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	screen := func(name string, acts ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		r.Run(t, acts...)
		e.screen(name)
	}
	ok := func(keys string) chromedp.Action[chromedp.Void] { return uitest.TypeKeys(keys) }
	// reportUpToCard starts a report in mode (self or proxy) and types the
	// access key k, up to the screen asking for the ID card.
	reportUpToCard := func(mode string, k BACKey) {
		t.Helper()
		r.Run(t, uitest.Click(`#screen [data-value="report_loss"]`), uitest.Screen("menu", "mode"),
			uitest.Click(fmt.Sprintf(`#screen [data-value=%q]`, mode)), uitest.Screen("keypad", "doc_number"),
			ok(k.DocNumber), uitest.Screen("keypad", "birth_date"),
			ok(k.BirthDate), uitest.Screen("keypad", "expiry_date"),
			ok(k.ExpiryDate), uitest.Screen("identify", ""))
	}

	// Report a lost card, for oneself.
	screen("idle")
	screen("mode", uitest.Click(`#screen [data-value="report_loss"]`), uitest.Screen("menu", "mode"))
	screen("menu", uitest.Click("#btn-back"), chromedp.WaitVisible(chromedp.CSS(`#screen[data-name="menu"][data-field=""] [data-value="lookup"]`)))
	r.Run(t, uitest.Click(`#screen [data-value="report_loss"]`), uitest.Screen("menu", "mode"))
	screen("doc_number", uitest.Click(`#screen [data-value="self"]`), uitest.Screen("keypad", "doc_number"))
	screen("birth_date", ok(bacOK.DocNumber), uitest.Screen("keypad", "birth_date"))
	screen("expiry_date", ok(bacOK.BirthDate), uitest.Screen("keypad", "expiry_date"))
	screen("place_id", ok(bacOK.ExpiryDate), uitest.Screen("identify", ""))
	r.dev.insert(hwbridge.SlotID)
	screen("confirm", uitest.Screen("confirm", ""))
	// What will happen, said before Confirm; the next steps, a numbered
	// list of the done screen's own (item 2; the texts: nextsteps_test.go).
	count := func(sel string) int {
		return uitest.Get(t, r.Browser, chromedp.Evaluate[int](fmt.Sprintf(`[...document.querySelectorAll(%q)].filter((e) => e.offsetParent).length`, sel)))
	}
	if n := count("#screen #notes li"); n != 2 {
		t.Errorf("the confirm screen says %d things that will happen, want 2 (settlement stops; the formal report and new card)", n)
	}
	// The done screen shows the receipt as printed, in the language of
	// the session that printed it: it is audited (and pictured) in that
	// language only, and the report is made again in each of the others.
	done := func(lang string) {
		t.Helper()
		r.Run(t, uitest.Click("#btn-confirm"), chromedp.WaitVisible(chromedp.CSS(`#screen[data-name="done"] #preview`)))
		e.preview(lang)
		e.screenIn("done", lang)
		if n := count("#screen ol#steps > li"); n != 4 {
			t.Errorf("the done screen lists %d next steps, want 4", n)
		}
		r.Run(t, uitest.Click("#btn-finish"), uitest.Screen("idle", ""))
		r.dev.remove(hwbridge.SlotID)
	}
	done("zh-CN")
	for _, lang := range ui.DefaultLanguages {
		if lang == "zh-CN" {
			continue
		}
		e.lang(lang)
		reportUpToCard("self", bacOK)
		r.dev.insert(hwbridge.SlotID)
		r.Run(t, uitest.Screen("confirm", ""))
		done(lang)
	}

	// By proxy.
	reportUpToCard("proxy", bacAgent)
	r.dev.insert(hwbridge.SlotID)
	screen("subject_id", uitest.Screen("keypad", "subject_id"))
	screen("relationship", ok(holder.IDNumber), uitest.Screen("menu", "relationship"))
	screen("confirm_proxy", uitest.Click(`#screen [data-value="child"]`), uitest.Screen("confirm", ""))
	screen("done_proxy", uitest.Click("#btn-confirm"), chromedp.WaitVisible(chromedp.CSS(`#screen[data-name="done"] #preview`)))
	r.Run(t, uitest.Click("#btn-finish"), uitest.Screen("idle", ""))
	r.dev.remove(hwbridge.SlotID)

	// A wrong access key: the error screen offers to correct it.
	r.Run(t, uitest.Click(`#screen [data-value="report_loss"]`), uitest.Screen("menu", "mode"),
		uitest.Click(`#screen [data-value="self"]`), uitest.Screen("keypad", "doc_number"),
		ok("999999999"), uitest.Screen("keypad", "birth_date"),
		ok(bacOK.BirthDate), uitest.Screen("keypad", "expiry_date"),
		ok(bacOK.ExpiryDate), uitest.Screen("identify", ""))
	r.dev.insert(hwbridge.SlotID)
	screen("read_failed", uitest.Screen("error", ""))
	// The retry keeps what was typed; a 12-digit citizen ID number is
	// taken for its last 9 digits, and the screen says so; the second
	// failure sends the citizen to a counter.
	screen("doc_number_kept", uitest.Click("#btn-retry"), uitest.Screen("keypad", "doc_number"), uitest.WaitText("#display", "999999999"))
	r.Run(t, uitest.Click("#btn-clear"), uitest.TypeKeys("001090099999"))
	screen("birth_date_derived", uitest.Screen("keypad", "birth_date"), chromedp.WaitVisible(chromedp.CSS("#derived")))
	r.Run(t, uitest.Click("#btn-ok"), uitest.Screen("keypad", "expiry_date"), uitest.Click("#btn-ok"))
	screen("unreadable", uitest.Screen("error", ""), chromedp.WaitVisible(chromedp.CSS(`#error-code[data-code="id_unreadable"]`)))
	// Sent to a counter with the hotline: no retry is offered.
	if h, hot := r.Text(t, "#screen .hotline"), config.Default().Receipt.Hotline; !strings.Contains(h, hot) {
		t.Errorf("the unreadable-card screen's hotline reads %q, want the number %s", h, hot)
	}
	if n := uitest.Get(t, r.Browser, chromedp.Evaluate[int](`document.querySelectorAll("#btn-retry").length`)); n != 0 {
		t.Error("the unreadable-card screen offers a retry")
	}
	// Its way back is the bar's Back and Cancel, as everywhere: no button
	// of its own (it had a "Back to menu" that did what Back does).
	if b := uitest.Get(t, r.Browser, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#screen button")].filter((b) => b.offsetParent).map((b) => b.id || b.textContent.trim())`)); len(b) > 0 {
		t.Errorf("the unreadable-card screen has buttons of its own besides Back and Cancel: %q", b)
	}
	r.Run(t, uitest.Click("#btn-cancel"), uitest.Screen("idle", ""))
	r.dev.remove(hwbridge.SlotID)

	// Suspend settlement, with the printer out of paper.
	r.pr.mu.Lock()
	r.pr.paperOut = true
	r.pr.mu.Unlock()
	r.dev.ch <- DeviceEvent{Kind: PrinterChanged, Printer: "paper_out"}
	screen("insert_ss", uitest.Click(`#screen [data-value="suspend_settlement"]`), uitest.Screen("identify", ""), chromedp.WaitVisible(chromedp.CSS("#banner")))
	r.dev.insert(hwbridge.SlotSS)
	screen("pin", uitest.Screen("keypad", "pin"))
	screen("pin_wrong", ok("111111"), chromedp.WaitVisible(chromedp.CSS("#tries-left")))
	screen("confirm_suspend", ok("924681"), uitest.Screen("confirm", ""))
	screen("done_paper_out", uitest.Click("#btn-confirm"), chromedp.WaitVisible(chromedp.CSS(`#screen[data-name="done"] #print-state.error-text`)))
	v := r.Text(t, "#voucher")
	r.Run(t, uitest.Click("#btn-finish"), uitest.Screen("idle", ""))
	r.dev.remove(hwbridge.SlotSS)
	r.pr.mu.Lock()
	r.pr.paperOut = false
	r.pr.mu.Unlock()
	r.dev.ch <- DeviceEvent{Kind: PrinterChanged, Printer: "ok"}
	r.Run(t, chromedp.WaitNotVisible(chromedp.CSS("#banner")))

	// Resume, with the card read slowly: the working screen.
	r.id.mu.Lock()
	r.id.block = make(chan struct{})
	r.id.mu.Unlock()
	r.Run(t, uitest.Click(`#screen [data-value="resume_settlement"]`), uitest.Screen("identify", ""))
	r.dev.insert(hwbridge.SlotSS)
	screen("working", uitest.Screen("working", ""))
	close(r.id.block)
	r.Run(t, uitest.Screen("keypad", "pin"), uitest.Click("#btn-cancel"), uitest.Screen("idle", ""))
	r.dev.remove(hwbridge.SlotSS)

	// Look up the report.
	screen("voucher", uitest.Click(`#screen [data-value="lookup"]`), uitest.Screen("keypad", "voucher"))
	screen("lookup_result", ok(strings.ReplaceAll(v, "-", "")), uitest.Screen("lookup_result", ""))
	r.Run(t, uitest.Click("#btn-finish"), uitest.Screen("idle", ""))

	// The technicians' entry (five taps on the title) on a terminal
	// without the menu.
	for range 5 {
		r.Run(t, uitest.Click("#title"))
	}
	screen("maintenance", uitest.Screen("maintenance_locked", ""))
	r.Run(t, uitest.Click("#btn-cancel"), uitest.Screen("idle", ""))

	t.Logf("%d screens audited in %s", e.audited, time.Since(start).Round(time.Millisecond))
}
