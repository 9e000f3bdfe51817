//go:build !pcsc

package pcsc

import (
	"context"
	"log/slog"
	"sync"

	"github.com/kioskd/kioskd/hwbridge"
)

// Built reports whether this binary has the real PC/SC driver.
const Built = false

// Supervisor stands in for the PC/SC reader supervisor in a build without
// the `pcsc` tag: Run and Connect return ErrNotBuilt.
type Supervisor struct {
	cfg    Config
	events chan hwbridge.ReaderEvent
	once   sync.Once
}

// New returns a supervisor that cannot run in this build.
func New(cfg Config, log *slog.Logger) *Supervisor {
	return &Supervisor{cfg: cfg, events: make(chan hwbridge.ReaderEvent)}
}

// Run closes the event channel and returns ErrNotBuilt at once.
func (s *Supervisor) Run(ctx context.Context) error {
	s.once.Do(func() { close(s.events) })
	return ErrNotBuilt
}

// Events returns a channel that delivers nothing and is closed by Run.
func (s *Supervisor) Events() <-chan hwbridge.ReaderEvent { return s.events }

// Connect returns ErrNotBuilt.
func (s *Supervisor) Connect(ctx context.Context, slot hwbridge.Slot) (hwbridge.Card, error) {
	return nil, ErrNotBuilt
}

// Readers lists the configured slots, none present.
func (s *Supervisor) Readers() []hwbridge.ReaderState { return newTable(s.cfg).states() }
