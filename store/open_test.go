package store_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "store.key")
	k1, err := store.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 || bytes.Equal(k1, make([]byte, 32)) {
		t.Fatalf("new key %x", k1)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := store.LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("second call = %x, %v; want the same key %x", k2, err, k1)
	}
	left, _ := os.ReadDir(filepath.Dir(path))
	if len(left) != 1 {
		t.Errorf("key directory holds %d entries, want only the key file", len(left))
	}

	raw := bytes.Repeat([]byte{7}, 32)
	for _, tc := range []struct {
		name    string
		content []byte
		want    []byte
		wantErr string
	}{
		{"raw", raw, raw, ""},
		{"hex", []byte(" " + hex.EncodeToString(raw) + "\n"), raw, ""},
		{"short", []byte("0123456789abcdef"), nil, "holds 16 bytes, want 32 raw bytes or 64 hex characters"},
		{"empty", nil, nil, "holds 0 bytes"},
		{"not hex", []byte(strings.Repeat("zz", 32)), nil, "not hexadecimal"},
		{"33 bytes", append(bytes.Clone(raw), 1), nil, "holds 33 bytes"},
	} {
		p := filepath.Join(dir, tc.name+".key")
		if err := os.WriteFile(p, tc.content, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := store.LoadOrCreateKey(p)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), p) {
				t.Errorf("%s: error %v, want one naming %s and saying %q", tc.name, err, p, tc.wantErr)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: %x, %v; want %x", tc.name, got, err, tc.want)
		}
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	good := testOptions(nil)
	for _, tc := range []struct {
		name string
		mod  func(*store.Options)
		want string
	}{
		{"short key", func(o *store.Options) { o.Key = o.Key[:16] }, "key is 16 bytes, want 32"},
		{"no kiosk id", func(o *store.Options) { o.KioskID = "" }, "kiosk ID is empty"},
		{"kiosk id with space", func(o *store.Options) { o.KioskID = "kiosk 1" }, "printable ASCII"},
		{"terminal", func(o *store.Options) { o.TerminalNo = 100000 }, "terminal number 100000 is outside 0..99999"},
		{"retention", func(o *store.Options) { o.Retention = -time.Hour }, "retention -1h0m0s is negative"},
	} {
		opt := good
		tc.mod(&opt)
		path := dbPath(t)
		_, err := store.Open(path, opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Open error %v, want %q", tc.name, err, tc.want)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: Open with bad options created the file", tc.name)
		}
	}
	opt := good
	opt.Key, opt.KioskID = nil, ""
	_, err := store.Open(dbPath(t), opt)
	if err == nil || !strings.Contains(err.Error(), "key is 0 bytes") || !strings.Contains(err.Error(), "kiosk ID is empty") {
		t.Errorf("two bad options: error %v, want both named", err)
	}
}

func TestOpenWithWrongKey(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path, testOptions(nil))
	enqueue(t, s, "report_loss", personalJSON(t, 0))
	s.Close()
	before, _ := os.ReadFile(path)
	opt := testOptions(nil)
	opt.Key = bytes.Repeat([]byte{1}, 32)
	_, err := store.Open(path, opt)
	if !errors.Is(err, store.ErrWrongKey) || !strings.Contains(err.Error(), path) {
		t.Errorf("Open with another key: %v, want ErrWrongKey naming the file", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("Open with the wrong key changed the file")
	}
}

func TestOpenLockedFile(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path, testOptions(nil))
	defer s.Close()
	_, err := store.Open(path, testOptions(nil))
	if err == nil || !strings.Contains(err.Error(), "locked by another process") || !strings.Contains(err.Error(), path) {
		t.Errorf("second Open: %v, want a 'locked' error naming the file", err)
	}
}

// boltHighWater returns the bytes the newest valid meta page says are in use.
func boltHighWater(t *testing.T, raw []byte) int {
	t.Helper()
	best, bestTx := 0, uint64(0)
	for _, off := range []int{0, 4096} {
		m := raw[off+16:]
		if binary.NativeEndian.Uint32(m) != 0xED0CDAED {
			continue
		}
		pageSize := int(binary.NativeEndian.Uint32(m[8:]))
		hwm := int(binary.NativeEndian.Uint64(m[40:]))
		if tx := binary.NativeEndian.Uint64(m[48:]); tx >= bestTx {
			best, bestTx = hwm*pageSize, tx
		}
	}
	if best == 0 {
		t.Fatal("no meta page in a fresh file")
	}
	return best
}

