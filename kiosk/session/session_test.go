package session

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/kiosk/flow"
	"github.com/kioskd/kioskd/kiosk/op"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui"
	"github.com/kioskd/kioskd/ui/uitest"
)

// rig is a session behind a real ui.Server on a real HTTP server, driven by
// a gorilla WebSocket client speaking the page's protocol.
type rig struct {
	t     *testing.T
	sess  *Session
	srv   *ui.Server
	hs    *httptest.Server
	out   *fakeOutbox
	id    *fakeIdentity
	cen   *fakeCentral
	pr    *fakePrinter
	dev   *fakeDevices
	clock *fakeClock
	logs  *uitest.LockedBuffer
	*uitest.Page
}

func newRig(t *testing.T, mod ...func(*Config, *Deps)) *rig {
	t.Helper()
	r := &rig{
		t:     t,
		out:   &fakeOutbox{},
		id:    newIdentity(),
		cen:   &fakeCentral{cards: map[string][]Card{holder.IDNumber: {{Number: "A12345678", State: "active"}}}, otp: "246810"},
		pr:    &fakePrinter{},
		dev:   &fakeDevices{ch: make(chan DeviceEvent)},
		clock: newClock(),
	}
	r.srv = ui.NewServer(ui.Config{KioskID: "K-TEST", Version: "test"})
	logs := &uitest.LockedBuffer{}
	r.logs = logs
	cfg := Config{KioskID: "K-TEST", Clock: r.clock, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	deps := Deps{Outbox: r.out, Identity: r.id, Central: r.cen, Printer: r.pr, Devices: r.dev, Display: r.srv}
	for _, m := range mod {
		m(&cfg, &deps)
	}
	r.sess = New(cfg, deps)
	r.srv.SetDriver(r.sess)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.sess.Run(ctx) }()
	r.hs = httptest.NewServer(r.srv)
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return")
		}
		r.srv.Close()
		r.hs.Close()
		// Whatever happened, the logs name no one.
		assertNoPersonal(t, "log", logs.String())
	})
	r.connect()
	r.Expect("idle")
	return r
}

// connect dials a new page; the previous one stays open until the test
// ends or the server takes it over.
func (r *rig) connect() {
	r.t.Helper()
	r.Page = uitest.Dial(r.t, r.hs.URL)
	r.dev.acted = func() { r.Page.Acted() }
	r.ReadTimeout = 5 * time.Second
}

// reload connects a new page, as the terminal's browser does after a
// reload (uitest.Reload), and carries on with it: the session's id and
// current screen, as a page learns them.
func (r *rig) reload() (session, screen string, data map[string]any) {
	r.t.Helper()
	r.Page, session, screen, data = uitest.Reload(r.t, r.hs.URL)
	r.dev.acted = func() { r.Page.Acted() }
	r.ReadTimeout = 5 * time.Second
	return session, screen, data
}

// Steps shared by the tests.

func (r *rig) toMenu() {
	r.Confirm()
	r.Expect("menu", "title", "menu.title")
}

func (r *rig) reportUntilCard(mode string, key BACKey) {
	r.toMenu()
	r.Start("report_loss")
	r.Expect("menu", "field", "mode")
	r.Input("mode", mode)
	r.Expect("keypad", "field", "doc_number", "keys", "mrz")
	r.Input("doc_number", key.DocNumber)
	r.Expect("keypad", "field", "birth_date")
	r.Input("birth_date", key.BirthDate)
	r.Expect("keypad", "field", "expiry_date")
	r.Input("expiry_date", key.ExpiryDate)
	r.Expect("identify", "slot", "id")
}

func (r *rig) reportToConfirm() map[string]any {
	r.reportUntilCard("self", bacOK)
	r.dev.insert(hwbridge.SlotID)
	return r.Expect("confirm")
}

func (r *rig) ssToPIN(f string) {
	r.toMenu()
	r.Start(f)
	r.Expect("identify", "slot", "ss")
	r.dev.insert(hwbridge.SlotSS)
	r.Expect("keypad", "field", "pin", "secret", "true")
}

