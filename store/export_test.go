package store

// Commits counts the bolt transactions that committed enqueues, so tests
// can see group commit at work.
func (s *Store) Commits() int64 { return s.commits.Load() }
