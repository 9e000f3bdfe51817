package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/store"
)

// These tests deliver a real bbolt outbox to central-sim over real HTTP;
// only time is simulated.

// simClock is a clock whose waits pass at once and move simulated time on,
// so hours of backoff take milliseconds.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- now
	return ch
}

func openTestStore(t *testing.T) *store.Store {
	t.Helper()
	key := make([]byte, 32)
	s, err := store.Open(filepath.Join(t.TempDir(), "kioskd.db"), store.Options{Key: key, KioskID: "KIOSK-T", TerminalNo: 7, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func enqueueN(t *testing.T, s *store.Store, n int) []store.Operation {
	t.Helper()
	ops := make([]store.Operation, n)
	for i := range ops {
		p, _ := json.Marshal(Personal{Subject: json.RawMessage(fmt.Sprintf(`{"id_number":"11010119900307%04d"}`, i))})
		op, err := s.Enqueue(context.Background(), store.NewOperation{Kind: "report_loss", Personal: p})
		if err != nil {
			t.Fatal(err)
		}
		ops[i] = op
	}
	return ops
}

// drainUntil runs a drainer until every enqueued operation is settled.
func drainUntil(t *testing.T, s *store.Store, sim *central.Sim, clock central.Clock, wait time.Duration, during func()) {
	t.Helper()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := central.NewClient(central.ClientConfig{BaseURL: srv.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	d := central.NewDrainer(outbox{s, "KIOSK-T"}, client, central.DrainConfig{
		PageSize: 16, MinBackoff: time.Second, MaxBackoff: 10 * time.Minute, Clock: clock,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("drainer: %v", err)
		}
	}()
	if during != nil {
		during()
	}
	deadline := time.Now().Add(wait)
	for {
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d operations still pending", st.Pending)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkExactlyOnceInOrder: every operation applied once, in enqueue order,
// and acknowledged in the store with central's reference.
func checkExactlyOnceInOrder(t *testing.T, s *store.Store, sim *central.Sim, ops []store.Operation) {
	t.Helper()
	applied := sim.Applied()
	if len(applied) != len(ops) {
		t.Fatalf("central applied %d operations, %d were enqueued", len(applied), len(ops))
	}
	byKey := map[string]central.AppliedOp{}
	for _, a := range applied {
		byKey[a.Key] = a
		if a.Count != 1 {
			t.Errorf("operation %s applied %d times", a.Voucher, a.Count)
		}
	}
	for i, op := range ops {
		a, ok := byKey[op.Key]
		if !ok {
			t.Fatalf("operation %s never reached central", op.Voucher)
		}
		if a.Order != i+1 {
			t.Errorf("operation %d (%s) applied as number %d: out of order", i+1, op.Voucher, a.Order)
		}
		got, err := s.Get(op.Key)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != store.Acknowledged || got.CentralRef == "" {
			t.Errorf("operation %s is %s with ref %q, want acknowledged with a reference", op.Voucher, got.State, got.CentralRef)
		}
	}
}

func TestOutageThenRecoveryDeliversEverythingInOrder(t *testing.T) {
	s := openTestStore(t)
	sim := central.NewSim(central.SimConfig{Outage: true})
	clock := &simClock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	start := clock.Now()
	ops := enqueueN(t, s, 50)
	drainUntil(t, s, sim, clock, 30*time.Second, func() {
		// Central stays down for six simulated hours; more operations
		// arrive meanwhile.
		for clock.Now().Sub(start) < 6*time.Hour {
			time.Sleep(time.Millisecond)
		}
		if n := len(sim.Applied()); n != 0 {
			t.Errorf("%d operations applied during the outage", n)
		}
		ops = append(ops, enqueueN(t, s, 10)...)
		sim.SetFaults(central.SimConfig{})
	})
	checkExactlyOnceInOrder(t, s, sim, ops)
	// Backoff is capped: an outage of six hours with a 10 min cap needs
	// at least 36 attempts of the head operation, and no wait beyond the cap.
	head, _ := s.Get(ops[0].Key)
	if head.Attempts < 36 {
		t.Errorf("head operation attempted %d times over 6 h with a 10 min cap", head.Attempts)
	}
}

func TestDroppedAndDuplicatedAnswersApplyOnce(t *testing.T) {
	s := openTestStore(t)
	sim := central.NewSim(central.SimConfig{DropRate: 0.3, DuplicateRate: 0.5, FailRate: 0.1, Seed: 7})
	ops := enqueueN(t, s, 200)
	drainUntil(t, s, sim, &simClock{now: time.Now()}, 60*time.Second, nil)
	checkExactlyOnceInOrder(t, s, sim, ops)
}
