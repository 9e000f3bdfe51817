package daemon

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/ui/uitest"
)

// touchProbe is put into the page by BenchmarkTouchToScreen. A finger
// lifted (pointerup, captured on the window before the page's own
// handlers, which act on it) notes its time, the event's own timestamp:
// when the browser took the touch in. The first screen the page then
// draws that is not the one touched on (another screen name or keypad
// field) requests an animation frame; the frame's timestamp, the page's
// requestAnimationFrame time, ends the measure. window.__touch.done holds
// the figures, in milliseconds from the touch: "sent" (the page's intent
// written to the WebSocket), "arrived" (the daemon's screen frame
// received: its message event's timestamp), "drawn" (the page's render
// done) and "frame" (that first frame).
const touchProbe = `(() => {
  const key = (s) => s.name + "|" + ((s.data || {}).field || "");
  const p = window.__touch = { at: 0, from: "", sent: 0, arrived: 0, done: null, waiting: false };
  window.addEventListener("pointerup", (ev) => {
    Object.assign(p, { at: ev.timeStamp, from: key(window.kiosk.screen()), sent: 0, arrived: 0, done: null, waiting: false });
  }, { capture: true, passive: true });
  const send = WebSocket.prototype.send, watched = new WeakSet();
  WebSocket.prototype.send = function (data) {
    if (!watched.has(this)) {
      watched.add(this);
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

// floorProbe is put into the page by BenchmarkTouchToScreen for its
// floor: a finger lifted (pointerup) requests an animation frame there and
// then, and window.__floor holds each frame's time from the touch's
// timestamp: the earliest a page that drew its answer at once, with no
// daemon, could show it.
const floorProbe = `(() => {
  const f = window.__floor = [];
  window.addEventListener("pointerup", (ev) => {
    requestAnimationFrame((ts) => { f.push(ts - ev.timeStamp); });
  }, { capture: true, passive: true });
  return true;
})()`

// BenchmarkTouchToScreen measures, in real Chromium on the real daemon's
// page (portrait 1080×1920, animations running), 200 touches on buttons
// across the flows, each from the touch (the timestamp of its pointerup,
// the finger lifted, on which the page acts) to the first animation frame
// after the next screen is drawn (the page's own requestAnimationFrame
// timestamp). In between: Chromium's input handling, the page's handler,
// the WebSocket to the daemon, the session and flow step (for Confirm, the
// commit to the store with its fsync; for OK on the expiry date, the
// identify screen), the screen frame back, the page's render, and the
// wait for the next frame. Each touch comes after a random pause of up to
// one frame, so touches fall anywhere in the page's frame, as a citizen's
// do. It reports the 99th percentile and the median of that, the same of
// each part (touch to intent sent, the daemon's answer, frame received to
// the first frame), and touch_floor: over 100 more touches on the idle
// screen's heading, which does nothing, the first frame a page could draw
// anything in answer to a touch (floorProbe; measured apart, as a frame
// requested at the touch makes Chromium hold the page's other tasks until
// that frame is drawn). On a loaded machine
// every part waits for a CPU; the figures are worth reading with the load
// average beside them.
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
		time.Sleep(time.Duration(rand.Int64N(int64(time.Second / 60))))
		br.Run(b, uitest.Tap(sel), uitest.Screen(name, field), uitest.WaitTrue(`!!window.__touch.done`))
		r := uitest.Get(b, br.Browser, chromedp.Evaluate[touchResult](`window.__touch.done`))
		res = append(res, r)
	}
	typeKeys := func(s string) {
		b.Helper()
		for _, c := range s {
			br.Run(b, uitest.Tap(fmt.Sprintf(`#screen [data-key=%q]`, string(c))))
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
	br.Run(b, chromedp.Evaluate[chromedp.Void](floorProbe))
	for i := range 100 {
		time.Sleep(time.Duration(rand.Int64N(int64(time.Second / 60))))
		br.Run(b, uitest.Tap(`#screen[data-name="idle"] h1`), uitest.WaitTrue(fmt.Sprintf(`window.__floor.length > %d`, i)))
	}
	floor := uitest.Get(b, br.Browser, chromedp.Evaluate[[]float64](`window.__floor`))
	pick := func(f func(r touchResult) float64) []float64 {
		xs := make([]float64, len(res))
		for i, r := range res {
			xs[i] = f(r)
		}
		return xs
	}
	b.ReportMetric(percentile(pick(func(r touchResult) float64 { return r.Frame }), 0.99), "touch_to_screen_p99_ms:ms")
	b.ReportMetric(percentile(pick(func(r touchResult) float64 { return r.Frame }), 0.5), "touch_to_screen_p50_ms:ms")
	b.ReportMetric(percentile(floor, 0.99), "touch_floor_p99_ms:ms")
	b.ReportMetric(percentile(floor, 0.5), "touch_floor_p50_ms:ms")
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
