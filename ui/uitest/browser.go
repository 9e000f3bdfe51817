package uitest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium, which scripts/install-test-deps.sh
// installs.
const ChromiumPath = "/usr/bin/chromium"

// stepTimeout bounds one Run or Get.
const stepTimeout = 15 * time.Second

// Browser is one headless Chromium tab on the touch page. Buttons are
// touched by clicking what the page rendered.
type Browser struct {
	ctx   context.Context // the chromedp tab
	shots string
	n     int
}

// ShotsDir is where screenshots go: $KIOSKD_SCREENSHOTS when set (to keep
// them), else a temporary folder of tb.
func ShotsDir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("KIOSKD_SCREENSHOTS"); d != "" {
		return d
	}
	return tb.TempDir()
}

// NewBrowser starts headless Chromium, opens url and waits for the idle
// screen. Screenshots go into shotsDir. Without Chromium the test is
// skipped in -short mode and fails otherwise. The browser ends with tb.
func NewBrowser(tb testing.TB, url, shotsDir string) *Browser {
	tb.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if testing.Short() {
			tb.Skip("chromium not installed; skipped in -short mode")
		}
		tb.Fatalf("chromium not found at %s: `make test` installs it (scripts/install-test-deps.sh)", ChromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
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
	b := &Browser{ctx: tctx, shots: shotsDir}
	tb.Cleanup(func() {
		tcancel()
		acancel()
	})
	// The first call starts the browser; it must not carry a timeout, which
	// would end the browser with it.
	if err := chromedp.Do(b.ctx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	// The page draws its idle screen before its WebSocket is up; a touch
	// before the daemon's hello would be lost.
	b.Run(tb, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(IdleReady)),
		chromedp.WaitReady(chromedp.CSS(`body[data-link="up"]`)))
	return b
}

// IdleReady selects what the idle screen shows once drawn: its service
// tiles (a touch on one starts that service).
const IdleReady = `#screen[data-name="idle"] [data-value="report_loss"]`

// Run runs steps in the tab, all within 15 s.
func (b *Browser) Run(tb testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.Fatalf("chromium: %v", err)
	}
}

// Get runs one action that returns a value, within 15 s.
//
// A screen frame may replace the node between finding and reading it
// (Chromium answers "No node with given id found"); then it is read again.
func Get[T any](tb testing.TB, b *Browser, a chromedp.Action[T]) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	for try := 1; ; try++ {
		v, err := chromedp.Run(ctx, a)
		if err == nil {
			return v
		}
		if try == 5 || ctx.Err() != nil || !staleNode(err) {
			tb.Fatalf("chromium: %v", err)
		}
	}
}

// staleNode reports the DevTools protocol's answer for a node the page
// replaced while it was being read. The protocol gives no error code of its
// own for it (-32000 is every server error), so its message is matched.
func staleNode(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "No node with given id") || strings.Contains(msg, "Could not find node with given id")
}

// Text is the text of the element sel selects.
//
// It waits until the element is visible, then reads it in one script call:
// a screen frame re-renders the page, and chromedp.Text's query-then-read
// could read a node the page had just replaced (seen as an empty title).
func (b *Browser) Text(tb testing.TB, sel string) string {
	tb.Helper()
	b.Run(tb, chromedp.WaitVisible(chromedp.CSS(sel)))
	js := fmt.Sprintf(`(() => { const n = document.querySelector(%q); return n ? n.innerText : ""; })()`, sel)
	return Get(tb, b, chromedp.Evaluate[string](js))
}

// Screen waits until the page shows the screen (and keypad field, if not
// "").
func Screen(name, field string) chromedp.Action[chromedp.Void] {
	sel := fmt.Sprintf(`#screen[data-name=%q]`, name)
	if field != "" {
		sel += fmt.Sprintf(`[data-field=%q]`, field)
	}
	return chromedp.WaitVisible(chromedp.CSS(sel + " h1"))
}

// Click touches a rendered button. A screen frame may replace the button
// between finding and touching it; then it is found again.
func Click(sel string) chromedp.Action[chromedp.Void] {
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

// WaitText waits until the element sel selects reads want: for a text a
// screen frame changes on a screen that stays.
func WaitText(sel, want string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const n = document.querySelector(%q); return !!n && n.innerText === %q; })()`, sel, want)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Poll[bool](js)(ctx, t); err != nil {
			return chromedp.Void{}, fmt.Errorf("waiting for %s to read %q: %w", sel, want, err)
		}
		return chromedp.Void{}, nil
	}
}

// WaitTrue waits until the script js, an expression, is true in the page.
func WaitTrue(js string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Poll[bool](js)(ctx, t); err != nil {
			return chromedp.Void{}, fmt.Errorf("waiting for %s: %w", js, err)
		}
		return chromedp.Void{}, nil
	}
}

// TypeKeys touches the on-screen keypad, then OK.
func TypeKeys(s string) chromedp.Action[chromedp.Void] {
	var acts []chromedp.Action[chromedp.Void]
	for _, c := range s {
		acts = append(acts, Click(fmt.Sprintf(`#screen [data-key=%q]`, string(c))))
	}
	return chromedp.Steps(append(acts, Click("#btn-ok"))...)
}

// Scan types s as a keyboard-wedge scanner does (an MRZ or QR scanner that
// is a keyboard to the page): every key in one burst, dispatched in the page
// in a single call, so no gap between two keys depends on how busy the test
// machine is (chromedp's KeyEvent sends one key per round trip, which under
// load leaves gaps longer than the page's burst window). '\r' is Enter and
// '\b' Backspace.
func Scan(s string) chromedp.Action[chromedp.Void] {
	keys := make([]string, 0, len(s))
	for _, c := range s {
		switch c {
		case '\r', '\n':
			keys = append(keys, "Enter")
		case '\b':
			keys = append(keys, "Backspace")
		default:
			keys = append(keys, string(c))
		}
	}
	js, _ := json.Marshal(keys)
	return chromedp.Evaluate[chromedp.Void](`(() => { for (const key of ` + string(js) + `) document.dispatchEvent(new KeyboardEvent("keydown", {key, bubbles: true, cancelable: true})); })()`)
}

// touchCheck lists what is too small for touch: visible buttons under
// 64 px either way, visible text under 24 px.
const touchCheck = `(() => {
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
})()`

// Shot checks the screen is touch-first (every visible button at least
// 64 px each way, every visible text at least 24 px; an error names what is
// not) and saves a screenshot as <test>-<nn>-<name>.png in the shots
// folder.
func (b *Browser) Shot(tb testing.TB, name string) {
	tb.Helper()
	if small := Get(tb, b, chromedp.Evaluate[[]string](touchCheck)); len(small) > 0 {
		tb.Errorf("%s: too small for touch: %v", name, small)
	}
	png := Get(tb, b, chromedp.FullScreenshot(100))
	b.n++
	p := filepath.Join(b.shots, fmt.Sprintf("%s-%02d-%s.png", strings.ReplaceAll(tb.Name(), "/", "_"), b.n, name))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// Listen calls fn with every DevTools event of the tab (network requests,
// console calls), on the tab's goroutine: fn must only record.
func (b *Browser) Listen(fn func(ev any)) {
	chromedp.Listen(b.ctx, fn)
}

// Keys presses keys on the keyboard, one key event after another, as an
// attached keypad would (see chromedp/kb for Enter, arrows, F1, Escape).
func Keys(keys string) chromedp.Action[chromedp.Void] {
	return chromedp.KeyEvent(keys)
}
