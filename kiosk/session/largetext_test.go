package session

import (
	"testing"
	"time"

	"github.com/kioskd/kioskd/ui/uitest"
)

// TestLargeTextKeptForTheSession: large-text mode, turned on on any
// screen, is on every screen of the session after it, and ends with the
// session: cancelled, timed out, or chosen on the idle screen by someone
// who then walked away. (The page's sizes in large text: the audit of
// TestBrowserEveryScreen.)
func TestLargeTextKeptForTheSession(t *testing.T) {
	large := func(v string) map[string]string { return map[string]string{"type": "large_text", "value": v} }
	r := newRig(t)

	// On at the idle screen: kept through the session, gone at its end.
	r.Send(large("on"))
	r.Expect("idle", "large", "true")
	r.toMenu()
	if r.Last()["large"] != true {
		t.Errorf("menu without large text: %v", r.Last())
	}
	r.Start("report_loss")
	r.Expect("menu", "field", "mode", "large", "true")
	r.Input("mode", "self")
	r.Expect("keypad", "field", "doc_number", "large", "true")
	r.Cancel()
	r.Expect("idle", "large", uitest.Absent)
	r.assertForgotten()

	// Off again mid-session, on a keypad.
	r.toMenu()
	r.Start("report_loss")
	r.Expect("menu", "field", "mode", "large", uitest.Absent)
	r.Send(large("on"))
	r.Expect("menu", "field", "mode", "large", "true")
	r.Send(large("off"))
	r.Expect("menu", "field", "mode", "large", uitest.Absent)

	// Turned on mid-session, then the citizen walks away: the timeout
	// ends the session, and large text with it.
	r.Send(large("on"))
	r.Expect("menu", "field", "mode", "large", "true")
	r.clock.Advance(2 * time.Minute)
	r.Expect("idle", "large", uitest.Absent)

	// Chosen on the idle screen, then left alone: the next citizen gets
	// the normal size.
	r.Send(large("on"))
	r.Expect("idle", "large", "true")
	r.clock.Advance(2 * time.Minute)
	r.Expect("idle", "large", uitest.Absent)
}
