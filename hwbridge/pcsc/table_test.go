package pcsc

import (
	"errors"
	"slices"
	"testing"

	"github.com/kioskd/kioskd/hwbridge"
)

const (
	contact = "ACS ACR39U ICC Reader 00 00"
	other   = "Some Other Reader 01 00"
	dual    = "Identiv uTrust Dual 02 00"
)

var atr1 = []byte{0x3B, 0x6A, 0x00, 0x00, 0x01}

type ev struct {
	kind hwbridge.EventKind
	slot hwbridge.Slot
}

func kinds(evs []hwbridge.ReaderEvent) []ev {
	out := []ev{}
	for _, e := range evs {
		out = append(out, ev{e.Kind, e.Slot})
	}
	return out
}

func wantEvents(t *testing.T, step string, got []hwbridge.ReaderEvent, want ...ev) {
	t.Helper()
	if want == nil {
		want = []ev{}
	}
	if g := kinds(got); !slices.Equal(g, want) {
		t.Errorf("%s: events %v, want %v", step, g, want)
	}
}

func newTestTable() *table {
	return newTable(Config{Slots: map[hwbridge.Slot][]string{
		hwbridge.SlotSS: {"acr39", "dual"},
		hwbridge.SlotID: {"dual"},
	}})
}

// Readers unplugged and plugged back, a card pulled with its reader, and
// pcscd vanishing: the events a kiosk sees, in order.
func TestTableHotPlug(t *testing.T) {
	tab := newTestTable()
	wantEvents(t, "first list", tab.sync([]string{contact, other}),
		ev{hwbridge.ReaderAdded, hwbridge.SlotSS}, ev{hwbridge.ReaderAdded, ""})
	wantEvents(t, "same list again", tab.sync([]string{other, contact}))

	evs := tab.setCard(contact, true, atr1, 1)
	wantEvents(t, "card in", evs, ev{hwbridge.CardInserted, hwbridge.SlotSS})
	if !slices.Equal(evs[0].ATR, atr1) || evs[0].Reader != contact {
		t.Errorf("card in: %+v", evs[0])
	}
	if name, err := tab.readerFor(hwbridge.SlotSS); err != nil || name != contact {
		t.Errorf("readerFor(ss) = %q, %v", name, err)
	}
	if _, err := tab.readerFor(hwbridge.SlotID); !errors.Is(err, ErrNoReader) {
		t.Errorf("readerFor(id) = %v, want ErrNoReader", err)
	}

	// Unplugging a reader with a card: the card goes first, then the reader.
	wantEvents(t, "unplug", tab.sync([]string{other}),
		ev{hwbridge.CardRemoved, hwbridge.SlotSS}, ev{hwbridge.ReaderRemoved, hwbridge.SlotSS})
	if _, err := tab.readerFor(hwbridge.SlotSS); !errors.Is(err, ErrNoReader) {
		t.Errorf("readerFor(ss) after unplug = %v, want ErrNoReader", err)
	}
	wantEvents(t, "plug back", tab.sync([]string{other, contact}), ev{hwbridge.ReaderAdded, hwbridge.SlotSS})
	if _, err := tab.readerFor(hwbridge.SlotSS); !errors.Is(err, ErrNoCard) {
		t.Errorf("readerFor(ss) with empty reader = %v, want ErrNoCard", err)
	}
	wantEvents(t, "card in again", tab.setCard(contact, true, atr1, 3), ev{hwbridge.CardInserted, hwbridge.SlotSS})

	// pcscd gone: everything leaves.
	got := tab.sync(nil)
	slices.SortFunc(got, func(a, b hwbridge.ReaderEvent) int {
		if a.Kind != b.Kind {
			if a.Kind == hwbridge.CardRemoved {
				return -1
			}
			return 1
		}
		return 0
	})
	if len(got) != 3 || got[0].Kind != hwbridge.CardRemoved {
		t.Errorf("pcscd gone: events %v", kinds(got))
	}
	for _, st := range tab.states() {
		if st.Present || st.Card {
			t.Errorf("pcscd gone: state %+v", st)
		}
	}
}

func TestTableCardPulledAndPutBackBetweenWaits(t *testing.T) {
	tab := newTestTable()
	tab.sync([]string{contact})
	tab.setCard(contact, true, atr1, 1)
	wantEvents(t, "no change", tab.setCard(contact, true, atr1, 1))
	wantEvents(t, "same card out and in", tab.setCard(contact, true, atr1, 3),
		ev{hwbridge.CardRemoved, hwbridge.SlotSS}, ev{hwbridge.CardInserted, hwbridge.SlotSS})
	wantEvents(t, "card out", tab.setCard(contact, false, nil, 4), ev{hwbridge.CardRemoved, hwbridge.SlotSS})
	wantEvents(t, "still out", tab.setCard(contact, false, nil, 4))
	wantEvents(t, "unknown reader", tab.setCard("nobody", true, atr1, 1))
}

func TestTableDualReaderServesBothSlots(t *testing.T) {
	tab := newTestTable()
	wantEvents(t, "dual added", tab.sync([]string{dual}),
		ev{hwbridge.ReaderAdded, hwbridge.SlotID}, ev{hwbridge.ReaderAdded, hwbridge.SlotSS})
	wantEvents(t, "card in dual", tab.setCard(dual, true, atr1, 1),
		ev{hwbridge.CardInserted, hwbridge.SlotID}, ev{hwbridge.CardInserted, hwbridge.SlotSS})
	for _, slot := range []hwbridge.Slot{hwbridge.SlotID, hwbridge.SlotSS} {
		if name, err := tab.readerFor(slot); err != nil || name != dual {
			t.Errorf("readerFor(%s) = %q, %v", slot, name, err)
		}
	}
	st := tab.states()
	if len(st) != 2 || st[0].Slot != hwbridge.SlotID || st[1].Slot != hwbridge.SlotSS || !st[0].Card || !st[1].Card {
		t.Errorf("states = %+v", st)
	}
}

// With two readers for one slot, Connect goes to the one holding a card.
func TestTablePrefersReaderWithCard(t *testing.T) {
	tab := newTable(Config{Slots: map[hwbridge.Slot][]string{hwbridge.SlotSS: {"reader"}}})
	tab.sync([]string{"A reader", "B reader"})
	tab.setCard("B reader", true, atr1, 1)
	if name, err := tab.readerFor(hwbridge.SlotSS); err != nil || name != "B reader" {
		t.Errorf("readerFor = %q, %v; want the reader with the card", name, err)
	}
}
