package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Commits is bolt's transaction id: the number of write transactions the
// file has committed, so tests can see group commit at work by comparing
// it before and after.
func (s *Store) Commits() int64 {
	var id int
	_ = s.db.View(func(tx *bolt.Tx) error {
		id = tx.ID()
		return nil
	})
	return int64(id)
}

// SetPurgeBatch changes how many operations one purge transaction handles
// and returns a function restoring it.
func SetPurgeBatch(n int) (restore func()) {
	old := purgeBatch
	purgeBatch = n
	return func() { purgeBatch = old }
}

// AuditHashForTest computes an entry's hash from its JSON fields, as a
// technician rewriting the file with our code in hand could.
func AuditHashForTest(seq uint64, fields map[string]any) (string, error) {
	data, err := json.Marshal(fields)
	if err != nil {
		return "", err
	}
	var rec auditRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return "", err
	}
	return auditHash(seq, rec), nil
}

// AuditBulkForTest appends n audit entries in one transaction, for
// benchmarks that need a long chain without n fsyncs.
func (s *Store) AuditBulkForTest(n int) error {
	return s.update(func(tx *bolt.Tx) error {
		for i := range n {
			if err := appendAudit(tx, auditRecord{At: s.now().UTC(), Who: "tech-01", Action: "maintenance.retry", Detail: fmt.Sprintf("voucher %d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
}
