//go:build pcsc

package pcsc_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/pcsc"
	"github.com/kioskd/kioskd/hwbridge/sim/vpcd"
	"github.com/kioskd/kioskd/scripts/rig"
)

// waitTimeout bounds every wait for an event: generous, because pcscd polls
// vpcd every 400 ms and the machine is shared.
const waitTimeout = 20 * time.Second

var testATR = []byte{0x3B, 0x8A, 0x80, 0x01, 0x4B, 0x49, 0x4F, 0x53, 0x4B, 0x44, 0x54, 0x45, 0x53, 0x54, 0x4A}

// echoCard answers SELECT with 90 00 and anything else with its INS and
// 90 00, and counts APDUs.
type echoCard struct{ apdus atomic.Int32 }

func (c *echoCard) ATR() []byte { return testATR }
func (c *echoCard) Process(cmd []byte) []byte {
	c.apdus.Add(1)
	if cmd[1] == 0xA4 {
		return []byte{0x90, 0x00}
	}
	return []byte{cmd[1], 0x90, 0x00}
}
func (c *echoCard) Reset() {}

// stack is a private pcscd plus a running supervisor with the vpcd slot 0
// as "ss" and slot 1 as "id".
type stack struct {
	t    testing.TB
	d    *rig.PCSCDaemon
	sup  *pcsc.Supervisor
	stop func()
}

func newStack(t testing.TB) *stack {
	t.Helper()
	d := rig.PCSCD(t)
	sup := pcsc.New(pcsc.Config{Slots: map[hwbridge.Slot][]string{
		hwbridge.SlotSS: {d.ReaderName(0)},
		hwbridge.SlotID: {"virtual pcd 00 01"}, // case does not matter
	}, TransmitTimeout: 5 * time.Second}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	st := &stack{t: t, d: d, sup: sup}
	var once sync.Once
	st.stop = func() { once.Do(func() { stopRun(t, cancel, done) }) }
	t.Cleanup(st.stop)
	st.want(hwbridge.ReaderAdded, hwbridge.SlotSS)
	return st
}

func stopRun(t testing.TB, cancel func(), done chan error) {
	t.Helper()
	{
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("Run did not return after cancel")
		}
	}
}

// want waits for an event of kind at slot, skipping others.
func (st *stack) want(kind hwbridge.EventKind, slot hwbridge.Slot) hwbridge.ReaderEvent {
	st.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev, ok := <-st.sup.Events():
			if !ok {
				st.t.Fatalf("events closed while waiting for %s at %s", kind, slot)
			}
			if ev.Kind == kind && ev.Slot == slot {
				return ev
			}
		case <-deadline:
			st.t.Fatalf("no %s event at slot %s\npcscd log:\n%s", kind, slot, st.d.Log())
		}
	}
}

// wantAny waits for an event at slot of one of kinds, skipping others.
func (st *stack) wantAny(slot hwbridge.Slot, kinds ...hwbridge.EventKind) hwbridge.ReaderEvent {
	st.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev, ok := <-st.sup.Events():
			if !ok {
				st.t.Fatalf("events closed while waiting for %v at %s", kinds, slot)
			}
			if ev.Slot == slot && slices.Contains(kinds, ev.Kind) {
				return ev
			}
		case <-deadline:
			st.t.Fatalf("no %v event at slot %s\npcscd log:\n%s", kinds, slot, st.d.Log())
		}
	}
}

// insert runs a virtual card on vpcd slot i until the returned stop is called.
func (st *stack) insert(i int, card vpcd.Card, opts vpcd.Options) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if opts.RetryInterval == 0 {
		opts.RetryInterval = 50 * time.Millisecond
	}
	go func() { done <- vpcd.Serve(ctx, st.d.VPCDAddrSlot(i), card, opts) }()
	var stopped bool
	var result error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			result = <-done
		}
		return result
	}
	st.t.Cleanup(func() { stop() })
	return stop
}

