package central

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memOutbox is an in-memory Outbox for unit tests of the drainer.
type memOutbox struct {
	mu       sync.Mutex
	entries  []*memEntry // Seq order
	byKey    map[string]*memEntry
	seq      uint64
	enq      chan struct{}
	maxLimit int // largest limit asked
	maxPage  int // largest page handed out
	acked    []string
	failNext int // Pending fails this many more times
}

type memEntry struct {
	q        Queued
	state    string // pending, acknowledged, rejected
	ref      string
	code     string
	reason   string
	lastErr  string
	attempts int
}

func newMemOutbox() *memOutbox {
	return &memOutbox{enq: make(chan struct{}, 1), byKey: map[string]*memEntry{}}
}

func (m *memOutbox) Enqueue(op Operation) {
	m.mu.Lock()
	m.seq++
	e := &memEntry{q: Queued{Seq: m.seq, Op: op}, state: "pending"}
	m.entries = append(m.entries, e)
	m.byKey[op.IdempotencyKey] = e
	m.mu.Unlock()
	select {
	case m.enq <- struct{}{}:
	default:
	}
}

func (m *memOutbox) Pending(after uint64, limit int) ([]Queued, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failNext > 0 {
		m.failNext--
		return nil, errors.New("disk on fire")
	}
	m.maxLimit = max(m.maxLimit, limit)
	var out []Queued
	for _, e := range m.entries {
		if e.q.Seq > after && e.state == "pending" && len(out) < limit {
			q := e.q
			q.Attempts = e.attempts
			out = append(out, q)
		}
	}
	m.maxPage = max(m.maxPage, len(out))
	return out, nil
}

func (m *memOutbox) find(key string) (*memEntry, error) {
	if e, ok := m.byKey[key]; ok {
		return e, nil
	}
	return nil, fmt.Errorf("no entry %q", key)
}

func (m *memOutbox) Acknowledge(acks []Acked) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range acks {
		e, err := m.find(a.Key)
		if err != nil {
			return err
		}
		if e.state != "pending" {
			return fmt.Errorf("entry %q is %s, acknowledged again", a.Key, e.state)
		}
		e.state, e.ref = "acknowledged", a.CentralRef
		m.acked = append(m.acked, a.Key)
	}
	return nil
}

func (m *memOutbox) Reject(key, code, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.find(key)
	if err != nil {
		return err
	}
	e.state, e.code, e.reason = "rejected", code, reason
	return nil
}

func (m *memOutbox) RecordAttempt(key, lastErr string, next time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.find(key)
	if err != nil {
		return err
	}
	e.attempts++
	e.lastErr = lastErr
	e.q.NextAttempt = next
	return nil
}

func (m *memOutbox) Enqueued() <-chan struct{} { return m.enq }

func (m *memOutbox) pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.entries {
		if e.state == "pending" {
			n++
		}
	}
	return n
}

// autoClock is simulated time that jumps ahead by d whenever the drainer
// waits d: hours of backoff pass in milliseconds. onWait runs after each
// jump with the new time.
type autoClock struct {
	mu     sync.Mutex
	now    time.Time
	waits  []time.Duration
	onWait func(now time.Time)
}

func (c *autoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *autoClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.waits = append(c.waits, d)
	now, f := c.now, c.onWait
	c.mu.Unlock()
	if f != nil {
		f(now)
	}
	ch := make(chan time.Time, 1)
	ch <- now
	return ch
}

// stoppedClock never lets a backoff end: only Kick or Enqueued can wake
// the drainer.
type stoppedClock struct {
	mu    sync.Mutex
	waits int
}

func (c *stoppedClock) Now() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }
func (c *stoppedClock) After(time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.waits++
	c.mu.Unlock()
	return nil
}

// countingSubmitter counts Submit calls.
type countingSubmitter struct {
	s Submitter
	n atomic.Int64
}

func (c *countingSubmitter) Submit(ctx context.Context, op Operation) (Ack, error) {
	c.n.Add(1)
	return c.s.Submit(ctx, op)
}

// runDrainer runs d until the test ends and checks Run returns nil.
func runDrainer(t *testing.T, d *Drainer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil after cancel", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
}

