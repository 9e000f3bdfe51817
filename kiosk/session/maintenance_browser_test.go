package session

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/ui/uitest"
)

// The technician's menu in headless Chromium: entered by five taps on the
// title and the PIN typed on the on-screen keypad; a screenshot of each
// screen (KIOSKD_SCREENSHOTS keeps them).
func TestBrowserMaintenance(t *testing.T) {
	var fm *fakeMaint
	r := newBrowserRig(t, func(r *browserRig, _ *Config, d *Deps) {
		fm = newFakeMaint(t, r.clock)
		d.Maintenance = fm
	})
	gesture := func() {
		for range 5 {
			r.Run(t, uitest.Click("#title"))
		}
		r.Run(t, uitest.Screen("maintenance_pin", "tech_pin"))
	}
	gesture()
	r.Shot(t, "maint-pin")
	// Each wrong PIN is answered with one try less, in words about the
	// menu (an error already shown would not tell the next answer apart).
	lang := uitest.Get(t, r.Browser, chromedp.Evaluate[string](`document.documentElement.lang`))
	for i := 1; i <= 4; i++ {
		left := strings.ReplaceAll(uitest.Catalogue(t, lang)["keypad.tries_left.tech_pin"], "{n}", fmt.Sprint(5-i))
		r.Run(t, uitest.TypeKeys("000000"), uitest.WaitText("#tries-left", left), chromedp.WaitVisible(chromedp.CSS("#keypad-error")))
	}
	r.Shot(t, "maint-pin-wrong")
	r.Run(t, uitest.TypeKeys("000000"), uitest.Screen("maintenance_locked", ""), chromedp.WaitVisible(chromedp.CSS("#maint-locked")))
	r.Shot(t, "maint-locked")

	// After the lock period (and the idle logout it brings), the gesture
	// and the right PIN open the menu.
	r.clock.Advance(15 * time.Minute)
	r.Run(t, uitest.Screen("idle", ""))
	gesture()
	r.Run(t, uitest.TypeKeys("135790"), uitest.Screen("maintenance_home", ""), chromedp.WaitVisible(chromedp.CSS("#maint-tech")),
		chromedp.WaitVisible(chromedp.CSS("#maint-sla")))
	r.Shot(t, "maint-home")

	open := func(name, ready string) {
		r.Run(t, uitest.Click(`#screen [data-value="`+name+`"]`), uitest.Screen("maintenance_"+name, ""), chromedp.WaitVisible(chromedp.CSS(ready)))
		r.Shot(t, "maint-"+name)
	}
	home := func() { r.Run(t, uitest.Click("#btn-back"), uitest.Screen("maintenance_home", "")) }

	open("devices", "#maint-readers")
	if got := r.Text(t, `#screen [data-row="maint.printer.status"]`); !strings.Contains(got, uitest.Catalogue(t, "zh-CN")["maint.printer.bit.paper_near_end"]) {
		t.Errorf("printer status %q not in Chinese", got)
	}
	home()
	open("queue", "#maint-ops .maint-op")
	// The receipt that did not come out, in the page's language, naming
	// only what was the case.
	zh := uitest.Catalogue(t, "zh-CN")
	if got, want := r.Text(t, "#maint-unprinted .error-text"), zh["maint.printer.bit.not_printed"]+zh["list.sep"]+zh["maint.printer.bit.paper_out"]; got != want {
		t.Errorf("unprinted receipt's problem reads %q, want %q", got, want)
	}
	r.Run(t, uitest.Click(`#maint-ops [data-key="K-TEST-00ff"] button`),
		chromedp.WaitVisible(chromedp.CSS(`#maint-result[data-result="maint.result.retried"]`)))
	r.Shot(t, "maint-queue-retried")
	home()
	open("test_print", "#btn-maint-action")
	r.Run(t, uitest.Click("#btn-maint-action"), chromedp.WaitVisible(chromedp.CSS(`#maint-result[data-result="maint.result.printed"]`)))
	r.Shot(t, "maint-test-printed")
	home()
	open("reader_test", "#btn-test-ss")
	r.dev.insert(hwbridge.SlotSS)
	r.Run(t, chromedp.WaitVisible(chromedp.CSS(`#maint-test-ss [data-atr="3b8f8001"]`)))
	r.Shot(t, "maint-reader-tested")
	home()
	open("log", "#maint-log")
	home()
	open("config", "#maint-settings")
	home()
	open("about", "#screen dl")
	r.Run(t, uitest.Click("#btn-cancel"), uitest.Screen("idle", ""))
	waitAudit(t, fm, []string{"unknown login_failed", "unknown login_failed", "unknown login_failed", "unknown login_failed",
		"unknown lockout", "tech-7 login", "tech-7 retry", "tech-7 test_print", "tech-7 reader_test", "tech-7 logout logout"})
}
