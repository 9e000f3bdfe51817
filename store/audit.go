package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditEntry is one line of the append-only audit log: who did what, e.g.
// a technician retrying an operation. It must hold no personal data; the
// caller writes vouchers or masked values.
type AuditEntry struct {
	Seq    uint64
	At     time.Time
	Who    string
	Action string
	Detail string
}

// maxAuditField bounds each audit field; longer values are cut.
const maxAuditField = 1024

type auditRecord struct {
	At     time.Time `json:"at"`
	Who    string    `json:"who,omitempty"`
	Action string    `json:"action"`
	Detail string    `json:"detail,omitempty"`
}

func cut(s string) string {
	if len(s) <= maxAuditField {
		return s
	}
	// Cut on a rune boundary so the stored text stays valid UTF-8.
	n := maxAuditField
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// Audit appends an entry with At = now. action must not be empty.
func (s *Store) Audit(who, action, detail string) error {
	if action == "" {
		return errors.New("store: audit: action is empty")
	}
	data, err := json.Marshal(auditRecord{At: s.now().UTC(), Who: cut(who), Action: cut(action), Detail: cut(detail)})
	if err != nil {
		return err
	}
	err = s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAudit)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		return b.Put(u64(seq), data)
	})
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// AuditLog returns up to limit entries, newest first.
func (s *Store) AuditLog(limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("store: audit log: limit %d, want > 0", limit)
	}
	var out []AuditEntry
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bAudit).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var rec auditRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("store: audit entry %d: damaged record: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, AuditEntry{Seq: binary.BigEndian.Uint64(k), At: rec.At, Who: rec.Who, Action: rec.Action, Detail: rec.Detail})
		}
		return nil
	})
	return out, err
}
