package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
	// Prev is the hash of the entry before (hex; 64 zeros for the first
	// chained entry after none or after unchained older ones), Hash this
	// entry's (auditHash). Entries written before the chain have neither.
	Prev string `json:"prev,omitempty"`
	Hash string `json:"hash,omitempty"`
}

// auditHash is SHA-256 over a fixed encoding of the entry's sequence
// number, time, fields and the previous entry's hash: changing, moving or
// relinking an entry changes it.
func auditHash(seq uint64, r auditRecord) string {
	h := sha256.New()
	h.Write([]byte("kioskd audit v1\x00"))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], seq)
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(r.At.UnixNano()))
	h.Write(n[:])
	for _, f := range []string{r.Who, r.Action, r.Detail, r.Prev} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// genesis is the Prev of the first chained entry when no entry came before.
var genesis = hex.EncodeToString(make([]byte, sha256.Size))

// metaAuditHead holds the chain's length (8 bytes) and head hash (32
// bytes), written with every entry: a tail removed from the bucket alone
// shows against it.
var metaAuditHead = []byte("audit_head")

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
	rec := auditRecord{At: s.now().UTC(), Who: cut(who), Action: cut(action), Detail: cut(detail)}
	err := s.update(func(tx *bolt.Tx) error { return appendAudit(tx, rec) })
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// AuditOperationWho is the Who of the entries the store writes itself when
// an operation changes state (Action "operation.<state>").
const AuditOperationWho = "kioskd"

// auditState appends the entry for rec's move from state from ("" when it
// was just accepted) to rec.State, in the transaction that moves it, so the
// chain holds every change or none. It names the voucher, the kind and
// central's reject code, never the personal fields or central's free-text
// reason.
func (s *Store) auditState(tx *bolt.Tx, rec *record, from State) error {
	detail := "voucher " + rec.Voucher
	if rec.Kind != "" {
		detail += ", " + rec.Kind
	}
	if from != "" {
		detail += ", from " + string(from)
	}
	if rec.RejectCode != "" {
		detail += ", code " + rec.RejectCode
	}
	return appendAudit(tx, auditRecord{
		At: s.now().UTC(), Who: AuditOperationWho,
		Action: "operation." + string(rec.State), Detail: cut(detail),
	})
}

// appendAudit links rec to the last entry and appends it, in tx.
func appendAudit(tx *bolt.Tx, rec auditRecord) error {
	b := tx.Bucket(bAudit)
	rec.Prev = genesis
	if k, v := b.Cursor().Last(); k != nil {
		var last auditRecord
		if err := json.Unmarshal(v, &last); err != nil {
			return fmt.Errorf("audit entry %d: damaged record: %w", binary.BigEndian.Uint64(k), err)
		}
		if last.Hash != "" {
			rec.Prev = last.Hash
		} else {
			// The last entry predates the chain: link to what it holds.
			rec.Prev = auditHash(binary.BigEndian.Uint64(k), last)
		}
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	rec.Hash = auditHash(seq, rec)
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := b.Put(u64(seq), data); err != nil {
		return err
	}
	head, _ := hex.DecodeString(rec.Hash)
	return tx.Bucket(bMeta).Put(metaAuditHead, append(u64(seq), head...))
}

// AuditHead is the audit chain's length (the sequence number of its last
// entry) and the hash of that entry, as sent to central.
type AuditHead struct {
	Length uint64    `json:"length"`
	Head   string    `json:"head"`
	At     time.Time `json:"at,omitempty"` // when central saw it
}

// AuditHead returns the chain's head as the store recorded it.
func (s *Store) AuditHead() (AuditHead, error) {
	var h AuditHead
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bMeta).Get(metaAuditHead)
		if len(v) == 8+sha256.Size {
			h = AuditHead{Length: binary.BigEndian.Uint64(v), Head: hex.EncodeToString(v[8:])}
		}
		return nil
	})
	return h, err
}

// AuditBreak is the first place where the audit chain does not hold.
type AuditBreak struct {
	Seq    uint64 // the first entry that does not match
	Reason string
}

