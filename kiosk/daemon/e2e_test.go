package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter"
	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/flow"
	"github.com/kioskd/kioskd/kiosk/vouchertoken"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui/uitest"
)

// End-to-end tests of the citizen flows through the real daemon: the touch
// page's WebSocket protocol spoken by a gorilla client, the session, the
// real bbolt store, the embedded central simulator over real HTTP, the
// simulated readers with cards made from the cardsim profiles, and the
// serial printer driver talking over a real pty to the virtual printer.

const cardsimData = "../../hwbridge/sim/cardsim/testdata"

// The test subjects, as the profiles in cardsimData hold them.
var (
	// emrtd_vn.json: a Vietnamese CCCD. BAC key from its MRZ.
	vnDoc, vnBirth, vnExpiry = "090012345", "900307", "300307"
	vnID, vnName             = "001090012345", "Nguyễn Văn An"
	// emrtd_td3.json: a passport (ICAO 9303 specimen), used as the agent.
	tdDoc, tdBirth, tdExpiry = "L898902C3", "740812", "320415"
	// ss_zhangsan.json: a social security card.
	ssID, ssCard, ssName, ssPIN = "110101199003071233", "A12345678", "张三", "123456"
)

// personalData is every personal datum the tests' cards carry; none may
// show on an idle screen, in the session after it ends, or in the logs.
var personalData = []string{vnID, vnName, "NGUYEN", "Nguyễn Văn Bình", "Trần Thị Cúc", "Tràng Tiền", vnDoc,
	tdDoc, "ERIKSSON", "ANNA", ssID, ssCard, ssName, ssPIN}

func assertNoPersonalData(t testing.TB, what string, v any) {
	t.Helper()
	uitest.AssertNone(t, what, v, personalData)
}

// e2e is one in-process daemon and a page connected to it.
type e2e struct {
	t    testing.TB
	d    *Daemon
	a    Addrs
	logs *uitest.LockedBuffer
	*uitest.Page
}

// startDaemon runs the embedded default (simulated readers and printer,
// embedded central) on free loopback ports with its data in a temp dir,
// and connects a page to it.
func startDaemon(t testing.TB, mod ...func(*config.Config)) *e2e {
	t.Helper()
	e := runDaemon(t, mod...)
	e.connect()
	e.Expect("idle")
	return e
}

// runDaemon runs the daemon without connecting a page.
func runDaemon(t testing.TB, mod ...func(*config.Config)) *e2e {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.UI.Listen = "127.0.0.1:0"
	cfg.Mgmt.Listen = "127.0.0.1:0"
	cfg.Central.MinBackoff = config.Duration{Duration: 50 * time.Millisecond}
	cfg.Central.MaxBackoff = config.Duration{Duration: 500 * time.Millisecond}
	// Speech synthesises every prompt at start: only the speech tests
	// (speech_test.go) turn it on, over one cache for the package.
	cfg.Speech.Enabled = false
	for _, m := range mod {
		m(&cfg)
	}
	logs := &uitest.LockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := Open(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	e := &e2e{t: t, d: d, a: d.Addrs(), logs: logs}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
		// Whatever happened, the logs name no one.
		assertNoPersonalData(t, "the daemon's log", logs.String())
		if t.Failed() {
			t.Logf("the daemon's log:\n%s", logs.String())
		}
	})
	return e
}

// connect dials a new page; the previous one stays open until the test
// ends or the daemon takes it over.
func (e *e2e) connect() {
	e.t.Helper()
	e.Page = uitest.Dial(e.t, e.a.UI)
}

// expectPrinter reads frames until a device frame with the printer in state.
func (e *e2e) expectPrinter(state string) {
	e.t.Helper()
	for range 50 {
		if f := e.Frame(); f["type"] == "device" && f["printer"] == state {
			return
		}
	}
	e.t.Fatalf("no device frame with printer %s", state)
}

// post calls the management API and checks the status code.
func (e *e2e) post(path string, body []byte, want int) string {
	e.t.Helper()
	if strings.HasPrefix(path, "/v1/sim/reader/") || strings.HasPrefix(path, "/v1/sim/printer/") {
		e.Page.Acted() // a device input: the next Expect waits for its answer
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.a.Mgmt+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("POST %s: %s %s, want %d", path, resp.Status, b, want)
	}
	return string(b)
}