func TestOpenRefusesCorruptFile(t *testing.T) {
	// A store with enough operations that its data spans many pages.
	src := dbPath(t)
	s := mustOpen(t, src, testOptions(nil))
	for i := range 300 {
		enqueue(t, s, "report_loss", personalJSON(t, i))
	}
	s.Close()
	good, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	used := boltHighWater(t, good)
	t.Logf("file %d bytes, %d in use", len(good), used)

	random := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return b
	}
	for _, tc := range []struct {
		name string
		data func() []byte
	}{
		{"random bytes over both meta pages", func() []byte {
			b := bytes.Clone(good)
			copy(b, random(2*4096))
			return b
		}},
		{"zeroed meta pages", func() []byte {
			b := bytes.Clone(good)
			clear(b[:2*4096])
			return b
		}},
		{"truncated to half the file", func() []byte { return bytes.Clone(good[:len(good)/2]) }},
		{"truncated to half its data", func() []byte { return bytes.Clone(good[:used/2]) }},
		{"truncated to 100 bytes", func() []byte { return bytes.Clone(good[:100]) }},
		{"truncated to 5000 bytes", func() []byte { return bytes.Clone(good[:5000]) }},
		{"bucket pointing past the end", func() []byte {
			b := bytes.Clone(good)
			pointBucketsAway(t, b)
			return b
		}},
		{"element running off its page", func() []byte {
			b := bytes.Clone(good)
			root := rootPage(t, b)
			binary.NativeEndian.PutUint32(root[16+4:], 1<<30) // first element's pos
			return b
		}},
		{"not a bbolt file", func() []byte { return []byte(strings.Repeat("kioskd log line\n", 1000)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kioskd.db")
			data := tc.data()
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := store.Open(path, testOptions(nil))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on a damaged file")
			}
			if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "corrupt") {
				t.Errorf("Open error %q, want one naming %s and saying it is corrupt", err, path)
			}
			t.Log(err)
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(after, data) {
				t.Errorf("Open changed the damaged file (%d bytes before, %d after)", len(data), len(after))
			}
		})
	}

	// One damaged meta page is what bbolt's two-meta design survives: the
	// other page still describes a consistent file.
	t.Run("one meta page damaged", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "kioskd.db")
		b := bytes.Clone(good)
		copy(b[16:80], random(64))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := store.Open(path, testOptions(nil))
		if err != nil {
			t.Fatalf("Open with one good meta page: %v", err)
		}
		defer s.Close()
		ops, err := s.Pending(0, 1000)
		if err != nil || len(ops) < 299 {
			t.Errorf("after recovery from one meta page: %d ops, %v", len(ops), err)
		}
	})
}

// rootPage returns the root bucket's page of the newest meta, as a slice of b.
func rootPage(t *testing.T, b []byte) []byte {
	t.Helper()
	best, bestTx := -1, uint64(0)
	for _, off := range []int{0, 4096} {
		if tx := binary.NativeEndian.Uint64(b[off+16+48:]); best < 0 || tx > bestTx {
			best, bestTx = off, tx
		}
	}
	root := int(binary.NativeEndian.Uint64(b[best+16+16:]))
	return b[root*4096 : (root+1)*4096]
}

// pointBucketsAway makes every bucket in the root page point at a page far
// past the end of the file: what bbolt would fault on if it mapped it.
func pointBucketsAway(t *testing.T, b []byte) {
	t.Helper()
	p := rootPage(t, b)
	e := binary.NativeEndian
	if e.Uint16(p[8:]) != 0x02 {
		t.Fatalf("root page type %#x, want leaf", e.Uint16(p[8:]))
	}
	n := 0
	for i := range int(e.Uint16(p[10:])) {
		el := p[16+16*i:]
		if e.Uint32(el)&1 == 0 {
			continue
		}
		pos, ksize := int(e.Uint32(el[4:])), int(e.Uint32(el[8:]))
		val := el[pos+ksize:]
		if e.Uint64(val) != 0 {
			e.PutUint64(val, 1<<40)
			n++
		}
	}
	if n == 0 {
		t.Fatal("no bucket with its own root page to damage")
	}
}

// FuzzOpen feeds damaged files to Open: it must return (an error or a
// store), never crash, and never change a file it refuses.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed.db")
	s, err := store.Open(seed, testOptions(nil))
	if err != nil {
		f.Fatal(err)
	}
	for i := range 40 {
		enqueue(f, s, "report_loss", personalJSON(f, i))
	}
	s.Close()
	good, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Add([]byte("not a database"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "kioskd.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := store.Open(path, testOptions(nil))
		if err == nil {
			_, _ = s.Pending(0, 10)
			s.Close()
			return
		}
		if len(data) > 0 {
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, data) {
				t.Fatalf("Open refused the file (%v) and changed it", err)
			}
		}
	})
}

func TestReadOnlyFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores file permission bits; TestReadOnlyDataDir covers read-only storage with a read-only mount")
	}
	path := dbPath(t)
	s := mustOpen(t, path, testOptions(nil))
	enqueue(t, s, "report_loss", personalJSON(t, 0))
	s.Close()
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(path, testOptions(nil))
	if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), path) {
		t.Errorf("Open of a read-only file: %v, want a permission error naming it", err)
	}
}