// personal is every personal datum of the test subjects.
var personal = []string{holder.IDNumber, holder.Name, holderVN.IDNumber, holderVN.Name, agent.IDNumber, agent.Name,
	ssCard.CardNumber, "924681", bacOK.DocNumber, bacAgent.DocNumber}

func assertNoPersonal(t testing.TB, what string, v any) {
	t.Helper()
	uitest.AssertNone(t, what, v, personal)
}

// assertForgotten checks what a fresh page gets: no session, the idle
// screen, and nothing of the last citizen. (That the flow state itself is
// wiped is kiosk/flow's assertWiped.)
func (r *rig) assertForgotten() {
	r.t.Helper()
	id, name, d := r.reload()
	if id != "" || name != "idle" {
		r.t.Errorf("a new page joins session %q on %s, want none on idle", id, name)
	}
	assertNoPersonal(r.t, "idle screen", d)
}

func TestReportLoss(t *testing.T) {
	r := newRig(t)
	d := r.reportToConfirm()
	rw := uitest.Rows(d)
	if rw["row.name"] != holder.Name || rw["row.id_number"] == holder.IDNumber || !strings.HasSuffix(rw["row.id_number"], "1233") {
		t.Errorf("confirm rows %v", rw)
	}
	if rw["row.card"] == "" || rw["row.card"] == ssCard.CardNumber {
		t.Errorf("card row %q", rw["row.card"])
	}
	if len(r.out.committed()) != 0 {
		t.Fatal("committed before confirmation")
	}
	r.Confirm()
	done := r.Expect("done", "printing", "false")
	ops := r.out.committed()
	if len(ops) != 1 || ops[0].Kind != op.ReportLoss || ops[0].Subject.IDNumber != holder.IDNumber || ops[0].CardNumber != "A12345678" || ops[0].Agent != nil {
		t.Fatalf("committed %+v", ops)
	}
	if ops[0].Evidence.Method != "id_chip" || ops[0].Evidence.Offline {
		t.Errorf("evidence %+v", ops[0].Evidence)
	}
	want := voucher.Format(r.out.lastVoucher())
	if done["voucher"] != want {
		t.Errorf("voucher on screen %v, outbox %v", done["voucher"], want)
	}
	if done["printed"] != true || !strings.Contains(fmt.Sprint(done["preview"]), want) {
		t.Errorf("done %v", done)
	}
	assertNoPersonal(t, "done screen", done)
	rc := r.pr.receipts()
	if len(rc) != 1 || rc[0].Voucher != want || rc[0].Proxy || rc[0].KioskID != "K-TEST" {
		t.Fatalf("receipts %+v", rc)
	}
	assertNoPersonal(t, "receipt", rc[0])
	r.Confirm()
	r.Expect("idle")
	r.assertForgotten()
}

func TestProxyReport(t *testing.T) {
	r := newRig(t)
	r.reportUntilCard("proxy", bacAgent)
	r.dev.insert(hwbridge.SlotID)
	r.Expect("keypad", "field", "subject_id", "keys", "digits_x")
	r.Input("subject_id", "110101199003071234") // one digit wrong
	r.ExpectError("id_check_failed")
	r.Input("subject_id", agent.IDNumber)
	r.ExpectError("subject_is_agent")
	r.Input("subject_id", holder.IDNumber)
	r.Expect("menu", "field", "relationship")
	r.Input("relationship", "child")
	d := r.Expect("confirm")
	rw := uitest.Rows(d)
	if rw["row.agent"] != agent.Name || rw["row.relationship"] != "rel.child" || rw["row.subject_id"] == holder.IDNumber {
		t.Errorf("confirm rows %v", rw)
	}
	r.Confirm()
	done := r.Expect("done", "printing", "false")
	ops := r.out.committed()
	if len(ops) != 1 || ops[0].Agent == nil || ops[0].Agent.IDNumber != agent.IDNumber || ops[0].Agent.Relationship != "child" ||
		ops[0].Subject.IDNumber != holder.IDNumber || ops[0].CardNumber != "A12345678" {
		t.Fatalf("committed %+v", ops)
	}
	rc := r.pr.receipts()
	if len(rc) != 1 || !rc[0].Proxy || rc[0].Relationship != "child" || rc[0].AgentName == agent.Name {
		t.Fatalf("receipt %+v", rc)
	}
	assertNoPersonal(t, "done screen", done)
	r.Cancel()
	r.Expect("idle")
	r.assertForgotten()
}

