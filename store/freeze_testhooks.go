//go:build kioskd_testhooks

package store

import (
	"context"

	bolt "go.etcd.io/bbolt"
)

// Freeze wedges the store until ctx is done, as a write that hangs in
// fsync would: a write transaction is open and does not return, so every
// other write waits. It returns once the transaction holds the store.
// Only in a kioskd built with the kioskd_testhooks tag, for the systemd
// watchdog test.
func (s *Store) Freeze(ctx context.Context) {
	held := make(chan struct{})
	go func() {
		_ = s.db.Update(func(*bolt.Tx) error {
			close(held)
			<-ctx.Done()
			return nil
		})
	}()
	<-held
}
