//go:build kioskd_testhooks

package session

import "context"

// Freeze wedges the session loop until ctx is done: the loop takes an
// inspection whose answer nobody reads. Only in a kioskd built with the
// kioskd_testhooks tag, for the systemd watchdog test.
func (s *Session) Freeze(ctx context.Context) {
	ch := make(chan Snapshot) // unbuffered, and read only once ctx is done
	select {
	case s.inspect <- ch:
	case <-ctx.Done():
		return
	}
	go func() {
		<-ctx.Done()
		<-ch
	}()
}