func TestReportOfflineAndPaperOut(t *testing.T) {
	r := newRig(t)
	r.cen.offline = true
	r.pr.paperOut = true
	r.dev.ch <- DeviceEvent{Kind: PrinterChanged, Printer: "paper_out"}
	d := r.reportToConfirm()
	if !strings.Contains(fmt.Sprint(d["notes"]), "note.offline") || uitest.Rows(d)["row.card"] != "confirm.no_card" {
		t.Errorf("offline confirm %v", d)
	}
	r.Confirm()
	done := r.Expect("done", "printing", "false")
	if done["printed"] != false || done["printer_problem"] != "paper_out" || done["voucher"] == "" {
		t.Errorf("done %v", done)
	}
	ops := r.out.committed()
	if len(ops) != 1 || ops[0].CardNumber != "" || !ops[0].Evidence.Offline || ops[0].Subject.IDNumber != holder.IDNumber {
		t.Errorf("committed %+v", ops)
	}
}

func TestReportWithOTP(t *testing.T) {
	r := newRig(t, func(c *Config, _ *Deps) { c.Policy.RequireOTP = true })
	r.reportUntilCard("self", bacOK)
	r.dev.insert(hwbridge.SlotID)
	r.Expect("keypad", "field", "otp")
	r.Input("otp", "111111")
	r.Expect("keypad", "field", "otp", "error", "wrong_otp", "tries_left", "2")
	r.Input("otp", "222222")
	r.Expect("keypad", "field", "otp", "error", "wrong_otp", "tries_left", "1")
	r.Input("otp", "246810")
	r.Expect("confirm")
	r.Confirm()
	r.Expect("done")
	if ops := r.out.committed(); len(ops) != 1 || !ops[0].Evidence.OTP {
		t.Errorf("committed %+v", ops)
	}
}

func TestWrongBACKeyThenRetry(t *testing.T) {
	r := newRig(t)
	r.reportUntilCard("self", BACKey{DocNumber: "999999999", BirthDate: "900307", ExpiryDate: "300101"})
	r.dev.insert(hwbridge.SlotID)
	r.Expect("error", "code", flow.CodeIDReadFailed, "retry", "true")
	r.Confirm()
	r.Expect("keypad", "field", "doc_number")
	r.Input("doc_number", bacOK.DocNumber)
	r.Input("birth_date", bacOK.BirthDate)
	r.Input("expiry_date", bacOK.ExpiryDate)
	r.Expect("confirm") // card still on the reader: read at once
}

func TestCommitFailureShowsNoVoucher(t *testing.T) {
	r := newRig(t)
	r.reportToConfirm()
	r.out.mu.Lock()
	r.out.fail = fmt.Errorf("write outbox: %w", context.DeadlineExceeded)
	r.out.mu.Unlock()
	r.Confirm()
	d := r.Expect("error", "code", flow.CodeCommitFailed)
	if d["retry"] != true {
		t.Errorf("error %v", d)
	}
	r.out.mu.Lock()
	r.out.fail = nil
	r.out.mu.Unlock()
	r.Confirm()
	r.Expect("confirm")
	r.Confirm()
	r.Expect("done")
}

