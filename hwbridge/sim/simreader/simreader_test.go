package simreader

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/pcsc"
	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
)

var selectMF = []byte{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00}

func ssCard(t *testing.T) *cardsim.Card {
	t.Helper()
	p, err := cardsim.LoadProfile("../cardsim/testdata/ss_zhangsan.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := cardsim.New(p, cardsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func run(t *testing.T, r *Readers) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

func next(t *testing.T, r *Readers) hwbridge.ReaderEvent {
	t.Helper()
	select {
	case ev := <-r.Events():
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return hwbridge.ReaderEvent{}
}

func TestInsertConnectRemove(t *testing.T) {
	r := New(hwbridge.SlotID, hwbridge.SlotSS)
	run(t, r)
	for _, want := range []hwbridge.Slot{hwbridge.SlotID, hwbridge.SlotSS} {
		if ev := next(t, r); ev.Kind != hwbridge.ReaderAdded || ev.Slot != want {
			t.Fatalf("event %+v, want reader_added %s", ev, want)
		}
	}
	ctx := context.Background()
	if _, err := r.Connect(ctx, hwbridge.SlotSS); !errors.Is(err, pcsc.ErrNoCard) {
		t.Fatalf("Connect to empty reader = %v, want ErrNoCard", err)
	}
	card := ssCard(t)
	if err := r.Insert(hwbridge.SlotSS, card); err != nil {
		t.Fatal(err)
	}
	ev := next(t, r)
	if ev.Kind != hwbridge.CardInserted || ev.Slot != hwbridge.SlotSS || !bytes.Equal(ev.ATR, card.ATR()) {
		t.Fatalf("event %+v, want card_inserted ss with the card's ATR", ev)
	}
	st := r.Readers()
	if len(st) != 2 || st[1].Slot != hwbridge.SlotSS || !st[1].Card || st[0].Card {
		t.Fatalf("Readers() = %+v", st)
	}
	c, err := r.Connect(ctx, hwbridge.SlotSS)
	if err != nil {
		t.Fatal(err)
	}
	rsp, err := c.Transmit(ctx, selectMF)
	if err != nil || len(rsp) < 2 || rsp[len(rsp)-2] != 0x90 && rsp[len(rsp)-2] != 0x61 {
		t.Fatalf("SELECT MF = % X, %v", rsp, err)
	}
	if err := r.Remove(hwbridge.SlotSS); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, r); ev.Kind != hwbridge.CardRemoved || ev.Slot != hwbridge.SlotSS {
		t.Fatalf("event %+v, want card_removed ss", ev)
	}
	if _, err := c.Transmit(ctx, selectMF); !errors.Is(err, pcsc.ErrCardRemoved) {
		t.Fatalf("Transmit after removal = %v, want ErrCardRemoved", err)
	}
	// Putting the card back: the old connection stays dead, a new one works.
	if err := r.Insert(hwbridge.SlotSS, card); err != nil {
		t.Fatal(err)
	}
	next(t, r)
	if _, err := c.Transmit(ctx, selectMF); !errors.Is(err, pcsc.ErrCardRemoved) {
		t.Fatalf("old connection after re-insert = %v, want ErrCardRemoved", err)
	}
	c2, err := r.Connect(ctx, hwbridge.SlotSS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Transmit(ctx, selectMF); err != nil {
		t.Fatal(err)
	}
}

func TestInsertReplacesCard(t *testing.T) {
	r := New(hwbridge.SlotSS)
	run(t, r)
	next(t, r) // reader_added
	r.Insert(hwbridge.SlotSS, ssCard(t))
	next(t, r)
	r.Insert(hwbridge.SlotSS, ssCard(t))
	if ev := next(t, r); ev.Kind != hwbridge.CardRemoved {
		t.Fatalf("replacing a card: first event %+v, want card_removed", ev)
	}
	if ev := next(t, r); ev.Kind != hwbridge.CardInserted {
		t.Fatalf("replacing a card: second event %+v, want card_inserted", ev)
	}
}

func TestRunTwice(t *testing.T) {
	r := New(hwbridge.SlotSS)
	run(t, r)
	next(t, r) // the first Run is running
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Run(ctx); !errors.Is(err, pcsc.ErrRunTwice) {
		t.Fatalf("second Run = %v, want ErrRunTwice", err)
	}
}

func TestBadSlotAndEmptyRemove(t *testing.T) {
	r := New(hwbridge.SlotSS)
	if err := r.Insert("printer", ssCard(t)); !errors.Is(err, pcsc.ErrNoReader) {
		t.Errorf("Insert into unknown slot = %v, want ErrNoReader", err)
	}
	if err := r.Insert(hwbridge.SlotSS, nil); err == nil {
		t.Error("Insert(nil) = nil error")
	}
	if err := r.Remove(hwbridge.SlotSS); !errors.Is(err, pcsc.ErrNoCard) {
		t.Errorf("Remove from empty reader = %v, want ErrNoCard", err)
	}
	if _, err := r.Connect(context.Background(), "nope"); !errors.Is(err, pcsc.ErrNoReader) {
		t.Errorf("Connect(unknown) = %v, want ErrNoReader", err)
	}
}

// Events queued before Run (cards inserted at start-up) are delivered, in
// order, once Run starts; Insert never blocks on an undrained channel.
func TestInsertBeforeRunDoesNotBlock(t *testing.T) {
	r := New(hwbridge.SlotSS)
	for range 200 {
		r.Insert(hwbridge.SlotSS, ssCard(t))
	}
	run(t, r)
	if ev := next(t, r); ev.Kind != hwbridge.ReaderAdded {
		t.Fatalf("first event %+v", ev)
	}
	if ev := next(t, r); ev.Kind != hwbridge.CardInserted {
		t.Fatalf("second event %+v", ev)
	}
}

// The slow-card option is honoured through Connect: a deadline ends the wait.
func TestTransmitHonoursDeadline(t *testing.T) {
	p, _ := cardsim.LoadProfile("../cardsim/testdata/ss_zhangsan.json")
	slow, err := cardsim.New(p, cardsim.Options{Delay: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := New(hwbridge.SlotSS)
	r.Insert(hwbridge.SlotSS, slow)
	c, err := r.Connect(context.Background(), hwbridge.SlotSS)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Transmit(ctx, selectMF); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Transmit = %v, want DeadlineExceeded", err)
	}
}

// The daemon uses the simulated readers and the PC/SC supervisor through
// one interface.
var _ interface {
	Run(context.Context) error
	Events() <-chan hwbridge.ReaderEvent
	Connect(context.Context, hwbridge.Slot) (hwbridge.Card, error)
	Readers() []hwbridge.ReaderState
} = (*Readers)(nil)

var _ interface {
	Run(context.Context) error
	Events() <-chan hwbridge.ReaderEvent
	Connect(context.Context, hwbridge.Slot) (hwbridge.Card, error)
	Readers() []hwbridge.ReaderState
} = (*pcsc.Supervisor)(nil)
