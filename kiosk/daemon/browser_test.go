package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui"
)

// Browser tests: real headless Chromium (Debian's /usr/bin/chromium) on
// the touch page served by the real daemon, which runs the session over
// the real store, embedded central, simulated readers and the virtual
// printer behind a pty. Buttons are touched by clicking what the page
// rendered.

const chromiumPath = "/usr/bin/chromium"

// browser is a Chromium tab on the daemon's page.
type browser struct {
	e     *e2e
	ctx   context.Context
	shots string
	n     int
}

func newBrowser(tb testing.TB, e *e2e) *browser {
	tb.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if testing.Short() {
			tb.Skip("chromium not installed; skipped in -short mode")
		}
		tb.Fatalf("chromium not found at %s: `make test` installs it (scripts/install-test-deps.sh)", chromiumPath)
	}
	b := &browser{e: e, shots: os.Getenv("KIOSKD_SCREENSHOTS")}
	if b.shots == "" {
		b.shots = tb.TempDir()
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
	b.ctx = tctx
	tb.Cleanup(func() {
		tcancel()
		acancel()
	})
	// The first call starts the browser; it must not carry a timeout, which
	// would end the browser with it.
	if err := chromedp.Do(b.ctx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	b.run(tb, chromedp.Navigate(e.a.UI+"/"), chromedp.WaitVisible(chromedp.CSS(`#screen[data-name="idle"] #btn-start`)))
	return b
}

func (b *browser) run(tb testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.Fatalf("chromium: %v", err)
	}
}

// get runs one action that returns a value.
func get[T any](tb testing.TB, b *browser, a chromedp.Action[T]) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.Fatalf("chromium: %v", err)
	}
	return v
}

