//go:build pcsc

package pcsc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// waitSlice bounds each SCardGetStatusChange, so Run notices its ctx ending
// within it. A change still returns at once: each call passes the states
// already seen, and pcscd answers as soon as one differs. SCardCancel is not
// used to wake the wait: it needs a new connection to pcscd per call, only
// wakes a call already registered there, and blocks if pcscd does not
// answer, so a stop could hang on it.
const waitSlice = 500 * time.Millisecond

// Supervisor watches the PC/SC readers and hands out connections to cards.
type Supervisor struct {
	cfg    Config
	log    *slog.Logger
	events chan hwbridge.ReaderEvent

	ran   atomic.Bool  // Run was called
	alive atomic.Int64 // Unix nanoseconds of the loop's last round, for Alive

	tab *table
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

// Alive is when the supervisor's loop last went round: within waitSlice
// while pcscd answers, within maxBackoff while it is away. A PC/SC call
// that hangs leaves it behind, which is what a watchdog looks for. It is
// the zero time before Run.
func (s *Supervisor) Alive() time.Time {
	if n := s.alive.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

func (s *Supervisor) touch() { s.alive.Store(time.Now().UnixNano()) }

// Run watches the readers until ctx is done, then returns nil, within
// waitSlice while pcscd answers. pcscd being absent or restarting is not an
// error: Run keeps trying to reach it with backoff and reports every reader
// as removed meanwhile. Run may be called once.
func (s *Supervisor) Run(ctx context.Context) error {
	if s.ran.Swap(true) {
		return ErrRunTwice
	}
	defer close(s.events)
	s.loop(ctx)
	return nil
}

// loop is Run's body: one PC/SC context per pcscd lifetime.
func (s *Supervisor) loop(ctx context.Context) {
	backoff := minBackoff
	reported := false
	for ctx.Err() == nil {
		s.touch()
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
		err = s.watch(ctx, sctx)
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
		s.touch()
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
		err := sctx.GetStatusChange(states, waitSlice)
		switch {
		case err == nil:
		case errors.Is(err, scard.ErrTimeout), errors.Is(err, scard.ErrCancelled):
			continue // nothing changed: look at ctx again
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
