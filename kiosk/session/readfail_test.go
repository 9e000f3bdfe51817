package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/kiosk/flow"
)

// TestTypedKeyHelps: a 12-digit citizen ID number typed as the document
// number opens the chip with its last 9 digits, and the next screen says
// so; after a failed read the three typed fields come back for correction
// instead of blank keypads.
func TestTypedKeyHelps(t *testing.T) {
	r := newRig(t)
	r.id.mu.Lock()
	r.id.people[BACKey{DocNumber: "090012345", BirthDate: "900307", ExpiryDate: "300307"}] = holderVN
	r.id.mu.Unlock()
	r.toMenu()
	r.Start("report_loss")
	r.Expect("menu", "field", "mode")
	r.Input("mode", "self")
	r.Expect("keypad", "field", "doc_number")
	r.Input("doc_number", "110101199003071233")
	r.ExpectError("doc_is_id_number")
	r.Input("doc_number", "001090012345")
	r.Expect("keypad", "field", "birth_date", "derived", "090012345")
	r.Input("birth_date", "900307")
	r.Expect("keypad", "field", "expiry_date")
	r.Input("expiry_date", "300101") // wrong: the card opens with 300307
	r.Expect("identify", "slot", "id")
	r.dev.insert(hwbridge.SlotID)
	r.Expect("error", "code", flow.CodeIDReadFailed, "retry", "true")
	r.Confirm()
	r.Expect("keypad", "field", "doc_number", "value", "001090012345")
	r.Input("doc_number", "001090012345")
	r.Expect("keypad", "field", "birth_date", "value", "900307")
	r.Input("birth_date", "900307")
	r.Expect("keypad", "field", "expiry_date", "value", "300101")
	r.Input("expiry_date", "300307")
	d := r.Expect("confirm")
	if rw := fmt.Sprint(d["rows"]); !strings.Contains(rw, holderVN.Name) {
		t.Errorf("confirm %v", d["rows"])
	}
	// A PIN is never kept.
	r.Cancel()
	r.Expect("idle")
	r.dev.remove(hwbridge.SlotID)
	r.ssToPIN("suspend_settlement")
	r.Input("pin", "111111")
	if d := r.Expect("keypad", "field", "pin", "error", "wrong_pin"); d["value"] != nil {
		t.Errorf("the PIN screen shows a kept value: %v", d["value"])
	}
}

// unreadableID fails every ID card read the way a card that can never be
// read does.
type unreadableID struct {
	*fakeIdentity
	err error
}

func (u unreadableID) ReadID(context.Context, BACKey) (Person, error) { return Person{}, u.err }

// TestUnreadableCardSendsToCounter: a card read that fails a second time,
// or at once for a permanent cause, ends on a screen that sends the
// citizen to a counter (and the hotline) with no retry; every failed read
// logs one line with its cause, naming no one.
func TestUnreadableCardSendsToCounter(t *testing.T) {
	permanent := fmt.Errorf("%w: %w", flow.ErrCardUnreadable, errors.New("passive authentication failed: EF.SOD: the chip has no EF.SOD"))
	for _, tc := range []struct {
		name  string
		err   error
		fails int // reads before the counter screen
	}{{"permanent", permanent, 1}, {"transient", errors.New("transmit: card not responding"), 2}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(_ *Config, d *Deps) { d.Identity = unreadableID{newIdentity(), tc.err} })
			r.reportUntilCard("self", bacOK)
			r.dev.insert(hwbridge.SlotID)
			for i := 1; i < tc.fails; i++ {
				r.Expect("error", "code", flow.CodeIDReadFailed, "retry", "true")
				r.Confirm()
				r.Expect("keypad", "field", "doc_number", "value", bacOK.DocNumber)
				r.Input("doc_number", bacOK.DocNumber)
				r.Expect("keypad", "field", "birth_date")
				r.Input("birth_date", bacOK.BirthDate)
				r.Expect("keypad", "field", "expiry_date")
				r.Input("expiry_date", bacOK.ExpiryDate)
			}
			d := r.Expect("error", "code", flow.CodeIDUnreadable)
			if d["retry"] != false || d["counter"] != true {
				t.Errorf("counter screen %v", d)
			}
			if n := strings.Count(r.logs.String(), "card read failed"); n != tc.fails {
				t.Errorf("%d log lines for %d failed reads:\n%s", n, tc.fails, r.logs.String())
			}
			if !strings.Contains(r.logs.String(), "cause=") || (tc.name == "permanent") != strings.Contains(r.logs.String(), "permanent=true") {
				t.Errorf("log lines do not say the cause:\n%s", r.logs.String())
			}
			r.Back()
			r.Expect("menu", "title", "menu.title")
		})
	}
}

// unreadableSS fails every social security card read.
type unreadableSS struct {
	*fakeIdentity
	err error
}

func (u unreadableSS) ReadSS(context.Context) (SSCard, error) { return SSCard{}, u.err }

// TestUnreadableSSCardSendsToCounter: the same for the social security
// card: a card that can never be read goes to the counter at once, with
// one log line naming the reader and the cause.
func TestUnreadableSSCardSendsToCounter(t *testing.T) {
	permanent := fmt.Errorf("%w: %w", flow.ErrCardUnreadable, errors.New("EF05: record 01 is not a card record"))
	r := newRig(t, func(_ *Config, d *Deps) { d.Identity = unreadableSS{newIdentity(), permanent} })
	r.toMenu()
	r.Start("suspend_settlement")
	r.Expect("identify", "slot", "ss")
	r.dev.insert(hwbridge.SlotSS)
	d := r.Expect("error", "code", flow.CodeSSUnreadable)
	if d["retry"] != false || d["counter"] != true {
		t.Errorf("counter screen %v", d)
	}
	logs := r.logs.String()
	if n := strings.Count(logs, "card read failed"); n != 1 || !strings.Contains(logs, "reader=ss") || !strings.Contains(logs, "permanent=true") || !strings.Contains(logs, "EF05") {
		t.Errorf("want one log line for the ss reader with its cause:\n%s", logs)
	}
	r.dev.remove(hwbridge.SlotSS)
}
