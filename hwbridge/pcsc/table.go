package pcsc

import (
	"fmt"
	"slices"
	"sync"

	"github.com/kioskd/kioskd/hwbridge"
)

// table is the supervisor's picture of the attached readers and their
// cards. It is bookkeeping only, without PC/SC, so the hot-plug logic
// (readers coming and going, cards pulled and put back) is tested without
// pcscd; the supervisor feeds it what GetStatusChange reports and sends on
// the events it returns.
type table struct {
	cfg     Config
	mu      sync.Mutex
	readers map[string]*reader // attached readers by name
}

func newTable(cfg Config) *table {
	return &table{cfg: cfg, readers: map[string]*reader{}}
}

// reader is what the supervisor knows of one attached reader.
type reader struct {
	name  string
	slots []hwbridge.Slot
	card  bool
	atr   []byte
	// count is pcsc-lite's card event counter (upper 16 bits of the event
	// state): it moves on every insertion and removal, so a card pulled and
	// put back between two waits is still seen.
	count uint16
}

// states is a snapshot of every configured slot and every attached reader:
// one entry per (slot, reader) pair, a configured slot without a reader as
// an entry with Present false, and a reader that serves no slot with an
// empty Slot.
func (t *table) states() []hwbridge.ReaderState {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []hwbridge.ReaderState
	served := map[hwbridge.Slot]bool{}
	for _, r := range t.readers {
		st := hwbridge.ReaderState{Reader: r.name, Present: true, Card: r.card, ATR: slices.Clone(r.atr)}
		if len(r.slots) == 0 {
			out = append(out, st)
		}
		for _, slot := range r.slots {
			st.Slot = slot
			served[slot] = true
			out = append(out, st)
		}
	}
	for slot := range t.cfg.Slots {
		if !served[slot] {
			out = append(out, hwbridge.ReaderState{Slot: slot})
		}
	}
	sortStates(out)
	return out
}

// sync makes the reader table match names (nil: pcscd is gone), returning
// CardRemoved and ReaderRemoved for readers that left and ReaderAdded for
// readers that came.
func (t *table) sync(names []string) []hwbridge.ReaderEvent {
	var evs []hwbridge.ReaderEvent
	t.mu.Lock()
	for name, r := range t.readers {
		if slices.Contains(names, name) {
			continue
		}
		if r.card {
			evs = append(evs, r.events(hwbridge.CardRemoved, nil)...)
		}
		evs = append(evs, r.events(hwbridge.ReaderRemoved, nil)...)
		delete(t.readers, name)
	}
	for _, name := range names {
		if _, ok := t.readers[name]; ok {
			continue
		}
		r := &reader{name: name, slots: t.cfg.slotsFor(name)}
		t.readers[name] = r
		evs = append(evs, r.events(hwbridge.ReaderAdded, nil)...)
	}
	t.mu.Unlock()
	return evs
}

// setCard records whether reader holds a card and returns the events of the change.
func (t *table) setCard(name string, present bool, atr []byte, count uint16) []hwbridge.ReaderEvent {
	var evs []hwbridge.ReaderEvent
	t.mu.Lock()
	r, ok := t.readers[name]
	moved := ok && r.count != count
	if ok {
		r.count = count
	}
	if ok && r.card != present {
		r.card = present
		if present {
			r.atr = slices.Clone(atr)
			evs = r.events(hwbridge.CardInserted, r.atr)
		} else {
			r.atr = nil
			evs = r.events(hwbridge.CardRemoved, nil)
		}
	} else if ok && present && (moved || !slices.Equal(r.atr, atr)) {
		// Removed and inserted again between two waits: report both.
		r.atr = slices.Clone(atr)
		evs = append(r.events(hwbridge.CardRemoved, nil), r.events(hwbridge.CardInserted, r.atr)...)
	}
	t.mu.Unlock()
	return evs
}

// readerFor picks the reader serving slot, preferring one with a card.
func (t *table) readerFor(slot hwbridge.Slot) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var serving []*reader
	for _, r := range t.readers {
		if slices.Contains(r.slots, slot) {
			serving = append(serving, r)
		}
	}
	if len(serving) == 0 {
		return "", fmt.Errorf("%w (slot %q)", ErrNoReader, slot)
	}
	slices.SortFunc(serving, func(a, b *reader) int {
		if a.name < b.name {
			return -1
		}
		return 1
	})
	for _, r := range serving {
		if r.card {
			return r.name, nil
		}
	}
	return "", fmt.Errorf("%w (slot %q)", ErrNoCard, slot)
}

// events builds one event per slot the reader serves (one with an empty
// slot when it serves none).
func (r *reader) events(kind hwbridge.EventKind, atr []byte) []hwbridge.ReaderEvent {
	if len(r.slots) == 0 {
		return []hwbridge.ReaderEvent{{Kind: kind, Reader: r.name, ATR: slices.Clone(atr)}}
	}
	out := make([]hwbridge.ReaderEvent, 0, len(r.slots))
	for _, slot := range r.slots {
		out = append(out, hwbridge.ReaderEvent{Kind: kind, Slot: slot, Reader: r.name, ATR: slices.Clone(atr)})
	}
	return out
}
