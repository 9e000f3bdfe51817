package session

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/kioskd/kioskd/hwbridge"
)

// The technician's menu in headless Chromium: entered by five taps on the
// title and the PIN typed on the on-screen keypad; a screenshot of each
// screen (KIOSKD_SCREENSHOTS keeps them).
func TestBrowserMaintenance(t *testing.T) {
	var fm *fakeMaint
	r := newBrowserRig(t, func(r *browserRig, d *Deps) {
		fm = newFakeMaint(t, r.clock)
		d.Maintenance = fm
	})
	gesture := func() {
		for range 5 {
			r.run(t, click("#title"))
		}
		r.run(t, screen("maintenance_pin", "tech_pin"))
	}
	gesture()
	r.shot(t, "maint-pin")
	for range 4 {
		r.run(t, typeKeys("000000"), chromedp.WaitVisible(chromedp.CSS("#keypad-error")))
	}
	r.shot(t, "maint-pin-wrong")
	r.run(t, typeKeys("000000"), screen("maintenance_locked", ""), chromedp.WaitVisible(chromedp.CSS("#maint-locked")))
	r.shot(t, "maint-locked")

	// After the lock period (and the idle logout it brings), the gesture
	// and the right PIN open the menu.
	r.clock.Advance(15 * time.Minute)
	r.run(t, screen("idle", ""))
	gesture()
	r.run(t, typeKeys("135790"), screen("maintenance_home", ""), chromedp.WaitVisible(chromedp.CSS("#maint-tech")),
		chromedp.WaitVisible(chromedp.CSS("#maint-sla")))
	r.shot(t, "maint-home")

	open := func(name, ready string) {
		r.run(t, click(`#screen [data-value="`+name+`"]`), screen("maintenance_"+name, ""), chromedp.WaitVisible(chromedp.CSS(ready)))
		r.shot(t, "maint-"+name)
	}
	home := func() { r.run(t, click("#btn-back"), screen("maintenance_home", "")) }

	open("devices", "#maint-readers")
	home()
	open("queue", "#maint-ops .maint-op")
	r.run(t, click(`#maint-ops [data-key="K-TEST-00ff"] button`),
		chromedp.WaitVisible(chromedp.CSS(`#maint-result[data-result="maint.result.retried"]`)))
	r.shot(t, "maint-queue-retried")
	home()
	open("test_print", "#btn-maint-action")
	r.run(t, click("#btn-maint-action"), chromedp.WaitVisible(chromedp.CSS(`#maint-result[data-result="maint.result.printed"]`)))
	r.shot(t, "maint-test-printed")
	home()
	open("reader_test", "#btn-test-ss")
	r.dev.insert(hwbridge.SlotSS)
	r.run(t, chromedp.WaitVisible(chromedp.CSS(`#maint-test-ss [data-atr="3b8f8001"]`)))
	r.shot(t, "maint-reader-tested")
	home()
	open("log", "#maint-log")
	home()
	open("config", "#maint-settings")
	home()
	open("about", "#screen dl")
	r.run(t, click("#btn-cancel"), screen("idle", ""))
	waitAudit(t, fm, []string{"unknown login_failed", "unknown login_failed", "unknown login_failed", "unknown login_failed",
		"unknown lockout", "tech-7 login", "tech-7 retry", "tech-7 test_print", "tech-7 reader_test", "tech-7 logout logout"})
}
