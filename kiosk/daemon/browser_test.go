package daemon

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui/uitest"
)

// Browser tests: real headless Chromium (Debian's /usr/bin/chromium) on
// the touch page served by the real daemon, which runs the session over
// the real store, embedded central, simulated readers and the virtual
// printer behind a pty. Buttons are touched by clicking what the page
// rendered.

// browser is a Chromium tab on the daemon's page.
type browser struct {
	*uitest.Browser
	e *e2e
}

func newBrowser(tb testing.TB, e *e2e) *browser {
	tb.Helper()
	return &browser{Browser: uitest.NewBrowser(tb, e.a.UI+"/", uitest.ShotsDir(tb)), e: e}
}

// reportToIdentify touches through report_loss from idle to the identify
// screen with the Vietnamese ID card's BAC key.
func (b *browser) reportToIdentify(tb testing.TB) {
	tb.Helper()
	b.Run(tb, uitest.Click(`#screen [data-value="report_loss"]`), uitest.Screen("menu", "mode"),
		uitest.Click(`#screen [data-value="self"]`), uitest.Screen("keypad", "doc_number"),
		uitest.TypeKeys(vnDoc), uitest.Screen("keypad", "birth_date"),
		uitest.TypeKeys(vnBirth), uitest.Screen("keypad", "expiry_date"),
		uitest.TypeKeys(vnExpiry), uitest.Screen("identify", ""))
}

// TestBrowserReportLoss: report_loss in each language through the real
// daemon; the voucher on screen is the stored one and the printed one, and
// the page keeps nothing of the citizen after the session.
func TestBrowserReportLoss(t *testing.T) {
	e := runDaemon(t)
	b := newBrowser(t, e)
	b.Shot(t, "idle")
	for i, lang := range []string{"zh-CN", "vi", "en"} {
		cat := uitest.Catalogue(t, lang)
		b.Run(t, uitest.Click(fmt.Sprintf(`#langs [data-lang=%q]`, lang)),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#langs [data-lang=%q][aria-pressed="true"]`, lang))))
		if h1 := b.Text(t, "#screen h1"); h1 != cat["idle.title"] {
			t.Errorf("%s: idle title %q, want %q", lang, h1, cat["idle.title"])
		}
		b.Shot(t, lang+"-idle")
		b.Run(t, uitest.Click(`#screen [data-value="report_loss"]`), uitest.Screen("menu", "mode"))
		b.Shot(t, lang+"-mode")
		b.Run(t, uitest.Click(`#screen [data-value="self"]`), uitest.Screen("keypad", "doc_number"))
		b.Shot(t, lang+"-keypad-doc")
		b.Run(t, uitest.TypeKeys(vnDoc), uitest.Screen("keypad", "birth_date"))
		b.Shot(t, lang+"-keypad-birth")
		b.Run(t, uitest.TypeKeys(vnBirth), uitest.Screen("keypad", "expiry_date"))
		b.Shot(t, lang+"-keypad-expiry")
		b.Run(t, uitest.TypeKeys(vnExpiry), uitest.Screen("identify", ""))
		if h1 := b.Text(t, "#screen h1"); h1 != cat["identify.id.title"] {
			t.Errorf("%s: identify title %q", lang, h1)
		}
		b.Shot(t, lang+"-identify")
		if i == 0 {
			e.insertHTTP("id", "emrtd_vn.json")
		} else {
			e.insert(hwbridge.SlotID, loadCard(t, "emrtd_vn.json"))
		}
		b.Run(t, uitest.Screen("confirm", ""))
		if name := b.Text(t, `#screen [data-row="row.name"]`); name != vnName {
			t.Errorf("%s: confirm shows name %q, want %q", lang, name, vnName)
		}
		b.Shot(t, lang+"-confirm")
		b.Run(t, uitest.Click("#btn-confirm"), chromedp.WaitVisible(chromedp.CSS(`#screen[data-name="done"] #preview`)))
		shown, preview, h1 := b.Text(t, "#voucher"), b.Text(t, "#preview"), b.Text(t, "#screen h1")
		b.Shot(t, lang+"-done")
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
		b.Run(t, uitest.Click("#btn-finish"), uitest.Screen("idle", ""))
		body := uitest.Get(t, b.Browser, chromedp.Evaluate[string](`document.body.innerText`))
		html := uitest.Get(t, b.Browser, chromedp.OuterHTML(chromedp.CSS("html")))
		b.Shot(t, lang+"-idle")
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
	b.Run(t, uitest.Screen("confirm", ""))
	if name := b.Text(t, `#screen [data-row="row.name"]`); name != vnName {
		t.Errorf("confirm shows name %q, want %q", name, vnName)
	}
	e.post("/v1/sim/reader/id/remove", nil, http.StatusNoContent)
	b.Run(t, uitest.Screen("idle", ""))
	b.Shot(t, "removed-idle")
	body := uitest.Get(t, b.Browser, chromedp.Evaluate[string](`document.body.innerText`))
	html := uitest.Get(t, b.Browser, chromedp.OuterHTML(chromedp.CSS("html")))
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
			br.Run(b, uitest.Screen("confirm", ""))
			at := uitest.Get(b, br.Browser, chromedp.Evaluate[float64](`window.__renders.filter(r => r.name === "confirm").pop().t`))
			lat = append(lat, max(at-t0, 0))
			e.remove(hwbridge.SlotID) // ends the session
			br.Run(b, uitest.Screen("idle", ""))
		}
	}
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, int(float64(len(lat))*0.99))]
	b.ReportMetric(p99, "ws_event_p99_ms:ms")
}
