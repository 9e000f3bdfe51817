//go:build pcsc

package pcsc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebfe/scard"

	"github.com/kioskd/kioskd/hwbridge"
)

// Built reports whether this binary has the real PC/SC driver.
const Built = true

// pnpReader is pcsc-lite's pseudo-reader whose state changes when readers
// are added or removed (DOMAIN.md, "PC/SC on Linux").
const pnpReader = `\\?PnP?\Notification`

// Backoff between attempts to reach pcscd while it is stopped.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// cancelEvery is how often a cancelled Run repeats SCardCancel until its
// loop has noticed: SCardCancel only wakes a call already waiting, so a
// cancel that lands between two calls must be repeated.
const cancelEvery = 50 * time.Millisecond

// Supervisor watches the PC/SC readers and hands out connections to cards.
type Supervisor struct {
	cfg    Config
	log    *slog.Logger
	events chan hwbridge.ReaderEvent

	ran atomic.Bool // Run was called

	mu      sync.Mutex
	readers map[string]*reader // attached readers by name
	sctx    *scard.Context     // monitoring context while Run holds one
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

// New returns a supervisor for cfg. It starts nothing: Run does. log may be
// nil.
func New(cfg Config, log *slog.Logger) *Supervisor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Supervisor{
		cfg:     cfg,
		log:     log.With("component", "pcsc"),
		events:  make(chan hwbridge.ReaderEvent, 64),
		readers: map[string]*reader{},
	}
}

// Events delivers reader and card events while Run runs; it is closed when
// Run returns. Run waits for the receiver when the buffer (64 events) is
// full, so the receiver must keep draining it.
func (s *Supervisor) Events() <-chan hwbridge.ReaderEvent { return s.events }

// Readers is a snapshot of every configured slot and every attached reader:
// one entry per (slot, reader) pair, a configured slot without a reader as
// an entry with Present false, and a reader that serves no slot with an
// empty Slot.
func (s *Supervisor) Readers() []hwbridge.ReaderState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []hwbridge.ReaderState
	served := map[hwbridge.Slot]bool{}
	for _, r := range s.readers {
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
	for slot := range s.cfg.Slots {
		if !served[slot] {
			out = append(out, hwbridge.ReaderState{Slot: slot})
		}
	}
	sortStates(out)
	return out
}

// Run watches the readers until ctx is done, then returns nil after its
// goroutines have exited. pcscd being absent or restarting is not an error:
// Run keeps trying to reach it with backoff and reports every reader as
// removed meanwhile. Run may be called once.
func (s *Supervisor) Run(ctx context.Context) error {
	if s.ran.Swap(true) {
		return ErrRunTwice
	}
	defer close(s.events)
	loopDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // wakes a GetStatusChange waiting when ctx ends
		defer wg.Done()
		select {
		case <-loopDone:
			return
		case <-ctx.Done():
		}
		t := time.NewTicker(cancelEvery)
		defer t.Stop()
		for {
			s.mu.Lock()
			if s.sctx != nil {
				_ = s.sctx.Cancel()
			}
			s.mu.Unlock()
			select {
			case <-loopDone:
				return
			case <-t.C:
			}
		}
	}()
	s.loop(ctx)
	close(loopDone)
	wg.Wait()
	return nil
}

