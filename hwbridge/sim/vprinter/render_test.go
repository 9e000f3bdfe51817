package vprinter_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter/vprintertest"
)

// TestRenderThroughPty: a receipt sent by the serial driver over the pty is
// rendered to text (GB18030 and CP1258 decoded) and to a PNG whose QR code,
// native or raster, decodes to what was sent.
func TestRenderThroughPty(t *testing.T) {
	for _, mode := range []escpos.QRMode{escpos.QRNative, escpos.QRRaster} {
		r := vprintertest.New(t, vprintertest.Options{Printer: vprinter.Options{OutDir: t.TempDir()}})
		url := "https://lookup.example/v/01234-000042-7"
		out, err := escpos.Encode(escpos.Doc{Lang: "zh-CN", Blocks: []escpos.Block{
			escpos.Text{S: "临时挂失凭证", Size: 2, Align: escpos.Center},
			escpos.Text{S: "Số phiếu: 01234-000042-7"},
			escpos.QR{Data: url},
			escpos.Cut{},
		}}, escpos.Options{QR: mode})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.P.Print(context.Background(), out); err != nil {
			t.Fatal(err)
		}
		got := r.Receipt(t, 1)
		if !got.Complete || !strings.Contains(got.Text, "临时挂失凭证\n") || !strings.Contains(got.Text, "Số phiếu: 01234-000042-7\n") {
			t.Errorf("QR mode %d: rendered text:\n%s", mode, got.Text)
		}
		if qr, err := vprintertest.DecodeQR(got); err != nil || qr != url {
			t.Errorf("QR mode %d: QR decodes to %q, %v; want %q", mode, qr, err, url)
		}
		if u := r.VP.Unknown(); len(u) != 0 {
			t.Errorf("unknown commands: %v", u)
		}
		if got.PNGPath == "" || got.TextPath == "" {
			t.Errorf("receipt not written to the out dir")
		}
	}
}