func TestSuspendAndResume(t *testing.T) {
	for _, f := range []string{"suspend_settlement", "resume_settlement"} {
		t.Run(f, func(t *testing.T) {
			r := newRig(t)
			r.ssToPIN(f)
			r.Input("pin", "924681")
			d := r.Expect("confirm", "title", "confirm.title."+f)
			if rw := uitest.Rows(d); rw["row.name"] != holder.Name || rw["row.card"] == ssCard.CardNumber {
				t.Errorf("rows %v", rw)
			}
			r.Confirm()
			done := r.Expect("done", "printing", "false")
			ops := r.out.committed()
			if len(ops) != 1 || string(ops[0].Kind) != f || ops[0].CardNumber != ssCard.CardNumber || ops[0].Evidence.Method != "ss_card_pin" {
				t.Fatalf("committed %+v", ops)
			}
			assertNoPersonal(t, "done screen", done)
			r.dev.remove(hwbridge.SlotSS) // taking the card on the done screen keeps the voucher shown
			r.Confirm()
			r.Expect("idle")
			r.assertForgotten()
		})
	}
}

func TestWrongPINThenBlocked(t *testing.T) {
	r := newRig(t)
	r.ssToPIN("resume_settlement")
	r.Input("pin", "12")
	r.ExpectError("invalid_pin")
	r.Input("pin", "000000")
	r.Expect("keypad", "field", "pin", "tries_left", "2", "error", "wrong_pin")
	r.Input("pin", "111111")
	r.Expect("keypad", "field", "pin", "tries_left", "1")
	r.Input("pin", "924681") // right PIN still works with one try left
	r.Expect("confirm")
	r.Cancel()
	r.Expect("idle")
	r.dev.remove(hwbridge.SlotSS)

	r.ssToPIN("resume_settlement")
	for i := range 2 {
		r.Input("pin", "000000")
		r.Expect("keypad", "field", "pin", "error", "wrong_pin", "tries_left", fmt.Sprint(2-i))
	}
	r.Input("pin", "000000")
	d := r.Expect("error", "code", flow.CodePINBlocked)
	if d["retry"] != false {
		t.Errorf("blocked PIN offers a retry: %v", d)
	}
	if len(r.out.committed()) != 0 {
		t.Error("committed with a blocked PIN")
	}
	r.Back()
	r.Expect("menu")
}

func TestLookup(t *testing.T) {
	r := newRig(t)
	r.ssToPIN("suspend_settlement")
	r.Input("pin", "924681")
	r.Expect("confirm")
	r.Confirm()
	done := r.Expect("done")
	r.Confirm()
	r.Expect("idle")

	r.toMenu()
	r.Start("lookup")
	r.Expect("keypad", "field", "voucher", "keys", "digits")
	v := r.out.lastVoucher()
	bad := []byte(v)
	bad[3], bad[4] = bad[4], bad[3] // two digits swapped
	if string(bad) != v {
		r.Input("voucher", string(bad))
		r.ExpectError("invalid_voucher")
	}
	r.Input("voucher", done["voucher"].(string)) // typed as shown, with dashes
	d := r.Expect("lookup_result", "found", "true")
	rw := uitest.Rows(d)
	if d["voucher"] != done["voucher"] || rw["row.kind"] != "kind.suspend_settlement" || rw["row.state"] != "state.pending" || rw["row.central"] != "state.acknowledged" {
		t.Errorf("lookup %v", d)
	}
	r.Back()
	r.Expect("keypad", "field", "voucher")
	r.cen.mu.Lock()
	r.cen.offline = true
	r.cen.mu.Unlock()
	r.Input("voucher", v)
	d = r.Expect("lookup_result", "found", "true")
	if uitest.Rows(d)["row.central"] != "central.offline" {
		t.Errorf("offline lookup %v", d)
	}
	r.Back()
	r.Input("voucher", voucher.New(4711, 999))
	r.Expect("lookup_result", "found", "false")
}

