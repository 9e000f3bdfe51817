package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/kiosk/maint"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui"
	"github.com/kioskd/kioskd/ui/uitest"
)

// fakeMaint is the daemon's maintenance adapter in memory: the real
// maint.Guard on the rig's clock, an audit list, a queue and a printer.
type fakeMaint struct {
	guard *maint.Guard
	gate  chan struct{} // if set, Login waits for it

	// If set, Queue and maint.ReaderTest wait for them (set before the call).
	queueGate, testGate atomic.Pointer[chan struct{}]

	mu        sync.Mutex
	audit     []string // "who action"
	retried   []string
	reprinted []string
	printed   int
	ops       []maint.QueuedOp
}

func newFakeMaint(t *testing.T, clock *fakeClock) *fakeMaint {
	h, err := maint.HashWith("135790", maint.Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return &fakeMaint{
		guard: maint.NewGuard([]maint.Technician{{Label: "tech-7", PINHash: h}}, 5, 15*time.Minute, clock.Now),
		ops: []maint.QueuedOp{{Key: "K-TEST-00ff", Voucher: "100000471", Kind: "report_loss", State: "rejected",
			Reason: "card already reported", Attempts: 1}},
	}
}

func (f *fakeMaint) record(who, action string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.audit = append(f.audit, who+" "+action)
}

func (f *fakeMaint) audited() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.audit)
}

func (f *fakeMaint) IdleTimeout() time.Duration { return 2 * time.Minute }
func (f *fakeMaint) Technicians() int           { return 1 }
func (f *fakeMaint) LockedUntil() time.Time     { return f.guard.LockedUntil() }

func (f *fakeMaint) Login(ctx context.Context, pin string) (maint.Login, error) {
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return maint.Login{}, ctx.Err()
		}
	}
	who, err := f.guard.Check(pin)
	var wrong *maint.WrongPIN
	var locked *maint.LockedError
	switch {
	case err == nil:
		f.record(who, "login")
		return maint.Login{OK: true, Label: who}, nil
	case errors.As(err, &locked):
		if locked.JustLocked {
			f.record("unknown", "lockout")
		} else {
			f.record("unknown", "login_refused_locked")
		}
		return maint.Login{LockedUntil: locked.Until}, nil
	case errors.As(err, &wrong):
		f.record("unknown", "login_failed")
		return maint.Login{TriesLeft: wrong.TriesLeft}, nil
	}
	return maint.Login{}, err
}

func (f *fakeMaint) Logout(ctx context.Context, who, why string) error {
	f.record(who, "logout "+why)
	return nil
}

func (f *fakeMaint) Devices(ctx context.Context) (maint.Devices, error) {
	return maint.Devices{
		Readers: []maint.Reader{{Slot: "id", Reader: "Virtual PCD 00 00", Present: true}, {Slot: "ss", Reader: "Virtual PCD 00 01", Present: true, Card: true, ATR: "3b8f"}},
		Printer: maint.Printer{State: "paper_near_end", Status: "ready, paper near end", StatusCodes: []string{"ready", "paper_near_end"}, Mode: "sim", Device: "/dev/ttyS0", Baud: 9600},
	}, nil
}

