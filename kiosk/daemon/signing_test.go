package daemon

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kioskd/kioskd/kiosk/vouchertoken"
)

func testKey(t *testing.T, kiosk string) vouchertoken.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return vouchertoken.PublicKey{KioskID: kiosk, KeyID: vouchertoken.KeyID(pub), PublicKey: pub, CreatedAt: time.Now().UTC().Truncate(time.Second)}
}

// The fleet's keys fetched with every heartbeat are written to the cache
// file when they change, not every time: the same keys leave the file
// untouched, a new terminal's key is written.
func TestFleetKeysWrittenWhenChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet-keys.json")
	f := loadFleetKeys(path, nil)
	a := vouchertoken.Keys{testKey(t, "K-1")}
	if err := f.replace(a); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	// The same keys, decoded afresh as from central's answer.
	same := vouchertoken.Keys{a[0]}
	same[0].PublicKey = append([]byte(nil), a[0].PublicKey...)
	if err := f.replace(same); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(old) {
		t.Fatalf("the cache file was rewritten with the same keys (%v)", err)
	}
	b := append(vouchertoken.Keys{}, a[0], testKey(t, "K-2"))
	if err := f.replace(b); err != nil {
		t.Fatal(err)
	}
	got, err := vouchertoken.ReadKeyFile(path)
	if err != nil || len(got) != 2 || got[1].KioskID != "K-2" {
		t.Fatalf("after a new terminal's key the cache file holds %v (%v)", got, err)
	}
	// A restart reads the file and does not write it again for the same keys.
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if err := loadFleetKeys(path, nil).replace(b); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(old) {
		t.Fatalf("the cache file was rewritten after a restart with the same keys (%v)", err)
	}
	if len(f.Keys(b[1].KeyID)) != 1 {
		t.Error("the new terminal's key is not used to verify")
	}
}