// cancel at every step of every flow ends the session and forgets the
// citizen.
func TestCancelAtEveryStep(t *testing.T) {
	type step struct {
		name string
		do   func(r *rig)
	}
	report := []step{
		{"menu", func(r *rig) { r.toMenu() }},
		{"mode", func(r *rig) { r.Start("report_loss"); r.Expect("menu", "field", "mode") }},
		{"doc", func(r *rig) { r.Input("mode", "self"); r.Expect("keypad", "field", "doc_number") }},
		{"birth", func(r *rig) { r.Input("doc_number", bacOK.DocNumber); r.Expect("keypad", "field", "birth_date") }},
		{"expiry", func(r *rig) { r.Input("birth_date", bacOK.BirthDate); r.Expect("keypad", "field", "expiry_date") }},
		{"identify", func(r *rig) { r.Input("expiry_date", bacOK.ExpiryDate); r.Expect("identify") }},
		{"confirm", func(r *rig) { r.dev.insert(hwbridge.SlotID); r.Expect("confirm") }},
		{"done", func(r *rig) { r.Confirm(); r.Expect("done", "printing", "false") }},
	}
	ss := []step{
		{"menu", func(r *rig) { r.toMenu() }},
		{"identify", func(r *rig) { r.Start("suspend_settlement"); r.Expect("identify", "slot", "ss") }},
		{"pin", func(r *rig) { r.dev.insert(hwbridge.SlotSS); r.Expect("keypad", "field", "pin") }},
		{"confirm", func(r *rig) { r.Input("pin", "924681"); r.Expect("confirm") }},
		{"done", func(r *rig) { r.Confirm(); r.Expect("done", "printing", "false") }},
	}
	lookup := []step{
		{"menu", func(r *rig) { r.toMenu() }},
		{"voucher", func(r *rig) { r.Start("lookup"); r.Expect("keypad", "field", "voucher") }},
		{"result", func(r *rig) { r.Input("voucher", voucher.New(1, 1)); r.Expect("lookup_result") }},
	}
	for fname, steps := range map[string][]step{"report_loss": report, "suspend": ss, "lookup": lookup} {
		for n := range steps {
			t.Run(fname+"/"+steps[n].name, func(t *testing.T) {
				r := newRig(t)
				for _, s := range steps[:n+1] {
					s.do(r)
				}
				r.Cancel()
				r.Expect("idle")
				r.assertForgotten()
			})
		}
	}
}

func TestCardRemovedMidFlow(t *testing.T) {
	t.Run("ss at pin", func(t *testing.T) {
		r := newRig(t)
		r.ssToPIN("suspend_settlement")
		r.dev.remove(hwbridge.SlotSS)
		r.Expect("idle")
		r.assertForgotten()
	})
	t.Run("id at confirm", func(t *testing.T) {
		r := newRig(t)
		r.reportToConfirm()
		r.dev.remove(hwbridge.SlotID)
		r.Expect("idle")
		r.assertForgotten()
		if len(r.out.committed()) != 0 {
			t.Error("committed after the card was taken away")
		}
	})
	t.Run("ss while reading", func(t *testing.T) {
		block := make(chan struct{})
		r := newRig(t, func(_ *Config, d *Deps) { d.Identity.(*fakeIdentity).block = block })
		r.toMenu()
		r.Start("resume_settlement")
		r.Expect("identify")
		r.dev.insert(hwbridge.SlotSS)
		r.Expect("working", "stage", "reading_ss")
		r.dev.remove(hwbridge.SlotSS)
		r.Expect("idle")
		close(block) // the late read result is refused: still idle
		r.assertForgotten()
	})
}

func TestIdleTimeout(t *testing.T) {
	r := newRig(t)
	r.ssToPIN("suspend_settlement")
	r.clock.Advance(45 * time.Second)
	r.clock.Advance(4 * time.Second) // 49 s: no countdown yet
	r.clock.Advance(2 * time.Second) // 51 s
	r.Expect("keypad", "field", "pin", "countdown", "9")
	r.Send(map[string]string{"type": "ping"}) // a touch: countdown gone, timer restarts
	// The answer to the touch is the keypad without its countdown.
	r.Expect("keypad", "field", "pin", "countdown", uitest.Absent)
	r.clock.Advance(55 * time.Second)
	r.Expect("keypad", "countdown", "5")
	r.clock.Advance(5 * time.Second)
	r.Expect("idle")
	r.assertForgotten()
	// Idle does not time out, and the next citizen starts clean.
	r.clock.Advance(5 * time.Minute)
	r.toMenu()
}

