package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/store"
)

// Lost store or key files (issue 11, items 4 and 5): a terminal that has
// run before never starts on an empty store (it would issue its voucher
// numbers again), and never gets a new key beside a store written with
// the old one.

// lostConfig is the embedded default on free loopback ports with its data
// in a fresh directory.
func lostConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.UI.Listen = "127.0.0.1:0"
	cfg.Mgmt.Listen = "127.0.0.1:0"
	return cfg
}

// runOnce starts the daemon on cfg, stores one operation and stops it; it
// returns the operation's voucher.
func runOnce(t *testing.T, cfg config.Config) string {
	t.Helper()
	d, err := Open(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	op, err := d.Commit(context.Background(), "report_loss", Personal{Subject: json.RawMessage(`{"id_number":"` + ssID + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	return op.Voucher
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestRefusesLostStoreAfterItRan(t *testing.T) {
	for _, tc := range []struct {
		name, says string
		lose       func(path string) error
	}{
		{"zero-length", "is empty", func(p string) error { return os.Truncate(p, 0) }},
		{"missing", "is missing", os.Remove},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := lostConfig(t)
			runOnce(t, cfg)
			keyBefore, _ := os.ReadFile(cfg.KeyPath())
			if err := tc.lose(cfg.DBPath()); err != nil {
				t.Fatal(err)
			}
			_, err := Open(cfg, slog.New(slog.DiscardHandler))
			if !errors.Is(err, store.ErrStoreMissing) {
				t.Fatalf("start on a %s store after a run: %v, want ErrStoreMissing", tc.name, err)
			}
			for _, want := range []string{cfg.DBPath(), tc.says, cfg.KeyPath(), "Restore", "voucher"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			// Nothing was made in its place, the key is untouched.
			if fi, err := os.Stat(cfg.DBPath()); err == nil && fi.Size() != 0 {
				t.Errorf("the refused start wrote a %d-byte store", fi.Size())
			}
			if k, _ := os.ReadFile(cfg.KeyPath()); string(k) != string(keyBefore) {
				t.Error("the refused start changed the key file")
			}
			// Once the operator removes the key (the terminal never stored
			// anything worth keeping), it starts afresh.
			if err := os.Remove(cfg.KeyPath()); err != nil {
				t.Fatal(err)
			}
			runOnce(t, cfg)
		})
	}
}

func TestRefusesMissingKeyBesideStore(t *testing.T) {
	cfg := lostConfig(t)
	runOnce(t, cfg)
	size := fileSize(t, cfg.DBPath())
	if err := os.Remove(cfg.KeyPath()); err != nil {
		t.Fatal(err)
	}
	_, err := Open(cfg, slog.New(slog.DiscardHandler))
	if !errors.Is(err, store.ErrKeyMissing) {
		t.Fatalf("start without the key file: %v, want ErrKeyMissing", err)
	}
	for _, want := range []string{cfg.KeyPath(), "missing", cfg.DBPath(), "Restore"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "does not match") {
		t.Errorf("error %q blames a wrong key: the key is missing", err)
	}
	if _, serr := os.Stat(cfg.KeyPath()); !errors.Is(serr, os.ErrNotExist) {
		t.Fatalf("a key file was created beside the existing store (stat: %v)", serr)
	}
	if got := fileSize(t, cfg.DBPath()); got != size {
		t.Errorf("the store changed from %d to %d bytes", size, got)
	}
}

// A first start that fails, or is killed, before its store is made leaves
// no key file that would make the next start look like a lost store: the
// new key waits beside it as kioskd.key.new and the next start adopts it.
func TestUnfinishedFirstStartIsNotALostStore(t *testing.T) {
	cfg := lostConfig(t)
	// A kiosk ID the store refuses: Open fails after the key was made.
	good := cfg.KioskID
	cfg.KioskID = "KIOSK ONE"
	if _, err := Open(cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "kiosk ID") {
		t.Fatalf("start with a kiosk ID the store refuses: %v", err)
	}
	if _, err := os.Stat(cfg.KeyPath()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the failed first start left a key file (stat: %v)", err)
	}
	cfg.KioskID = good
	runOnce(t, cfg)
	if _, err := os.Stat(cfg.KeyPath()); err != nil {
		t.Fatalf("after a first start the key file is not in place: %v", err)
	}

	// Killed after the store was made, before the key was put in place:
	// the next start adopts the new key, and the store opens with it.
	cfg = lostConfig(t)
	runOnce(t, cfg)
	if err := os.Rename(cfg.KeyPath(), cfg.KeyPath()+".new"); err != nil {
		t.Fatal(err)
	}
	runOnce(t, cfg)
	if _, err := os.Stat(cfg.KeyPath() + ".new"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the adopted key is still beside the key file (stat: %v)", err)
	}
}
