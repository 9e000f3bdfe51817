package serialprinter_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/hwbridge/serialprinter"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter/vprintertest"
)

var quiet = vprintertest.Quiet

func newRig(t *testing.T, vopt vprinter.Options) *vprintertest.Rig {
	t.Helper()
	return vprintertest.New(t, vprintertest.Options{Printer: vopt})
}

func receipt(t *testing.T, line string) []byte {
	t.Helper()
	b, err := escpos.Encode(escpos.Doc{Lang: "en", Blocks: []escpos.Block{
		escpos.Text{S: line}, escpos.QR{Data: "https://lookup.example/v/" + line}, escpos.Feed(2), escpos.Cut{},
	}}, escpos.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPrintReady(t *testing.T) {
	r := newRig(t, vprinter.Options{})
	if err := r.P.Print(context.Background(), receipt(t, "first")); err != nil {
		t.Fatalf("Print: %v", err)
	}
	got := r.Receipt(t, 1)
	if !got.Complete || !strings.Contains(got.Text, "first\n") {
		t.Errorf("rendered:\n%s", got.Text)
	}
	st, err := r.P.Status(context.Background())
	if err != nil || !st.Ready() {
		t.Errorf("Status after printing: %v, %v", st, err)
	}
}

func TestCoverOpenRefused(t *testing.T) {
	r := newRig(t, vprinter.Options{})
	r.VP.SetState(vprinter.StateCoverOpen)
	err := r.P.Print(context.Background(), receipt(t, "refused"))
	var np *serialprinter.NotPrintedError
	if !errors.As(err, &np) || !np.Reason.CoverOpen {
		t.Fatalf("Print with the cover open: %v, want NotPrintedError with cover open", err)
	}
	if !strings.Contains(err.Error(), "cover open") {
		t.Errorf("error %q does not say cover open", err)
	}
	r.WaitEvent(t, func(e serialprinter.Event) bool { return e.Status.CoverOpen })
	if r.VP.Received() > 12*2 {
		// only status requests (3 bytes each) went out
		t.Errorf("%d bytes sent to a printer with the cover open", r.VP.Received())
	}
	r.VP.SetState(vprinter.StateOK)
	r.WaitEvent(t, func(e serialprinter.Event) bool { return e.Status.Ready() })
	if err := r.P.Print(context.Background(), receipt(t, "after")); err != nil {
		t.Fatalf("Print after closing the cover: %v", err)
	}
}

func TestPaperOutMidReceipt(t *testing.T) {
	r := newRig(t, vprinter.Options{})
	r.VP.RunOutAfter(40) // inside the QR code, after the first line
	err := r.P.Print(context.Background(), receipt(t, "half a receipt"))
	var np *serialprinter.NotPrintedError
	if !errors.As(err, &np) || !np.Reason.PaperOut {
		t.Fatalf("Print running out of paper: %v, want NotPrintedError with paper out", err)
	}
	got := r.Receipt(t, 1)
	if got.Complete {
		t.Errorf("the interrupted receipt is rendered as complete:\n%s", got.Text)
	}
	r.WaitEvent(t, func(e serialprinter.Event) bool { return e.Status.PaperOut })
}

func TestXoffHonoured(t *testing.T) {
	// The paper runs out early in a long receipt; the printer's 1 KiB buffer
	// fills and it sends XOFF. Print must stop writing, and, since the
	// printer says paper out when asked, give up without waiting for XON.
	r := newRig(t, vprinter.Options{BufferSize: 1024})
	r.VP.RunOutAfter(10)
	var blocks []escpos.Block
	for range 100 {
		blocks = append(blocks, escpos.Text{S: strings.Repeat("x", 40)})
	}
	long, err := escpos.Encode(escpos.Doc{Blocks: append(blocks, escpos.Cut{})}, escpos.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = r.P.Print(ctx, long)
	cancel()
	var np *serialprinter.NotPrintedError
	if !errors.As(err, &np) || !np.Reason.PaperOut || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Print into a stopped, busy printer: %v, want NotPrintedError with paper out before the deadline", err)
	}
	if n := r.VP.Received(); n >= int64(len(long)) {
		t.Errorf("the whole receipt (%d bytes) was sent despite XOFF", n)
	}
}

func TestUnplugAndReplug(t *testing.T) {
	r := newRig(t, vprinter.Options{})
	r.VP.Unplug()
	r.WaitEvent(t, func(e serialprinter.Event) bool { return !e.Connected })
	err := r.P.Print(context.Background(), receipt(t, "nowhere"))
	if !errors.Is(err, serialprinter.ErrDisconnected) {
		t.Fatalf("Print while unplugged: %v, want ErrDisconnected", err)
	}
	if err := r.VP.Plug(); err != nil {
		t.Fatal(err)
	}
	r.WaitEvent(t, func(e serialprinter.Event) bool { return e.Connected && e.Status.Ready() })
	if err := r.P.Print(context.Background(), receipt(t, "back")); err != nil {
		t.Fatalf("Print after replug: %v", err)
	}
	if got := r.Receipt(t, 1); !strings.Contains(got.Text, "back\n") {
		t.Errorf("rendered after replug:\n%s", got.Text)
	}
}

// TestRunStopsItsGoroutines: after Run returns, nothing it started is left.
func TestRunStopsItsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	link := filepath.Join(t.TempDir(), "ttyPRN")
	vp := vprinter.New(vprinter.Options{Log: quiet})
	if err := vp.Link(link); err != nil {
		t.Fatal(err)
	}
	p := serialprinter.New(serialprinter.Config{Device: link, Flow: serialprinter.FlowXonXoff, StatusTimeout: 5 * time.Second}, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- vp.Run(ctx) }()
	go func() { done <- p.Run(ctx) }()
	for e := range p.Events() {
		if e.Connected && e.Status.Ready() {
			break
		}
	}
	if err := p.Print(context.Background(), receipt(t, "leak check")); err != nil {
		t.Fatal(err)
	}
	vp.Unplug()
	cancel()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// Goroutines that have returned may take a moment to be reaped.
	for i := 0; runtime.NumGoroutine() > before && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after Run returned:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestUnplugMidReceipt: the adapter is pulled while a receipt is on the
// line; Print says the printer is gone instead of hanging.
func TestUnplugMidReceipt(t *testing.T) {
	r := vprintertest.New(t, vprintertest.Options{Baud: 9600})
	var blocks []escpos.Block
	for range 60 {
		blocks = append(blocks, escpos.Text{S: strings.Repeat("y", 40)})
	}
	long, err := escpos.Encode(escpos.Doc{Blocks: append(blocks, escpos.Cut{})}, escpos.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.P.Print(context.Background(), long) }()
	for r.VP.Received() < 300 {
		time.Sleep(10 * time.Millisecond)
	}
	r.VP.Unplug()
	err = <-done
	var np *serialprinter.NotPrintedError
	if !errors.As(err, &np) || !errors.Is(err, serialprinter.ErrDisconnected) {
		t.Fatalf("Print when unplugged mid-receipt: %v, want NotPrintedError wrapping ErrDisconnected", err)
	}
	r.WaitEvent(t, func(e serialprinter.Event) bool { return !e.Connected })
	if len(r.VP.Receipts()) != 0 {
		t.Errorf("a receipt was rendered though the line was cut")
	}
	if err := r.VP.Plug(); err != nil {
		t.Fatal(err)
	}
	r.WaitEvent(t, func(e serialprinter.Event) bool { return e.Connected && e.Status.Ready() })
	if err := r.P.Print(context.Background(), receipt(t, "again")); err != nil {
		t.Fatalf("Print after replug: %v", err)
	}
	rs := r.VP.Receipts()
	if len(rs) != 2 || rs[0].Complete || !rs[1].Complete || strings.Contains(rs[1].Text, "yyyy") {
		t.Errorf("want the cut-off receipt on record as interrupted and the next one whole, got %d receipts", len(rs))
	}
}