// loop is Run's body: one PC/SC context per pcscd lifetime.
func (s *Supervisor) loop(ctx context.Context) {
	backoff := minBackoff
	reported := false
	for ctx.Err() == nil {
		sctx, err := scard.EstablishContext()
		if err != nil {
			if !reported {
				s.log.Warn("pcscd not reachable; retrying", "err", err)
				reported = true
			}
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		if reported {
			s.log.Info("pcscd reachable again")
		}
		reported = false
		backoff = minBackoff
		s.mu.Lock()
		s.sctx = sctx
		s.mu.Unlock()

		err = s.watch(ctx, sctx)

		s.mu.Lock()
		s.sctx = nil
		s.mu.Unlock()
		_ = sctx.Release()
		if ctx.Err() != nil {
			return
		}
		// pcscd went away: every reader with it.
		s.log.Warn("lost pcscd; re-establishing", "err", err)
		s.sync(ctx, nil)
		if !sleep(ctx, minBackoff) {
			return
		}
	}
}

// watch waits for state changes on one PC/SC context until ctx is done or
// the context dies with pcscd; it returns why.
func (s *Supervisor) watch(ctx context.Context, sctx *scard.Context) error {
	states := []scard.ReaderState{{Reader: pnpReader, CurrentState: scard.StateUnaware}}
	relist := true
	for ctx.Err() == nil {
		if relist {
			names, err := sctx.ListReaders()
			if errors.Is(err, scard.ErrNoReadersAvailable) {
				names, err = nil, nil
			}
			if err != nil {
				return fmt.Errorf("list readers: %w", err)
			}
			states = keepStates(states, names)
			s.sync(ctx, names)
			relist = false
		}
		err := sctx.GetStatusChange(states, -1)
		switch {
		case err == nil:
		case errors.Is(err, scard.ErrCancelled), errors.Is(err, scard.ErrTimeout):
			continue // ctx done (checked by the loop) or spurious
		case errors.Is(err, scard.ErrUnknownReader), errors.Is(err, scard.ErrReaderUnavailable):
			relist = true // a reader vanished between list and wait
			continue
		default:
			return fmt.Errorf("wait for reader state: %w", err)
		}
		for i := range states {
			st := &states[i]
			if st.EventState&scard.StateChanged == 0 {
				continue
			}
			st.CurrentState = st.EventState &^ scard.StateChanged
			if st.Reader == pnpReader {
				relist = true
				continue
			}
			if st.EventState&(scard.StateUnknown|scard.StateUnavailable) != 0 {
				relist = true
				continue
			}
			present := st.EventState&scard.StatePresent != 0 && st.EventState&scard.StateMute == 0
			s.setCard(ctx, st.Reader, present, st.Atr, uint16(st.EventState>>16))
		}
	}
	return ctx.Err()
}

// keepStates returns the PnP pseudo-reader plus one state per name, keeping
// the known state of readers still present so no change is reported twice.
func keepStates(old []scard.ReaderState, names []string) []scard.ReaderState {
	out := []scard.ReaderState{old[0]}
	for _, n := range names {
		st := scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
		for _, o := range old[1:] {
			if o.Reader == n {
				st = o
				break
			}
		}
		out = append(out, st)
	}
	return out
}

// sync makes the reader table match names (nil: pcscd is gone), emitting
// CardRemoved and ReaderRemoved for readers that left and ReaderAdded for
// readers that came.
func (s *Supervisor) sync(ctx context.Context, names []string) {
	var evs []hwbridge.ReaderEvent
	s.mu.Lock()
	for name, r := range s.readers {
		if slices.Contains(names, name) {
			continue
		}
		if r.card {
			evs = append(evs, r.events(hwbridge.CardRemoved, nil)...)
		}
		evs = append(evs, r.events(hwbridge.ReaderRemoved, nil)...)
		delete(s.readers, name)
	}
	for _, name := range names {
		if _, ok := s.readers[name]; ok {
			continue
		}
		r := &reader{name: name, slots: s.cfg.slotsFor(name)}
		s.readers[name] = r
		evs = append(evs, r.events(hwbridge.ReaderAdded, nil)...)
	}
	s.mu.Unlock()
	s.emit(ctx, evs)
}

// setCard records whether reader holds a card and emits the change.
func (s *Supervisor) setCard(ctx context.Context, name string, present bool, atr []byte, count uint16) {
	var evs []hwbridge.ReaderEvent
	s.mu.Lock()
	r, ok := s.readers[name]
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
	s.mu.Unlock()
	s.emit(ctx, evs)
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

func (s *Supervisor) emit(ctx context.Context, evs []hwbridge.ReaderEvent) {
	for _, ev := range evs {
		s.log.Info("reader event", "event", string(ev.Kind), "slot", string(ev.Slot), "reader", ev.Reader)
		select {
		case s.events <- ev:
		case <-ctx.Done():
			return
		}
	}
}

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
