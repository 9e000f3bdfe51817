package session

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui"
)

// Browser tests: real headless Chromium (Debian's /usr/bin/chromium)
// renders the embedded page served by a real ui.Server, with the session
// behind it on in-memory fakes. The buttons are touched the way a citizen
// would: by clicking what the page rendered.

const chromiumPath = "/usr/bin/chromium"

// browserRig is a session and its page in Chromium.
type browserRig struct {
	out   *fakeOutbox
	pr    *fakePrinter
	dev   *fakeDevices
	url   string
	ctx   context.Context // chromedp tab
	shots string
	n     int
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

func newBrowserRig(tb testing.TB, mod ...func(*browserRig, *Deps)) *browserRig {
	tb.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if testing.Short() {
			tb.Skip("chromium not installed; skipped in -short mode")
		}
		tb.Fatalf("chromium not found at %s: `make test` installs it (scripts/install-test-deps.sh)", chromiumPath)
	}
	r := &browserRig{
		out: &fakeOutbox{},
		pr:  &fakePrinter{},
		dev: &fakeDevices{ch: make(chan DeviceEvent)},
	}
	cen := &fakeCentral{cards: map[string][]Card{holder.IDNumber: {{Number: "A12345678", State: "active"}}}}
	srv := ui.NewServer(ui.Config{KioskID: "K-TEST", Version: "test", Rate: 200, Burst: 400})
	r.clock = newClock()
	deps := Deps{Outbox: r.out, Identity: newIdentity(), Central: cen, Printer: r.pr, Devices: r.dev, Display: srv}
	for _, m := range mod {
		m(r, &deps)
	}
	sess := New(Config{KioskID: "K-TEST", Clock: r.clock}, deps)
	srv.SetDriver(sess)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sess.Run(ctx) }()
	hs := httptest.NewServer(srv)
	// The browser reaches the server through a TCP relay the test can cut,
	// as a flaky link or a daemon restart would.
	r.relay = newRelay(tb, hs.Listener.Addr().String())
	r.url = "http://" + r.relay.ln.Addr().String()

	r.shots = os.Getenv("KIOSKD_SCREENSHOTS")
	if r.shots == "" {
		r.shots = tb.TempDir()
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1280, 1024),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	tctx, tcancel := chromedp.NewContext(actx)
	r.ctx = tctx
	tb.Cleanup(func() {
		tcancel()
		acancel()
		cancel()
		<-done
		srv.Close()
		hs.Close()
	})
	// The first call starts the browser; it must not carry a timeout, which
	// would end the browser with it.
	if err := chromedp.Do(r.ctx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	r.run(tb, chromedp.Navigate(r.url), chromedp.WaitVisible(chromedp.CSS(`#screen[data-name="idle"] #btn-start`)))
	return r
}

func (r *browserRig) run(tb testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.Fatalf("chromium: %v", err)
	}
}

// get runs one action that returns a value.
func get[T any](tb testing.TB, r *browserRig, a chromedp.Action[T]) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.Fatalf("chromium: %v", err)
	}
	return v
}

func text(tb testing.TB, r *browserRig, sel string) string {
	tb.Helper()
	return get(tb, r, chromedp.Text(chromedp.CSS(sel)))
}

// screen waits until the page shows the screen (and keypad field).
func screen(name, field string) chromedp.Action[chromedp.Void] {
	sel := fmt.Sprintf(`#screen[data-name=%q]`, name)
	if field != "" {
		sel += fmt.Sprintf(`[data-field=%q]`, field)
	}
	return chromedp.WaitVisible(chromedp.CSS(sel + " h1"))
}

// click touches a rendered button. A screen frame may replace the button
// between finding and touching it; then it is found again.
func click(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		var err error
		for range 5 {
			if _, err = chromedp.Click(chromedp.CSS(sel))(ctx, t); err == nil || ctx.Err() != nil {
				break
			}
		}
		return chromedp.Void{}, err
	}
}