func (b *AuditBreak) Error() string {
	return fmt.Sprintf("audit chain broken at entry %d: %s", b.Seq, b.Reason)
}

// AuditCheck is the outcome of VerifyAudit.
type AuditCheck struct {
	Entries  int    // entries in the bucket
	Unlinked int    // older entries written before the chain existed
	Length   uint64 // sequence number of the last entry
	Head     string // its hash
	Break    *AuditBreak
	hashes   map[uint64]string
}

// VerifyAudit walks the audit chain from the first entry: every entry's
// hash must match its content and sequence number, every entry must link
// to the one before, no sequence number may be missing, and the last entry
// must be the head the store recorded. It reports the first entry that
// does not match; an error means the chain could not be read at all.
func (s *Store) VerifyAudit() (AuditCheck, error) {
	var c AuditCheck
	err := s.view(func(tx *bolt.Tx) error {
		c = verifyAudit(tx)
		return nil
	})
	return c, err
}

func verifyAudit(tx *bolt.Tx) AuditCheck {
	c := AuditCheck{hashes: map[uint64]string{}}
	b := tx.Bucket(bAudit)
	fail := func(seq uint64, format string, args ...any) AuditCheck {
		if c.Break == nil {
			c.Break = &AuditBreak{Seq: seq, Reason: fmt.Sprintf(format, args...)}
		}
		return c
	}
	prev, chained := genesis, false
	var last uint64
	cur := b.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if len(k) != 8 {
			return fail(last+1, "a key that is no sequence number (%d bytes) is in the audit log", len(k))
		}
		seq := binary.BigEndian.Uint64(k)
		c.Entries++
		if seq != last+1 {
			return fail(last+1, "entries %d to %d are missing", last+1, seq-1)
		}
		var rec auditRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fail(seq, "unreadable: %v", err)
		}
		switch {
		case rec.Hash == "" && !chained:
			c.Unlinked++
			prev = auditHash(seq, rec)
		case rec.Hash == "":
			return fail(seq, "has no hash though the chain began before it: it was replaced")
		case auditHash(seq, rec) != rec.Hash:
			return fail(seq, "its content does not match its hash: it was changed or moved")
		case rec.Prev != prev:
			return fail(seq, "does not follow entry %d: entries before it were changed, removed or reordered", seq-1)
		default:
			chained = true
			prev = rec.Hash
		}
		c.hashes[seq] = prev
		last, c.Length, c.Head = seq, seq, prev
	}
	if n := b.Sequence(); n > last {
		return fail(last+1, "the log ends at entry %d but %d were written: entries %d to %d were removed", last, n, last+1, n)
	}
	if v := tx.Bucket(bMeta).Get(metaAuditHead); len(v) == 8+sha256.Size {
		n, head := binary.BigEndian.Uint64(v), hex.EncodeToString(v[8:])
		switch {
		case n > last:
			return fail(last+1, "the log ends at entry %d but the recorded head is entry %d: entries %d to %d were removed", last, n, last+1, n)
		case n < last:
			return fail(n+1, "entries after %d were added without being recorded as the head", n)
		case head != c.Head:
			return fail(last, "the last entry does not match the recorded head: it was changed")
		}
	}
	return c
}

// CompareHeads checks the local chain against heads central saw: at each
// length central saw, the local chain must be at least that long and its
// entry there must have the same hash. A tail removed or rewritten on the
// terminal, with the local records made consistent again, shows here.
func (c AuditCheck) CompareHeads(heads []AuditHead) *AuditBreak {
	for _, h := range heads {
		switch got, ok := c.hashes[h.Length]; {
		case h.Length == 0:
		case h.Length > c.Length:
			return &AuditBreak{Seq: c.Length + 1, Reason: fmt.Sprintf("central saw %d entries at %s, the terminal has %d: the tail was removed", h.Length, h.At.UTC().Format(time.RFC3339), c.Length)}
		case !ok || got != h.Head:
			return &AuditBreak{Seq: h.Length, Reason: fmt.Sprintf("differs from the entry central saw at %s: it was rewritten", h.At.UTC().Format(time.RFC3339))}
		}
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
