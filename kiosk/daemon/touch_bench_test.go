package daemon

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/ui/uitest"
)

// touchProbe is put into the page by BenchmarkTouchToScreen. A touch
// ending (touchend, captured before the page's own handlers: the finger
// lifted, which makes the tap and its click) notes its time, the event's
// own timestamp: when the browser took it in; the listener is passive, so
// the browser need not wait for it before the tap's click. The first
// screen the page then draws that is not the one touched on (another
// screen name or keypad field) requests an animation frame; the frame's
// timestamp, the page's requestAnimationFrame time, ends the measure.
// window.__touch.done holds the figures, in milliseconds from the touch:
// "sent" (the page's intent written to the WebSocket), "arrived" (the
// daemon's screen frame received: its message event's timestamp), "drawn"
// (the page's render done) and "frame" (that first frame), and the next
// screen's name and field.
const touchProbe = `(() => {
  const key = (s) => s.name + "|" + ((s.data || {}).field || "");
  const p = window.__touch = { at: 0, from: "", sent: 0, arrived: 0, done: null, waiting: false };
  document.addEventListener("touchend", (ev) => {
    Object.assign(p, { at: ev.timeStamp, from: key(window.kiosk.screen()), sent: 0, arrived: 0, done: null, waiting: false });
  }, { capture: true, passive: true });
  const send = WebSocket.prototype.send, watched = new WeakSet();
  WebSocket.prototype.send = function (data) {
    if (!watched.has(this)) {
      watched.add(this);
      // After the page's own onmessage, which renders: the message that
      // drew the next screen.
      this.addEventListener("message", (ev) => { if (p.waiting && !p.arrived) p.arrived = ev.timeStamp - p.at; });
    }
    if (p.at && !p.sent) p.sent = performance.now() - p.at;
    return send.call(this, data);
  };
  document.addEventListener("kiosk:render", (ev) => {
    const k = key(ev.detail);
    if (!p.at || p.done || p.waiting || k === p.from) return;
    p.waiting = true;
    const drawn = performance.now() - p.at;
    requestAnimationFrame((ts) => {
      p.done = { screen: k, sent: p.sent, arrived: p.arrived, drawn: drawn, frame: ts - p.at };
      p.waiting = false;
    });
  });
  return true;
})()`

// touchResult is window.__touch.done.
type touchResult struct {
	Screen  string  `json:"screen"`
	Sent    float64 `json:"sent"`
	Arrived float64 `json:"arrived"`
	Drawn   float64 `json:"drawn"`
	Frame   float64 `json:"frame"`
}

