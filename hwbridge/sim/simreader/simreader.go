// Package simreader is a set of in-process simulated card readers for the
// embedded default and the sim control API (POST /v1/sim/reader/{slot}/
// insert|remove). A card is put in with Insert and taken out with Remove;
// the cards are cardsim emulations, the same code `kioskd vcard` plugs into
// pcscd, so the card drivers exchange the same APDUs here as through PC/SC.
//
// Readers has the method set of pcsc.Supervisor (Run, Events, Connect,
// Readers) so the daemon drives either through one interface, and it
// reports errors with pcsc's sentinels (pcsc.ErrNoReader, pcsc.ErrNoCard,
// pcsc.ErrCardRemoved). It simulates readers only: no PC/SC, no vpcd, no
// card logic of its own.
package simreader

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/pcsc"
	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
)

// ReaderName is the name a simulated reader reports for its slot.
func ReaderName(slot hwbridge.Slot) string { return "kioskd simulated reader (" + string(slot) + ")" }

// Readers is one simulated reader per slot.
type Readers struct {
	slots []hwbridge.Slot
	ran   atomic.Bool

	mu      sync.Mutex
	cards   map[hwbridge.Slot]*cardsim.Card
	gen     map[hwbridge.Slot]uint64 // bumped on every insert and remove
	pending []hwbridge.ReaderEvent   // events waiting for Run to deliver
	wake    chan struct{}            // signalled when pending grows
	events  chan hwbridge.ReaderEvent
}

// New makes an empty reader for each slot. It starts nothing: Run delivers
// the events.
func New(slots ...hwbridge.Slot) *Readers {
	r := &Readers{
		slots:  slices.Clone(slots),
		cards:  map[hwbridge.Slot]*cardsim.Card{},
		gen:    map[hwbridge.Slot]uint64{},
		wake:   make(chan struct{}, 1),
		events: make(chan hwbridge.ReaderEvent, 64),
	}
	for _, s := range slots {
		r.pending = append(r.pending, hwbridge.ReaderEvent{Kind: hwbridge.ReaderAdded, Slot: s, Reader: ReaderName(s)})
	}
	return r
}

// Insert puts card into slot's reader (taking out the card already there,
// if any) and powers it up.
func (r *Readers) Insert(slot hwbridge.Slot, card *cardsim.Card) error {
	if card == nil {
		return fmt.Errorf("simreader: insert into slot %q: no card", slot)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.slots, slot) {
		return fmt.Errorf("%w (slot %q)", pcsc.ErrNoReader, slot)
	}
	if r.cards[slot] != nil {
		r.removeLocked(slot)
	}
	card.Reset()
	r.cards[slot] = card
	r.gen[slot]++
	r.queueLocked(hwbridge.ReaderEvent{Kind: hwbridge.CardInserted, Slot: slot, Reader: ReaderName(slot), ATR: card.ATR()})
	return nil
}

// Remove takes the card out of slot's reader; connections to it fail from
// now on with pcsc.ErrCardRemoved. Removing from an empty reader is
// pcsc.ErrNoCard.
func (r *Readers) Remove(slot hwbridge.Slot) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.slots, slot) {
		return fmt.Errorf("%w (slot %q)", pcsc.ErrNoReader, slot)
	}
	if r.cards[slot] == nil {
		return fmt.Errorf("%w (slot %q)", pcsc.ErrNoCard, slot)
	}
	r.removeLocked(slot)
	return nil
}

func (r *Readers) removeLocked(slot hwbridge.Slot) {
	delete(r.cards, slot)
	r.gen[slot]++
	r.queueLocked(hwbridge.ReaderEvent{Kind: hwbridge.CardRemoved, Slot: slot, Reader: ReaderName(slot)})
}

func (r *Readers) queueLocked(ev hwbridge.ReaderEvent) {
	r.pending = append(r.pending, ev)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Events delivers reader and card events while Run runs (first a
// ReaderAdded per slot); it is closed when Run returns.
func (r *Readers) Events() <-chan hwbridge.ReaderEvent { return r.events }

// Run delivers events until ctx is done, then returns nil. Run may be
// called once.
func (r *Readers) Run(ctx context.Context) error {
	if r.ran.Swap(true) {
		return pcsc.ErrRunTwice
	}
	defer close(r.events)
	for {
		r.mu.Lock()
		batch := r.pending
		r.pending = nil
		r.mu.Unlock()
		for _, ev := range batch {
			select {
			case r.events <- ev:
			case <-ctx.Done():
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		}
	}
}

// Readers is a snapshot of every simulated reader.
func (r *Readers) Readers() []hwbridge.ReaderState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]hwbridge.ReaderState, 0, len(r.slots))
	for _, s := range r.slots {
		st := hwbridge.ReaderState{Slot: s, Reader: ReaderName(s), Present: true}
		if c := r.cards[s]; c != nil {
			st.Card, st.ATR = true, c.ATR()
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b hwbridge.ReaderState) int {
		switch {
		case a.Slot < b.Slot:
			return -1
		case a.Slot > b.Slot:
			return 1
		}
		return 0
	})
	return out
}

// Connect opens the card in slot's reader. The connection is good until the
// card is removed or replaced.
func (r *Readers) Connect(ctx context.Context, slot hwbridge.Slot) (hwbridge.Card, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.slots, slot) {
		return nil, fmt.Errorf("%w (slot %q)", pcsc.ErrNoReader, slot)
	}
	c := r.cards[slot]
	if c == nil {
		return nil, fmt.Errorf("%w (slot %q)", pcsc.ErrNoCard, slot)
	}
	return &conn{r: r, slot: slot, gen: r.gen[slot], card: cardsim.Direct(c)}, nil
}

// conn is a connection to a simulated card that fails once the card left.
type conn struct {
	r    *Readers
	slot hwbridge.Slot
	gen  uint64
	card hwbridge.Card
}

func (c *conn) present() bool {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	return c.r.gen[c.slot] == c.gen
}

func (c *conn) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if !c.present() {
		return nil, fmt.Errorf("%w (slot %q)", pcsc.ErrCardRemoved, c.slot)
	}
	rsp, err := c.card.Transmit(ctx, cmd)
	if err == nil && !c.present() { // pulled while it answered
		return nil, fmt.Errorf("%w (slot %q)", pcsc.ErrCardRemoved, c.slot)
	}
	return rsp, err
}

// Reset resets the card while it is in the reader (hwbridge.Resetter).
func (c *conn) Reset(ctx context.Context) error {
	if !c.present() {
		return fmt.Errorf("%w (slot %q)", pcsc.ErrCardRemoved, c.slot)
	}
	return c.card.(hwbridge.Resetter).Reset(ctx)
}

func (c *conn) ATR() []byte  { return c.card.ATR() }
func (c *conn) Close() error { return c.card.Close() }
