package receipt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kioskd/kioskd/kiosk/receipt"
)

// failingPrinter is a unit-test stand-in; the printing path itself is
// tested through a real pty in print_test.go.
type failingPrinter struct{ err error }

func (f failingPrinter) Print(context.Context, []byte) error { return f.err }

// recordingJournal checks that the receipt is journaled before it prints.
type recordingJournal struct {
	*receipt.MemoryJournal
	writes []receipt.JournalEntry
}

func (r *recordingJournal) JournalReceipt(e receipt.JournalEntry) error {
	r.writes = append(r.writes, e)
	return r.MemoryJournal.JournalReceipt(e)
}

func TestPrintAndJournalOrder(t *testing.T) {
	j := &recordingJournal{MemoryJournal: receipt.NewMemoryJournal()}
	perr := errors.New("paper out")
	err := receipt.PrintAndJournal(context.Background(), failingPrinter{perr}, j, receipt.JournalEntry{Voucher: "012340000427", Lang: "vi", Body: []byte("body")})
	if !errors.Is(err, perr) {
		t.Fatalf("PrintAndJournal: %v, want the print error", err)
	}
	if len(j.writes) != 2 || j.writes[0].Printed || j.writes[0].Attempts != 0 || j.writes[1].Printed || j.writes[1].Attempts != 1 {
		t.Fatalf("journal writes %+v: want not printed before and after the attempt", j.writes)
	}
	un, _ := j.UnprintedReceipts()
	if len(un) != 1 || un[0].LastError != "paper out" {
		t.Fatalf("unprinted %+v", un)
	}
	var rebuilt []string
	err = receipt.Reprint(context.Background(), failingPrinter{}, j, "012340000427", func(e receipt.JournalEntry) ([]byte, error) {
		rebuilt = append(rebuilt, e.Lang)
		return []byte("copy"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := j.Receipt("012340000427")
	if !e.Printed || e.Copies != 1 || e.Attempts != 2 || e.LastError != "" || len(rebuilt) != 1 || rebuilt[0] != "vi" {
		t.Fatalf("after reprint: %+v, rebuilt %v", e, rebuilt)
	}
	if err := receipt.Reprint(context.Background(), failingPrinter{}, j, "nope", func(receipt.JournalEntry) ([]byte, error) { return nil, nil }); !errors.Is(err, receipt.ErrNotFound) {
		t.Errorf("reprint of an unknown voucher: %v", err)
	}
}
