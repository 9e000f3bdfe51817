package session

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/card/emrtd"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui"
	"github.com/kioskd/kioskd/ui/uitest"
)

// Browser tests: real headless Chromium (Debian's /usr/bin/chromium)
// renders the embedded page served by a real ui.Server, with the session
// behind it on in-memory fakes. The buttons are touched the way a citizen
// would: by clicking what the page rendered.

// browserRig is a session and its page in Chromium.
type browserRig struct {
	*uitest.Browser
	out   *fakeOutbox
	id    *fakeIdentity
	pr    *fakePrinter
	dev   *fakeDevices
	url   string
	relay *relay
	clock *fakeClock
}

// relay forwards TCP connections to target until cut.
type relay struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newRelay(tb testing.TB, target string) *relay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r := &relay{ln: ln, target: target}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, c, u)
			r.mu.Unlock()
			r.wg.Add(2)
			go func() { defer r.wg.Done(); io.Copy(u, c); u.Close() }()
			go func() { defer r.wg.Done(); io.Copy(c, u); c.Close() }()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		r.cut()
		r.wg.Wait()
	})
	return r
}

// cut closes every relayed connection; new ones are still accepted.
func (r *relay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

func newBrowserRig(tb testing.TB, mod ...func(*browserRig, *Config, *Deps)) *browserRig {
	tb.Helper()
	r := &browserRig{
		id:  newIdentity(),
		out: &fakeOutbox{},
		pr:  &fakePrinter{},
		dev: &fakeDevices{ch: make(chan DeviceEvent)},
	}
	cen := &fakeCentral{cards: map[string][]Card{holder.IDNumber: {{Number: "A12345678", State: "active"}}}, otp: "246810"}
	// The browser reaches the server through a TCP relay the test can cut,
	// as a flaky link or a daemon restart would. The page's origin is the
	// relay's, which the server must be told.
	hs := httptest.NewUnstartedServer(nil)
	r.relay = newRelay(tb, hs.Listener.Addr().String())
	r.url = "http://" + r.relay.ln.Addr().String()
	srv := ui.NewServer(ui.Config{KioskID: "K-TEST", Version: "test", Rate: 200, Burst: 400, AllowedOrigins: []string{r.url}, Facts: config.Default().Facts(),
		Speak: config.Default().Speech.Enabled})
	r.clock = newClock()
	cfg := Config{KioskID: "K-TEST", Clock: r.clock}
	deps := Deps{Outbox: r.out, Identity: r.id, Central: cen, Printer: r.pr, Devices: r.dev, Display: srv}
	for _, m := range mod {
		m(r, &cfg, &deps)
	}
	sess := New(cfg, deps)
	srv.SetDriver(sess)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sess.Run(ctx) }()
	hs.Config.Handler = srv
	hs.Start()

	tb.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
		hs.Close()
	})
	r.Browser = uitest.NewBrowser(tb, r.url, uitest.ShotsDir(tb))
	return r
}

