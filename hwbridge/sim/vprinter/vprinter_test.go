package vprinter

import (
	"bytes"
	"context"
	"image"
	"image/draw"
	"image/png"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"go.bug.st/serial"

	"github.com/kioskd/kioskd/hwbridge/escpos"
)

// decodeQR reads the QR code back from the receipt's PNG with gozxing: the
// whole page first; ZXing's finder-pattern search misses some valid codes
// (gozxing issue #14), so then the code's own box, as a pure barcode.
func decodeQR(t testing.TB, r Rendered) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(r.PNG))
	if err != nil {
		t.Fatalf("PNG: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, nil)
	if err == nil {
		return res.GetText()
	}
	if len(r.QRBoxes) == 0 {
		t.Fatalf("no QR code on the receipt: %v", err)
	}
	box := r.QRBoxes[0]
	crop := image.NewGray(image.Rect(0, 0, box.Dx(), box.Dy()))
	draw.Draw(crop, crop.Bounds(), img, box.Min, draw.Src)
	bmp, err = gozxing.NewBinaryBitmapFromImage(crop)
	if err != nil {
		t.Fatal(err)
	}
	res, err = zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("QR not decodable from the receipt PNG: %v", err)
	}
	return res.GetText()
}

func start(t *testing.T, opt Options) (*Printer, string) {
	t.Helper()
	dir := t.TempDir()
	link := filepath.Join(dir, "ttyPRN")
	if opt.OutDir == "" {
		opt.OutDir = dir
	}
	p := New(opt)
	if err := p.Link(link); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return p, link
}

func open(t *testing.T, link string) serial.Port {
	t.Helper()
	port, err := serial.Open(link, &serial.Mode{BaudRate: 9600})
	if err != nil {
		t.Fatal(err)
	}
	port.SetReadTimeout(2 * time.Second)
	t.Cleanup(func() { port.Close() })
	return port
}

func TestPrintThroughPty(t *testing.T) {
	for _, mode := range []escpos.QRMode{escpos.QRNative, escpos.QRRaster} {
		p, link := start(t, Options{})
		port := open(t, link)
		url := "https://lookup.example/v/01234-000042-7"
		doc := escpos.Doc{Lang: "zh-CN", Blocks: []escpos.Block{
			escpos.Text{S: "临时挂失凭证", Size: 2, Align: escpos.Center},
			escpos.Text{S: "Số phiếu: 01234-000042-7"},
			escpos.QR{Data: url},
			escpos.Cut{},
		}}
		out, err := escpos.Encode(doc, escpos.Options{QR: mode})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := port.Write(out); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rs, err := p.WaitReceipts(ctx, 1)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		r := rs[0]
		if !r.Complete || !strings.Contains(r.Text, "临时挂失凭证\n") || !strings.Contains(r.Text, "Số phiếu: 01234-000042-7\n") {
			t.Errorf("QR mode %d: rendered text:\n%s", mode, r.Text)
		}
		if got := decodeQR(t, r); got != url {
			t.Errorf("QR mode %d: QR decodes to %q, want %q", mode, got, url)
		}
		if u := p.Unknown(); len(u) != 0 {
			t.Errorf("unknown commands: %v", u)
		}
		if r.PNGPath == "" || r.TextPath == "" {
			t.Errorf("receipt not written to the out dir")
		}
	}
}

func TestStatusAndUnknown(t *testing.T) {
	p, link := start(t, Options{})
	port := open(t, link)
	ask := func(n int) byte {
		t.Helper()
		if _, err := port.Write(escpos.StatusRequest(n)); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		if k, err := port.Read(b); err != nil || k != 1 {
			t.Fatalf("no status reply: %d, %v", k, err)
		}
		return b[0]
	}
	want := map[State][4]byte{
		StateOK:           {0x12, 0x12, 0x12, 0x12},
		StatePaperOut:     {0x1A, 0x32, 0x12, 0x7E},
		StateCoverOpen:    {0x1A, 0x16, 0x12, 0x12},
		StatePaperNearEnd: {0x12, 0x12, 0x12, 0x1E},
		StateOffline:      {0x1A, 0x52, 0x12, 0x12},
	}
	for st, w := range want {
		if err := p.SetState(st); err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= 4; n++ {
			if got := ask(n); got != w[n-1] {
				t.Errorf("%s: DLE EOT %d answered %#x, want %#x", st, n, got, w[n-1])
			}
		}
	}
	if err := p.SetState("jammed"); err == nil {
		t.Errorf("SetState accepted an unknown state")
	}
	p.SetState(StateOK)
	port.Write([]byte{0x1B, 'Z', 0x1B, '@'})
	ask(1) // the status reply proves the bytes before it were parsed
	if u := p.Unknown(); len(u) != 1 || u[0] != "1B 5A" {
		t.Errorf("unknown commands %q, want [\"1B 5A\"]", u)
	}
}

func TestXoffWhileStopped(t *testing.T) {
	p, link := start(t, Options{BufferSize: 1024})
	port := open(t, link)
	p.SetState(StateCoverOpen)
	port.Write(bytes.Repeat([]byte("x"), 1000))
	b := make([]byte, 1)
	if n, _ := port.Read(b); n != 1 || b[0] != escpos.XOFF {
		t.Fatalf("no XOFF with a full buffer: %q", b[:n])
	}
	p.SetState(StateOK)
	if n, _ := port.Read(b); n != 1 || b[0] != escpos.XON {
		t.Fatalf("no XON after recovery: %q", b[:n])
	}
}

func FuzzVPrinterParse(f *testing.F) {
	doc, _ := escpos.Encode(escpos.Doc{Blocks: []escpos.Block{escpos.Text{S: "张三 Nguyễn"}, escpos.QR{Data: "q"}, escpos.Cut{}}}, escpos.Options{})
	f.Add(doc, 7)
	f.Add([]byte{0x1D, 'v', '0', 0, 1, 0, 2, 0, 0xFF, 0x81, 0x1D, 'V', 0}, 3)
	f.Add([]byte{0x1D, '(', 'k', 0xFF, 0xFF, 49, 80, 48}, 1)
	f.Add([]byte{0x10, 0x04, 0x09, 0x1C, 0x26, 0xFE, 0x0A}, 2)
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		p := New(Options{Log: discard})
		if split <= 0 || split > len(data) {
			split = len(data)
		}
		p.feed(nil, data[:split])
		p.feed(nil, data[split:])
		p.feed(nil, []byte{0x1D, 'V', 0})
		for _, r := range p.Receipts() {
			if len(r.PNG) == 0 {
				t.Fatalf("receipt without PNG")
			}
		}
	})
}
