package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kioskd/kioskd/store/voucher"
)

// Receipt is the journal entry of one operation's receipt, keyed by
// voucher: what was printed and whether it came out, so an interrupted
// print is finished after a restart.
type Receipt struct {
	Voucher string
	// Lang is the language the receipt was printed in (a UI language code,
	// not personal), so a reprint comes out in the citizen's language.
	Lang string
	// Body is the rendered receipt (ESC/POS bytes or text). It holds masked
	// personal data, so it is stored encrypted; nil once purged.
	Body      []byte
	Printed   bool
	Copies    int
	Attempts  int
	LastError string
	UpdatedAt time.Time // set by JournalReceipt
}

type receiptRecord struct {
	Sealed    []byte    `json:"body,omitempty"` // nonce|ciphertext, AAD = "receipt/" + voucher
	Lang      string    `json:"lang,omitempty"`
	Printed   bool      `json:"printed,omitempty"`
	Copies    int       `json:"copies,omitempty"`
	Attempts  int       `json:"attempts,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

func receiptAAD(v string) []byte { return []byte("receipt/" + v) }

// JournalReceipt stores or replaces the receipt for r.Voucher (a valid
// voucher, with or without separators), with UpdatedAt = now.
func (s *Store) JournalReceipt(r Receipt) error {
	v, err := voucher.Normalize(r.Voucher)
	if err != nil {
		return fmt.Errorf("store: journal receipt: %w", err)
	}
	if r.Copies < 0 || r.Attempts < 0 {
		return errors.New("store: journal receipt: negative copies or attempts")
	}
	if len(r.Body) > MaxPersonal {
		return fmt.Errorf("store: journal receipt: body is %d bytes, at most %d", len(r.Body), MaxPersonal)
	}
	rec := receiptRecord{
		Lang: r.Lang, Printed: r.Printed, Copies: r.Copies, Attempts: r.Attempts,
		LastError: r.LastError, UpdatedAt: s.now().UTC(),
	}
	if r.Body != nil {
		if rec.Sealed, err = s.seal(r.Body, receiptAAD(v)); err != nil {
			return err
		}
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	err = s.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bReceipts).Put([]byte(v), data); err != nil {
			return err
		}
		if rec.Printed {
			return tx.Bucket(bUnprinted).Delete([]byte(v))
		}
		return tx.Bucket(bUnprinted).Put([]byte(v), nil)
	})
	if err != nil {
		return fmt.Errorf("store: journal receipt %s: %w", voucher.Format(v), err)
	}
	return nil
}

// Receipt returns the journalled receipt for voucher v (ErrNotFound).
func (s *Store) Receipt(v string) (Receipt, error) {
	n, err := voucher.Normalize(v)
	if err != nil {
		return Receipt{}, fmt.Errorf("store: receipt: %w", err)
	}
	var r Receipt
	err = s.view(func(tx *bolt.Tx) error {
		var err error
		r, err = s.loadReceipt(tx, n)
		return err
	})
	return r, err
}

func (s *Store) loadReceipt(tx *bolt.Tx, v string) (Receipt, error) {
	data := tx.Bucket(bReceipts).Get([]byte(v))
	if data == nil {
		return Receipt{}, fmt.Errorf("%w: no receipt for voucher %s", ErrNotFound, voucher.Format(v))
	}
	var rec receiptRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return Receipt{}, fmt.Errorf("store: receipt %s: damaged record: %w", voucher.Format(v), err)
	}
	r := Receipt{
		Voucher: v, Lang: rec.Lang, Printed: rec.Printed, Copies: rec.Copies, Attempts: rec.Attempts,
		LastError: rec.LastError, UpdatedAt: rec.UpdatedAt,
	}
	if rec.Sealed != nil {
		body, err := s.unseal(rec.Sealed, receiptAAD(v))
		if err != nil {
			return Receipt{}, fmt.Errorf("store: receipt %s: %w", voucher.Format(v), err)
		}
		r.Body = body
	}
	return r, nil
}

// UnprintedReceipts returns every journalled receipt not yet printed, in
// voucher order (enqueue order for one terminal).
func (s *Store) UnprintedReceipts() ([]Receipt, error) {
	var out []Receipt
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bUnprinted).ForEach(func(k, _ []byte) error {
			r, err := s.loadReceipt(tx, string(k))
			if err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}

// dropReceiptBody deletes the (personal) body of v's receipt, if any.
func (s *Store) dropReceiptBody(tx *bolt.Tx, v string) error {
	b := tx.Bucket(bReceipts)
	data := b.Get([]byte(v))
	if data == nil {
		return nil
	}
	var rec receiptRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return fmt.Errorf("receipt %s: damaged record: %w", voucher.Format(v), err)
	}
	if rec.Sealed == nil {
		return nil
	}
	rec.Sealed = nil
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return b.Put([]byte(v), data)
}
