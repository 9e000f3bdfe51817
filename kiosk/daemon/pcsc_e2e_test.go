//go:build pcsc

package daemon_test

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
	"github.com/kioskd/kioskd/scripts/rig"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui/uitest"
)

// The social security card the virtual card is made from.
const pcscSSProfile = "../../hwbridge/sim/cardsim/testdata/ss_zhangsan.json"

var (
	uiReady    = regexp.MustCompile(`kioskd ready.* ui=(http\S+)`)
	vcardReady = regexp.MustCompile(`vcard connected to (\S+)`)
)

// TestPCSCSuspendSettlementThroughVCard is the daemon's PC/SC wiring end to
// end: `kioskd run` with readers.mode "pcsc" as a child process, a private
// pcscd with the vpcd reader driver, `kioskd vcard` as the social security
// card in the vpcd reader, and central-sim as central. A citizen suspends
// settlement over the page's WebSocket: the page sees the card go in, the
// card is read and its PIN verified through pcscd, the done screen gives a
// voucher, and central-sim applies that operation exactly once.
func TestPCSCSuspendSettlementThroughVCard(t *testing.T) {
	bin(t)
	pd := rig.PCSCD(t) // sets PCSCLITE_CSOCK_NAME, which the children inherit
	profile, err := filepath.Abs(pcscSSProfile)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := cardsim.LoadProfile(profile)
	if err != nil {
		t.Fatal(err)
	}
	sim := start(t, simReady, "central-sim", "--listen", "127.0.0.1:0")
	dir := t.TempDir()
	ssReader, idReader := pd.ReaderName(0), pd.ReaderName(1)
	cfg := writeConfig(t, dir, sim.URL, fmt.Sprintf("[readers]\nmode = \"pcsc\"\nss = [%q]\nid = [%q]\n", ssReader, idReader))
	d := start(t, daemonReady, "run", "--config", cfg)
	m := uiReady.FindStringSubmatch(d.Stderr())
	if m == nil {
		t.Fatalf("no UI address in kioskd's ready line:\n%s", d.Stderr())
	}
	// The management API names the mode and the vpcd reader in the ss slot.
	waitStatus(t, d, "readers mode pcsc with "+ssReader+" present in the ss slot, no card", func(st pcscStatus) bool {
		r, ok := st.slot("ss")
		return st.Devices.Readers.Mode == "pcsc" && ok && r.Reader == ssReader && r.Present && !r.Card
	})
	page := uitest.Dial(t, m[1])
	page.Expect("idle")

	page.Confirm()
	page.Expect("menu")
	page.Start("suspend_settlement")
	page.Expect("identify", "slot", "ss")

	card, err := rig.Start(kioskdBin, vcardReady, "vcard", "--profile", profile, "--vpcd", pd.VPCDAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(card.Kill)
	waitStatus(t, d, "the card in "+ssReader+" (ss slot)", func(st pcscStatus) bool {
		r, ok := st.slot("ss")
		return ok && r.Reader == ssReader && r.Card
	})
	// The card read through pcscd leads to the PIN keypad; the page was
	// told the card went in on the way.
	page.Expect("keypad", "field", "pin", "secret", "true")
	if present, in := deviceSlot(page.Device(), "ss"); !present || !in {
		t.Errorf("last device frame before the PIN keypad %v, want the ss reader present with a card", page.Device())
	}
	page.Input("pin", holder.PIN)
	c := page.Expect("confirm", "title", "confirm.title.suspend_settlement")
	if rw := uitest.Rows(c); rw["row.name"] != holder.Name || rw["row.card"] == "" || rw["row.card"] == holder.CardNumber {
		t.Errorf("confirm rows %v: want the card's holder name and the card number masked", rw)
	}
	page.Confirm()
	done := page.Expect("done", "printing", "false")
	shown, _ := done["voucher"].(string)
	v, err := voucher.Normalize(shown)
	if err != nil {
		t.Fatalf("done screen voucher %q: %v", shown, err)
	}
	if done["printed"] != true {
		t.Errorf("done screen: printed %v, want true", done["printed"])
	}

	// Central applies it once, and the terminal hears so.
	applied := waitApplied(t, sim.URL)
	if len(applied) != 1 || applied[0].Voucher != v || applied[0].Kind != "suspend_settlement" || applied[0].Count != 1 {
		t.Fatalf("central-sim applied %+v, want one suspend_settlement with voucher %s applied once", applied, v)
	}
	// The daemon's first acknowledgement ever (its data is fresh): a status
	// from before the commit, which shows an empty queue too, has none.
	waitStatus(t, d, "the operation acknowledged (an ack, queue empty)", func(st pcscStatus) bool {
		return st.Queue.LastAckAt != nil && st.Queue.Pending == 0 && st.Queue.Rejected == 0
	})
	if again := waitApplied(t, sim.URL); len(again) != 1 || again[0].Count != 1 {
		t.Errorf("after the acknowledgement central-sim holds %+v, want the one operation applied once", again)
	}

	// The card taken out (the vcard process ends): the daemon sees it, the
	// voucher stays on screen, and the page goes idle on the citizen's touch.
	if err := card.Stop(); err != nil {
		t.Errorf("kioskd vcard did not exit cleanly: %v\n%s", err, card.Stderr())
	}
	waitStatus(t, d, "the card gone from "+ssReader+" (ss slot)", func(st pcscStatus) bool {
		r, ok := st.slot("ss")
		return ok && r.Reader == ssReader && r.Present && !r.Card
	})
	for range 50 {
		if f := page.Frame(); f["type"] == "device" {
			if present, in := deviceSlot(f, "ss"); present && !in {
				break
			}
		} else if f["type"] == "screen" && f["name"] != "done" {
			t.Fatalf("screen %v after the card was taken on the done screen, want done kept", f["name"])
		}
	}
	if present, in := deviceSlot(page.Device(), "ss"); !present || in {
		t.Fatalf("no device frame with the ss reader empty; last %v", page.Device())
	}
	page.Confirm()
	page.Expect("idle")

	if err := d.Stop(); err != nil {
		t.Errorf("kioskd did not stop cleanly on SIGTERM: %v\n%s", err, d.Stderr())
	}
	uitest.AssertNone(t, "kioskd's log", d.Stderr(), []string{holder.SSN, holder.Name, holder.CardNumber, holder.PIN})
}

// pcscStatus is what the test reads of /v1/status.
type pcscStatus struct {
	Devices struct {
		Readers struct {
			Mode string
			List []pcscReader
		}
	}
	Queue struct {
		Pending, Rejected int
		LastAckAt         *time.Time `json:"last_ack_at"`
	}
}

// pcscReader is one entry of devices.readers.list.
type pcscReader struct {
	Slot, Reader  string
	Present, Card bool
}

// slot is the reader entry of a slot.
func (s pcscStatus) slot(slot string) (pcscReader, bool) {
	for _, r := range s.Devices.Readers.List {
		if r.Slot == slot {
			return r, true
		}
	}
	return pcscReader{}, false
}

// waitStatus polls the daemon's /v1/status for up to 15 s until cond
// holds, and fails naming what it waited for and the last status, or at
// once with its output when the daemon exited.
func waitStatus(t *testing.T, d *rig.Proc, what string, cond func(pcscStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-d.Done():
			t.Fatalf("kioskd exited while the test waited for %s:\n%s", what, d.Stderr())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var st pcscStatus
		err := getJSON(ctx, d.URL+"/v1/status", &st)
		cancel()
		if err == nil && cond(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 15 s for %s; last /v1/status %+v (err %v)\nkioskd:\n%s", what, st, err, d.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// appliedOp is an entry of central-sim's /_sim/operations.
type appliedOp struct {
	Key     string `json:"idempotency_key"`
	Voucher string `json:"voucher"`
	Kind    string `json:"kind"`
	Count   int    `json:"count"`
}

// waitApplied polls central-sim for up to 15 s until it has applied an
// operation, and returns what it applied.
func waitApplied(t *testing.T, simURL string) []appliedOp {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var ops []appliedOp
		err := getJSON(ctx, simURL+"/_sim/operations", &ops)
		cancel()
		if err == nil && len(ops) > 0 {
			return ops
		}
		if time.Now().After(deadline) {
			t.Fatalf("central-sim applied no operation within 15 s (last error %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deviceSlot reads a slot's reader out of a device frame.
func deviceSlot(f map[string]any, slot string) (present, card bool) {
	rs, _ := f["readers"].([]any)
	for _, x := range rs {
		if r, _ := x.(map[string]any); r["slot"] == slot {
			return r["present"] == true, r["card"] == true
		}
	}
	return false, false
}

// The ID card the virtual eMRTD is made from, and its BAC key.
const pcscIDProfile = "../../hwbridge/sim/cardsim/testdata/emrtd_vn.json"

// TestPCSCTwoReportsWithIDCardLeftOnReader: two citizens' reports in a row
// (or one citizen twice) with the same ID card left on the contactless
// pad between them, through `kioskd run` with readers.mode "pcsc", a
// private pcscd and `kioskd vcard` as a strict eMRTD chip. A strict chip
// keeps the first read's secure-messaging session while it stays powered
// and answers the next plain SELECT with 6987; the second report must
// still read the chip and reach its confirm screen, not id_read_failed.
func TestPCSCTwoReportsWithIDCardLeftOnReader(t *testing.T) {
	bin(t)
	pd := rig.PCSCD(t)
	profile, err := filepath.Abs(pcscIDProfile)
	if err != nil {
		t.Fatal(err)
	}
	sim := start(t, simReady, "central-sim", "--listen", "127.0.0.1:0")
	dir := t.TempDir()
	// The card process signs its chip under a CSCA it makes at start; the
	// daemon trusts the certificate it writes out, and checks the chip's
	// signature with it.
	cscaFile := filepath.Join(dir, "csca.pem")
	card, err := rig.Start(kioskdBin, vcardReady, "vcard", "--profile", profile, "--vpcd", pd.VPCDAddrSlot(1), "--csca-out", cscaFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(card.Kill)
	ssReader, idReader := pd.ReaderName(0), pd.ReaderName(1)
	cfg := writeConfig(t, dir, sim.URL, fmt.Sprintf("[readers]\nmode = \"pcsc\"\nss = [%q]\nid = [%q]\ncsca_file = %q\n", ssReader, idReader, cscaFile))
	d := start(t, daemonReady, "run", "--config", cfg)
	m := uiReady.FindStringSubmatch(d.Stderr())
	if m == nil {
		t.Fatalf("no UI address in kioskd's ready line:\n%s", d.Stderr())
	}
	page := uitest.Dial(t, m[1])
	page.Expect("idle")
	waitStatus(t, d, "the card in "+idReader+" (id slot)", func(st pcscStatus) bool {
		r, ok := st.slot("id")
		return ok && r.Reader == idReader && r.Card
	})

	var vouchers []string
	for i := range 2 {
		t.Logf("report %d of 2", i+1)
		page.Confirm()
		page.Expect("menu")
		page.Start("report_loss")
		page.Expect("menu", "field", "mode")
		page.Input("mode", "self")
		page.Expect("keypad", "field", "doc_number")
		page.Input("doc_number", "090012345")
		page.Expect("keypad", "field", "birth_date")
		page.Input("birth_date", "900307")
		page.Expect("keypad", "field", "expiry_date")
		// The card is already on the pad: the last field starts the read.
		page.Input("expiry_date", "300307")
		c := page.Expect("confirm")
		if rw := uitest.Rows(c); rw["row.name"] != "Nguyễn Văn An" {
			t.Fatalf("report %d: confirm shows name %q, want the chip's", i+1, rw["row.name"])
		}
		page.Confirm()
		done := page.Expect("done", "printing", "false")
		v, _ := done["voucher"].(string)
		vouchers = append(vouchers, v)
		page.Confirm()
		page.Expect("idle")
	}
	if vouchers[0] == "" || vouchers[0] == vouchers[1] {
		t.Errorf("the two reports got vouchers %q, want two different ones", vouchers)
	}
	if err := d.Stop(); err != nil {
		t.Errorf("kioskd did not stop cleanly on SIGTERM: %v\n%s", err, d.Stderr())
	}
	uitest.AssertNone(t, "kioskd's log", d.Stderr(), []string{"090012345", "Nguyễn Văn An", "001090012345"})
}
