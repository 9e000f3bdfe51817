package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/maint"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/ui/uitest"
)

// The technician's menu through the real daemon: the page's WebSocket, the
// session, this adapter, the real store's queue and audit log, the
// simulated readers and the serial printer over a pty to the virtual
// printer.

const techPIN = "480159"

func withTechnician(t testing.TB) func(*config.Config) {
	// Cheap argon2id costs keep the test fast; Verify reads them from the
	// string, so the production path is the one tested.
	h, err := maint.HashWith(techPIN, maint.Params{Memory: 256, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) {
		c.Maintenance.Technicians = []config.Technician{{Label: "tech-anna", PINHash: h}}
		// Unreachable central: operations stay pending or rejected as
		// the test puts them.
		c.Central.URL = "http://127.0.0.1:1"
		c.Central.Timeout = config.Duration{Duration: 200 * time.Millisecond}
	}
}

// auditActions is "who action" of the technicians' audit entries, oldest
// first; the store's own entries for operation state changes are left out
// (operationAudit has them).
func (e *e2e) auditActions() []string {
	e.t.Helper()
	var out []string
	for _, a := range e.audit() {
		if a.Who != store.AuditOperationWho {
			out = append(out, a.Who+" "+a.Action)
		}
	}
	return out
}

// operationAudit is "action detail" of the store's entries for operation
// state changes, oldest first.
func (e *e2e) operationAudit() []string {
	e.t.Helper()
	var out []string
	for _, a := range e.audit() {
		if a.Who == store.AuditOperationWho {
			out = append(out, a.Action+" "+a.Detail)
		}
	}
	return out
}

func (e *e2e) audit() []store.AuditEntry {
	e.t.Helper()
	entries, err := e.d.store.AuditLog(100)
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(entries)
	for _, a := range entries {
		assertNoPersonalData(e.t, "audit entry", a)
	}
	return entries
}

func (e *e2e) waitAudit(want ...string) {
	e.t.Helper()
	for range 250 {
		if got := e.auditActions(); slices.Equal(got, want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("audit log %q\nwant %q", e.auditActions(), want)
}

// expectMaint waits for a maintenance screen whose data has key set.
func (e *e2e) expectMaint(name, key string, kv ...string) map[string]any {
	e.t.Helper()
	for range 20 {
		d := e.Expect(name, kv...)
		if _, ok := d[key]; ok || key == "" {
			return d
		}
	}
	e.t.Fatalf("screen %s never had %q", name, key)
	return nil
}

// TestMaintenanceLockoutThroughDaemon: wrong PINs lock the menu, the lock
// holds against the right PIN and across leaving the menu, and ends after
// the configured time (a few seconds here; the guard's own tests move a
// clock through the real 15 minutes).
func TestMaintenanceLockoutThroughDaemon(t *testing.T) {
	e := startDaemon(t, withTechnician(t), func(c *config.Config) { c.Maintenance.Lockout = config.Duration{Duration: 5 * time.Second} })
	e.Start("maintenance")
	e.Expect("maintenance_pin", "field", maint.FieldTechPIN)
	for i := 1; i <= 4; i++ {
		e.Input(maint.FieldTechPIN, "000000")
		e.Expect("maintenance_pin", "error", "wrong_tech_pin", "tries_left", fmt.Sprint(5-i))
	}
	e.Input(maint.FieldTechPIN, "000000")
	e.Expect("maintenance_locked", "minutes", "1")
	e.Input(maint.FieldTechPIN, techPIN) // right, but locked: checked, then refused
	e.Expect("maintenance_locked", "busy", "login")
	e.Expect("maintenance_locked", "busy", uitest.Absent)
	e.waitAudit("unknown login_failed", "unknown login_failed", "unknown login_failed", "unknown login_failed",
		"unknown lockout", "unknown login_refused")
	// The lock survives leaving the menu.
	e.Cancel()
	e.Expect("idle")
	e.Start("maintenance")
	e.Expect("maintenance_locked")
	e.Cancel()
	e.Expect("idle")

	nextScreen := func() any {
		for range 50 { // each Frame waits a bounded time; a screen is among the next few frames
			if f := e.Frame(); f["type"] == "screen" {
				return f["name"]
			}
		}
		t.Fatal("no screen in the 50 frames after start")
		return nil
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		e.Start("maintenance")
		if nextScreen() == "maintenance_pin" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the menu is still locked 20 s after a 5 s lockout")
		}
		e.Cancel()
		e.Expect("idle")
	}
	e.Input(maint.FieldTechPIN, techPIN)
	e.Expect("maintenance_home", "tech", "tech-anna")
	e.Cancel()
	e.Expect("idle")
	e.waitAudit("unknown login_failed", "unknown login_failed", "unknown login_failed", "unknown login_failed",
		"unknown lockout", "unknown login_refused", "tech-anna login", "tech-anna logout")
}

func TestMaintenanceActionsThroughDaemon(t *testing.T) {
	e := startDaemon(t, withTechnician(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A rejected operation and one backing off from an unreachable central.
	personal, err := json.Marshal(Personal{Subject: json.RawMessage(`{"id_number":"` + ssID + `","name":"` + ssName + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	rej, err := e.d.store.Enqueue(ctx, store.NewOperation{Kind: "report_loss", Personal: personal})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.d.store.Reject(rej.Key, "card_unknown", "no such card at central"); err != nil {
		t.Fatal(err)
	}
	backing, err := e.d.store.Enqueue(ctx, store.NewOperation{Kind: "suspend_settlement", Personal: personal})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "a failed delivery attempt to the unreachable central", func() bool {
		op, err := e.d.store.Get(backing.Key)
		if err != nil {
			t.Fatal(err)
		}
		return op.Attempts > 0
	})

	e.techLogin()

	// Devices: both simulated readers, the printer on its pty.
	e.Input(maint.FieldScreen, "devices")
	d := e.expectMaint("maintenance_devices", "printer")
	pr := d["printer"].(map[string]any)
	if pr["baud"] != 9600.0 || !strings.HasSuffix(pr["device"].(string), "vprinter.tty") || pr["status"] == "" {
		t.Errorf("printer %v", pr)
	}
	if rs, _ := d["readers"].([]any); len(rs) != 2 {
		t.Errorf("readers %v", d["readers"])
	}
	e.Back()

	// Queue: the rejected one with central's reason; retry now.
	e.Input(maint.FieldScreen, "queue")
	d = e.expectMaint("maintenance_queue", "ops")
	assertNoPersonalData(t, "queue screen", d)
	var found bool
	for _, o := range d["ops"].([]any) {
		o := o.(map[string]any)
		if o["key"] == rej.Key {
			found = true
			if o["state"] != "rejected" || !strings.Contains(o["reason"].(string), "no such card at central") {
				t.Errorf("rejected op shown as %v", o)
			}
		}
	}
	if !found {
		t.Fatalf("rejected operation not listed: %v", d["ops"])
	}
	e.Input(maint.FieldRetry, rej.Key)
	e.Expect("maintenance_queue", "busy", "retry")
	e.Expect("maintenance_queue", "result", "maint.result.retried", "busy", uitest.Absent)
	if op, err := e.d.store.Get(rej.Key); err != nil || op.State != store.Pending {
		t.Fatalf("after retry now: %s, %v; want pending", op.State, err)
	}
	// A backed-off pending one: retry now clears its wait.
	e.Input(maint.FieldRetry, backing.Key)
	e.Expect("maintenance_queue", "busy", "retry")
	e.Expect("maintenance_queue", "result", "maint.result.retried", "busy", uitest.Absent)
	e.Back()

	// Test print reaches the virtual printer.
	e.Input(maint.FieldScreen, "test_print")
	e.Expect("maintenance_test_print")
	e.Confirm()
	e.Expect("maintenance_test_print", "result", "maint.result.printed")
	if r := e.printed("kioskd test page"); !strings.Contains(r.Text, "KIOSK") && !strings.Contains(r.Text, e.d.cfg.KioskID) {
		t.Errorf("test page %q", r.Text)
	}
	e.Back()

	// Reader test: insert any card.
	e.Input(maint.FieldScreen, "reader_test")
	e.Expect("maintenance_reader_test")
	e.insert(hwbridge.SlotSS, loadCard(t, "ss_zhangsan.json"))
	test := func(d map[string]any, slot int) map[string]any { return d["tests"].([]any)[slot].(map[string]any) }
	d = e.ExpectWhere("maintenance_reader_test", func(d map[string]any) bool { return test(d, 1)["atr"] != "" })
	if ss := test(d, 1); ss["card_type"] != "ss_card" {
		t.Errorf("ss reader test %v", ss)
	}
	e.insert(hwbridge.SlotID, loadCard(t, "emrtd_vn.json"))
	d = e.ExpectWhere("maintenance_reader_test", func(d map[string]any) bool { return test(d, 0)["atr"] != "" })
	if id := test(d, 0); id["card_type"] != "emrtd" {
		t.Errorf("id reader test %v", id)
	}
	e.Back()

	// Log, configuration (no PIN hash), version.
	e.Input(maint.FieldScreen, "log")
	d = e.expectMaint("maintenance_log", "lines")
	if lines := fmt.Sprint(d["lines"]); !strings.Contains(lines, "technician logged in") {
		t.Errorf("log lines %s", lines)
	}
	// The audit chain of this run's technician actions is intact.
	if a, _ := d["audit"].(map[string]any); a["intact"] != true || a["entries"].(float64) < 1 {
		t.Errorf("audit chain on the log screen: %v", d["audit"])
	}
	assertNoPersonalData(t, "log screen", d)
	e.Back()
	e.Input(maint.FieldScreen, "config")
	d = e.expectMaint("maintenance_config", "settings")
	if s := fmt.Sprint(d["settings"]); strings.Contains(s, "$argon2id$") || !strings.Contains(s, "tech-anna") || !strings.Contains(s, "kiosk_id") {
		t.Errorf("settings %s", s)
	}
	e.Back()
	e.Input(maint.FieldScreen, "about")
	e.expectMaint("maintenance_about", "rows")
	e.Cancel()
	e.Expect("idle")

	// The technician's retry of the rejected operation is a state change
	// in the same chain, by voucher and code, without central's text.
	ops := e.operationAudit()
	if !slices.Contains(ops, "operation.rejected voucher "+rej.Voucher+", report_loss, from pending, code card_unknown") ||
		!slices.Contains(ops, "operation.pending voucher "+rej.Voucher+", report_loss, from rejected") {
		t.Errorf("operation state changes in the audit log: %q", ops)
	}

	got := e.auditActions()
	want := []string{"tech-anna login", "tech-anna retry", "tech-anna retry", "tech-anna test_print",
		"tech-anna reader_test", "tech-anna reader_test", "tech-anna logout"}
	for range 100 {
		if slices.Equal(got, want) {
			break
		}
		time.Sleep(20 * time.Millisecond)
		got = e.auditActions()
	}
	if !slices.Equal(got, want) {
		t.Fatalf("audit %q\nwant %q", got, want)
	}
	entries, err := e.d.store.AuditLog(100)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range entries {
		t.Logf("audit: %s %s %q", a.Who, a.Action, a.Detail)
	}
}

// The devices screen follows the printer; a test print on an empty printer
// says so and is audited as failed; a reader test with no card tells why.
func TestMaintenanceDeviceTroubleThroughDaemon(t *testing.T) {
	e := startDaemon(t, withTechnician(t))
	e.techLogin()
	e.Input(maint.FieldScreen, "devices")
	e.expectMaint("maintenance_devices", "printer")
	if err := e.d.dev.vprint.SetState(vprinter.StatePaperOut); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if i == 50 {
			t.Fatal("the devices screen never showed the printer out of paper")
		}
		d := e.expectMaint("maintenance_devices", "printer")
		p := d["printer"].(map[string]any)
		if p["state"] == "paper_out" {
			if !strings.Contains(p["status"].(string), "paper out") {
				t.Errorf("status bits %q do not say paper out", p["status"])
			}
			break
		}
	}
	e.Back()
	e.Input(maint.FieldScreen, "test_print")
	e.Expect("maintenance_test_print")
	e.Confirm()
	d := e.Expect("maintenance_test_print", "result", "maint.result.print_failed")
	if d["detail"] == "" {
		t.Errorf("no reason for the failed print: %v", d)
	}
	e.Back()
	e.Input(maint.FieldScreen, "reader_test")
	e.Expect("maintenance_reader_test")
	e.Input(maint.FieldReaderTest, "id")
	d = e.ExpectWhere("maintenance_reader_test", func(d map[string]any) bool {
		return d["tests"].([]any)[0].(map[string]any)["error"] != nil
	})
	if id := d["tests"].([]any)[0].(map[string]any); id["atr"] != "" {
		t.Errorf("ATR without a card: %v", id)
	}
	e.Cancel()
	e.Expect("idle")
	entries, err := e.d.store.AuditLog(10)
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, a := range entries {
		details = append(details, a.Action+": "+a.Detail)
	}
	all := strings.Join(details, "\n")
	if !strings.Contains(all, "test_print: failed") || !strings.Contains(all, "reader_test: reader id: failed") {
		t.Errorf("audit log:\n%s", all)
	}
}

func TestLogRing(t *testing.T) {
	var next uitest.LockedBuffer
	log, ring := withLogRing(slog.New(slog.NewTextHandler(&next, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log.Debug("not kept")
	sub := log.With("part", "printer").WithGroup("dev")
	sub.Info("paper low", "port", "/dev/ttyS0", slog.Group("st", "near_end", true))
	log.Warn("central down", "err", errors.New("connection refused"))
	lines := ring.lines()
	if len(lines) != 2 || !strings.HasSuffix(lines[0], ` level=WARN msg="central down" err="connection refused"`) ||
		!strings.HasSuffix(lines[1], ` level=INFO msg="paper low" part=printer dev.port=/dev/ttyS0 dev.st.near_end=true`) ||
		!regexp.MustCompile(`^time=\d\d:\d\d:\d\d level=`).MatchString(lines[0]) {
		t.Fatalf("ring lines %q", lines)
	}
	if !strings.Contains(next.String(), "not kept") || !strings.Contains(next.String(), "paper low") {
		t.Errorf("records not passed on: %s", next.String())
	}
	for i := range logRingSize + 50 {
		log.Info("line", "n", i)
	}
	lines = ring.lines()
	if len(lines) != logRingSize || !strings.HasSuffix(lines[0], fmt.Sprintf("n=%d", logRingSize+49)) ||
		!strings.HasSuffix(lines[logRingSize-1], "n=50") {
		t.Fatalf("ring keeps %d lines, newest %q, oldest %q", len(lines), lines[0], lines[len(lines)-1])
	}
}

func TestSettingsHideSecrets(t *testing.T) {
	cfg := config.Default()
	cfg.Mgmt.TokenFile = "/etc/kioskd/token"
	cfg.Central.KeyFile = "/etc/kioskd/client.key"
	cfg.Maintenance.Technicians = []config.Technician{{Label: "tech-b", PINHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$c2VjcmV0c2VjcmV0c2VjcmV0"}}
	m := &menuBackend{d: &Daemon{cfg: cfg}}
	settings, err := m.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range settings {
		got[s.Key] = s.Value
	}
	all := fmt.Sprint(settings)
	if strings.Contains(all, "argon2id") || strings.Contains(all, "c2VjcmV0") {
		t.Errorf("a PIN hash is shown: %s", all)
	}
	if got["mgmt.token_file"] != "/etc/kioskd/token" || got["central.key_file"] != "/etc/kioskd/client.key" ||
		got["maintenance.technicians"] != "tech-b (PIN hashes hidden)" || got["kiosk_id"] != cfg.KioskID || got["printer.baud"] != "9600" {
		t.Errorf("settings %v", got)
	}
}

// A technician who walks away is logged out after the configured idle time.
func TestMaintenanceIdleLogoutThroughDaemon(t *testing.T) {
	e := startDaemon(t, withTechnician(t), func(c *config.Config) {
		c.Maintenance.IdleTimeout = config.Duration{Duration: time.Second}
	})
	e.techLogin()
	e.Expect("idle")
	// The logout is audited just after the screen changes.
	for range 100 {
		entries, err := e.d.store.AuditLog(1)
		if err != nil {
			t.Fatal(err)
		}
		if a := entries[0]; a.Who == "tech-anna" && a.Action == "logout" && a.Detail == "idle_timeout" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no idle logout in the audit log")
}

// TestMaintenanceReprintsAReceiptThatDidNotComeOut: paper runs out during
// a report; the receipt is journaled as not printed, the queue screen
// offers it, and once paper is back the technician's reprint comes out
// marked as a copy, in the language the citizen chose (not the terminal's
// default).
func TestMaintenanceReprintsAReceiptThatDidNotComeOut(t *testing.T) {
	e := startDaemon(t, withTechnician(t), func(c *config.Config) { c.UI.DefaultLanguage = "en" })
	e.post("/v1/sim/printer/paper_out", nil, http.StatusNoContent)
	e.expectPrinter("paper_out")
	e.Send(map[string]string{"type": "lang", "code": "vi"})
	e.Expect("idle", "lang", "vi")
	done := e.reportVN()
	if done["printed"] != false {
		t.Fatalf("printed with the paper out: %v", done)
	}
	want := done["voucher"].(string)
	e.Confirm()
	e.Expect("idle")
	e.remove(hwbridge.SlotID)
	e.post("/v1/sim/printer/ok", nil, http.StatusNoContent)
	e.expectPrinter("ok")

	e.techLogin()
	e.Input(maint.FieldScreen, "queue")
	d := e.expectMaint("maintenance_queue", "unprinted")
	assertNoPersonalData(t, "queue screen", d)
	listed := false
	for _, r := range d["unprinted"].([]any) {
		listed = listed || r.(map[string]any)["voucher"] == want
	}
	if !listed {
		t.Fatalf("unprinted receipt %s not offered: %v", want, d["unprinted"])
	}
	e.Input(maint.FieldReprint, want)
	e.Expect("maintenance_queue", "result", "maint.result.reprinted")
	r := e.printed(want)
	if !strings.Contains(r.Text, "BẢN SAO") || strings.Contains(r.Text, "COPY") || !r.Complete {
		t.Errorf("reprint not marked as a copy in Vietnamese, or not complete:\n%s", r.Text)
	}
	assertNoPersonalData(t, "reprinted receipt", r.Text)
	un, err := e.d.store.UnprintedReceipts()
	if err != nil {
		t.Fatal(err)
	}
	if len(un) != 0 {
		t.Errorf("still journaled as unprinted after the reprint: %+v", un)
	}
	e.waitAudit("tech-anna login", "tech-anna reprint")
}

// TestRetryNowDeliversAtOnce: while the drainer backs off for minutes after
// an outage, "retry now" delivers as soon as central is back.
func TestRetryNowDeliversAtOnce(t *testing.T) {
	e := startDaemon(t, withTechnician(t), func(c *config.Config) {
		c.Central.URL = config.Embedded
		// Not withTechnician's 200 ms, meant for an unreachable central: on
		// a loaded machine the attempt after "retry now" timed out there
		// and then waited out the 10-minute backoff.
		c.Central.Timeout = config.Duration{Duration: 10 * time.Second}
		c.Central.MinBackoff = config.Duration{Duration: 10 * time.Minute}
		c.Central.MaxBackoff = config.Duration{Duration: 10 * time.Minute}
	})
	faults := func(outage bool) {
		req, err := http.NewRequest(http.MethodPut, e.a.Central+"/_sim/faults", strings.NewReader(fmt.Sprintf(`{"outage":%v}`, outage)))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("set central-sim faults: %s", resp.Status)
		}
	}
	faults(true)
	e.post("/v1/sim/operations", []byte(`{"kind":"report_loss","subject":{"id_number":"`+ssID+`"}}`), http.StatusCreated)
	var key string
	eventually(t, 5*time.Second, "a failed delivery attempt", func() bool {
		ops, err := e.d.store.List(store.Pending, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(ops) == 1 && ops[0].Attempts > 0 {
			key = ops[0].Key
			return true
		}
		return false
	})
	faults(false)
	e.techLogin()
	e.Input(maint.FieldScreen, "queue")
	e.expectMaint("maintenance_queue", "ops")
	e.Input(maint.FieldRetry, key)
	e.Expect("maintenance_queue", "result", "maint.result.retried")
	// Well before the 10-minute backoff, however loaded the machine.
	eventually(t, time.Minute, "acknowledged after retry now (the backoff is 10 minutes)", func() bool {
		op, err := e.d.store.Get(key)
		return err == nil && op.State == store.Acknowledged
	})
}

// techLogin opens the maintenance menu from idle and logs the configured
// technician in.
func (e *e2e) techLogin() {
	e.t.Helper()
	e.Start("maintenance")
	e.Expect("maintenance_pin")
	e.Input(maint.FieldTechPIN, techPIN)
	e.Expect("maintenance_home", "tech", "tech-anna")
}