// waitFor polls cond until it holds; the deadline only guards against a
// hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// checkExactlyOnceInOrder checks the sim applied exactly keys, each once,
// in this order.
func checkExactlyOnceInOrder(t *testing.T, sim *Sim, keys []string) {
	t.Helper()
	applied := sim.Applied()
	if len(applied) != len(keys) {
		t.Fatalf("sim applied %d operations, want %d", len(applied), len(keys))
	}
	for i, a := range applied {
		if a.Count != 1 {
			t.Errorf("%s applied %d times", a.Key, a.Count)
		}
		if a.Key != keys[i] {
			t.Fatalf("applied #%d is %s, want %s (enqueue order)", i+1, a.Key, keys[i])
		}
	}
}

func enqueueN(o *memOutbox, from, n int) []string {
	var keys []string
	for i := from; i < from+n; i++ {
		op := testOp(i)
		o.Enqueue(op)
		keys = append(keys, op.IdempotencyKey)
	}
	return keys
}

func TestDrainDeliversInOrder(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{})
	o := newMemOutbox()
	keys := enqueueN(o, 1, 300)
	var results atomic.Int64
	d := NewDrainer(o, c, DrainConfig{PageSize: 32, OnResult: func(r Result) {
		if r.Outcome == Acknowledged {
			results.Add(1)
		}
	}})
	runDrainer(t, d)
	waitFor(t, "all acknowledged", func() bool { return o.pending() == 0 })
	checkExactlyOnceInOrder(t, sim, keys)
	if !slices.Equal(o.acked, keys) {
		t.Fatalf("outbox acknowledged out of order")
	}
	if results.Load() != 300 {
		t.Fatalf("OnResult saw %d acknowledgements, want 300", results.Load())
	}
	st := d.Status()
	if !st.Online || st.LastError != "" || st.LastAckAt.IsZero() || st.Backoff != 0 {
		t.Fatalf("Status = %+v, want online, no error, an ack time, no backoff", st)
	}
	for _, e := range o.entries {
		if !strings.HasPrefix(e.ref, "C") {
			t.Fatalf("%s acknowledged with ref %q", e.q.Op.IdempotencyKey, e.ref)
		}
	}
}

// A long central outage in simulated time, with operations arriving during
// it, then recovery: everything is delivered once, in order; each backoff
// is rand·min(cap, min·2^(n-1)); the cap is reached and never exceeded.
func TestDrainOutageThenRecovery(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{Outage: true})
	o := newMemOutbox()
	keys := enqueueN(o, 1, 20)
	const outage = 8 * time.Hour
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	var moreMu sync.Mutex
	var more []string
	clock := &autoClock{now: start}
	clock.onWait = func(now time.Time) {
		elapsed := now.Sub(start)
		moreMu.Lock()
		if elapsed > time.Hour && more == nil {
			more = enqueueN(o, 21, 20) // filed while central is down
		}
		moreMu.Unlock()
		if elapsed > outage {
			sim.SetFaults(SimConfig{})
		}
	}
	// A repeating sequence of jitter draws, including the extremes.
	draws := []float64{0, 0.999999, 0.5, 0.25, 0.9, 0.1}
	var mu sync.Mutex
	var used []float64
	rnd := func() float64 {
		mu.Lock()
		defer mu.Unlock()
		r := draws[len(used)%len(draws)]
		used = append(used, r)
		return r
	}
	const minB, maxB = time.Second, 5 * time.Minute
	d := NewDrainer(o, c, DrainConfig{PageSize: 8, MinBackoff: minB, MaxBackoff: maxB, Clock: clock, Rand: rnd})
	runDrainer(t, d)
	waitFor(t, "all delivered after the outage", func() bool {
		moreMu.Lock()
		defer moreMu.Unlock()
		return more != nil && o.pending() == 0
	})
	moreMu.Lock()
	checkExactlyOnceInOrder(t, sim, append(keys, more...))
	moreMu.Unlock()

	clock.mu.Lock()
	waits := slices.Clone(clock.waits)
	end := clock.now
	clock.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d backoffs over %v of simulated time", len(waits), end.Sub(start))
	if end.Sub(start) < outage {
		t.Fatalf("simulated time %v, want past the %v outage", end.Sub(start), outage)
	}
	if len(waits) != len(used) {
		t.Fatalf("%d waits but %d jitter draws", len(waits), len(used))
	}
	capped := 0
	for i, w := range waits {
		want := time.Duration(used[i] * float64(Backoff(i+1, minB, maxB)))
		if w != want {
			t.Fatalf("wait %d = %v, want %v (rand %v)", i+1, w, want, used[i])
		}
		if w < 0 || w > maxB {
			t.Fatalf("wait %d = %v outside [0, %v]", i+1, w, maxB)
		}
		if w > maxB*99/100 {
			capped++
		}
	}
	if capped == 0 {
		t.Fatalf("backoff never reached the %v cap in %d waits", maxB, len(waits))
	}
	// The head carries its failed attempts and the last error.
	head := o.entries[0]
	if head.attempts != len(waits) || head.lastErr == "" {
		t.Fatalf("head: %d attempts recorded (want %d), last error %q", head.attempts, len(waits), head.lastErr)
	}
}