func TestSkippedStepsRefused(t *testing.T) {
	r := newRig(t)
	r.Confirm()
	r.Expect("menu")
	r.Confirm() // nothing to confirm on the menu
	r.ExpectError("refused")
	r.Input("pin", "924681")
	r.ExpectError("refused")
	r.Start("report_loss")
	r.Expect("menu", "field", "mode")
	r.Input("mode", "self")
	r.Expect("keypad", "field", "doc_number")
	r.Confirm() // straight to commit
	r.ExpectError("refused")
	r.Input("expiry_date", "300101") // a later field
	r.ExpectError("refused")
	r.Start("suspend_settlement") // another flow mid-way
	r.ExpectError("refused")
	r.Input("card", "0")
	r.ExpectError("refused")
	r.dev.insert(hwbridge.SlotID) // card too early: just noted
	r.Input("doc_number", "12-34")
	r.ExpectError("invalid_doc_number")
	r.Send(map[string]string{"type": "lang", "code": "fr"})
	r.ExpectError("unknown_language")
	r.Start("transfer_money")
	r.ExpectError("refused")
	if n := len(r.out.committed()); n != 0 {
		t.Fatalf("%d operations committed", n)
	}
	if _, name, d := r.reload(); name != "keypad" || d["field"] != flow.FieldDocNumber {
		t.Fatalf("after the refused intents a new page is shown %s %v, want the doc_number keypad", name, d["field"])
	}
}

func TestLanguageSwitch(t *testing.T) {
	r := newRig(t)
	r.toMenu()
	r.Send(map[string]string{"type": "lang", "code": "vi"})
	r.Expect("menu", "lang", "vi")
	r.Cancel()
	r.Expect("idle", "lang", "zh-CN") // the next citizen gets the default
}

func TestReconnectResendsScreen(t *testing.T) {
	r := newRig(t)
	r.ssToPIN("suspend_settlement")
	r.Conn.Close()
	r.connect()
	r.Expect("keypad", "field", "pin")
	r.Input("pin", "924681")
	r.Expect("confirm")
}

func TestScreenKeysInCatalogue(t *testing.T) {
	b := uitest.Catalogue(t, "en")
	r := newRig(t)
	check := func(d map[string]any) {
		for _, k := range []string{"title"} {
			if v, ok := d[k].(string); ok && b[v] == "" {
				t.Errorf("key %q not in the catalogue", v)
			}
		}
		for _, x := range asList(d["options"]) {
			if k := x["label"].(string); b[k] == "" {
				t.Errorf("option key %q not in the catalogue", k)
			}
		}
		for _, x := range asList(d["rows"]) {
			if k := x["label"].(string); b[k] == "" {
				t.Errorf("row key %q not in the catalogue", k)
			}
			if x["t"] == true && b[x["value"].(string)] == "" {
				t.Errorf("value key %q not in the catalogue", x["value"])
			}
		}
		notes, _ := d["notes"].([]any)
		for _, n := range notes {
			if b[n.(string)] == "" {
				t.Errorf("note key %q not in the catalogue", n)
			}
		}
	}
	r.toMenu()
	check(r.Last())
	r.Start("report_loss")
	check(r.Expect("menu", "field", "mode"))
	r.Input("mode", "proxy")
	r.Input("doc_number", bacAgent.DocNumber)
	r.Input("birth_date", bacAgent.BirthDate)
	r.Input("expiry_date", bacAgent.ExpiryDate)
	r.Expect("identify")
	r.dev.insert(hwbridge.SlotID)
	r.Expect("keypad", "field", "subject_id")
	r.Input("subject_id", holder.IDNumber)
	check(r.Expect("menu", "field", "relationship"))
	r.Input("relationship", "spouse")
	check(r.Expect("confirm"))
	r.Confirm()
	check(r.Expect("done", "printing", "false"))
}

func asList(v any) []map[string]any {
	l, _ := v.([]any)
	var out []map[string]any
	for _, x := range l {
		out = append(out, x.(map[string]any))
	}
	return out
}