// tap touches the centre of the element sel selects with one finger, as
// the touch screen does: a touchstart and a touchend dispatched through
// Chromium's input pipeline (its gesture detection makes the click).
func tap(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.WaitVisible(chromedp.CSS(sel))(ctx, t); err != nil {
			return chromedp.Void{}, err
		}
		js := fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`, sel)
		xy, err := chromedp.Evaluate[[]float64](js)(ctx, t)
		if err != nil {
			return chromedp.Void{}, err
		}
		if _, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{
			Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: []*input.TouchPoint{{X: xy[0], Y: xy[1]}},
		}); err != nil {
			return chromedp.Void{}, err
		}
		_, err = cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{
			Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{},
		})
		return chromedp.Void{}, err
	}
}

// BenchmarkTouchToScreen measures, in real Chromium on the real daemon's
// page (portrait 1080×1920, animations running), 200 touches on buttons
// across the flows, each from the touch (the timestamp of its touchend,
// the finger lifted: the tap's click follows it) to
// the first animation frame after the next screen is drawn (the page's own
// requestAnimationFrame timestamp). In between: Chromium's input and
// gesture handling, the page's handler, the WebSocket to the daemon, the
// session and flow step (for Confirm, the commit to the store with its
// fsync; for OK on the expiry date, the identify screen), the screen frame
// back, the page's render, and the wait for the next frame. It reports the
// 99th percentile and the median of that, and the 99th percentile of each
// part: touch to intent sent, the daemon's answer, frame received to the
// first frame. The touchstart and the touchend are two DevTools calls from
// the test: measuring from the touchend leaves the test's own round trip
// between them out. On a loaded machine every part waits for a CPU; the
// figures are worth reading with the load average beside them.
//
// The flows: report a lost card up to the confirm screen and cancel there
// (tile, mode, OK on each of the three access-key fields, Cancel), suspend
// and resume settlement in turn with the social security card (tile, OK on
// the PIN, Confirm, Finish), look up (tile, Cancel), and Back on the mode
// screen then Cancel. Digits typed on the keypads are touches too but
// change no screen, so they are not measured.
func BenchmarkTouchToScreen(b *testing.B) {
	e := runDaemon(b)
	br := newBrowser(b, e)
	br.SetViewport(b, uitest.Orientations[0])
	br.Run(b, chromedp.Evaluate[chromedp.Void](touchProbe))
	const touches = 200
	var res []touchResult
	// measure touches sel and waits for the screen want (uitest.Screen's
	// name and field) and for the probe's figures.
	measure := func(sel, name, field string) {
		b.Helper()
		br.Run(b, tap(sel), uitest.Screen(name, field), uitest.WaitTrue(`!!window.__touch.done`))
		r := uitest.Get(b, br.Browser, chromedp.Evaluate[touchResult](`window.__touch.done`))
		res = append(res, r)
	}
	typeKeys := func(s string) {
		b.Helper()
		for _, c := range s {
			br.Run(b, tap(fmt.Sprintf(`#screen [data-key=%q]`, string(c))))
		}
	}
	for range b.N {
		res = res[:0]
		suspend := true
		for len(res) < touches {
			// Report a lost card, cancelled on the confirm screen.
			measure(`#screen [data-value="report_loss"]`, "menu", "mode")
			measure(`#screen [data-value="self"]`, "keypad", "doc_number")
			typeKeys(vnDoc)
			measure("#btn-ok", "keypad", "birth_date")
			typeKeys(vnBirth)
			measure("#btn-ok", "keypad", "expiry_date")
			typeKeys(vnExpiry)
			measure("#btn-ok", "identify", "")
			e.insert(hwbridge.SlotID, loadCard(b, "emrtd_vn.json"))
			br.Run(b, uitest.Screen("confirm", ""))
			measure("#btn-cancel", "idle", "")
			e.remove(hwbridge.SlotID)

			// Suspend or resume settlement, to the end.
			kind := "resume_settlement"
			if suspend {
				kind = "suspend_settlement"
			}
			suspend = !suspend
			measure(fmt.Sprintf(`#screen [data-value=%q]`, kind), "identify", "")
			e.insert(hwbridge.SlotSS, loadCard(b, "ss_zhangsan.json"))
			br.Run(b, uitest.Screen("keypad", "pin"))
			typeKeys(ssPIN)
			measure("#btn-ok", "confirm", "")
			measure("#btn-confirm", "done", "")
			measure("#btn-finish", "idle", "")
			e.remove(hwbridge.SlotSS)

			// Look up, cancelled.
			measure(`#screen [data-value="lookup"]`, "keypad", "voucher")
			measure("#btn-cancel", "idle", "")

			// Back from the mode screen, then cancel.
			measure(`#screen [data-value="report_loss"]`, "menu", "mode")
			measure("#btn-back", "menu", "")
			measure("#btn-cancel", "idle", "")
		}
	}
	res = res[:touches]
	pick := func(f func(r touchResult) float64) []float64 {
		xs := make([]float64, len(res))
		for i, r := range res {
			xs[i] = f(r)
		}
		return xs
	}
	b.ReportMetric(percentile(pick(func(r touchResult) float64 { return r.Frame }), 0.99), "touch_to_screen_p99_ms:ms")
	b.ReportMetric(percentile(pick(func(r touchResult) float64 { return r.Frame }), 0.5), "touch_to_screen_p50_ms:ms")
	// Where the time went, each part's own 99th percentile and median: the page
	// taking the touch (touch to the intent sent), the daemon (intent sent
	// to the screen frame received), the page drawing it (frame received to
	// the first animation frame after the render).
	b.ReportMetric(percentile(pick(func(r touchResult) float64 { return r.Sent }), 0.99), "touch_to_send_p99_ms:ms")
	b.ReportMetric(percentile(pick(func(r touchResult) float64 { return r.Arrived - r.Sent }), 0.99), "touch_daemon_p99_ms:ms")
	b.ReportMetric(percentile(pick(func(r touchResult) float64 { return r.Frame - r.Arrived }), 0.99), "touch_draw_p99_ms:ms")
	b.ReportMetric(percentile(pick(func(r touchResult) float64 { return r.Sent }), 0.5), "touch_to_send_p50_ms:ms")
	b.ReportMetric(percentile(pick(func(r touchResult) float64 { return r.Arrived - r.Sent }), 0.5), "touch_daemon_p50_ms:ms")
	b.ReportMetric(percentile(pick(func(r touchResult) float64 { return r.Frame - r.Arrived }), 0.5), "touch_draw_p50_ms:ms")
	slices.SortFunc(res, func(x, y touchResult) int { return int(y.Frame - x.Frame) })
	for _, r := range res[:5] {
		b.Logf("slowest: %s %+v", r.Screen, r)
	}
}

// percentile is the q-th quantile of xs (nearest rank); xs is sorted.
func percentile(xs []float64, q float64) float64 {
	slices.Sort(xs)
	return xs[min(len(xs)-1, int(float64(len(xs))*q))]
}