func (b *browser) text(tb testing.TB, sel string) string {
	tb.Helper()
	return get(tb, b, chromedp.Text(chromedp.CSS(sel)))
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

// shot saves a screenshot of the screen.
func (b *browser) shot(tb testing.TB, name string) {
	tb.Helper()
	png := get(tb, b, chromedp.FullScreenshot(100))
	b.n++
	p := filepath.Join(b.shots, fmt.Sprintf("%s-%02d-%s.png", strings.ReplaceAll(tb.Name(), "/", "_"), b.n, name))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func catalogue(tb testing.TB, lang string) map[string]string {
	tb.Helper()
	raw, err := fs.ReadFile(ui.StaticFS(), "i18n/"+lang+".json")
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

// reportToIdentify touches through report_loss from idle to the identify
// screen with the Vietnamese ID card's BAC key.
func (b *browser) reportToIdentify(tb testing.TB) {
	tb.Helper()
	b.run(tb, click("#btn-start"), screen("menu", ""),
		click(`#screen [data-value="report_loss"]`), screen("menu", "mode"),
		click(`#screen [data-value="self"]`), screen("keypad", "doc_number"),
		typeKeys(vnDoc), screen("keypad", "birth_date"),
		typeKeys(vnBirth), screen("keypad", "expiry_date"),
		typeKeys(vnExpiry), screen("identify", ""))
}

// TestBrowserReportLoss: report_loss in each language through the real
// daemon; the voucher on screen is the stored one and the printed one, and
// the page keeps nothing of the citizen after the session.
func TestBrowserReportLoss(t *testing.T) {
	e := runDaemon(t)
	b := newBrowser(t, e)
	b.shot(t, "idle")
	for i, lang := range []string{"zh-CN", "vi", "en"} {
		cat := catalogue(t, lang)
		b.run(t, click("#btn-start"), screen("menu", ""))
		b.run(t, click(fmt.Sprintf(`#langs [data-lang=%q]`, lang)),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#langs [data-lang=%q][aria-pressed="true"]`, lang))))
		if h1 := b.text(t, "#screen h1"); h1 != cat["menu.title"] {
			t.Errorf("%s: menu title %q, want %q", lang, h1, cat["menu.title"])
		}
		b.shot(t, lang+"-menu")
		b.run(t, click(`#screen [data-value="report_loss"]`), screen("menu", "mode"))
		b.shot(t, lang+"-mode")
		b.run(t, click(`#screen [data-value="self"]`), screen("keypad", "doc_number"))
		b.shot(t, lang+"-keypad-doc")
		b.run(t, typeKeys(vnDoc), screen("keypad", "birth_date"))
		b.shot(t, lang+"-keypad-birth")
		b.run(t, typeKeys(vnBirth), screen("keypad", "expiry_date"))
		b.shot(t, lang+"-keypad-expiry")
		b.run(t, typeKeys(vnExpiry), screen("identify", ""))
		if h1 := b.text(t, "#screen h1"); h1 != cat["identify.id.title"] {
			t.Errorf("%s: identify title %q", lang, h1)
		}
		b.shot(t, lang+"-identify")
		if i == 0 {
			e.insertHTTP("id", "emrtd_vn.json")
		} else {
			e.insert(hwbridge.SlotID, loadCard(t, "emrtd_vn.json"))
		}
		b.run(t, screen("confirm", ""))
		if name := b.text(t, `#screen [data-row="row.name"]`); name != vnName {
			t.Errorf("%s: confirm shows name %q, want %q", lang, name, vnName)
		}
		b.shot(t, lang+"-confirm")
		b.run(t, click("#btn-confirm"), chromedp.WaitVisible(chromedp.CSS(`#screen[data-name="done"] #preview`)))
		shown, preview, h1 := b.text(t, "#voucher"), b.text(t, "#preview"), b.text(t, "#screen h1")
		b.shot(t, lang+"-done")
		ops := e.ops()
		if len(ops) != i+1 {
			t.Fatalf("%s: %d operations in the store, want %d", lang, len(ops), i+1)
		}
		want := voucher.Format(ops[0].Voucher)
		if shown != want {
			t.Errorf("%s: voucher on screen %q, store %q", lang, shown, want)
		}
		if !strings.Contains(preview, want) {
			t.Errorf("%s: receipt preview does not carry %s", lang, want)
		}
		if h1 != cat["done.title.report_loss"] {
			t.Errorf("%s: done title %q", lang, h1)
		}
		if p := e.personal(ops[0]); p.Subject["id_number"] != vnID {
			t.Errorf("%s: stored subject %v", lang, p.Subject)
		}
		text := e.receiptWith(want) // the printed receipt carries the same voucher
		assertNoPersonalData(t, lang+" receipt", text)

		// Finish: the page is idle and holds nothing of the citizen.
		b.run(t, click("#btn-finish"), screen("idle", ""))
		body := get(t, b, chromedp.Evaluate[string](`document.body.innerText`))
		html := get(t, b, chromedp.OuterHTML(chromedp.CSS("html")))
		b.shot(t, lang+"-idle")
		for _, p := range slices.Concat(personalData, []string{want, ops[0].Voucher}) {
			if strings.Contains(body, p) || strings.Contains(html, p) {
				t.Errorf("%s: page still shows %q after the session", lang, p)
			}
		}
		e.remove(hwbridge.SlotID)
	}

	// A citizen who takes the card on the confirm screen, where the name
	// is shown, leaves nothing behind either.
	b.reportToIdentify(t)
	e.insert(hwbridge.SlotID, loadCard(t, "emrtd_vn.json"))
	b.run(t, screen("confirm", ""))
	if name := b.text(t, `#screen [data-row="row.name"]`); name != vnName {
		t.Errorf("confirm shows name %q, want %q", name, vnName)
	}
	e.post("/v1/sim/reader/id/remove", nil, http.StatusNoContent)
	b.run(t, screen("idle", ""))
	b.shot(t, "removed-idle")
	body := get(t, b, chromedp.Evaluate[string](`document.body.innerText`))
	html := get(t, b, chromedp.OuterHTML(chromedp.CSS("html")))
	for _, p := range personalData {
		if strings.Contains(body, p) || strings.Contains(html, p) {
			t.Errorf("page still shows %q after the card was taken", p)
		}
	}
	if n := len(e.ops()); n != 3 {
		t.Errorf("%d operations, want the 3 reports", n)
	}
	e.assertForgotten()
}

// BenchmarkWSEvent measures a card inserted into the simulated
// reader → the confirm screen with the chip's identity rendered in
// Chromium, through the real daemon (BAC, secure messaging and the chip
// read, central's card lookup, the WebSocket, the page). p99 over 50 runs.
func BenchmarkWSEvent(b *testing.B) {
	e := runDaemon(b)
	br := newBrowser(b, e)
	const runs = 50
	var lat []float64
	for range b.N {
		lat = lat[:0]
		for range runs {
			br.reportToIdentify(b)
			card := loadCard(b, "emrtd_vn.json")
			t0 := float64(time.Now().UnixMicro()) / 1000
			e.insert(hwbridge.SlotID, card)
			br.run(b, screen("confirm", ""))
			at := get(b, br, chromedp.Evaluate[float64](`window.__renders.filter(r => r.name === "confirm").pop().t`))
			lat = append(lat, max(at-t0, 0))
			e.remove(hwbridge.SlotID) // ends the session
			br.run(b, screen("idle", ""))
		}
	}
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, int(float64(len(lat))*0.99))]
	b.ReportMetric(p99, "ws_event_p99_ms:ms")
}