// A card that never answers must not freeze the screen: the call's deadline
// ends it and the citizen is told.
func TestStuckDeviceTimesOut(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	r := newRig(t, func(c *Config, d *Deps) {
		c.CallTimeout = 200 * time.Millisecond
		d.Identity.(*fakeIdentity).block = block
	})
	r.toMenu()
	r.Start("suspend_settlement")
	r.Expect("identify")
	r.dev.insert(hwbridge.SlotSS)
	d := r.Expect("error", "code", flow.CodeSSReadFailed)
	if d["retry"] != true {
		t.Errorf("error %v", d)
	}
}

// Run returns when its context ends, after the effects it started, and
// leaves no goroutine behind.
func TestRunStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	block := make(chan struct{})
	id := newIdentity()
	id.block = block
	dev := &fakeDevices{ch: make(chan DeviceEvent)}
	s := New(Config{Clock: newClock()}, Deps{Outbox: &fakeOutbox{}, Identity: id, Devices: dev})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	ictx, icancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer icancel()
	if err := s.Intent(ictx, ui.Intent{Type: ui.TypeStart, Flow: "suspend_settlement"}); err != nil {
		t.Fatal(err)
	}
	dev.ch <- DeviceEvent{Kind: hwbridge.CardInserted, Slot: hwbridge.SlotSS} // ReadSS now hangs
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if err := s.Intent(ictx, ui.Intent{Type: ui.TypeConfirm}); err == nil {
		t.Error("intent accepted after Run returned")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left, %d before", n, before)
	}
	close(block)
}

// 10,000 malformed frames on the page's connection change nothing in the
// flow, and the page then carries on.
func TestMalformedFloodLeavesFlowIntact(t *testing.T) {
	r := newRig(t)
	r.ssToPIN("suspend_settlement")
	before, _, _ := r.reload()
	confirmed := make(chan bool, 1)
	go func() { // drain the answers until the confirm screen
		for {
			r.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, b, err := r.Conn.ReadMessage()
			if err != nil || strings.Contains(string(b), `"name":"confirm"`) {
				confirmed <- err == nil
				return
			}
		}
	}()
	junk := []string{`{"type":"input","field":"pin"`, `{"type":"confirm","x":}`, `[1]`, `{"type":"commit"}`, "\x00\x01"}
	for i := range 10000 {
		if err := r.Conn.WriteMessage(websocket.TextMessage, []byte(junk[i%len(junk)])); err != nil {
			t.Fatal(err)
		}
	}
	// The flood changed nothing and the page carries on: the PIN (dropped
	// while the rate limit refills) is still what the flow waits for, and
	// its answer is the confirm screen.
	deadline := time.Now().Add(5 * time.Second)
	for ok := false; !ok; {
		select {
		case ok = <-confirmed:
			if !ok {
				t.Fatal("the page never got the confirm screen after the flood")
			}
		default:
			if time.Now().After(deadline) {
				t.Fatal("page stuck after the flood: no confirm screen within 5 s of PINs")
			}
			r.Input("pin", "924681")
			time.Sleep(100 * time.Millisecond)
		}
	}
	if after, name, _ := r.reload(); after != before || name != "confirm" {
		t.Fatalf("after the flood a new page joins session %q on %s, want %q on confirm", after, name, before)
	}
	if len(r.out.committed()) != 0 {
		t.Fatal("flood committed something")
	}
}

func TestChooseAmongCards(t *testing.T) {
	r := newRig(t)
	// Central's words are read by op.CardStateFromCentral in the daemon's
	// adapter; a word it does not know reaches the session as unknown.
	r.cen.cards[holder.IDNumber] = []Card{{Number: "B00000001", State: op.CardLost}, {Number: "A12345678", State: op.CardActive}, {Number: "C00000003", State: op.CardStateFromCentral("frozen?")}}
	d := r.reportToConfirm()
	cards := asList(d["cards"])
	if len(cards) != 3 || cards[1]["selected"] != true || cards[2]["state"] != "unknown" {
		t.Fatalf("cards %v", cards)
	}
	for _, c := range cards {
		if strings.Contains(c["number"].(string), "0000000") || c["number"] == "A12345678" {
			t.Errorf("card number not masked: %v", c["number"])
		}
	}
	r.Input("card", "0")
	r.ExpectWhere("confirm", func(d map[string]any) bool { return asList(d["cards"])[0]["selected"] == true })
	r.Input("card", "3")
	r.ExpectError("unknown_card")
	r.Confirm()
	r.Expect("done")
	if ops := r.out.committed(); len(ops) != 1 || ops[0].CardNumber != "B00000001" {
		t.Fatalf("committed %+v", ops)
	}
}