// Dropped answers and duplicate answers at 30% each: every operation is
// applied exactly once, in order, and acknowledged with central's ref.
func TestDrainDropAndDuplicateExactlyOnce(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{DropRate: 0.3, DuplicateRate: 0.3, Seed: 7})
	o := newMemOutbox()
	keys := enqueueN(o, 1, 200)
	clock := &autoClock{now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
	d := NewDrainer(o, c, DrainConfig{PageSize: 16, Clock: clock})
	runDrainer(t, d)
	waitFor(t, "all acknowledged", func() bool { return o.pending() == 0 })
	checkExactlyOnceInOrder(t, sim, keys)
	refs := map[string]string{}
	for _, e := range o.entries {
		refs[e.q.Op.IdempotencyKey] = e.ref
	}
	drops := 0
	for _, e := range o.entries {
		drops += e.attempts
	}
	if drops == 0 {
		t.Fatalf("no dropped answer at DropRate 0.3: the test did not exercise drops")
	}
	for _, a := range sim.Applied() {
		ack, err := c.Operation(context.Background(), a.Key)
		if err != nil || ack.CentralRef != refs[a.Key] {
			t.Fatalf("%s acknowledged with %q, central has %q (%v)", a.Key, refs[a.Key], ack.CentralRef, err)
		}
	}
}

func TestDrainRejectionRecordedAndDrainContinues(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{})
	o := newMemOutbox()
	keys := enqueueN(o, 1, 3)
	bad := testOp(4)
	bad.Kind = "buy_coffee"
	o.Enqueue(bad)
	keys = append(keys, enqueueN(o, 5, 3)...)
	var rejected []Result
	var mu sync.Mutex
	d := NewDrainer(o, c, DrainConfig{OnResult: func(r Result) {
		if r.Outcome == Rejected {
			mu.Lock()
			rejected = append(rejected, r)
			mu.Unlock()
		}
	}})
	runDrainer(t, d)
	waitFor(t, "all handled", func() bool { return o.pending() == 0 })
	checkExactlyOnceInOrder(t, sim, keys)
	e, _ := o.find(bad.IdempotencyKey)
	if e.state != "rejected" || e.code != "unknown_kind" || !strings.Contains(e.reason, "buy_coffee") {
		t.Fatalf("rejected entry: state %s code %q reason %q", e.state, e.code, e.reason)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(rejected) != 1 || rejected[0].Key != bad.IdempotencyKey {
		t.Fatalf("OnResult rejections = %+v", rejected)
	}
}

// The drainer never asks for, nor handles, more than a page at a time.
func TestDrainBoundedPage(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{})
	o := newMemOutbox()
	keys := enqueueN(o, 1, 1000)
	d := NewDrainer(o, c, DrainConfig{PageSize: 16})
	runDrainer(t, d)
	waitFor(t, "all acknowledged", func() bool { return o.pending() == 0 })
	checkExactlyOnceInOrder(t, sim, keys)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.maxLimit != 16 || o.maxPage > 16 {
		t.Fatalf("asked for up to %d, handed %d at once; want 16", o.maxLimit, o.maxPage)
	}
}