// typeKeys touches the on-screen keypad, then OK.
func typeKeys(s string) chromedp.Action[chromedp.Void] {
	var acts []chromedp.Action[chromedp.Void]
	for _, c := range s {
		acts = append(acts, click(fmt.Sprintf(`#screen [data-key=%q]`, string(c))))
	}
	return chromedp.Steps(append(acts, click("#btn-ok"))...)
}

func (r *browserRig) shot(tb testing.TB, name string) {
	tb.Helper()
	// Touch-first: every visible button at least 64 px each way, every
	// visible text at least 24 px.
	small := get(tb, r, chromedp.Evaluate[[]string](`(() => {
		const bad = [];
		for (const e of document.querySelectorAll("button")) {
			const b = e.getBoundingClientRect();
			if (e.offsetParent && (b.width < 64 || b.height < 64)) bad.push("button " + (e.id || e.textContent));
		}
		for (const e of document.querySelectorAll("body *")) {
			if (!e.offsetParent || !e.childNodes.length || ![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
			if (parseFloat(getComputedStyle(e).fontSize) < 24) bad.push("text " + e.tagName + " " + e.id);
		}
		return bad;
	})()`))
	if len(small) > 0 {
		tb.Errorf("%s: too small for touch: %v", name, small)
	}
	png := get(tb, r, chromedp.FullScreenshot(100))
	r.n++
	p := filepath.Join(r.shots, fmt.Sprintf("%s-%02d-%s.png", tb.Name(), r.n, name))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestBrowserReportLoss(t *testing.T) {
	r := newBrowserRig(t)
	for _, lang := range []string{"zh-CN", "vi", "en"} {
		cat, err := readCatalogue(lang)
		if err != nil {
			t.Fatal(err)
		}
		r.run(t, click("#btn-start"), screen("menu", ""))
		r.run(t, click(fmt.Sprintf(`#langs [data-lang=%q]`, lang)),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#langs [data-lang=%q][aria-pressed="true"]`, lang))))
		h1, lbl := text(t, r, "#screen h1"), text(t, r, "#btn-cancel")
		docLang := get(t, r, chromedp.Evaluate[string](`document.documentElement.lang`))
		if h1 != cat["menu.title"] || lbl != cat["btn.cancel"] || docLang != lang {
			t.Errorf("%s: menu title %q, cancel %q, lang %q", lang, h1, lbl, docLang)
		}
		r.shot(t, lang+"-menu")
		r.run(t, click(`#screen [data-value="report_loss"]`), screen("menu", "mode"))
		r.shot(t, lang+"-mode")
		r.run(t, click(`#screen [data-value="self"]`), screen("keypad", "doc_number"))
		r.shot(t, lang+"-keypad-doc")
		r.run(t, typeKeys(bacOK.DocNumber), screen("keypad", "birth_date"))
		r.shot(t, lang+"-keypad-birth")
		r.run(t, typeKeys(bacOK.BirthDate), screen("keypad", "expiry_date"))
		r.shot(t, lang+"-keypad-expiry")
		r.run(t, typeKeys(bacOK.ExpiryDate), screen("identify", ""))
		if h1 := text(t, r, "#screen h1"); h1 != cat["identify.id.title"] {
			t.Errorf("%s: identify title %q", lang, h1)
		}
		r.shot(t, lang+"-identify")
		r.dev.insert(hwbridge.SlotID)
		r.run(t, screen("confirm", ""))
		if name := text(t, r, `#screen [data-row="row.name"]`); name != holder.Name {
			t.Errorf("%s: confirm shows name %q", lang, name)
		}
		r.shot(t, lang+"-confirm")
		r.run(t, click("#btn-confirm"), chromedp.WaitVisible(chromedp.CSS("#screen #preview")))
		shown, preview, h1 := text(t, r, "#voucher"), text(t, r, "#preview"), text(t, r, "#screen h1")
		r.shot(t, lang+"-done")
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
		r.run(t, click("#btn-finish"), screen("idle", ""))
		body := get(t, r, chromedp.Evaluate[string](`document.body.innerText`))
		html := get(t, r, chromedp.OuterHTML(chromedp.CSS("html")))
		r.shot(t, lang+"-idle")
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

// The page shows printer trouble plainly, survives a dropped connection (the
// daemon resends the current screen) and tells the citizen where to get the
// receipt when none could be printed.
func TestBrowserReconnectAndPaperOut(t *testing.T) {
	r := newBrowserRig(t)
	cat, err := readCatalogue("zh-CN")
	if err != nil {
		t.Fatal(err)
	}
	r.run(t, click("#btn-start"), screen("menu", ""),
		click(`#screen [data-value="suspend_settlement"]`), screen("identify", ""))
	// The countdown shows in the last 10 s; a touch anywhere hides it.
	r.clock.Advance(51 * time.Second)
	r.run(t, chromedp.WaitVisible(chromedp.CSS("#countdown")))
	if c := text(t, r, "#countdown"); c != strings.ReplaceAll(cat["countdown"], "{n}", "9") {
		t.Errorf("countdown %q", c)
	}
	r.shot(t, "countdown")
	r.run(t, click("#screen h1"), chromedp.WaitNotVisible(chromedp.CSS("#countdown")))
	r.dev.insert(hwbridge.SlotSS)
	r.run(t, screen("keypad", "pin"), typeKeys("92"))
	r.run(t, screen("keypad", "pin")) // "92" is refused as too short: still the keypad
	r.pr.mu.Lock()
	r.pr.paperOut = true
	r.pr.mu.Unlock()
	r.dev.ch <- DeviceEvent{Kind: PrinterChanged, Printer: "paper_out"}
	r.run(t, chromedp.WaitVisible(chromedp.CSS("#banner")))
	if b := text(t, r, "#banner"); !strings.Contains(b, cat["device.printer.paper_out"]) || !strings.Contains(b, cat["done.not_printed"]) {
		t.Errorf("banner %q", b)
	}
	r.shot(t, "paper-out-banner")

	renders := get(t, r, chromedp.Evaluate[int](`window.__renders.length`))
	r.relay.cut()
	r.run(t, chromedp.WaitVisible(chromedp.CSS("#overlay")))
	r.shot(t, "reconnecting")
	r.run(t, chromedp.WaitNotVisible(chromedp.CSS("#overlay")), screen("keypad", "pin"))
	if n := get(t, r, chromedp.Evaluate[int](`window.__renders.length`)); n <= renders {
		t.Errorf("screen not sent again after reconnecting (%d renders before, %d after)", renders, n)
	}
	if d := text(t, r, "#display"); d != "●●" {
		t.Errorf("typed digits lost on reconnect: display %q", d)
	}
	// This time on a hardware keypad: Backspace twice, the PIN, Enter.
	r.run(t, chromedp.KeyEvent("\b\b924681\r"), screen("confirm", ""), click("#btn-confirm"),
		chromedp.WaitVisible(chromedp.CSS(`#screen[data-name="done"] #print-state.error-text`)))
	r.shot(t, "done-paper-out")
	if p := text(t, r, "#print-state"); !strings.Contains(p, cat["done.not_printed"]) {
		t.Errorf("print state %q", p)
	}
	if v := text(t, r, "#voucher"); v != voucher.Format(r.out.lastVoucher()) {
		t.Errorf("voucher %q, outbox %q", v, voucher.Format(r.out.lastVoucher()))
	}
	// Five taps on the title open the technicians' placeholder.
	r.run(t, click("#btn-finish"), screen("idle", ""), click("#btn-start"), screen("menu", ""))
	for range 5 {
		r.run(t, click("#title"))
	}
	r.run(t, screen("maintenance_locked", ""))
	r.shot(t, "maintenance")
}
