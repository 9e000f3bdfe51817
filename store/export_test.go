package store

// Commits counts the bolt transactions that committed enqueues, so tests
// can see group commit at work.
func (s *Store) Commits() int64 { return s.commits.Load() }

// SetPurgeBatch changes how many operations one purge transaction handles
// and returns a function restoring it.
func SetPurgeBatch(n int) (restore func()) {
	old := purgeBatch
	purgeBatch = n
	return func() { purgeBatch = old }
}
