package session

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/ui/uitest"
)

func keys(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// TestWhatHappensNextIsTold: the confirm screen says what will happen
// before Confirm (settlement stops within the hour, the formal report and
// the new card at an outlet with the fee and the days); the done screen
// repeats the next steps as a list of its own, not only inside the receipt
// preview; a proxy report says what the proxy brings; a suspension says how
// to resume, a resumption what it means. Every text is in the catalogue
// and gives the configured facts.
func TestWhatHappensNextIsTold(t *testing.T) {
	cat := uitest.Catalogue(t, "en")
	for _, k := range []string{"note.then", "step.outlet", "step.outlet_proxy"} {
		if !strings.Contains(cat[k], "{fee}") {
			t.Errorf("%s does not give the fee: %q", k, cat[k])
		}
	}
	for _, k := range []string{"note.then", "step.collect"} {
		if !strings.Contains(cat[k], "{days}") {
			t.Errorf("%s does not give the days: %q", k, cat[k])
		}
	}
	if !strings.Contains(cat["step.hotline"], "{hotline}") {
		t.Errorf("step.hotline: %q", cat["step.hotline"])
	}
	inCat := func(what string, list []string) {
		t.Helper()
		for _, k := range list {
			if cat[k] == "" {
				t.Errorf("%s: %q not in the catalogue", what, k)
			}
		}
	}

	r := newRig(t)
	d := r.reportToConfirm()
	notes := keys(d["notes"])
	if !slices.Contains(notes, "note.promise") || !slices.Contains(notes, "note.then") {
		t.Errorf("confirm notes %v: want the promise and what is still to do", notes)
	}
	inCat("confirm", notes)
	r.Confirm()
	done := r.Expect("done", "printing", "false")
	steps := keys(done["steps"])
	if want := []string{"step.stopped", "step.outlet", "step.collect", "step.hotline"}; !slices.Equal(steps, want) {
		t.Errorf("done steps %v, want %v", steps, want)
	}
	inCat("done", steps)
	r.Confirm()
	r.Expect("idle")
	r.dev.remove(hwbridge.SlotID)

	// By proxy.
	r.reportUntilCard("proxy", bacAgent)
	r.dev.insert(hwbridge.SlotID)
	r.Expect("keypad", "field", "subject_id")
	r.Input("subject_id", holder.IDNumber)
	r.Expect("menu", "field", "relationship")
	r.Input("relationship", "child")
	d = r.Expect("confirm")
	if notes := keys(d["notes"]); !slices.Contains(notes, "note.proxy") || !slices.Contains(notes, "note.then") {
		t.Errorf("proxy confirm notes %v", notes)
	}
	if !strings.Contains(cat["note.proxy"], "original and photocopy") {
		t.Errorf("note.proxy does not say what the proxy brings: %q", cat["note.proxy"])
	}
	r.Confirm()
	done = r.Expect("done", "printing", "false")
	if steps := keys(done["steps"]); !slices.Contains(steps, "step.outlet_proxy") || slices.Contains(steps, "step.outlet") {
		t.Errorf("proxy done steps %v", steps)
	}
	r.Confirm()
	r.Expect("idle")
	r.dev.remove(hwbridge.SlotID)

	// Suspend, then resume.
	for f, want := range map[string][]string{"suspend_settlement": {"step.suspended", "step.resume_how"}, "resume_settlement": {"step.resumed", "step.resume_meaning"}} {
		r.ssToPIN(f)
		r.Input("pin", "924681")
		d := r.Expect("confirm", "title", "confirm.title."+f)
		inCat(f, keys(d["notes"]))
		if f == "suspend_settlement" && !slices.Contains(keys(d["notes"]), "note.suspend_resume") {
			t.Errorf("suspend confirm does not say how to resume: %v", d["notes"])
		}
		r.Confirm()
		done := r.Expect("done", "printing", "false")
		if steps := keys(done["steps"]); !slices.Equal(steps, want) {
			t.Errorf("%s done steps %v, want %v", f, steps, want)
		}
		r.dev.remove(hwbridge.SlotSS)
		r.Confirm()
		r.Expect("idle")
	}
}
