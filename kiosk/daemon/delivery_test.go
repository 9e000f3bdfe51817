package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/maint"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/store/voucher"
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

// nginx404 answers like nginx in front of central when a location is
// misrouted: its own HTML page, no {code, message} body.
func nginx404(w http.ResponseWriter) {
	w.Header().Set("Server", "nginx/1.22.1")
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n")
}

// A misrouted reverse proxy answering 404 pages: the whole backlog stays
// pending, /v1/status names the error, the alert metric rises, the
// technician's queue shows the waiting operation, and once central answers
// again everything is delivered in order.
func TestProxy404KeepsBacklogPendingThroughDaemon(t *testing.T) {
	sim := central.NewSim(central.SimConfig{})
	var misrouted atomic.Bool
	var refused atomic.Int64
	misrouted.Store(true)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if misrouted.Load() && r.URL.Path == "/v1/operations" {
			refused.Add(1)
			nginx404(w)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	e := startDaemon(t, withTechnician(t), func(c *config.Config) {
		c.Central.URL = front.URL
		c.Central.Timeout = config.Duration{Duration: 5 * time.Second}
	})
	for range 5 {
		e.simEnqueue("report_loss")
	}
	// Every operation was offered to the proxy's 404 at least once more
	// than the 5 operations there are: a rejecting drain would have moved
	// on to the next one after each.
	eventually(t, 10*time.Second, "several refused deliveries", func() bool { return refused.Load() >= 8 })
	st := e.status()
	if st.Queue.Pending != 5 || st.Queue.Rejected != 0 {
		t.Fatalf("queue after the proxy's 404s: %d pending, %d rejected; want all 5 pending", st.Queue.Pending, st.Queue.Rejected)
	}
	if !strings.Contains(st.Queue.CentralLastError, "404") || !strings.Contains(st.Queue.CentralLastError, "not central's") {
		t.Fatalf("central_last_error = %q, want the proxy's 404 named", st.Queue.CentralLastError)
	}
	if v := value(e.scrape(), "kioskd_delivery_foreign_answers_total", "status", "404"); v < 1 {
		t.Fatalf("kioskd_delivery_foreign_answers_total{status=404} = %v, want it raised", v)
	}
	ops := e.ops()
	slices.Reverse(ops) // enqueue order
	e.techLogin()
	e.Input(maint.FieldScreen, "queue")
	d := e.expectMaint("maintenance_queue", "ops")
	listed, _ := d["ops"].([]any)
	found := false
	for _, o := range listed {
		m, _ := o.(map[string]any)
		if m["voucher"] == voucher.Format(ops[0].Voucher) && m["state"] == "pending" && strings.Contains(fmt.Sprint(m["reason"]), "404") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the queue screen does not show %s pending with the 404: %v", voucher.Format(ops[0].Voucher), listed)
	}

	misrouted.Store(false)
	eventually(t, 10*time.Second, "all acknowledged once central answers", func() bool {
		st, err := e.d.store.Stats()
		return err == nil && st.Acknowledged == 5
	})
	applied := sim.Applied()
	if len(applied) != 5 {
		t.Fatalf("central applied %d operations, want 5", len(applied))
	}
	for i, a := range applied {
		if a.Key != ops[i].Key || a.Count != 1 {
			t.Fatalf("applied #%d = %s ×%d, want %s once (enqueue order)", i+1, a.Key, a.Count, ops[i].Key)
		}
	}
}