func TestSupervisorCardLifecycle(t *testing.T) {
	leakCheck(t)
	st := newStack(t)
	card := &echoCard{}
	remove := st.insert(0, card, vpcd.Options{})
	ev := st.want(hwbridge.CardInserted, hwbridge.SlotSS)
	if !bytes.Equal(ev.ATR, testATR) {
		t.Errorf("inserted ATR = % X, want % X", ev.ATR, testATR)
	}
	if ev.Reader != st.d.ReaderName(0) {
		t.Errorf("reader = %q, want %q", ev.Reader, st.d.ReaderName(0))
	}
	var ss hwbridge.ReaderState
	for _, r := range st.sup.Readers() {
		if r.Slot == hwbridge.SlotSS {
			ss = r
		}
	}
	if !ss.Present || !ss.Card || !bytes.Equal(ss.ATR, testATR) {
		t.Errorf("Readers() ss = %+v, want present with card", ss)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := st.sup.Connect(ctx, hwbridge.SlotSS)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if !bytes.Equal(c.ATR(), testATR) {
		t.Errorf("card ATR = % X", c.ATR())
	}
	rsp, err := c.Transmit(ctx, []byte{0x00, 0xB2, 0x07, 0x00, 0x0B})
	if err != nil || !bytes.Equal(rsp, []byte{0xB2, 0x90, 0x00}) {
		t.Fatalf("Transmit = % X, %v; want B2 90 00", rsp, err)
	}
	if _, err := c.Transmit(ctx, []byte{0x00}); err == nil {
		t.Error("Transmit of a 1-byte command: no error")
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := c.Transmit(ctx, []byte{0x00, 0xB2, 0x07, 0x00}); !errors.Is(err, pcsc.ErrCardClosed) {
		t.Errorf("Transmit after Close = %v, want ErrCardClosed", err)
	}
	if _, err := st.sup.Connect(ctx, hwbridge.SlotID); !errors.Is(err, pcsc.ErrNoCard) {
		t.Errorf("Connect(id) with no card = %v, want ErrNoCard", err)
	}
	if _, err := st.sup.Connect(ctx, "printer"); !errors.Is(err, pcsc.ErrNoReader) {
		t.Errorf("Connect(unmapped slot) = %v, want ErrNoReader", err)
	}

	remove()
	st.want(hwbridge.CardRemoved, hwbridge.SlotSS)
}

// A card that answers fewer than two bytes (a dying card) is an error, not data.
func TestShortResponseIsAnError(t *testing.T) {
	st := newStack(t)
	st.insert(0, &echoCard{}, vpcd.Options{Garbage: true})
	st.want(hwbridge.CardInserted, hwbridge.SlotSS)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := st.sup.Connect(ctx, hwbridge.SlotSS)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer c.Close()
	rsp, err := c.Transmit(ctx, []byte{0x00, 0x84, 0x00, 0x00, 0x08})
	if err == nil {
		t.Fatalf("Transmit = % X, nil error; want an error for a response without status word", rsp)
	}
	t.Logf("short response error: %v", err)
}

// The vpcd side closing its connection is the card leaving the reader.
func TestVPCDCloseIsCardRemoved(t *testing.T) {
	st := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn, err := vpcd.Dial(ctx, st.d.VPCDAddr())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- conn.Serve(context.Background(), &echoCard{}, vpcd.Options{}) }()
	st.want(hwbridge.CardInserted, hwbridge.SlotSS)
	conn.Close()
	<-served
	st.want(hwbridge.CardRemoved, hwbridge.SlotSS)
	// The reader stays: a new card is seen.
	st.insert(0, &echoCard{}, vpcd.Options{})
	st.want(hwbridge.CardInserted, hwbridge.SlotSS)
}

// A card pulled while an APDU is in flight: the exchange fails with an
// error, the supervisor reports the removal and sees the next card.
func TestCardPulledMidTransaction(t *testing.T) {
	st := newStack(t)
	remove := st.insert(0, &echoCard{}, vpcd.Options{Delay: 2 * time.Second})
	st.want(hwbridge.CardInserted, hwbridge.SlotSS)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := st.sup.Connect(ctx, hwbridge.SlotSS)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer c.Close()
	res := make(chan error, 1)
	go func() {
		_, err := c.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x10})
		res <- err
	}()
	time.Sleep(300 * time.Millisecond) // let the APDU reach the card
	remove()
	if err := <-res; err == nil {
		t.Fatal("Transmit succeeded although the card was pulled")
	}
	st.want(hwbridge.CardRemoved, hwbridge.SlotSS)
	st.insert(0, &echoCard{}, vpcd.Options{})
	st.want(hwbridge.CardInserted, hwbridge.SlotSS)
	c2, err := st.sup.Connect(ctx, hwbridge.SlotSS)
	if err != nil {
		t.Fatalf("Connect after re-insert: %v", err)
	}
	defer c2.Close()
	if _, err := c2.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x10}); err != nil {
		t.Fatalf("Transmit to the next card: %v", err)
	}
}

