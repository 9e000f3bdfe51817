package daemon

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/maint"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/store/voucher"
)

// flipSealedByte flips one byte in the middle of the encrypted personal
// fields of operation seq, in the bbolt file itself (every copy of them in
// the file, so a stale copy on a free page cannot hide the damage).
func flipSealedByte(t *testing.T, path string, seq uint64) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var sealed []byte
	err = db.View(func(tx *bolt.Tx) error {
		sealed = bytes.Clone(tx.Bucket([]byte("personal")).Get(binary.BigEndian.AppendUint64(nil, seq)))
		return nil
	})
	db.Close()
	if err != nil || len(sealed) < 40 {
		t.Fatalf("operation %d has no encrypted fields to damage (%d bytes, %v)", seq, len(sealed), err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := 0; ; {
		j := bytes.Index(file[i:], sealed)
		if j < 0 {
			break
		}
		file[i+j+len(sealed)/2] ^= 0x01
		i += j + len(sealed)
		n++
	}
	if n == 0 {
		t.Fatal("the encrypted fields are not in the file as stored")
	}
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
}

// One undecryptable record is set aside; everything else flows in order,
// and the log, the metrics, /readyz and the technician's queue name it by
// its voucher.
func TestDamagedRecordIsSetAsideAndTheRestFlows(t *testing.T) {
	sim := central.NewSim(central.SimConfig{Outage: true})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	cfg := lostConfig(t)
	cfg.DataDir = dir
	cfg.Central.URL = srv.URL

	// Five operations stored while central is down.
	d, err := Open(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var ops []store.Operation
	for i := range 5 {
		op, err := d.Commit(context.Background(), "report_loss", Personal{Subject: json.RawMessage(fmt.Sprintf(`{"id_number":%q,"n":%d}`, ssID, i))})
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
	bad := ops[2]
	flipSealedByte(t, cfg.DBPath(), bad.Seq)

	sim.SetFaults(central.SimConfig{})
	e := startDaemon(t, withTechnician(t), func(c *config.Config) {
		c.DataDir = dir
		c.Central.URL = srv.URL
		c.Central.Timeout = config.Duration{Duration: 5 * time.Second}
	})
	eventually(t, 10*time.Second, "the four readable operations acknowledged", func() bool {
		st, err := e.d.store.Stats()
		return err == nil && st.Acknowledged == 4
	})
	applied := sim.Applied()
	want := []store.Operation{ops[0], ops[1], ops[3], ops[4]}
	if len(applied) != len(want) {
		t.Fatalf("central applied %d operations, want the 4 readable ones", len(applied))
	}
	for i, a := range applied {
		if a.Key != want[i].Key {
			t.Fatalf("applied #%d is %s, want %s (enqueue order)", i+1, a.Voucher, want[i].Voucher)
		}
	}
	set, err := e.d.store.List(store.Damaged, 10)
	if err != nil || len(set) != 1 {
		t.Fatalf("damaged operations = %+v, %v; want the one", set, err)
	}
	if got := set[0]; got.Key != bad.Key || got.Voucher != bad.Voucher || got.Kind != "report_loss" || got.RejectCode != store.CodeDamaged {
		t.Fatalf("set aside as %+v, want voucher %s, kind report_loss, code %s", got, bad.Voucher, store.CodeDamaged)
	}

	// The log: one ERROR naming the voucher (runDaemon checks it names no one).
	logs := e.logs.String()
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "voucher="+bad.Voucher) || !strings.Contains(logs, "damaged") {
		t.Errorf("no ERROR line naming voucher %s as damaged in the log:\n%s", bad.Voucher, logs)
	}
	// The metrics (the outbox figures are cached for half a second).
	eventually(t, 5*time.Second, "the damaged operation in the metrics", func() bool {
		fams := e.scrape()
		return value(fams, "kioskd_outbox_operations", "state", "damaged") == 1 &&
			value(fams, "kioskd_outbox_damaged_operation", "voucher", bad.Voucher, "kind", "report_loss") == 1
	})
	// /readyz.
	resp, err := http.Get(e.a.Mgmt + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || !strings.Contains(string(body), voucher.Format(bad.Voucher)) || !strings.Contains(string(body), "damaged") {
		t.Errorf("/readyz = %s %s, want not ready naming voucher %s as damaged", resp.Status, body, voucher.Format(bad.Voucher))
	}
	// The technician's queue screen.
	e.techLogin()
	e.Input(maint.FieldScreen, "queue")
	scr := e.expectMaint("maintenance_queue", "ops")
	found := false
	for _, o := range scr["ops"].([]any) {
		m, _ := o.(map[string]any)
		if m["voucher"] == voucher.Format(bad.Voucher) && m["state"] == "damaged" && strings.Contains(fmt.Sprint(m["reason"]), store.CodeDamaged) {
			found = true
		}
	}
	if !found {
		t.Errorf("the queue screen does not list %s as damaged: %v", voucher.Format(bad.Voucher), scr["ops"])
	}
}