// pass waits for the gate g holds, if any.
func pass(ctx context.Context, g *atomic.Pointer[chan struct{}]) error {
	if c := g.Load(); c != nil {
		select {
		case <-*c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (f *fakeMaint) Queue(ctx context.Context) (maint.Queue, error) {
	if err := pass(ctx, &f.queueGate); err != nil {
		return maint.Queue{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q := maint.Queue{Pending: 2, OldestPending: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), SLABreached: true}
	for _, o := range f.ops {
		if o.State == "rejected" {
			q.Rejected++
		}
	}
	q.Ops = slices.Clone(f.ops)
	// Out of paper: the printer also said offline and near end, but the
	// journal's problems name only what was the case.
	q.Unprinted = []maint.UnprintedReceipt{{Voucher: "100000472", LastError: "receipt not printed: printer not ready: paper out",
		Problems: []string{"not_printed", "paper_out"}, Attempts: 1}}
	return q, nil
}

func (f *fakeMaint) Retry(ctx context.Context, who, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.audit = append(f.audit, who+" retry")
	for i := range f.ops {
		if f.ops[i].Key == key {
			f.ops[i].State, f.ops[i].Reason = "pending", ""
			f.retried = append(f.retried, key)
			return nil
		}
	}
	return fmt.Errorf("no operation %s", key)
}

func (f *fakeMaint) Reprint(ctx context.Context, who, v string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.audit = append(f.audit, who+" reprint")
	f.reprinted = append(f.reprinted, v)
	return nil
}

func (f *fakeMaint) TestPrint(ctx context.Context, who string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.audit = append(f.audit, who+" test_print")
	f.printed++
	return nil
}

func (f *fakeMaint) ReaderTest(ctx context.Context, who string, slot hwbridge.Slot) (maint.ReaderTest, error) {
	f.record(who, "reader_test") // the call started
	if err := pass(ctx, &f.testGate); err != nil {
		return maint.ReaderTest{}, err
	}
	return maint.ReaderTest{ATR: "3b8f8001", CardType: "ss_card"}, nil
}

func (f *fakeMaint) Log(ctx context.Context) ([]string, error) {
	return []string{"09:00:00 INFO kioskd ready"}, nil
}

func (f *fakeMaint) AuditChain(ctx context.Context) (maint.AuditChain, error) {
	return maint.AuditChain{Intact: true, Entries: 3}, nil
}

func (f *fakeMaint) Settings(ctx context.Context) ([]maint.Setting, error) {
	return []maint.Setting{{Key: "kiosk_id", Value: "K-TEST"}, {Key: "maintenance.technicians", Value: "1 (PIN hashes hidden)"}}, nil
}

func (f *fakeMaint) About(ctx context.Context) (maint.About, error) {
	return maint.About{KioskID: "K-TEST", Version: "test", Commit: "abc", GoVersion: "go1.26", Uptime: 90 * time.Second}, nil
}

func maintRig(t *testing.T) (*rig, *fakeMaint) {
	var fm *fakeMaint
	r := newRig(t, func(c *Config, d *Deps) {
		fm = newFakeMaint(t, c.Clock.(*fakeClock))
		d.Maintenance = fm
	})
	return r, fm
}

func (r *rig) maintLogin(pin string) {
	r.t.Helper()
	r.Start("maintenance")
	r.Expect("maintenance_pin", "field", maint.FieldTechPIN, "secret", "true")
	r.Input(maint.FieldTechPIN, pin)
	r.Expect("maintenance_home", "tech", "tech-7")
}

func TestMaintenanceLockout(t *testing.T) {
	r, fm := maintRig(t)
	r.Start("maintenance")
	r.Expect("maintenance_pin")
	for i := 1; i <= 4; i++ {
		r.Input(maint.FieldTechPIN, "000000")
		r.Expect("maintenance_pin", "error", "wrong_tech_pin", "tries_left", fmt.Sprint(5-i))
	}
	r.Input(maint.FieldTechPIN, "000000")
	r.Expect("maintenance_locked", "minutes", "15")
	// The right PIN during the lock is refused: the lock screen while the
	// PIN is checked, then again once it is refused.
	r.Input(maint.FieldTechPIN, "135790")
	r.Expect("maintenance_locked", "busy", "login")
	r.Expect("maintenance_locked", "minutes", "15", "busy", uitest.Absent)
	if id, name, _ := r.reload(); id == "" || name != "maintenance_locked" {
		t.Fatalf("a new page joins session %q on %s, want the locked menu", id, name)
	}
	// Leaving and coming back does not lift the lock.
	r.Cancel()
	r.Expect("idle")
	r.Start("maintenance")
	r.Expect("maintenance_locked")
	r.Cancel()
	r.Expect("idle")
	r.clock.Advance(15 * time.Minute)
	r.maintLogin("135790")
	r.Cancel()
	r.Expect("idle")
	want := []string{"unknown login_failed", "unknown login_failed", "unknown login_failed", "unknown login_failed",
		"unknown lockout", "unknown login_refused_locked", "tech-7 login", "tech-7 logout logout"}
	waitAudit(t, fm, want)
}

func waitAudit(t *testing.T, fm *fakeMaint, want []string) {
	t.Helper()
	for range 100 {
		if slices.Equal(fm.audited(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("audit %q\nwant  %q", fm.audited(), want)
}

func TestMaintenanceScreens(t *testing.T) {
	r, fm := maintRig(t)
	r.maintLogin("135790")
	if opts := asList(r.Last()["options"]); len(opts) != len(maint.Entries) {
		t.Fatalf("home options %v", opts)
	}
	for d := r.Last(); d["sla_breached"] != true; d = r.Expect("maintenance_home") {
	}

	r.Input(maint.FieldScreen, "devices")
	d := r.Expect("maintenance_devices")
	for d["printer"] == nil {
		d = r.Expect("maintenance_devices")
	}
	p := d["printer"].(map[string]any)
	if p["status"] != "ready, paper near end" || p["device"] != "/dev/ttyS0" || p["baud"] != 9600.0 {
		t.Errorf("printer %v", p)
	}
	if rs := asList(d["readers"]); len(rs) != 2 || rs[1]["card"] != true {
		t.Errorf("readers %v", rs)
	}

	r.Back()
	r.Expect("maintenance_home")
	r.Input(maint.FieldScreen, "queue")
	d = r.Expect("maintenance_queue")
	for d["ops"] == nil {
		d = r.Expect("maintenance_queue")
	}
	ops := asList(d["ops"])
	if len(ops) != 1 || ops[0]["voucher"] != voucher.Format("100000471") || ops[0]["kind"] != "menu.report_loss" || ops[0]["reason"] != "card already reported" {
		t.Fatalf("ops %v", ops)
	}
	if uitest.Rows(d)["maint.queue.pending"] != "2" || uitest.Rows(d)["maint.queue.oldest"] != "1h0m0s" || d["sla_breached"] != true {
		t.Errorf("queue rows %v", uitest.Rows(d))
	}
	r.Input(maint.FieldRetry, "K-TEST-00ff")
	d = r.Expect("maintenance_queue", "result", "maint.result.retried")
	for d["ops"] == nil || asList(d["ops"])[0]["state"] != "pending" {
		d = r.Expect("maintenance_queue", "result", "maint.result.retried")
	}

	r.Back()
	r.Input(maint.FieldScreen, "test_print")
	r.Expect("maintenance_test_print", "action", "maint.test_print.go")
	r.Confirm()
	r.Expect("maintenance_test_print", "result", "maint.result.printed")

	r.Back()
	r.Input(maint.FieldScreen, "reader_test")
	r.Expect("maintenance_reader_test")
	r.dev.insert(hwbridge.SlotSS)
	d = r.ExpectWhere("maintenance_reader_test", func(d map[string]any) bool { return asList(d["tests"])[1]["atr"] == "3b8f8001" })
	if ts := asList(d["tests"]); ts[1]["card_type"] != "ss_card" || ts[0]["atr"] != "" {
		t.Fatalf("tests %v", ts)
	}

	for _, sc := range []struct{ name, key string }{{"log", "lines"}, {"config", "settings"}, {"about", "rows"}} {
		r.Back()
		r.Input(maint.FieldScreen, sc.name)
		for d = r.Expect("maintenance_" + sc.name); d[sc.key] == nil; d = r.Expect("maintenance_" + sc.name) {
		}
	}
	if uitest.Rows(d)["maint.about.uptime"] != "1m30s" {
		t.Errorf("about %v", uitest.Rows(d))
	}

	// Idle for the maintenance timeout: logged out.
	r.clock.Advance(2 * time.Minute)
	r.Expect("idle")
	waitAudit(t, fm, []string{"tech-7 login", "tech-7 retry", "tech-7 test_print", "tech-7 reader_test", "tech-7 logout idle_timeout"})
	if fm.printed != 1 || len(fm.retried) != 1 {
		t.Errorf("printed %d, retried %v", fm.printed, fm.retried)
	}
}

func TestMaintenanceRefusals(t *testing.T) {
	r, _ := maintRig(t)
	r.Start("maintenance")
	r.Expect("maintenance_pin")
	r.Input(maint.FieldRetry, "K-TEST-00ff") // not before login
	r.ExpectError("refused")
	r.Input(maint.FieldScreen, "queue")
	r.ExpectError("refused")
	r.Input(maint.FieldTechPIN, "135790")
	r.Expect("maintenance_home")
	r.Input(maint.FieldScreen, "shell")
	r.ExpectError("unknown_screen")
	r.Start("report_loss")
	r.ExpectError("refused")
	r.Input(maint.FieldScreen, "reader_test")
	r.Expect("maintenance_reader_test")
	r.Input(maint.FieldReaderTest, "usb")
	r.ExpectError("unknown_slot")
	r.Back()
	r.Expect("maintenance_home")
	r.Back()
	r.Expect("idle")
	// The citizen flows work again.
	r.toMenu()
}

func TestMaintenanceScreenKeysInCatalogue(t *testing.T) {
	for _, lang := range []string{"en", "vi", "zh-CN"} {
		c := uitest.Catalogue(t, lang)
		keys := []string{"maint.result.printed", "maint.result.print_failed", "maint.result.retried", "maint.result.retry_failed",
			"maint.result.load_failed", "maint.result.failed", "maint.sla_alert", "maint.test_print.go", "maint.yes", "maint.no",
			"maint.title.pin", "maint.title.locked", "maint.title.home", "field.tech_pin", "hint.tech_pin", "err.wrong_tech_pin", "err.maint_failed",
			"maint.queue.pending", "maint.queue.oldest", "maint.queue.rejected", "maint.queue.sla",
			"maint.about.kiosk_id", "maint.about.version", "maint.about.commit", "maint.about.go", "maint.about.uptime"}
		for _, sc := range maint.Entries {
			keys = append(keys, "maint.title."+string(sc))
		}
		for _, k := range keys {
			if c[k] == "" {
				t.Errorf("%s: key %q not in the catalogue", lang, k)
			}
		}
	}
}

// recDisplay keeps the last screen; nothing reads frames.
type recDisplay struct {
	mu   sync.Mutex
	last ui.Screen
}

func (d *recDisplay) Show(s ui.Screen) { d.mu.Lock(); d.last = s; d.mu.Unlock() }
func (d *recDisplay) Device(ui.Device) {}
func (d *recDisplay) screen() string   { d.mu.Lock(); defer d.mu.Unlock(); return d.last.Name }

// Any sequence of intents leaves the menu on one of its screens or idle,
// never panics, and cancel always gets back to idle.
func TestMaintenanceRandomIntents(t *testing.T) {
	clock := newClock()
	fm := newFakeMaint(t, clock)
	disp := &recDisplay{}
	logs := &uitest.LockedBuffer{}
	s := New(Config{KioskID: "K-TEST", Clock: clock, Logger: slog.New(slog.NewTextHandler(logs, nil))},
		Deps{Display: disp, Maintenance: fm, Devices: &fakeDevices{ch: make(chan DeviceEvent)}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	intents := []ui.Intent{
		{Type: "start", Flow: "maintenance"}, {Type: "start", Flow: "lookup"},
		{Type: "input", Field: maint.FieldTechPIN, Value: "135790"}, {Type: "input", Field: maint.FieldTechPIN, Value: "1"},
		{Type: "input", Field: maint.FieldScreen, Value: "queue"}, {Type: "input", Field: maint.FieldScreen, Value: "devices"},
		{Type: "input", Field: maint.FieldScreen, Value: "test_print"}, {Type: "input", Field: maint.FieldScreen, Value: "../etc"},
		{Type: "input", Field: maint.FieldRetry, Value: "K-TEST-00ff"}, {Type: "input", Field: maint.FieldRetry, Value: ""},
		{Type: "input", Field: maint.FieldReaderTest, Value: "ss"}, {Type: "input", Field: maint.FieldReaderTest, Value: "zz"},
		{Type: "input", Field: "voucher", Value: "1234"}, {Type: "confirm"}, {Type: "back"}, {Type: "ping"},
		{Type: "lang", Code: "vi"}, {Type: "bogus"},
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 400 {
		in := intents[rnd.IntN(len(intents))]
		shown := disp.screen()
		_ = s.Intent(ctx, in) // returns once the session applied it
		select {
		case err := <-done:
			done <- err
			t.Fatalf("intent %d %+v: session stopped: %v", i, in, err)
		default:
		}
		// In the menu every intent is the menu's: it stays on its
		// screens or leaves to idle, never to a citizen's screen.
		if now := disp.screen(); strings.HasPrefix(shown, "maintenance_") && shown != "maintenance_locked" &&
			!strings.HasPrefix(now, "maintenance_") && now != "idle" {
			t.Fatalf("intent %d %+v: from %s to %s", i, in, shown, now)
		}
		if i%50 == 49 {
			clock.Advance(20 * time.Minute) // lift locks, log out
			// The tick is handled before the next intent: one that is
			// applied when it returns makes the screen the tick's.
			_ = s.Intent(ctx, ui.Intent{Type: "ping"})
		}
	}
	// Cancel is refused at idle, and brings every other screen there.
	if err := s.Intent(ctx, ui.Intent{Type: "cancel"}); disp.screen() != "idle" {
		t.Fatalf("cancel (%v) left %s", err, disp.screen())
	}
	if strings.Contains(logs.String(), "panicked") {
		t.Fatalf("a call panicked:\n%s", logs.String())
	}
}

// The answer to a login from an earlier visit of the menu does not log in
// the next one.
func TestMaintenanceStaleLoginIgnored(t *testing.T) {
	var fm *fakeMaint
	r := newRig(t, func(c *Config, d *Deps) {
		fm = newFakeMaint(t, c.Clock.(*fakeClock))
		fm.gate = make(chan struct{})
		d.Maintenance = fm
	})
	r.Start("maintenance")
	r.Expect("maintenance_pin")
	r.Input(maint.FieldTechPIN, "135790") // waits at the gate
	r.Cancel()
	r.Expect("idle")
	r.Start("maintenance")
	r.Expect("maintenance_pin")
	close(fm.gate) // the first visit's right PIN is answered now
	r.Input(maint.FieldTechPIN, "1")
	for {
		f := r.Frame()
		if f["type"] != "screen" {
			continue
		}
		if f["name"] == "maintenance_home" {
			t.Fatal("logged in by the answer to an earlier visit's PIN")
		}
		if d := f["data"].(map[string]any); f["name"] == "maintenance_pin" && d["error"] == "wrong_tech_pin" {
			break
		}
	}
}

// TestMaintenanceReaderTestKeepsEveryCard: a card put in on the reader test
// screen is tested even while the screen left behind is still loading, and
// a card put in while another is being tested is tested next.
func TestMaintenanceReaderTestKeepsEveryCard(t *testing.T) {
	r, fm := maintRig(t)
	r.maintLogin("135790")
	for d := r.Last(); d["sla_breached"] != true; d = r.Expect("maintenance_home") {
	}
	slowQueue := make(chan struct{})
	defer close(slowQueue)
	fm.queueGate.Store(&slowQueue)
	r.Input(maint.FieldScreen, "about")
	r.Expect("maintenance_about")
	r.Back() // the menu's load (the queue, for the SLA alert) waits
	r.Expect("maintenance_home")
	r.Input(maint.FieldScreen, "reader_test")
	r.Expect("maintenance_reader_test")
	r.dev.insert(hwbridge.SlotSS)
	tested := func(slot int) {
		t.Helper()
		r.ExpectWhere("maintenance_reader_test", func(d map[string]any) bool { return asList(d["tests"])[slot]["atr"] == "3b8f8001" })
	}
	tested(1)

	slowTest := make(chan struct{})
	fm.testGate.Store(&slowTest)
	r.dev.remove(hwbridge.SlotSS)
	r.dev.insert(hwbridge.SlotID) // its test waits
	waitAudit(t, fm, []string{"tech-7 login", "tech-7 reader_test", "tech-7 reader_test"})
	r.dev.insert(hwbridge.SlotSS) // comes in during the id card's test
	close(slowTest)
	tested(0)
	// The ss card is tested once more, after the id card.
	waitAudit(t, fm, []string{"tech-7 login", "tech-7 reader_test", "tech-7 reader_test", "tech-7 reader_test"})
}

// noTechMaint is a maintenance menu with no technician configured.
type noTechMaint struct{ *fakeMaint }

func (noTechMaint) Technicians() int { return 0 }

// TestMaintenanceWithoutTechnicians: with no technician configured the
// menu's entry says so and how to add one; it takes no PIN, so it never
// counts down to a lockout.
func TestMaintenanceWithoutTechnicians(t *testing.T) {
	var fm *fakeMaint
	r := newRig(t, func(c *Config, d *Deps) {
		fm = newFakeMaint(t, c.Clock.(*fakeClock))
		d.Maintenance = noTechMaint{fm}
	})
	r.Start("maintenance")
	d := r.Expect("maintenance_locked", "no_technician", "true")
	if _, ok := d["field"]; ok {
		t.Errorf("a PIN pad without technicians: %v", d)
	}
	for range 6 {
		r.Input(maint.FieldTechPIN, "000000")
		r.ExpectError("refused")
	}
	// A minute later the entry still answers a PIN with "refused": no
	// lockout ended, no idle screen took over.
	r.clock.Advance(time.Minute)
	r.Input(maint.FieldTechPIN, "000000")
	r.ExpectError("refused")
	r.Cancel()
	r.Expect("idle")
	if a := fm.audited(); len(a) != 0 {
		t.Errorf("audited %v: no login was tried", a)
	}
	if !fm.guard.LockedUntil().IsZero() {
		t.Error("locked without technicians")
	}
}
