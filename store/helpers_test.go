package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

// testKey is a fixed key so reopened stores can read what earlier ones wrote.
var testKey = bytes.Repeat([]byte{0x42}, 32)

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 7, 9, 30, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testOptions(now func() time.Time) store.Options {
	return store.Options{
		Key:        testKey,
		KioskID:    "kiosk-bj-0042",
		TerminalNo: 1234,
		Retention:  24 * time.Hour,
		Now:        now,
	}
}

func dbPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "kioskd.db")
}

func mustOpen(t testing.TB, path string, opt store.Options) *store.Store {
	t.Helper()
	s, err := store.Open(path, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// personal is the test subject of DOMAIN.md's example profile and a
// Vietnamese one: nothing of it may reach the file in plaintext.
type personal struct {
	Subject  map[string]string `json:"subject"`
	Card     map[string]string `json:"card"`
	Agent    map[string]string `json:"agent,omitempty"`
	Evidence map[string]string `json:"evidence"`
}

const (
	subjectNameCN = "张三"
	subjectNameVN = "NGUYEN VAN A"
	subjectID     = "110101199003071234"
	cardNumber    = "A12345678"
)

func personalJSON(t testing.TB, i int) []byte {
	t.Helper()
	p := personal{
		Subject:  map[string]string{"name": subjectNameCN, "id_number": subjectID, "seq": string(rune('0' + i%10))},
		Card:     map[string]string{"card_number": cardNumber},
		Agent:    map[string]string{"name": subjectNameVN, "id_number": "079090001234"},
		Evidence: map[string]string{"method": "id_chip", "reader": "id"},
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func enqueue(t testing.TB, s *store.Store, kind string, pers []byte) store.Operation {
	t.Helper()
	op, err := s.Enqueue(context.Background(), store.NewOperation{Kind: kind, Personal: pers})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return op
}
