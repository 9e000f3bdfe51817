package pcsc

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
)

// Config says which reader serves which slot.
type Config struct {
	// Slots maps each slot to reader-name substrings, matched without
	// regard to case. A reader whose name matches patterns of several slots
	// serves the slot with the longest matching pattern, so "contact"
	// does not take a "Contactless" reader from "contactless", nor "icc" a
	// "PICC" one from "picc"; equally long matches (a dual reader listed
	// under both slots) serve all of them.
	Slots map[hwbridge.Slot][]string
	// TransmitTimeout bounds one APDU exchange when the caller's context has
	// no earlier deadline. Default 5 s.
	TransmitTimeout time.Duration
}

// DefaultTransmitTimeout is used when Config.TransmitTimeout is zero.
const DefaultTransmitTimeout = 5 * time.Second

// Errors callers branch on. The scard error, where there is one, is wrapped
// as well.
var (
	// ErrNotBuilt: this kioskd binary has no PC/SC driver.
	ErrNotBuilt = errors.New("kioskd was built without PC/SC support (install libpcsclite-dev and rebuild)")
	// ErrNoReader: no attached reader serves the slot.
	ErrNoReader = errors.New("pcsc: no reader attached for this slot")
	// ErrNoCard: the slot's reader has no card in it.
	ErrNoCard = hwbridge.ErrNoCard
	// ErrCardRemoved: the card left the reader (or was reset by another
	// application) during the exchange.
	ErrCardRemoved = errors.New("pcsc: card removed")
	// ErrReaderGone: the reader was unplugged or pcscd went away.
	ErrReaderGone = errors.New("pcsc: reader no longer available")
	// ErrShortResponse: the card answered with fewer than the two status
	// bytes, as a card dying mid-APDU does through vpcd.
	ErrShortResponse = errors.New("pcsc: card response shorter than a status word")
	// ErrRunTwice: Run was called a second time on the same Supervisor.
	ErrRunTwice = errors.New("pcsc: Run called twice on one supervisor")
	// ErrCardClosed: the Card was used after Close.
	ErrCardClosed = errors.New("pcsc: card connection closed")
)

// slotsFor returns the slots the reader serves, in a stable order: those
// whose longest matching pattern is the longest of any slot's.
func (c Config) slotsFor(reader string) []hwbridge.Slot {
	name := strings.ToLower(reader)
	var out []hwbridge.Slot
	best := 0
	for slot, pats := range c.Slots {
		n := 0
		for _, p := range pats {
			if len(p) > n && strings.Contains(name, strings.ToLower(p)) {
				n = len(p)
			}
		}
		switch {
		case n == 0 || n < best:
		case n > best:
			best, out = n, []hwbridge.Slot{slot}
		default:
			out = append(out, slot)
		}
	}
	slices.Sort(out)
	return out
}

func (c Config) transmitTimeout() time.Duration {
	if c.TransmitTimeout > 0 {
		return c.TransmitTimeout
	}
	return DefaultTransmitTimeout
}

// checkResponse enforces the hwbridge.Card contract: a response without its
// two status bytes is an error, never data.
func checkResponse(rsp []byte) ([]byte, error) {
	if len(rsp) < 2 {
		return nil, ErrShortResponse
	}
	return rsp, nil
}

// sortStates orders reader states by slot, then reader name.
func sortStates(s []hwbridge.ReaderState) {
	slices.SortFunc(s, func(a, b hwbridge.ReaderState) int {
		if c := strings.Compare(string(a.Slot), string(b.Slot)); c != 0 {
			return c
		}
		return strings.Compare(a.Reader, b.Reader)
	})
}