// insertHTTP puts the card of a profile file into a reader through the
// sim control API.
func (e *e2e) insertHTTP(slot, profile string) {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(cardsimData, profile))
	if err != nil {
		e.t.Fatal(err)
	}
	e.post("/v1/sim/reader/"+slot+"/insert", b, http.StatusNoContent)
}

// loadCard makes a card from a profile file.
func loadCard(t testing.TB, profile string) *cardsim.Card {
	t.Helper()
	p, err := cardsim.LoadProfile(filepath.Join(cardsimData, profile))
	if err != nil {
		t.Fatal(err)
	}
	c, err := cardsim.New(p, cardsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *e2e) insert(slot hwbridge.Slot, c *cardsim.Card) {
	e.t.Helper()
	e.Page.Acted()
	if err := e.d.dev.sim.Insert(slot, c); err != nil {
		e.t.Fatal(err)
	}
}

func (e *e2e) remove(slot hwbridge.Slot) {
	e.t.Helper()
	e.Page.Acted()
	if err := e.d.dev.sim.Remove(slot); err != nil {
		e.t.Fatal(err)
	}
}

// ops are the operations in the store, newest first, with their personal
// data decrypted.
func (e *e2e) ops() []store.Operation {
	e.t.Helper()
	list, err := e.d.store.List("", 100)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, op := range list {
		if list[i], err = e.d.store.Get(op.Key); err != nil {
			e.t.Fatal(err)
		}
	}
	return list
}

// onlyOp is the one operation in the store; any other count fails the test.
func (e *e2e) onlyOp() store.Operation {
	e.t.Helper()
	ops := e.ops()
	if len(ops) != 1 {
		e.t.Fatalf("%d operations in the store, want 1", len(ops))
	}
	return ops[0]
}

func (e *e2e) personal(op store.Operation) (p struct {
	Subject, Card, Agent map[string]string
	Evidence             flow.Evidence
}) {
	e.t.Helper()
	if err := json.Unmarshal(op.Personal, &p); err != nil {
		e.t.Fatalf("operation %s: personal data: %v", op.Key, err)
	}
	return p
}

// waitState polls the store until the operation is in state.
func (e *e2e) waitState(key string, state store.State) store.Operation {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		op, err := e.d.store.Get(key)
		if err != nil {
			e.t.Fatal(err)
		}
		if op.State == state {
			return op
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("operation still %s (last error %q), want %s", op.State, op.LastError, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// receiptWith waits for a receipt from the virtual printer whose text
// holds s.
func (e *e2e) receiptWith(s string) string {
	e.t.Helper()
	return e.printed(s).Text
}

// printed waits for a receipt from the virtual printer whose text holds s.
func (e *e2e) printed(s string) vprinter.Rendered {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for n := 1; ; n++ {
		rs, err := e.d.dev.vprint.WaitReceipts(ctx, n)
		if err != nil {
			e.t.Fatalf("no receipt holding %q: %v", s, err)
		}
		if r := rs[n-1]; strings.Contains(r.Text, s) {
			if !r.Complete {
				e.t.Errorf("receipt %d cut short", r.Seq)
			}
			// The README sends whoever runs the default to the data
			// folder's vprinter/ for the receipt.
			want := filepath.Join(e.d.cfg.DataDir, "vprinter", fmt.Sprintf("receipt-%04d.txt", r.Seq))
			if b, err := os.ReadFile(want); err != nil || string(b) != r.Text {
				e.t.Errorf("receipt %d: %s holds %q (%v), want the printed text", r.Seq, want, b, err)
			}
			return r
		}
	}
}

// reload connects a new page, as the terminal's browser does after a
// reload (uitest.Reload), and carries on with it: the session's id and
// current screen, as a page learns them.
func (e *e2e) reload() (session, screen string, data map[string]any) {
	e.t.Helper()
	e.Page, session, screen, data = uitest.Reload(e.t, e.a.UI)
	return session, screen, data
}

// assertForgotten checks what a fresh page gets: no session, the idle
// screen, and nothing of the last citizen.
func (e *e2e) assertForgotten() {
	e.t.Helper()
	id, name, d := e.reload()
	if id != "" || name != "idle" {
		e.t.Errorf("a new page joins session %q on %s, want none on idle", id, name)
	}
	assertNoPersonalData(e.t, "idle screen", d)
}

// reportVN files a report_loss for the holder of emrtd_vn.json from idle
// and returns the done screen once printing is over.
func (e *e2e) reportVN() map[string]any {
	e.t.Helper()
	e.reportToIdentify("self", vnDoc, vnBirth, vnExpiry)
	e.insert(hwbridge.SlotID, loadCard(e.t, "emrtd_vn.json"))
	e.Expect("confirm")
	e.Confirm()
	return e.Expect("done", "printing", "false")
}

// settlementToPIN walks suspend_settlement or resume_settlement (kind)
// from idle to the PIN keypad, putting card in the ss reader.
func (e *e2e) settlementToPIN(kind string, card *cardsim.Card) {
	e.t.Helper()
	e.Confirm()
	e.Expect("menu")
	e.Start(kind)
	e.Expect("identify", "slot", "ss")
	e.insert(hwbridge.SlotSS, card)
	e.Expect("keypad", "field", "pin", "secret", "true")
}

// reportToIdentify walks report_loss from idle to the identify screen.
func (e *e2e) reportToIdentify(mode, doc, birth, expiry string) {
	e.t.Helper()
	e.Confirm()
	e.Expect("menu")
	e.Start("report_loss")
	e.Expect("menu", "field", "mode")
	e.Input("mode", mode)
	e.Expect("keypad", "field", "doc_number")
	e.Input("doc_number", doc)
	e.Expect("keypad", "field", "birth_date")
	e.Input("birth_date", birth)
	e.Expect("keypad", "field", "expiry_date")
	e.Input("expiry_date", expiry)
	e.Expect("identify", "slot", "id")
}

// TestE2ENameOrderWithoutDG13: a chip without DG13 has only DG1's MRZ
// name, surname (primary identifier) and given names; the confirm screen
// and the stored subject show it as the issuing state writes it: surname
// first for Vietnam, given names first for the ICAO specimen (Utopia).
func TestE2ENameOrderWithoutDG13(t *testing.T) {
	for _, tc := range []struct {
		profile, doc, birth, expiry, want string
	}{
		{"emrtd_vn_nodg13.json", vnDoc, vnBirth, vnExpiry, "NGUYEN THI HONG NHUNG"},
		{"emrtd_td3.json", tdDoc, tdBirth, tdExpiry, "ANNA MARIA ERIKSSON"},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			e := startDaemon(t)
			e.reportToIdentify("self", tc.doc, tc.birth, tc.expiry)
			e.insert(hwbridge.SlotID, loadCard(t, tc.profile))
			if got := uitest.Rows(e.Expect("confirm"))["row.name"]; got != tc.want {
				t.Errorf("confirm shows name %q, want %q", got, tc.want)
			}
			e.Confirm()
			e.Expect("done", "printing", "false")
			if p := e.personal(e.onlyOp()); p.Subject["name"] != tc.want {
				t.Errorf("stored subject name %q, want %q", p.Subject["name"], tc.want)
			}
		})
	}
}

// TestE2EReportLoss: a citizen reports their card lost with their own ID
// card; the card goes in through the sim control API.
func TestE2EReportLoss(t *testing.T) {
	e := startDaemon(t)
	e.reportToIdentify("self", vnDoc, vnBirth, vnExpiry)
	e.insertHTTP("id", "emrtd_vn.json")
	d := e.Expect("confirm")
	rw := uitest.Rows(d)
	if rw["row.name"] != vnName {
		t.Errorf("confirm shows name %q, want the chip's %q", rw["row.name"], vnName)
	}
	if id := rw["row.id_number"]; id == vnID || !strings.Contains(id, "*") || !strings.HasSuffix(id, vnID[len(vnID)-3:]) {
		t.Errorf("confirm shows ID number %q, want it masked", rw["row.id_number"])
	}
	if len(e.ops()) != 0 {
		t.Fatal("committed before confirmation")
	}
	e.Confirm()
	done := e.Expect("done", "printing", "false")
	op := e.onlyOp()
	want := voucher.Format(op.Voucher)
	if op.Kind != "report_loss" || done["voucher"] != want {
		t.Errorf("done shows voucher %v, store has %s (%s)", done["voucher"], want, op.Kind)
	}
	p := e.personal(op)
	if p.Subject["id_number"] != vnID || p.Subject["name"] != vnName || p.Agent != nil {
		t.Errorf("stored subject %v agent %v", p.Subject, p.Agent)
	}
	if p.Evidence.Method != "id_chip" || p.Evidence.Offline {
		t.Errorf("stored evidence %+v", p.Evidence)
	}
	if done["printed"] != true || !strings.Contains(fmt.Sprint(done["preview"]), want) {
		t.Errorf("done screen: printed %v, preview %q", done["printed"], done["preview"])
	}
	assertNoPersonalData(t, "done screen", done)
	rc := e.printed(want)
	assertNoPersonalData(t, "printed receipt", rc.Text)
	if len(rc.QR) != 1 || !strings.Contains(rc.QR[0], "/"+want+"?token=") {
		t.Fatalf("receipt QR codes %q, want the lookup address of %s with a token", rc.QR, want)
	}
	// The printed token is signed by this terminal and says what the paper says.
	if c, err := vouchertoken.Verify(rc.QR[0], ownKeys(e.d.signer)); err != nil || voucher.Format(c.Voucher) != want || c.KioskID != e.d.cfg.KioskID ||
		!strings.Contains(rc.Text, c.Name) || !strings.Contains(rc.Text, c.IDNumber) {
		t.Errorf("receipt token: %+v, %v", c, err)
	}

	// The embedded central acknowledges; lookup shows it.
	op = e.waitState(op.Key, store.Acknowledged)
	if op.CentralRef == "" {
		t.Error("acknowledged without a central reference")
	}
	e.Confirm()
	e.Expect("idle")
	e.assertForgotten()
	e.Confirm()
	e.Expect("menu")
	e.Start("lookup")
	e.Expect("keypad", "field", "voucher")
	e.Input("voucher", want)
	l := e.Expect("lookup_result", "found", "true")
	lr := uitest.Rows(l)
	if l["voucher"] != want || lr["row.kind"] != "kind.report_loss" || lr["row.state"] != "state.acknowledged" || lr["row.central"] != "state.acknowledged" {
		t.Errorf("lookup %v", l)
	}
	e.Cancel()
	e.Expect("idle")
}

// TestE2EProxyReport: an agent reports for a cardholder with their own ID
// chip and the cardholder's ID number.
func TestE2EProxyReport(t *testing.T) {
	e := startDaemon(t)
	e.Confirm()
	e.Expect("menu")
	e.Send(map[string]string{"type": "lang", "code": "en"})
	e.Expect("menu", "lang", "en")
	e.Start("report_loss")
	e.Expect("menu", "field", "mode")
	e.Input("mode", "proxy")
	e.Input("doc_number", tdDoc)
	e.Input("birth_date", tdBirth)
	e.Input("expiry_date", tdExpiry)
	e.Expect("identify", "slot", "id")
	e.insert(hwbridge.SlotID, loadCard(t, "emrtd_td3.json"))
	e.Expect("keypad", "field", "subject_id")
	e.Input("subject_id", "110101199003071234") // check character wrong
	e.ExpectError("id_check_failed")
	e.Input("subject_id", ssID)
	e.Expect("menu", "field", "relationship")
	e.Input("relationship", "child")
	d := e.Expect("confirm")
	if rw := uitest.Rows(d); rw["row.relationship"] != "rel.child" || rw["row.subject_id"] == ssID || rw["row.agent"] == "" {
		t.Errorf("confirm rows %v", rw)
	}
	e.Confirm()
	done := e.Expect("done", "printing", "false")
	op := e.onlyOp()
	p := e.personal(op)
	if p.Subject["id_number"] != ssID || p.Agent["id_number"] != tdDoc || p.Agent["relationship"] != "child" {
		t.Errorf("stored subject %v agent %v", p.Subject, p.Agent)
	}
	want := voucher.Format(op.Voucher)
	if done["voucher"] != want {
		t.Errorf("done voucher %v, store %s", done["voucher"], want)
	}
	text := e.receiptWith(want)
	if !strings.Contains(text, "(filed by proxy)") {
		t.Errorf("receipt does not say it was filed by a proxy:\n%s", text)
	}
	assertNoPersonalData(t, "printed receipt", text)
	assertNoPersonalData(t, "done screen", done)
	e.waitState(op.Key, store.Acknowledged)
	e.Cancel()
	e.Expect("idle")
	e.assertForgotten()
}

// TestE2ESettlementPIN: suspend with the right PIN; resume with wrong PINs
// (tries left shown) until the card blocks; the right PIN is then refused.
func TestE2ESettlementPIN(t *testing.T) {
	e := startDaemon(t)
	card := loadCard(t, "ss_zhangsan.json")
	e.settlementToPIN("suspend_settlement", card)
	e.Input("pin", ssPIN)
	d := e.Expect("confirm", "title", "confirm.title.suspend_settlement")
	if rw := uitest.Rows(d); rw["row.name"] != ssName || rw["row.card"] == ssCard {
		t.Errorf("confirm rows %v", rw)
	}
	e.Confirm()
	done := e.Expect("done", "printing", "false")
	ops := e.ops()
	if len(ops) != 1 || ops[0].Kind != "suspend_settlement" {
		t.Fatalf("operations %+v", ops)
	}
	p := e.personal(ops[0])
	if p.Card["card_number"] != ssCard || p.Subject["id_number"] != ssID || p.Evidence.Method != "ss_card_pin" {
		t.Errorf("stored card %v subject %v evidence %+v", p.Card, p.Subject, p.Evidence)
	}
	if want := voucher.Format(ops[0].Voucher); done["voucher"] != want {
		t.Errorf("done voucher %v, store %s", done["voucher"], want)
	}
	assertNoPersonalData(t, "done screen", done)
	e.remove(hwbridge.SlotSS) // taking the card on the done screen keeps the voucher shown
	e.Confirm()
	e.Expect("idle")
	e.assertForgotten()

	e.settlementToPIN("resume_settlement", card)
	e.Input("pin", "000000")
	e.Expect("keypad", "field", "pin", "tries_left", "2", "error", "wrong_pin")
	e.Input("pin", "111111")
	e.Expect("keypad", "field", "pin", "tries_left", "1")
	e.Input("pin", "222222")
	d = e.Expect("error", "code", flow.CodePINBlocked)
	if d["retry"] != false {
		t.Errorf("a blocked PIN offers a retry: %v", d)
	}
	e.Back()
	e.Expect("menu")
	e.Cancel()
	e.Expect("idle")
	e.remove(hwbridge.SlotSS)

	// The card keeps its blocked PIN: the right one is refused now.
	e.settlementToPIN("resume_settlement", card)
	e.Input("pin", ssPIN)
	e.Expect("error", "code", flow.CodePINBlocked)
	if n := len(e.ops()); n != 1 {
		t.Errorf("%d operations, want only the suspension", n)
	}
	e.Cancel()
	e.Expect("idle")
	e.assertForgotten()
}

// TestE2ECardRemovedMidFlow: the ID card taken out (sim control) on the
// confirm screen ends the session and forgets the citizen; intents that
// skip steps are refused.
func TestE2ECardRemovedMidFlow(t *testing.T) {
	e := startDaemon(t)
	e.reportToIdentify("self", vnDoc, vnBirth, vnExpiry)
	e.insertHTTP("id", "emrtd_vn.json")
	e.Expect("confirm")
	e.post("/v1/sim/reader/id/remove", nil, http.StatusNoContent)
	d := e.Expect("idle")
	assertNoPersonalData(t, "idle screen", d)
	e.assertForgotten()
	if n := len(e.ops()); n != 0 {
		t.Fatalf("%d operations committed after the card was taken away", n)
	}

	// Skipped steps: confirm at identify, a later field, another flow.
	e.reportToIdentify("self", vnDoc, vnBirth, vnExpiry)
	e.Confirm()
	e.ExpectError("refused")
	e.Input("pin", ssPIN)
	e.ExpectError("refused")
	e.Start("suspend_settlement")
	e.ExpectError("refused")
	if _, name, d := e.reload(); name != "identify" || d["slot"] != "id" {
		t.Errorf("after refused intents a new page is shown %s %v, want identify for the ID card", name, d["slot"])
	}
	// The flow still works after the refusals.
	e.insertHTTP("id", "emrtd_vn.json")
	e.Expect("confirm")
	e.Cancel()
	e.Expect("idle")
	if n := len(e.ops()); n != 0 {
		t.Fatalf("%d operations committed", n)
	}
}

// TestE2EPaperOut: with the paper out the report is still filed; the done
// screen says the receipt was not printed and the journal keeps it as
// unprinted.
func TestE2EPaperOut(t *testing.T) {
	e := startDaemon(t)
	e.post("/v1/sim/printer/paper_out", nil, http.StatusNoContent)
	e.expectPrinter("paper_out")
	done := e.reportVN()
	op := e.onlyOp()
	want := voucher.Format(op.Voucher)
	if done["voucher"] != want || done["printed"] != false || done["printer_problem"] != "paper_out" {
		t.Errorf("done screen: voucher %v (store %s), printed %v, problem %v", done["voucher"], want, done["printed"], done["printer_problem"])
	}
	un, err := e.d.store.UnprintedReceipts()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range un {
		if v, err := voucher.Normalize(r.Voucher); err == nil && v == op.Voucher && !r.Printed {
			found = true
		}
	}
	if !found {
		t.Errorf("receipt of %s not journaled as unprinted: %+v", want, un)
	}
	for _, r := range e.d.dev.vprint.Receipts() {
		if strings.Contains(r.Text, want) && r.Complete {
			t.Errorf("a receipt with %s came out with the paper out", want)
		}
	}
	e.Confirm()
	e.Expect("idle")
	e.post("/v1/sim/printer/ok", nil, http.StatusNoContent)
	e.expectPrinter("ok")
}

// TestE2ESimControlRefusesBadInput: the sim control API names what is
// wrong and changes nothing.
func TestE2ESimControlRefusesBadInput(t *testing.T) {
	e := startDaemon(t)
	if b := e.post("/v1/sim/reader/id/insert", []byte(`{"type":"ss_card","card_number":"x"}`), http.StatusBadRequest); !strings.Contains(b, "invalid_profile") {
		t.Errorf("bad profile answer %s", b)
	}
	b, _ := os.ReadFile(filepath.Join(cardsimData, "ss_zhangsan.json"))
	if a := e.post("/v1/sim/reader/nope/insert", b, http.StatusNotFound); !strings.Contains(a, "no_such_reader") {
		t.Errorf("unknown slot answer %s", a)
	}
	e.post("/v1/sim/printer/on_fire", nil, http.StatusBadRequest)
	for _, r := range e.d.dev.readers.Readers() {
		if r.Card {
			t.Errorf("reader %s has a card after refused inserts", r.Slot)
		}
	}
}

// TestE2ECancelAtEveryStep: cancel on every screen of every flow ends the
// session and forgets the citizen; the daemon then serves the next one.
func TestE2ECancelAtEveryStep(t *testing.T) {
	e := startDaemon(t)
	type step struct {
		name string
		do   func()
	}
	report := []step{
		{"menu", func() { e.Confirm(); e.Expect("menu") }},
		{"mode", func() { e.Start("report_loss"); e.Expect("menu", "field", "mode") }},
		{"doc", func() { e.Input("mode", "self"); e.Expect("keypad", "field", "doc_number") }},
		{"birth", func() { e.Input("doc_number", vnDoc); e.Expect("keypad", "field", "birth_date") }},
		{"expiry", func() { e.Input("birth_date", vnBirth); e.Expect("keypad", "field", "expiry_date") }},
		{"identify", func() { e.Input("expiry_date", vnExpiry); e.Expect("identify") }},
		{"confirm", func() { e.insert(hwbridge.SlotID, loadCard(t, "emrtd_vn.json")); e.Expect("confirm") }},
		{"done", func() { e.Confirm(); e.Expect("done", "printing", "false") }},
	}
	ss := []step{
		{"menu", func() { e.Confirm(); e.Expect("menu") }},
		{"identify", func() { e.Start("suspend_settlement"); e.Expect("identify", "slot", "ss") }},
		{"pin", func() {
			e.insert(hwbridge.SlotSS, loadCard(t, "ss_zhangsan.json"))
			e.Expect("keypad", "field", "pin")
		}},
		{"confirm", func() { e.Input("pin", ssPIN); e.Expect("confirm") }},
		{"done", func() { e.Confirm(); e.Expect("done", "printing", "false") }},
	}
	lookup := []step{
		{"menu", func() { e.Confirm(); e.Expect("menu") }},
		{"voucher", func() { e.Start("lookup"); e.Expect("keypad", "field", "voucher") }},
		{"result", func() { e.Input("voucher", voucher.New(1, 999)); e.Expect("lookup_result", "found", "false") }},
	}
	committed := 0
	for _, f := range []struct {
		name  string
		steps []step
	}{{"report_loss", report}, {"suspend", ss}, {"lookup", lookup}} {
		for n := range f.steps {
			for _, s := range f.steps[:n+1] {
				s.do()
			}
			if f.steps[n].name == "done" {
				committed++
			}
			e.Cancel()
			e.Expect("idle")
			for _, r := range e.d.dev.readers.Readers() {
				if r.Card {
					e.remove(r.Slot)
				}
			}
			e.assertForgotten()
			if got := len(e.ops()); got != committed {
				t.Fatalf("%s: cancel at %s: %d operations, want %d", f.name, f.steps[n].name, got, committed)
			}
		}
	}
}

// TestE2EIdleTimeout: a citizen who walks away mid-flow is forgotten when
// the idle timeout ends the session; the countdown shows before.
func TestE2EIdleTimeout(t *testing.T) {
	// Four seconds: the countdown (the last 10 s) shows from the first
	// second's tick on, and a loaded machine that drops a tick still shows
	// it before the timeout.
	e := startDaemon(t, func(c *config.Config) { c.UI.IdleTimeout = config.Duration{Duration: 4 * time.Second} })
	e.settlementToPIN("suspend_settlement", loadCard(t, "ss_zhangsan.json"))
	sawCountdown := false
	for {
		f := e.Frame()
		if f["type"] != "screen" {
			continue
		}
		if d, _ := f["data"].(map[string]any); d["countdown"] != nil {
			sawCountdown = true
		}
		if f["name"] == "idle" {
			break
		}
	}
	if !sawCountdown {
		t.Error("no countdown shown before the session timed out")
	}
	e.assertForgotten()
}

// TestE2EReportWithOTP: with OTP policy and central reachable, the code
// central texted is asked for; a wrong one is refused, the right one
// leads on.
func TestE2EReportWithOTP(t *testing.T) {
	e := startDaemon(t, func(c *config.Config) { c.Central.OTP = "when_online" })
	e.reportToIdentify("self", vnDoc, vnBirth, vnExpiry)
	e.insert(hwbridge.SlotID, loadCard(t, "emrtd_vn.json"))
	e.Expect("keypad", "field", "otp")
	e.Input("otp", "111111")
	e.Expect("keypad", "field", "otp", "error", "wrong_otp", "tries_left", "2")
	e.Input("otp", "246810") // central.SimOTP
	e.Expect("confirm")
	e.Confirm()
	e.Expect("done", "printing", "false")
	ops := e.ops()
	if len(ops) != 1 || !e.personal(ops[0]).Evidence.OTP {
		t.Fatalf("operations %+v", ops)
	}
}

// TestE2ELookupRefusesBadVouchers: a typo in a voucher is caught by its
// check digit before anything is asked; an unknown one is not found.
func TestE2ELookupRefusesBadVouchers(t *testing.T) {
	e := startDaemon(t)
	e.Confirm()
	e.Expect("menu")
	e.Start("lookup")
	e.Expect("keypad", "field", "voucher")
	v := []byte(voucher.New(1, 12345))
	v[7], v[8] = v[8], v[7] // two digits swapped
	if string(v) == voucher.New(1, 12345) {
		t.Fatal("swap changed nothing")
	}
	e.Input("voucher", string(v))
	e.ExpectError("invalid_voucher")
	e.Input("voucher", voucher.Format(voucher.New(1, 12345)))
	d := e.Expect("lookup_result", "found", "false")
	if d["voucher"] != voucher.Format(voucher.New(1, 12345)) {
		t.Errorf("lookup result %v", d)
	}
}

// TestE2EForeignOriginAndFlood: a page from another origin is refused;
// 10,000 malformed frames change nothing and the legitimate page carries
// on.
func TestE2EForeignOriginAndFlood(t *testing.T) {
	e := startDaemon(t)
	ws := "ws" + strings.TrimPrefix(e.a.UI, "http") + "/ws"
	for _, o := range []string{"http://evil.example", "http://127.0.0.1:1", ""} {
		h := http.Header{}
		if o != "" {
			h.Set("Origin", o)
		}
		c, resp, err := websocket.DefaultDialer.Dial(ws, h)
		if err == nil {
			c.Close()
			t.Errorf("origin %q accepted", o)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: %v %v, want 403", o, resp, err)
		}
	}

	e.settlementToPIN("suspend_settlement", loadCard(t, "ss_zhangsan.json"))
	before, _, _ := e.reload()
	drained := make(chan struct{})
	go func() { // drain the answers until the flood is over
		defer close(drained)
		for {
			e.Conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, _, err := e.Conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	junk := []string{`{"type":"input","field":"pin"`, `{"type":"confirm","x":}`, `[1]`, `{"type":"commit"}`, "\x00\x01"}
	for i := range 10000 {
		if err := e.Conn.WriteMessage(websocket.TextMessage, []byte(junk[i%len(junk)])); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	<-drained
	// The flood changed nothing: a new page joins the same session on the
	// PIN keypad (and the PIN still leads to confirm, below).
	if after, name, d := e.reload(); after != before || name != "keypad" || d["field"] != "pin" {
		t.Fatalf("after the flood a new page joins session %q on %s %v, want %q on the PIN keypad", after, name, d["field"], before)
	}
	// A frame over 64 KiB is answered with an error frame or a close,
	// never taken.
	big := `{"type":"input","field":"pin","value":"` + strings.Repeat("9", 70<<10) + `"}`
	if err := e.Conn.WriteMessage(websocket.TextMessage, []byte(big)); err == nil {
		e.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, b, err := e.Conn.ReadMessage()
			if err != nil || strings.Contains(string(b), `"type":"error"`) {
				break
			}
		}
	}
	// The page comes back (it may have been cut off) to the same session
	// on the same keypad, and goes on.
	if after, name, d := e.reload(); after != before || name != "keypad" || d["field"] != "pin" {
		t.Fatalf("after the oversized frame a new page joins session %q on %s %v, want %q on the PIN keypad", after, name, d["field"], before)
	}
	e.Input("pin", ssPIN)
	e.Expect("confirm")
	if n := len(e.ops()); n != 0 {
		t.Fatalf("flood committed %d operations", n)
	}
}

// TestE2EReportDuringOutage: with central unreachable the report is still
// filed (against the ID number, marked offline) and the citizen gets the
// voucher; it is delivered once central is back.
func TestE2EReportDuringOutage(t *testing.T) {
	e := startDaemon(t)
	e.d.sim.SetFaults(central.SimConfig{Outage: true})
	e.reportToIdentify("self", vnDoc, vnBirth, vnExpiry)
	e.insert(hwbridge.SlotID, loadCard(t, "emrtd_vn.json"))
	d := e.Expect("confirm")
	if !strings.Contains(fmt.Sprint(d["notes"]), "note.offline") || uitest.Rows(d)["row.card"] != "confirm.no_card" {
		t.Errorf("offline confirm screen %v", d)
	}
	e.Confirm()
	done := e.Expect("done", "printing", "false")
	op := e.onlyOp()
	want := voucher.Format(op.Voucher)
	p := e.personal(op)
	if done["voucher"] != want || p.Subject["id_number"] != vnID || p.Card != nil || !p.Evidence.Offline {
		t.Errorf("done voucher %v (store %s); stored subject %v card %v evidence %+v", done["voucher"], want, p.Subject, p.Card, p.Evidence)
	}
	e.receiptWith(want)
	e.Confirm()
	e.Expect("idle")

	// Lookup while central is down: the terminal's own record, central offline.
	e.Confirm()
	e.Expect("menu")
	e.Start("lookup")
	e.Expect("keypad", "field", "voucher")
	e.Input("voucher", want)
	l := uitest.Rows(e.Expect("lookup_result", "found", "true"))
	if l["row.state"] != "state.pending" || l["row.central"] != "central.offline" {
		t.Errorf("lookup during the outage %v", l)
	}
	e.Cancel()
	e.Expect("idle")
	if op, err := e.d.store.Get(op.Key); err != nil || op.State != store.Pending {
		t.Fatalf("during the outage: %v %v", op.State, err)
	}

	e.d.sim.SetFaults(central.SimConfig{})
	e.waitState(op.Key, store.Acknowledged)
}

// TestE2ESecondPageTakesOver: a second page takes over the screen, the
// first is told so, and the flow carries on where it was on the new page.
func TestE2ESecondPageTakesOver(t *testing.T) {
	e := startDaemon(t)
	e.settlementToPIN("suspend_settlement", loadCard(t, "ss_zhangsan.json"))
	first := e.Conn
	e.connect()
	e.Expect("keypad", "field", "pin") // the new page gets the current screen
	first.SetReadDeadline(time.Now().Add(5 * time.Second))
	told := false
	for {
		_, b, err := first.ReadMessage()
		if err != nil {
			break
		}
		if strings.Contains(string(b), `"taken_over"`) {
			told = true
		}
	}
	if !told {
		t.Error("the first page was not told it was taken over")
	}
	e.Input("pin", ssPIN)
	e.Expect("confirm")
	e.Confirm()
	e.Expect("done", "printing", "false")
	if n := len(e.ops()); n != 1 {
		t.Errorf("%d operations, want 1", n)
	}
}