func TestBrowserReportLoss(t *testing.T) {
	r := newBrowserRig(t)
	for _, lang := range []string{"zh-CN", "vi", "en"} {
		cat := uitest.Catalogue(t, lang)
		// The idle screen offers the services in the language chosen on it.
		r.Run(t, uitest.Click(fmt.Sprintf(`#langs [data-lang=%q]`, lang)),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#langs [data-lang=%q][aria-pressed="true"]`, lang))))
		h1, tile := r.Text(t, "#screen h1"), r.Text(t, `#screen [data-value="report_loss"]`)
		docLang := uitest.Get(t, r.Browser, chromedp.Evaluate[string](`document.documentElement.lang`))
		if h1 != cat["idle.title"] || tile != cat["menu.report_loss"] || docLang != lang {
			t.Errorf("%s: idle title %q, tile %q, lang %q", lang, h1, tile, docLang)
		}
		r.Shot(t, lang+"-idle-services")
		r.Run(t, uitest.Click(`#screen [data-value="report_loss"]`), uitest.Screen("menu", "mode"))
		if lbl := r.Text(t, "#btn-cancel"); lbl != cat["btn.cancel"] {
			t.Errorf("%s: cancel %q", lang, lbl)
		}
		r.Shot(t, lang+"-mode")
		r.Run(t, uitest.Click(`#screen [data-value="self"]`), uitest.Screen("keypad", "doc_number"))
		r.Shot(t, lang+"-keypad-doc")
		r.Run(t, uitest.TypeKeys(bacOK.DocNumber), uitest.Screen("keypad", "birth_date"))
		r.Shot(t, lang+"-keypad-birth")
		r.Run(t, uitest.TypeKeys(bacOK.BirthDate), uitest.Screen("keypad", "expiry_date"))
		r.Shot(t, lang+"-keypad-expiry")
		r.Run(t, uitest.TypeKeys(bacOK.ExpiryDate), uitest.Screen("identify", ""))
		if h1 := r.Text(t, "#screen h1"); h1 != cat["identify.id.title"] {
			t.Errorf("%s: identify title %q", lang, h1)
		}
		r.Shot(t, lang+"-identify")
		r.dev.insert(hwbridge.SlotID)
		r.Run(t, uitest.Screen("confirm", ""))
		if name := r.Text(t, `#screen [data-row="row.name"]`); name != holder.Name {
			t.Errorf("%s: confirm shows name %q", lang, name)
		}
		r.Shot(t, lang+"-confirm")
		r.Run(t, uitest.Click("#btn-confirm"), chromedp.WaitVisible(chromedp.CSS("#screen #preview")))
		shown, preview, h1 := r.Text(t, "#voucher"), r.Text(t, "#preview"), r.Text(t, "#screen h1")
		r.Shot(t, lang+"-done")
		want := voucher.Format(r.out.lastVoucher())
		if shown != want {
			t.Errorf("%s: voucher on screen %q, outbox %q", lang, shown, want)
		}
		if rc := r.pr.receipts(); len(rc) == 0 || rc[len(rc)-1].Voucher != want || !strings.Contains(preview, want) {
			t.Errorf("%s: printed receipt does not carry voucher %q", lang, want)
		}
		if h1 != cat["done.title.report_loss"] {
			t.Errorf("%s: done title %q", lang, h1)
		}
		// Finish: the page is idle and keeps nothing of the citizen.
		r.Run(t, uitest.Click("#btn-finish"), uitest.Screen("idle", ""))
		body := uitest.Get(t, r.Browser, chromedp.Evaluate[string](`document.body.innerText`))
		html := uitest.Get(t, r.Browser, chromedp.OuterHTML(chromedp.CSS("html")))
		r.Shot(t, lang+"-idle")
		for _, p := range slices.Concat(personal, []string{want, strings.ReplaceAll(want, "-", "")}) {
			if strings.Contains(body, p) || strings.Contains(html, p) {
				t.Errorf("%s: page still shows %q after the session", lang, p)
			}
		}
		r.dev.remove(hwbridge.SlotID)
	}
	if n := len(r.out.committed()); n != 3 {
		t.Errorf("%d operations committed, want 3", n)
	}
}

// A wrong one-time code clears what was typed and says how many tries are
// left, in words about the code (not the card PIN), each time.
func TestBrowserWrongOTP(t *testing.T) {
	r := newBrowserRig(t, func(_ *browserRig, c *Config, _ *Deps) { c.Policy.RequireOTP = true })
	r.Run(t, uitest.Click(`#screen [data-value="report_loss"]`), uitest.Screen("menu", "mode"))
	r.Run(t, uitest.Click(`#screen [data-value="self"]`), uitest.Screen("keypad", "doc_number"))
	r.Run(t, uitest.TypeKeys(bacOK.DocNumber), uitest.Screen("keypad", "birth_date"))
	r.Run(t, uitest.TypeKeys(bacOK.BirthDate), uitest.Screen("keypad", "expiry_date"))
	r.Run(t, uitest.TypeKeys(bacOK.ExpiryDate), uitest.Screen("identify", ""))
	r.dev.insert(hwbridge.SlotID)
	defer r.dev.remove(hwbridge.SlotID)
	r.Run(t, uitest.Screen("keypad", "otp"))
	lang := uitest.Get(t, r.Browser, chromedp.Evaluate[string](`document.documentElement.lang`))
	cat := uitest.Catalogue(t, lang)
	for i, code := range []string{"111111", "222222"} {
		want := strings.ReplaceAll(cat["keypad.tries_left.otp"], "{n}", fmt.Sprint(2-i))
		r.Run(t, uitest.TypeKeys(code), uitest.WaitText("#tries-left", want))
		if d := r.Text(t, "#display"); d != "" {
			t.Errorf("after wrong code %s the display still shows %q", code, d)
		}
		if e := r.Text(t, "#keypad-error"); e != cat["err.wrong_otp"] {
			t.Errorf("after wrong code %s the error reads %q", code, e)
		}
	}
	r.Shot(t, "otp-wrong")
	r.Run(t, uitest.TypeKeys("246810"), uitest.Screen("confirm", ""))
}

// tdOneMRZ is the TD1 machine readable zone of an ID card with key k, as a
// scanner types it: three lines of 30, each ending in Enter.
func tdOneMRZ(k BACKey) string {
	pad := func(s string, n int) string { return s + strings.Repeat("<", n-len(s)) }
	cd := func(s string) string { return string(emrtd.CheckDigit(s)) }
	l1 := pad("I<VNM"+pad(k.DocNumber, 9)+cd(pad(k.DocNumber, 9)), 30)
	l2 := k.BirthDate + cd(k.BirthDate) + "M" + k.ExpiryDate + cd(k.ExpiryDate) + "VNM" + strings.Repeat("<", 11)
	l2 += cd(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
	return l1 + "\r" + l2 + "\r" + pad("NGUYEN<<VAN<A", 30) + "\r"
}

// An MRZ scanner on the document-number screen: its zone, typed as fast as
// a scanner types, fills the whole BAC key at once; a zone with a wrong
// check digit is refused in words the citizen can act on.
func TestBrowserMRZScanner(t *testing.T) {
	r := newBrowserRig(t)
	r.Run(t, uitest.Click(`#screen [data-value="report_loss"]`), uitest.Screen("menu", "mode"))
	r.Run(t, uitest.Click(`#screen [data-value="self"]`), uitest.Screen("keypad", "doc_number"))
	lang := uitest.Get(t, r.Browser, chromedp.Evaluate[string](`document.documentElement.lang`))
	mrz := tdOneMRZ(bacOK)
	bad := strings.Replace(mrz, "900307", "900308", 1) // the birth date no longer matches its check digit
	r.Run(t, uitest.Scan(bad), uitest.WaitText("#toast", uitest.Catalogue(t, lang)["err.invalid_mrz"]), uitest.Screen("keypad", "doc_number"))
	if d := r.Text(t, "#display"); d != "" {
		t.Errorf("the scanned zone went into the keypad: %q", d)
	}
	r.Shot(t, "mrz-refused")
	r.Run(t, uitest.Scan(mrz), uitest.Screen("identify", ""))
	r.dev.insert(hwbridge.SlotID)
	defer r.dev.remove(hwbridge.SlotID)
	r.Run(t, uitest.Screen("confirm", ""))
	if name := r.Text(t, `#screen [data-row="row.name"]`); name != holder.Name {
		t.Errorf("confirm shows %q: the card was not opened with the scanned key", name)
	}
}

// The page shows printer trouble plainly, survives a dropped connection (the
// daemon resends the current screen) and tells the citizen where to get the
// receipt when none could be printed.
func TestBrowserReconnectAndPaperOut(t *testing.T) {
	r := newBrowserRig(t)
	cat := uitest.Catalogue(t, "zh-CN")
	r.Run(t, uitest.Click(`#screen [data-value="suspend_settlement"]`), uitest.Screen("identify", ""))
	// The countdown shows in the last 10 s; a touch anywhere hides it.
	r.clock.Advance(51 * time.Second)
	r.Run(t, chromedp.WaitVisible(chromedp.CSS("#countdown")))
	if c := r.Text(t, "#countdown"); c != strings.ReplaceAll(cat["countdown"], "{n}", "9") {
		t.Errorf("countdown %q", c)
	}
	r.Shot(t, "countdown")
	r.Run(t, uitest.Click("#screen h1"), chromedp.WaitNotVisible(chromedp.CSS("#countdown")))
	r.dev.insert(hwbridge.SlotSS)
	r.Run(t, uitest.Screen("keypad", "pin"), uitest.TypeKeys("92"))
	r.Run(t, uitest.Screen("keypad", "pin")) // "92" is refused as too short: still the keypad
	r.pr.mu.Lock()
	r.pr.paperOut = true
	r.pr.mu.Unlock()
	r.dev.ch <- DeviceEvent{Kind: PrinterChanged, Printer: "paper_out"}
	r.Run(t, chromedp.WaitVisible(chromedp.CSS("#banner")))
	// Before the report, the banner says what the citizen will get
	// instead of a receipt (not that a voucher is shown: none is yet).
	if b := r.Text(t, "#banner"); !strings.Contains(b, cat["device.printer.paper_out"]) || !strings.Contains(b, cat["banner.no_receipt"]) || strings.Contains(b, cat["done.not_printed"]) {
		t.Errorf("banner %q", b)
	}
	r.Shot(t, "paper-out-banner")

	renders := uitest.Get(t, r.Browser, chromedp.Evaluate[int](`window.__renders.length`))
	r.relay.cut()
	r.Run(t, chromedp.WaitVisible(chromedp.CSS("#overlay")))
	r.Shot(t, "reconnecting")
	r.Run(t, chromedp.WaitNotVisible(chromedp.CSS("#overlay")), uitest.Screen("keypad", "pin"))
	if n := uitest.Get(t, r.Browser, chromedp.Evaluate[int](`window.__renders.length`)); n <= renders {
		t.Errorf("screen not sent again after reconnecting (%d renders before, %d after)", renders, n)
	}
	if d := r.Text(t, "#display"); d != "●●" {
		t.Errorf("typed digits lost on reconnect: display %q", d)
	}
	// This time on a hardware keypad: Backspace twice, the PIN, Enter.
	r.Run(t, chromedp.KeyEvent("\b\b924681\r"), uitest.Screen("confirm", ""), uitest.Click("#btn-confirm"),
		chromedp.WaitVisible(chromedp.CSS(`#screen[data-name="done"] #print-state.error-text`)))
	r.Shot(t, "done-paper-out")
	if p := r.Text(t, "#print-state"); !strings.Contains(p, cat["done.not_printed"]) {
		t.Errorf("print state %q", p)
	}
	if v := r.Text(t, "#voucher"); v != voucher.Format(r.out.lastVoucher()) {
		t.Errorf("voucher %q, outbox %q", v, voucher.Format(r.out.lastVoucher()))
	}
	// Five taps on the title open the technicians' placeholder.
	r.Run(t, uitest.Click("#btn-finish"), uitest.Screen("idle", ""))
	for range 5 {
		r.Run(t, uitest.Click("#title"))
	}
	r.Run(t, uitest.Screen("maintenance_locked", ""))
	r.Shot(t, "maintenance")
}

// TestBrowserTakenOverClearsAtOnce: when another page takes the terminal
// over, this one clears its screen at once: nothing of the citizen is in
// the page when the overlay comes up, nor after.
func TestBrowserTakenOverClearsAtOnce(t *testing.T) {
	r := newBrowserRig(t)
	r.Run(t, uitest.Click(`#screen [data-value="report_loss"]`), uitest.Screen("menu", "mode"),
		uitest.Click(`#screen [data-value="self"]`), uitest.Screen("keypad", "doc_number"),
		uitest.TypeKeys(bacOK.DocNumber), uitest.Screen("keypad", "birth_date"),
		uitest.TypeKeys(bacOK.BirthDate), uitest.Screen("keypad", "expiry_date"),
		uitest.TypeKeys(bacOK.ExpiryDate), uitest.Screen("identify", ""))
	r.dev.insert(hwbridge.SlotID)
	defer r.dev.remove(hwbridge.SlotID)
	r.Run(t, uitest.Screen("confirm", ""))
	if name := r.Text(t, `#screen [data-row="row.name"]`); name != holder.Name {
		t.Fatalf("confirm shows %q", name)
	}
	// "At once": what the page holds when its overlay comes up is noted
	// there and then (a MutationObserver's callback runs before anything
	// else the page does, such as its handling of the connection's close).
	r.Run(t, chromedp.Evaluate[chromedp.Void](`(() => {
	  const o = document.getElementById("overlay");
	  window.__atOverlay = null;
	  new MutationObserver(() => { if (!o.hidden && window.__atOverlay === null) window.__atOverlay = document.documentElement.outerHTML; })
	    .observe(o, { attributes: true, attributeFilter: ["hidden"] });
	})()`))
	other := uitest.Dial(t, r.url)
	other.Expect("confirm")
	r.Run(t, chromedp.WaitVisible(chromedp.CSS("#overlay")), uitest.WaitTrue(`window.__atOverlay !== null`))
	atOverlay := uitest.Get(t, r.Browser, chromedp.Evaluate[string](`window.__atOverlay`))
	html := uitest.Get(t, r.Browser, chromedp.OuterHTML(chromedp.CSS("html")))
	for _, p := range personal {
		if strings.Contains(atOverlay, p) {
			t.Errorf("the page held %q when its overlay came up", p)
		}
		if strings.Contains(html, p) {
			t.Errorf("the page taken over still holds %q", p)
		}
	}
	r.Shot(t, "taken-over")
}

// TestBrowserPreviewFontCoversVietnamese: the receipt preview on the done
// screen of a Vietnamese report is drawn with the one font its style names
// (Noto Sans Mono CJK SC, which has Vietnamese precomposed letters and
// CJK), with no glyph left to a fallback font: under the generic
// monospace (DejaVu Sans Mono) "Số phiếu" came out as "Sô´phiêú", its
// letters patched from another font. Its lines fit its column.
func TestBrowserPreviewFontCoversVietnamese(t *testing.T) {
	r := newBrowserRig(t)
	r.Run(t, uitest.Click(`#langs [data-lang="vi"]`), chromedp.WaitVisible(chromedp.CSS(`#langs [data-lang="vi"][aria-pressed="true"]`)),
		uitest.Click(`#screen [data-value="report_loss"]`), uitest.Screen("menu", "mode"),
		uitest.Click(`#screen [data-value="self"]`), uitest.Screen("keypad", "doc_number"),
		uitest.TypeKeys(bacOK.DocNumber), uitest.Screen("keypad", "birth_date"),
		uitest.TypeKeys(bacOK.BirthDate), uitest.Screen("keypad", "expiry_date"),
		uitest.TypeKeys(bacOK.ExpiryDate), uitest.Screen("identify", ""))
	r.dev.insert(hwbridge.SlotID)
	defer r.dev.remove(hwbridge.SlotID)
	r.Run(t, uitest.Screen("confirm", ""), uitest.Click("#btn-confirm"), chromedp.WaitVisible(chromedp.CSS("#screen #preview")))
	if p := r.Text(t, "#preview"); !strings.Contains(p, "Mã hồ sơ") {
		t.Fatalf("the Vietnamese receipt preview has no %q:\n%s", "Mã hồ sơ", p)
	}
	for _, o := range uitest.Orientations {
		r.SetViewport(t, o)
		r.Run(t, uitest.WaitTrue(`document.fonts.status === "loaded"`))
		fonts := r.Fonts(t, "#preview .pl")
		if len(fonts) != 1 || fonts["Noto Sans Mono CJK SC"] == 0 {
			t.Errorf("%s: the receipt preview is drawn with %v, want Noto Sans Mono CJK SC alone", o.Name, fonts)
		}
		if w := uitest.Get(t, r.Browser, chromedp.Evaluate[[]int](`(() => { const p = document.querySelector("#preview"); return [p.scrollWidth, p.clientWidth]; })()`)); w[0] > w[1] {
			t.Errorf("%s: the receipt preview is %d px wide in a column of %d", o.Name, w[0], w[1])
		}
	}
	r.Shot(t, "vi-done-preview")
}

// TestBrowserNoTechnician: on a terminal with no technician configured,
// the technicians' entry (five taps on the title) says so and how to add
// one (`kioskd hash-pin` and the configuration key) instead of a PIN pad
// that would count down to a lockout.
func TestBrowserNoTechnician(t *testing.T) {
	r := newBrowserRig(t, func(r *browserRig, _ *Config, d *Deps) {
		d.Maintenance = noTechMaint{newFakeMaint(t, r.clock)}
	})
	for range 5 {
		r.Run(t, uitest.Click("#title"))
	}
	r.Run(t, uitest.Screen("maintenance_locked", ""), chromedp.WaitVisible(chromedp.CSS("#maint-no-tech")))
	cat := uitest.Catalogue(t, "zh-CN")
	if got := r.Text(t, "#maint-no-tech"); got != cat["maint.no_technician"] {
		t.Errorf("the entry says %q, want %q", got, cat["maint.no_technician"])
	}
	if how := r.Text(t, "#screen"); !strings.Contains(how, cat["maint.no_technician.how"]) || !strings.Contains(how, "kioskd hash-pin") || !strings.Contains(how, "[[maintenance.technicians]]") {
		t.Errorf("the entry does not say how to add a technician:\n%s", how)
	}
	if n := uitest.Get(t, r.Browser, chromedp.Evaluate[int](`document.querySelectorAll("#screen [data-key]").length`)); n != 0 {
		t.Errorf("a PIN pad (%d keys) with no technician to log in", n)
	}
	r.Shot(t, "no-technician")
	r.Run(t, uitest.Click("#btn-cancel"), uitest.Screen("idle", ""))
}

// TestBrowserTapActsOnLift: a finger's tap, through Chromium's touch
// pipeline, acts once, when the finger lifts from the button it went down
// on: the tap's own click, which the browser makes a frame later, is
// cancelled (it would send the intent again, or land on the next screen's
// button under the finger); a finger that slid from one button to another,
// or whose button went away under it (a new screen drawn), does nothing,
// and a swipe does not take the browser off the page (its history
// gesture). The page's intents are read off its
// WebSocket; each step waits for the screen its own touch asked for, and
// a later touch's answer shows that nothing was sent in between.
func TestBrowserTapActsOnLift(t *testing.T) {
	r := newBrowserRig(t)
	r.Run(t, chromedp.Evaluate[chromedp.Void](`(() => {
	  window.__intents = [];
	  const send = WebSocket.prototype.send;
	  WebSocket.prototype.send = function (data) {
	    const m = JSON.parse(data);
	    if (m.type !== "ping") window.__intents.push(m.type + (m.flow ? ":" + m.flow : ""));
	    return send.call(this, data);
	  };
	})()`))
	intents := func() []string {
		t.Helper()
		return uitest.Get(t, r.Browser, chromedp.Evaluate[[]string](`window.__intents`))
	}
	r.Run(t, uitest.Tap(`#screen [data-value="report_loss"]`), uitest.Screen("menu", "mode"))
	r.Run(t, uitest.Tap("#btn-cancel"), uitest.Screen("idle", ""))
	if got, want := intents(), []string{"start:report_loss", "cancel"}; !slices.Equal(got, want) {
		t.Fatalf("two taps sent %q, want %q", got, want)
	}
	r.Run(t, uitest.Slide(`#screen [data-value="report_loss"]`, `#screen [data-value="lookup"]`))
	r.Run(t, uitest.Tap(`#screen [data-value="lookup"]`), uitest.Screen("keypad", "voucher"))
	if got, want := intents(), []string{"start:report_loss", "cancel", "start:lookup"}; !slices.Equal(got, want) {
		t.Fatalf("a finger slid from one tile to another, then a tap, sent %q, want %q", got, want)
	}
	// The page draws a screen by replacing #screen's children.
	r.Run(t, uitest.Tap("#btn-cancel"), uitest.Screen("idle", ""),
		uitest.TouchDown(`#screen [data-value="lookup"]`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#screen [data-value="lookup"]').replaceWith(document.createElement("div"))`),
		uitest.TouchUp(), uitest.Tap(`#screen [data-value="report_loss"]`), uitest.Screen("menu", "mode"))
	if got, want := intents(), []string{"start:report_loss", "cancel", "start:lookup", "cancel", "start:report_loss"}; !slices.Equal(got, want) {
		t.Fatalf("a finger whose tile went away under it, then a tap on another, sent %q, want %q", got, want)
	}
}