// With central healthy, an enqueue wakes the drainer at once: the clock
// here never ends a wait, so only Enqueued can have woken it.
func TestDrainWakesOnEnqueue(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{})
	o := newMemOutbox()
	d := NewDrainer(o, c, DrainConfig{Clock: &stoppedClock{}})
	runDrainer(t, d)
	for i := 1; i <= 5; i++ {
		keys := enqueueN(o, i, 1)
		waitFor(t, "delivery after enqueue "+keys[0], func() bool { return len(sim.Applied()) == i })
	}
}

// While backing off, enqueues do not trigger retries; Kick does, at once.
func TestDrainBackoffIgnoresEnqueueButNotKick(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{FailRate: 1})
	o := newMemOutbox()
	cs := &countingSubmitter{s: c}
	d := NewDrainer(o, cs, DrainConfig{Clock: &stoppedClock{}, Rand: func() float64 { return 0.5 }})
	runDrainer(t, d)
	keys := enqueueN(o, 1, 1)
	waitFor(t, "first failed attempt", func() bool { return d.Status().Backoff > 0 })
	if n := cs.n.Load(); n != 1 {
		t.Fatalf("%d submits, want 1", n)
	}
	st := d.Status()
	if st.Online || !strings.Contains(st.LastError, "503") || st.Backoff != DefaultMinBackoff/2 {
		t.Fatalf("Status = %+v, want offline, a 503 error, backoff %v", st, DefaultMinBackoff/2)
	}
	keys = append(keys, enqueueN(o, 2, 50)...)
	// The drainer is parked on a wait that never ends; give it every
	// chance to misbehave on the 50 enqueue signals.
	time.Sleep(50 * time.Millisecond)
	if n := cs.n.Load(); n != 1 {
		t.Fatalf("enqueues during backoff caused %d submits, want none beyond the first", n-1)
	}
	d.Kick()
	waitFor(t, "retry after Kick", func() bool { return cs.n.Load() == 2 })
	sim.SetFaults(SimConfig{})
	d.Kick()
	waitFor(t, "all delivered after recovery", func() bool { return o.pending() == 0 })
	checkExactlyOnceInOrder(t, sim, keys)
	if st := d.Status(); !st.Online || st.Backoff != 0 {
		t.Fatalf("Status after recovery = %+v", st)
	}
}

// Outbox failures are logged and backed off, never fatal.
func TestDrainSurvivesOutboxErrors(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{})
	o := newMemOutbox()
	o.failNext = 3
	keys := enqueueN(o, 1, 5)
	clock := &autoClock{now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
	d := NewDrainer(o, c, DrainConfig{Clock: clock})
	runDrainer(t, d)
	waitFor(t, "delivery after outbox errors", func() bool { return o.pending() == 0 })
	checkExactlyOnceInOrder(t, sim, keys)
	clock.mu.Lock()
	defer clock.mu.Unlock()
	if len(clock.waits) != 3 {
		t.Fatalf("%d backoffs, want 3 (one per outbox error)", len(clock.waits))
	}
}

