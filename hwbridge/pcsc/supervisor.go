//go:build pcsc

package pcsc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

	tab *table

	mu   sync.Mutex
	sctx *scard.Context // monitoring context while Run holds one
}

// New returns a supervisor for cfg. It starts nothing: Run does. log may be
// nil.
func New(cfg Config, log *slog.Logger) *Supervisor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Supervisor{
		cfg:    cfg,
		log:    log.With("component", "pcsc"),
		events: make(chan hwbridge.ReaderEvent, 64),
		tab:    newTable(cfg),
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
func (s *Supervisor) Readers() []hwbridge.ReaderState { return s.tab.states() }

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
		s.emit(ctx, s.tab.sync(nil))
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
			s.emit(ctx, s.tab.sync(names))
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
			s.emit(ctx, s.tab.setCard(st.Reader, present, st.Atr, uint16(st.EventState>>16)))
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
