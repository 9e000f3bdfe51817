package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/vouchertoken"
	"github.com/kioskd/kioskd/store"
)

// terminalData makes a data directory with a store holding n audit
// entries, as a terminal that ran leaves it.
func terminalData(t *testing.T, n int) (string, config.Config) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	key, confirm, err := store.LoadKeyFor(cfg.KeyPath(), cfg.DBPath())
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(cfg.DBPath(), store.Options{Key: key, KioskID: cfg.KioskID, TerminalNo: cfg.TerminalNo})
	if err != nil {
		t.Fatal(err)
	}
	if confirm != nil {
		if err := confirm(); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		if err := s.Audit("tech-01", "maintenance.login", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return cfg.DataDir, cfg
}

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func editDB(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func TestAuditVerifyCommand(t *testing.T) {
	dir, cfg := terminalData(t, 5)
	var out bytes.Buffer
	if err := audit(context.Background(), []string{"verify", "--data-dir", dir}, &out); err != nil || !strings.Contains(out.String(), "audit chain intact (5 entries)") {
		t.Fatalf("untouched: %v %q", err, out.String())
	}
	// Central saw the chain at 5 entries.
	sim := central.NewSim(central.SimConfig{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, _ := central.NewClient(central.ClientConfig{BaseURL: srv.URL, Timeout: 5 * time.Second})
	s, err := openExistingStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := s.AuditHead()
	s.Close()
	if err := c.HeartbeatWith(context.Background(), cfg.KioskID, central.Beat{Status: map[string]any{}, Audit: &central.AuditHead{Length: h.Length, Head: h.Head}}); err != nil {
		t.Fatal(err)
	}
	// The last two entries removed cleanly: the local chain cannot tell.
	editDB(t, cfg.DBPath(), func(tx *bolt.Tx) error {
		a := tx.Bucket([]byte("audit"))
		var rec struct{ Hash string }
		json.Unmarshal(a.Get(seqKey(3)), &rec)
		a.Delete(seqKey(4))
		a.Delete(seqKey(5))
		a.SetSequence(3)
		head := make([]byte, 32)
		for i := range head {
			var b byte
			for _, c := range rec.Hash[2*i : 2*i+2] {
				b = b<<4 | byte(strings.IndexRune("0123456789abcdef", c))
			}
			head[i] = b
		}
		return tx.Bucket([]byte("meta")).Put([]byte("audit_head"), append(seqKey(3), head...))
	})
	out.Reset()
	if err := audit(context.Background(), []string{"verify", "--data-dir", dir}, &out); err != nil {
		t.Fatalf("a clean truncation shows locally: %v", err)
	}
	err = audit(context.Background(), []string{"verify", "--data-dir", dir, "--central", srv.URL}, &out)
	if err == nil || !strings.Contains(err.Error(), "entry 4") || !strings.Contains(err.Error(), "central saw 5 entries") {
		t.Fatalf("against central: %v", err)
	}
	// An edited entry is named.
	editDB(t, cfg.DBPath(), func(tx *bolt.Tx) error {
		a := tx.Bucket([]byte("audit"))
		return a.Put(seqKey(2), bytes.Replace(a.Get(seqKey(2)), []byte("tech-01"), []byte("tech-02"), 1))
	})
	if err := audit(context.Background(), []string{"verify", "--data-dir", dir}, &out); err == nil || !strings.Contains(err.Error(), "entry 2") {
		t.Fatalf("edited entry 2: %v", err)
	}
	// No store: an error, and none is created.
	empty := t.TempDir()
	if err := audit(context.Background(), []string{"verify", "--data-dir", empty}, &out); err == nil {
		t.Fatal("verified a data directory without a store")
	}
	if _, err := os.Stat(filepath.Join(empty, "kioskd.db")); err == nil {
		t.Fatal("audit verify created a store")
	}
}

func TestRotateKeyAndVerifyVoucherCommands(t *testing.T) {
	dir, cfg := terminalData(t, 0)
	kr, err := vouchertoken.LoadKeyring(cfg.SigningDir(), cfg.KioskID)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := kr.Sign(vouchertoken.Claims{Voucher: "012340000427", Kind: "report_loss", Created: time.Unix(1_790_000_000, 0), Name: "N***"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rotateKey([]string{"--data-dir", dir}, &out); err != nil || !strings.Contains(out.String(), "new signing key") {
		t.Fatalf("rotate-key: %v %q", err, out.String())
	}
	kr, _ = vouchertoken.LoadKeyring(cfg.SigningDir(), cfg.KioskID)
	if len(kr.Public()) != 2 {
		t.Fatalf("%d keys after rotation", len(kr.Public()))
	}
	s, _ := openExistingStore(cfg)
	log, _ := s.AuditLog(10)
	s.Close()
	if len(log) != 1 || log[0].Action != "signing_key.rotated" || !strings.Contains(log[0].Detail, kr.Current().KeyID) {
		t.Fatalf("audit after rotation: %+v", log)
	}
	// The old receipt verifies with a key file holding both keys.
	keys := kr.Public()
	for i := range keys {
		keys[i].KioskID = cfg.KioskID
	}
	kf := filepath.Join(t.TempDir(), "keys.json")
	data, _ := json.Marshal(vouchertoken.KeyFile{Keys: keys})
	os.WriteFile(kf, data, 0o600)
	out.Reset()
	url := "https://si.example.gov/lookup?v=01234-000042-7&token=" + tok
	if err := verifyVoucher(context.Background(), []string{url, "--keys", kf}, &out); err != nil ||
		!strings.Contains(out.String(), "signature    valid") || !strings.Contains(out.String(), "01234-000042-7") || !strings.Contains(out.String(), "terminal "+cfg.KioskID) {
		t.Fatalf("verify-voucher: %v\n%s", err, out.String())
	}
	// Against central's keys.
	sim := central.NewSim(central.SimConfig{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, _ := central.NewClient(central.ClientConfig{BaseURL: srv.URL, Timeout: 5 * time.Second})
	if err := c.PutKey(context.Background(), keys[0]); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := verifyVoucher(context.Background(), []string{"--central", srv.URL, tok}, &out); err != nil || !strings.Contains(out.String(), "signature    valid") {
		t.Fatalf("verify-voucher --central: %v\n%s", err, out.String())
	}
	// An altered token: refused, saying so.
	bad := tok[:30] + map[bool]string{true: "B", false: "A"}[tok[30] == 'A'] + tok[31:]
	out.Reset()
	if err := verifyVoucher(context.Background(), []string{bad, "--keys", kf}, &out); err == nil || !strings.Contains(out.String(), "NOT VALID") {
		t.Fatalf("altered token: %v\n%s", err, out.String())
	}
	if err := verifyVoucher(context.Background(), []string{tok}, &out); err == nil {
		t.Fatal("no key source accepted")
	}
}
