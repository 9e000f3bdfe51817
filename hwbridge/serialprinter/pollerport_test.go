package serialprinter_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/serialprinter"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter/vprintertest"
)

// OpenPoller drives the virtual printer through a real pty whose
// descriptor is numbered above 1024, where go.bug.st/serial's select(2)
// panics: a receipt prints, paper out is refused and reported, and an
// unplugged printer comes back.
func TestPollerPortAboveDescriptor1024(t *testing.T) {
	var held []*os.File
	for range 1100 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, f)
	}
	t.Cleanup(func() {
		for _, f := range held {
			f.Close()
		}
	})
	r := vprintertest.New(t, vprintertest.Options{Open: serialprinter.OpenPoller})
	if err := r.P.Print(context.Background(), receipt(t, "high fd")); err != nil {
		t.Fatalf("Print: %v", err)
	}
	if got := r.Receipt(t, 1); !got.Complete || !strings.Contains(got.Text, "high fd\n") {
		t.Errorf("rendered:\n%s", got.Text)
	}
	r.VP.SetState(vprinter.StatePaperOut)
	r.WaitEvent(t, func(e serialprinter.Event) bool { return e.Status.PaperOut })
	var np *serialprinter.NotPrintedError
	if err := r.P.Print(context.Background(), receipt(t, "no paper")); !errors.As(err, &np) || !np.Reason.PaperOut {
		t.Fatalf("Print without paper: %v, want NotPrintedError with paper out", err)
	}
	r.VP.SetState(vprinter.StateOK)
	r.VP.Unplug()
	r.WaitEvent(t, func(e serialprinter.Event) bool { return !e.Connected })
	if err := r.VP.Plug(); err != nil {
		t.Fatal(err)
	}
	r.WaitEvent(t, func(e serialprinter.Event) bool { return e.Connected && e.Status.Ready() })
	if err := r.P.Print(context.Background(), receipt(t, "replugged")); err != nil {
		t.Fatalf("Print after replug: %v", err)
	}
}