// After a restart, a head whose next attempt lies in the future waits for
// it (or a Kick) instead of hammering central.
func TestDrainKeepsRecordedBackoffAfterRestart(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{})
	o := newMemOutbox()
	enqueueN(o, 1, 1)
	clock := &stoppedClock{}
	o.entries[0].q.NextAttempt = clock.Now().Add(time.Minute)
	d := NewDrainer(o, c, DrainConfig{Clock: clock})
	runDrainer(t, d)
	waitFor(t, "drainer parked", func() bool { return d.Status().Backoff == time.Minute })
	if n := len(sim.Applied()); n != 0 {
		t.Fatalf("sent an operation before its next attempt")
	}
	d.Kick()
	waitFor(t, "delivery after Kick", func() bool { return o.pending() == 0 })
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {9, 256 * time.Second}, {10, 5 * time.Minute}, {1000, 5 * time.Minute}} {
		if got := Backoff(tc.n, time.Second, 5*time.Minute); got != tc.want {
			t.Errorf("Backoff(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

// closingOutbox signals enqueues by closing a channel and replacing it,
// the other style Outbox.Enqueued allows.
type closingOutbox struct {
	*memOutbox
	mu sync.Mutex
	ch chan struct{}
}

func (c *closingOutbox) Enqueue(op Operation) {
	c.memOutbox.Enqueue(op)
	c.mu.Lock()
	close(c.ch)
	c.ch = make(chan struct{})
	c.mu.Unlock()
}

func (c *closingOutbox) Enqueued() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ch
}

func TestDrainWakesOnClosedEnqueuedChannel(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{})
	o := &closingOutbox{memOutbox: newMemOutbox(), ch: make(chan struct{})}
	d := NewDrainer(o, c, DrainConfig{Clock: &stoppedClock{}})
	runDrainer(t, d)
	for i := 1; i <= 5; i++ {
		o.Enqueue(testOp(i))
		waitFor(t, "delivery after enqueue", func() bool { return len(sim.Applied()) == i })
	}
}

// An outbox whose Enqueued channel stays closed must not make the drainer
// spin: it reads the outbox once more, then waits for Kick.
type stuckClosedOutbox struct {
	*memOutbox
	ch      chan struct{}
	pending atomic.Int64
}

func (s *stuckClosedOutbox) Enqueued() <-chan struct{} { return s.ch }
func (s *stuckClosedOutbox) Pending(after uint64, limit int) ([]Queued, error) {
	s.pending.Add(1)
	return s.memOutbox.Pending(after, limit)
}

func TestDrainDoesNotSpinOnClosedEnqueued(t *testing.T) {
	_, c, _ := startSim(t, SimConfig{})
	o := &stuckClosedOutbox{memOutbox: newMemOutbox(), ch: make(chan struct{})}
	close(o.ch)
	d := NewDrainer(o, c, DrainConfig{Clock: &stoppedClock{}})
	runDrainer(t, d)
	waitFor(t, "first passes", func() bool { return o.pending.Load() >= 2 })
	time.Sleep(50 * time.Millisecond)
	if n := o.pending.Load(); n != 2 {
		t.Fatalf("%d reads of the outbox with a closed Enqueued channel, want 2", n)
	}
	d.Kick()
	waitFor(t, "pass after Kick", func() bool { return o.pending.Load() == 3 })
}

// The real clock and real jitter: random 503s and lost answers, short
// backoffs; everything arrives once, in order.
func TestDrainRealClockWithFaults(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{FailRate: 0.3, DropRate: 0.2, DuplicateRate: 0.5, Seed: 11})
	o := newMemOutbox()
	keys := enqueueN(o, 1, 100)
	d := NewDrainer(o, c, DrainConfig{PageSize: 10, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	runDrainer(t, d)
	waitFor(t, "all acknowledged", func() bool { return o.pending() == 0 })
	checkExactlyOnceInOrder(t, sim, keys)
}

// flakySubmitter fails every second call with a transient error.
type flakySubmitter struct {
	s Submitter
	n atomic.Int64
}

func (f *flakySubmitter) Submit(ctx context.Context, op Operation) (Ack, error) {
	if f.n.Add(1)%2 == 1 {
		return Ack{}, &ServerError{Status: 503, Code: "unavailable"}
	}
	return f.s.Submit(ctx, op)
}

// A success resets the backoff: a central failing every other request
// never pushes the waits beyond the first step.
func TestDrainBackoffResetsAfterSuccess(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{})
	o := newMemOutbox()
	keys := enqueueN(o, 1, 30)
	clock := &autoClock{now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
	d := NewDrainer(o, &flakySubmitter{s: c}, DrainConfig{Clock: clock, Rand: func() float64 { return 0.999 }})
	runDrainer(t, d)
	waitFor(t, "all acknowledged", func() bool { return o.pending() == 0 })
	checkExactlyOnceInOrder(t, sim, keys)
	clock.mu.Lock()
	defer clock.mu.Unlock()
	if len(clock.waits) != 30 {
		t.Fatalf("%d waits, want 30 (one per failure)", len(clock.waits))
	}
	for i, w := range clock.waits {
		if w > DefaultMinBackoff {
			t.Fatalf("wait %d = %v, want at most %v: the backoff grew across successes", i+1, w, DefaultMinBackoff)
		}
	}
}

// A proxy answering every delivery with its own 404 page keeps the whole
// backlog pending and backing off; once central answers again, everything
// is delivered in order.
func TestDrainForeign4xxKeepsBacklogPending(t *testing.T) {
	sim := NewSim(SimConfig{})
	var misrouted atomic.Bool
	var refused atomic.Int64
	misrouted.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if misrouted.Load() {
			refused.Add(1)
			nginxError(w, http.StatusNotFound, false)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(ClientConfig{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	o := newMemOutbox()
	keys := enqueueN(o, 1, 20)
	var results sync.Map
	d := NewDrainer(o, c, DrainConfig{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		OnResult: func(r Result) { results.Store(r.Outcome, true) }})
	runDrainer(t, d)
	waitFor(t, "five refused attempts", func() bool { return refused.Load() >= 5 })
	if n := o.pending(); n != 20 {
		t.Fatalf("%d of 20 operations pending after the proxy's 404s, want all", n)
	}
	if _, ok := results.Load(Rejected); ok {
		t.Fatal("a proxy's 404 was counted as a rejection")
	}
	head, _ := o.find(keys[0])
	if head.attempts == 0 || !strings.Contains(head.lastErr, "404") || !strings.Contains(head.lastErr, "not central's") {
		t.Fatalf("head: attempts %d, last error %q; want the attempts recorded with the 404", head.attempts, head.lastErr)
	}
	if st := d.Status(); st.Online || !strings.Contains(st.LastError, "404") {
		t.Fatalf("status = %+v, want offline with the 404 as last error", st)
	}
	misrouted.Store(false)
	waitFor(t, "all acknowledged", func() bool { return o.pending() == 0 })
	checkExactlyOnceInOrder(t, sim, keys)
}

// retryAfterSubmitter answers the first n submissions with a 429 or 503
// asking to wait.
type retryAfterSubmitter struct {
	s     Submitter
	n     atomic.Int64
	after time.Duration
}

func (r *retryAfterSubmitter) Submit(ctx context.Context, op Operation) (Ack, error) {
	if r.n.Add(-1) >= 0 {
		return Ack{}, &ServerError{Status: 429, Code: "slow_down", RetryAfter: r.after}
	}
	return r.s.Submit(ctx, op)
}

// Retry-After on a 429/503 sets the wait before the next attempt, capped
// by MaxBackoff, and is recorded as the operation's next attempt.
func TestDrainHonoursRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  time.Duration
	}{
		{"30s", 30 * time.Second, 30 * time.Second},
		{"beyond the cap", 2 * time.Hour, 10 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, c, _ := startSim(t, SimConfig{})
			o := newMemOutbox()
			keys := enqueueN(o, 1, 3)
			start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
			clock := &autoClock{now: start}
			var nexts []time.Time
			var mu sync.Mutex
			d := NewDrainer(&nextRecorder{memOutbox: o, mu: &mu, nexts: &nexts}, &retryAfterSubmitter{s: c, after: tc.after},
				DrainConfig{Clock: clock, MinBackoff: 200 * time.Millisecond, MaxBackoff: 10 * time.Minute, Rand: func() float64 { return 0.999 }})
			sub := d.s.(*retryAfterSubmitter)
			sub.n.Store(2)
			runDrainer(t, d)
			waitFor(t, "all acknowledged", func() bool { return o.pending() == 0 })
			checkExactlyOnceInOrder(t, sim, keys)
			clock.mu.Lock()
			waits := slices.Clone(clock.waits)
			clock.mu.Unlock()
			if len(waits) != 2 || waits[0] != tc.want || waits[1] != tc.want {
				t.Fatalf("waits = %v, want two of %v (Retry-After %v, max backoff 10m)", waits, tc.want, tc.after)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(nexts) != 2 || nexts[0] != start.Add(tc.want) {
				t.Fatalf("recorded next attempts = %v, want the first at %v", nexts, start.Add(tc.want))
			}
		})
	}
}

// nextRecorder records the next attempts the drainer stores.
type nextRecorder struct {
	*memOutbox
	mu    *sync.Mutex
	nexts *[]time.Time
}

func (n *nextRecorder) RecordAttempt(key, lastErr string, next time.Time) error {
	n.mu.Lock()
	*n.nexts = append(*n.nexts, next)
	n.mu.Unlock()
	return n.memOutbox.RecordAttempt(key, lastErr, next)
}
