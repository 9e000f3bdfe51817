package receipt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// JournalEntry is the journal's record of one receipt (store.Receipt has the
// same fields; the application adapts one to the other).
type JournalEntry struct {
	Voucher   string
	Lang      string // the language it was printed in; a reprint uses it
	Body      []byte // the bytes sent to the printer (masked data only)
	Printed   bool
	Copies    int // reprints that came out
	Attempts  int // times it was sent
	LastError string
	UpdatedAt time.Time
}

// Journal is where receipts are recorded durably.
type Journal interface {
	JournalReceipt(JournalEntry) error
	Receipt(voucher string) (JournalEntry, error)
	UnprintedReceipts() ([]JournalEntry, error)
}

// Printer prints a receipt's bytes and returns nil only when it came out
// (serialprinter.Printer is one).
type Printer interface {
	Print(ctx context.Context, data []byte) error
}

// PrintAndJournal journals the receipt e (Voucher, Lang, Body) as not
// printed, prints its Body, and journals the result: printed, or not
// printed with the printer's reason. It returns the print error (the
// receipt is then in UnprintedReceipts, for Reprint) or a journal error. A
// failure to journal first does not stop the print: the citizen gets the
// receipt, and the error is returned.
func PrintAndJournal(ctx context.Context, p Printer, j Journal, e JournalEntry) error {
	jerr := j.JournalReceipt(e)
	perr := p.Print(ctx, e.Body)
	e.Attempts = 1
	if perr == nil {
		e.Printed = true
	} else {
		e.LastError = perr.Error()
	}
	if err := j.JournalReceipt(e); err != nil {
		jerr = errors.Join(jerr, err)
	}
	if jerr != nil {
		jerr = fmt.Errorf("journal receipt: %w", jerr)
	}
	if perr != nil {
		return errors.Join(fmt.Errorf("print receipt: %w", perr), jerr)
	}
	return jerr
}

// Reprint prints the journaled receipt of voucher again, as rebuildCopy
// builds it from the journal entry (marked as a copy, in e.Lang), and
// journals the attempt: printed with Copies incremented, or the reason it
// failed. When rebuildCopy fails nothing is printed or journaled.
func Reprint(ctx context.Context, p Printer, j Journal, voucher string, rebuildCopy func(e JournalEntry) ([]byte, error)) error {
	if rebuildCopy == nil {
		return errors.New("reprint: no receipt builder")
	}
	e, err := j.Receipt(voucher)
	if err != nil {
		return fmt.Errorf("reprint: %w", err)
	}
	body, err := rebuildCopy(e)
	if err != nil {
		return fmt.Errorf("reprint: rebuild: %w", err)
	}
	perr := p.Print(ctx, body)
	e.Attempts++
	if perr == nil {
		e.Printed = true
		e.Copies++
		e.LastError = ""
	} else {
		e.LastError = perr.Error()
	}
	if err := j.JournalReceipt(e); err != nil {
		err = fmt.Errorf("journal reprint: %w", err)
		if perr != nil {
			return errors.Join(fmt.Errorf("reprint: %w", perr), err)
		}
		return err
	}
	if perr != nil {
		return fmt.Errorf("reprint: %w", perr)
	}
	return nil
}

// ErrNotFound is returned by MemoryJournal.Receipt for an unknown voucher.
var ErrNotFound = errors.New("receipt: no receipt for this voucher")

// MemoryJournal is a Journal in memory, for the embedded default and
// tests: nothing survives the process.
type MemoryJournal struct {
	mu      sync.Mutex
	entries map[string]JournalEntry
	order   []string
	now     func() time.Time
}

// NewMemoryJournal returns an empty journal.
func NewMemoryJournal() *MemoryJournal {
	return &MemoryJournal{entries: map[string]JournalEntry{}, now: time.Now}
}

// JournalReceipt stores or replaces the entry for e.Voucher.
func (m *MemoryJournal) JournalReceipt(e JournalEntry) error {
	if e.Voucher == "" {
		return errors.New("receipt: journal entry without voucher")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[e.Voucher]; !ok {
		m.order = append(m.order, e.Voucher)
	}
	e.Body = append([]byte(nil), e.Body...)
	e.UpdatedAt = m.now()
	m.entries[e.Voucher] = e
	return nil
}

// Receipt returns the entry for voucher.
func (m *MemoryJournal) Receipt(voucher string) (JournalEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[voucher]
	if !ok {
		return JournalEntry{}, ErrNotFound
	}
	return e, nil
}

// UnprintedReceipts returns the entries not printed, oldest first.
func (m *MemoryJournal) UnprintedReceipts() ([]JournalEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []JournalEntry
	for _, v := range m.order {
		if e := m.entries[v]; !e.Printed {
			out = append(out, e)
		}
	}
	return out, nil
}
