//go:build kioskd_testhooks

package session

import "context"

// Freeze wedges the session loop until ctx is done: the loop runs a
// function that waits for it. Only in a kioskd built with the
// kioskd_testhooks tag, for the systemd watchdog test.
func (s *Session) Freeze(ctx context.Context) {
	select {
	case s.alive <- func() { <-ctx.Done() }:
	case <-ctx.Done():
	}
}
