package receipt

import "github.com/kioskd/kioskd/store"

// StoreJournal is the Journal kept in the terminal's store (bbolt, body
// encrypted at rest). The store keys receipts by the normalized voucher:
// Receipt accepts the voucher with or without separators and returns it
// normalized.
type StoreJournal struct{ Store *store.Store }

// JournalReceipt implements Journal.
func (j StoreJournal) JournalReceipt(e JournalEntry) error {
	return j.Store.JournalReceipt(store.Receipt(e))
}

// Receipt implements Journal; an unknown voucher is store.ErrNotFound.
func (j StoreJournal) Receipt(voucher string) (JournalEntry, error) {
	r, err := j.Store.Receipt(voucher)
	return JournalEntry(r), err
}

// UnprintedReceipts implements Journal.
func (j StoreJournal) UnprintedReceipts() ([]JournalEntry, error) {
	rs, err := j.Store.UnprintedReceipts()
	out := make([]JournalEntry, len(rs))
	for i, r := range rs {
		out[i] = JournalEntry(r)
	}
	return out, err
}
