package session

import (
	"testing"
	"time"

	"github.com/kioskd/kioskd/ui/uitest"
)

// TestSpeechMode: the page's speech intent starts a session from idle in
// speech mode, whose screens say so; it times out after SpeechIdleTimeout
// with the countdown (the page's spoken warning) SpeechWarning before, a
// key (ping) extends it, and the next session is not in speech mode.
func TestSpeechMode(t *testing.T) {
	r := newRig(t, func(c *Config, _ *Deps) {
		c.SpeechIdleTimeout = 3 * time.Minute
		c.SpeechWarning = 30 * time.Second
	})
	r.Send(map[string]string{"type": "speech", "value": "on"})
	r.Expect("menu", "speech", "true")
	r.Send(map[string]string{"type": "start", "flow": "suspend_settlement"})
	r.Expect("identify", "speech", "true")
	// Past the ordinary minute: still there, no countdown.
	r.clock.Advance(100 * time.Second)
	if id, name, _ := r.reload(); id == "" || name != "identify" {
		t.Fatalf("after 100 s a new page joins session %q on %s: a speech-mode session timed out after the ordinary idle timeout", id, name)
	}
	r.clock.Advance(51 * time.Second) // 151 s: 29 s left
	r.Expect("identify", "speech", "true", "countdown", "29")
	r.Send(map[string]string{"type": "ping"}) // any key
	// The answer to the key is the screen without its countdown.
	r.Expect("identify", "speech", "true", "countdown", uitest.Absent)
	r.clock.Advance(179 * time.Second)
	r.Expect("identify", "countdown", "1")
	r.clock.Advance(2 * time.Second)
	d := r.Expect("idle")
	if _, ok := d["speech"]; ok {
		t.Errorf("idle screen after the session still in speech mode: %v", d)
	}
	// The next citizen gets the ordinary timeout.
	r.toMenu()
	r.Start("suspend_settlement")
	d = r.Expect("identify")
	if _, ok := d["speech"]; ok {
		t.Errorf("next session in speech mode: %v", d)
	}
	r.clock.Advance(61 * time.Second)
	r.Expect("idle")
	// A bad value is refused with a clear error.
	r.Send(map[string]string{"type": "speech", "value": "loud"})
	r.ExpectError("malformed")
}