// A Transmit honours the caller's deadline even when the card is slow.
func TestTransmitHonoursDeadline(t *testing.T) {
	st := newStack(t)
	st.insert(0, &echoCard{}, vpcd.Options{Delay: 3 * time.Second})
	st.want(hwbridge.CardInserted, hwbridge.SlotSS)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := st.sup.Connect(ctx, hwbridge.SlotSS)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer c.Close()
	short, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	_, err = c.Transmit(short, []byte{0x00, 0xB0, 0x00, 0x00, 0x10})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Transmit past deadline = %v, want DeadlineExceeded", err)
	}
}

// pcscd killed and started again while the supervisor runs: readers are
// reported removed, then added back, and the card is seen again.
func TestPCSCDKilledAndRestarted(t *testing.T) {
	leakCheck(t)
	st := newStack(t)
	st.insert(0, &echoCard{}, vpcd.Options{})
	st.want(hwbridge.CardInserted, hwbridge.SlotSS)

	st.d.Kill()
	st.want(hwbridge.CardRemoved, hwbridge.SlotSS)
	st.want(hwbridge.ReaderRemoved, hwbridge.SlotSS)
	for _, r := range st.sup.Readers() {
		if r.Present {
			t.Errorf("after pcscd died, Readers() still shows %+v", r)
		}
	}
	st.d.Start()
	st.want(hwbridge.ReaderAdded, hwbridge.SlotSS)
	st.want(hwbridge.CardInserted, hwbridge.SlotSS)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := st.sup.Connect(ctx, hwbridge.SlotSS)
	if err != nil {
		t.Fatalf("Connect after pcscd restart: %v", err)
	}
	if _, err := c.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x10}); err != nil {
		t.Fatalf("Transmit after pcscd restart: %v", err)
	}
	c.Close()
}

// leakCheck fails the test when, after every cleanup of the test (which
// stops the supervisor, the virtual cards and pcscd), more goroutines run
// than before it.
func leakCheck(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		var now int
		for range 250 {
			now = runtime.NumGoroutine()
			if now <= before {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		buf := make([]byte, 1<<16)
		n := runtime.Stack(buf, true)
		t.Errorf("goroutine leak: %d before, %d after\n%s", before, now, buf[:n])
	})
}

// With pcscd gone, Run keeps trying to reach it and still returns promptly
// when its context ends; Readers shows nothing attached meanwhile.
func TestRunReturnsWhilePCSCDIsDown(t *testing.T) {
	leakCheck(t)
	st := newStack(t)
	st.d.Stop()
	st.want(hwbridge.ReaderRemoved, hwbridge.SlotSS)
	time.Sleep(300 * time.Millisecond) // let Run enter its reconnect backoff
	for _, r := range st.sup.Readers() {
		if r.Present {
			t.Errorf("pcscd is down but Readers() shows %+v", r)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := st.sup.Connect(ctx, hwbridge.SlotSS); !errors.Is(err, pcsc.ErrNoReader) {
		t.Errorf("Connect with pcscd down = %v, want ErrNoReader", err)
	}
	st.stop()
}

// resetCard is an echoCard that counts its resets (vpcd's reset and power
// on messages).
type resetCard struct {
	echoCard
	resets atomic.Int32
}

func (c *resetCard) Reset() { c.resets.Add(1) }

// Reset on a connection reaches the card through pcscd and the vpcd driver,
// keeps the connection usable, and is no removal and insertion: the
// supervisor reports no event for it.
func TestResetReachesCardWithoutEvents(t *testing.T) {
	st := newStack(t)
	card := &resetCard{}
	st.insert(1, card, vpcd.Options{})
	st.want(hwbridge.CardInserted, hwbridge.SlotID)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := st.sup.Connect(ctx, hwbridge.SlotID)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer c.Close()
	before := card.resets.Load()
	if err := c.(hwbridge.Resetter).Reset(ctx); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if card.resets.Load() == before {
		t.Error("Reset did not reach the card")
	}
	if rsp, err := c.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x10}); err != nil || !bytes.Equal(rsp, []byte{0xB0, 0x90, 0x00}) {
		t.Fatalf("Transmit after Reset = % X, %v; want B0 90 00", rsp, err)
	}
	// A card put in the other reader marks the end: every event of the
	// reset, if any, came before its insertion.
	st.insert(0, &echoCard{}, vpcd.Options{})
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev := <-st.sup.Events():
			if ev.Slot == hwbridge.SlotID {
				t.Errorf("event %s at the id slot after a reset, want none", ev.Kind)
			}
			if ev.Slot == hwbridge.SlotSS && ev.Kind == hwbridge.CardInserted {
				return
			}
		case <-deadline:
			t.Fatal("no CardInserted at the ss slot")
		}
	}
}