func TestReaderUnplugged(t *testing.T) {
	r := newRig(t)
	r.ssToPIN("suspend_settlement")
	r.dev.ch <- DeviceEvent{Kind: hwbridge.ReaderRemoved, Slot: hwbridge.SlotSS}
	// The page hears the reader is gone, and the card went with it: idle.
	sawDevice, sawIdle := false, false
	for !sawDevice || !sawIdle {
		f := r.Frame()
		switch f["type"] {
		case "device":
			for _, x := range f["readers"].([]any) {
				if m := x.(map[string]any); m["slot"] == "ss" && m["present"] == false {
					sawDevice = true
				}
			}
		case "screen":
			sawIdle = f["name"] == "idle"
		}
	}
	r.dev.ch <- DeviceEvent{Kind: hwbridge.ReaderAdded, Slot: hwbridge.SlotSS}
	r.assertForgotten()
}

func TestMissingPartsEndOnErrorScreens(t *testing.T) {
	r := newRig(t, func(_ *Config, d *Deps) { d.Identity, d.Outbox, d.Central, d.Printer = nil, nil, nil, nil })
	r.ssToPINFails()
	r.Cancel()
	r.Expect("idle")
	r.toMenu()
	r.Start("lookup")
	r.Expect("keypad", "field", "voucher")
	r.Input("voucher", voucher.New(1, 1))
	r.Expect("error", "code", flow.CodeLookupFailed)
}

func (r *rig) ssToPINFails() {
	r.toMenu()
	r.Start("suspend_settlement")
	r.Expect("identify", "slot", "ss")
	r.dev.insert(hwbridge.SlotSS)
	r.Expect("error", "code", flow.CodeSSReadFailed)
}

type panickyPrinter struct{}

func (panickyPrinter) PrintReceipt(context.Context, ReceiptData) (bool, string, error) {
	panic("driver bug")
}

// A bug in an adapter shows as a problem on screen, not a dead daemon; the
// operation committed before stays committed and its voucher shown.
func TestAdapterPanicIsContained(t *testing.T) {
	r := newRig(t, func(_ *Config, d *Deps) { d.Printer = panickyPrinter{} })
	r.ssToPIN("suspend_settlement")
	r.Input("pin", "924681")
	r.Expect("confirm")
	r.Confirm()
	d := r.Expect("done", "printing", "false")
	if d["printed"] != false || d["voucher"] != voucher.Format(r.out.lastVoucher()) {
		t.Errorf("done %v", d)
	}
}

// A reader is shown as there only once the readers report it: a slot whose
// reader never came (a PC/SC slot with nothing plugged in) stays missing.
func TestReaderMissingUntilReported(t *testing.T) {
	r := newRig(t)
	present := func(f map[string]any) map[string]bool {
		out := map[string]bool{}
		rs, _ := f["readers"].([]any)
		for _, x := range rs {
			rd := x.(map[string]any)
			out[rd["slot"].(string)] = rd["present"] == true
		}
		return out
	}
	// The page gets a device frame with the idle screen, before or after
	// it: wait for it (Frame fails after the read timeout).
	for r.Device() == nil {
		r.Frame()
	}
	if got := present(r.Device()); got["id"] || got["ss"] {
		t.Errorf("readers shown present before any was reported: %v", got)
	}
	r.dev.ch <- DeviceEvent{Kind: hwbridge.ReaderAdded, Slot: hwbridge.SlotID}
	for f := r.Frame(); f["type"] != "device"; f = r.Frame() {
	}
	if got := present(r.Device()); !got["id"] || got["ss"] {
		t.Errorf("after the ID reader came: %v, want only id present", got)
	}
}
