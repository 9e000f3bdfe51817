// Package vprintertest holds what tests of the printing path share: a rig
// of the serial printer driver talking to a virtual printer over a real pty,
// and a QR reader for the rendered receipts. It is imported by tests only.
package vprintertest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/kioskd/kioskd/hwbridge/serialprinter"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter"
)

// Quiet is a logger that drops everything.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// DecodeQR reads the first QR code of a rendered receipt back from its PNG
// with gozxing: from the whole page first; ZXing's finder-pattern search
// misses some valid codes (gozxing issue #14), so then from the code's own
// box as a pure barcode.
func DecodeQR(r vprinter.Rendered) (string, error) {
	img, err := png.Decode(bytes.NewReader(r.PNG))
	if err != nil {
		return "", fmt.Errorf("receipt PNG: %w", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, nil)
	if err == nil {
		return res.GetText(), nil
	}
	if len(r.QRBoxes) == 0 {
		return "", fmt.Errorf("no QR code on the receipt: %w", err)
	}
	box := r.QRBoxes[0]
	crop := image.NewGray(image.Rect(0, 0, box.Dx(), box.Dy()))
	draw.Draw(crop, crop.Bounds(), img, box.Min, draw.Src)
	if bmp, err = gozxing.NewBinaryBitmapFromImage(crop); err != nil {
		return "", err
	}
	res, err = zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		return "", fmt.Errorf("QR not decodable from the receipt PNG: %w", err)
	}
	return res.GetText(), nil
}

// Options shape a Rig; the zero value is an unpaced printer at 115200 baud
// polled every 100 ms, with XON/XOFF.
type Options struct {
	Printer vprinter.Options
	Baud    int                  // both sides; 0 = 115200 on the driver, no pacing in the printer
	Poll    time.Duration        // status poll interval; 0 = 100 ms
	Open    serialprinter.Opener // how the driver opens the pty; nil = go.bug.st/serial
}

// Rig is serialprinter.Printer -> real pty -> vprinter.Printer, both
// running until the test ends.
type Rig struct {
	VP *vprinter.Printer
	P  *serialprinter.Printer
}

// New starts a rig and waits until the driver sees a ready printer.
func New(tb testing.TB, opt Options) *Rig {
	tb.Helper()
	link := filepath.Join(tb.TempDir(), "ttyPRN")
	if opt.Printer.Log == nil {
		opt.Printer.Log = Quiet
	}
	opt.Printer.Baud = opt.Baud
	vp := vprinter.New(opt.Printer)
	if err := vp.Link(link); err != nil {
		tb.Fatal(err)
	}
	baud := opt.Baud
	if baud == 0 {
		baud = 115200
	}
	poll := opt.Poll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	p := serialprinter.New(serialprinter.Config{Device: link, Baud: baud, Flow: serialprinter.FlowXonXoff,
		PollInterval: poll, StatusTimeout: 5 * time.Second, Open: opt.Open}, Quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- vp.Run(ctx) }()
	go func() { done <- p.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				tb.Errorf("Run: %v", err)
			}
		}
	})
	r := &Rig{VP: vp, P: p}
	r.WaitEvent(tb, func(e serialprinter.Event) bool { return e.Connected && e.Err == nil && e.Status.Ready() })
	return r
}

// WaitEvent reads the driver's events until one matches (10 s at most).
func (r *Rig) WaitEvent(tb testing.TB, match func(serialprinter.Event) bool) serialprinter.Event {
	tb.Helper()
	return WaitEvent(tb, r.P, match)
}

// WaitEvent reads p's events until one matches (10 s at most).
func WaitEvent(tb testing.TB, p *serialprinter.Printer, match func(serialprinter.Event) bool) serialprinter.Event {
	tb.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-p.Events():
			if match(e) {
				return e
			}
		case <-timeout:
			tb.Fatalf("no matching printer event; last: %v", p.Last())
		}
	}
}

// Receipt waits for the n-th receipt (1-based) and returns it.
func (r *Rig) Receipt(tb testing.TB, n int) vprinter.Rendered {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs, err := r.VP.WaitReceipts(ctx, n)
	if err != nil {
		tb.Fatal(err)
	}
	return rs[n-1]
}
