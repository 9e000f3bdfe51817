package vprinter

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/kioskd/kioskd/hwbridge/escpos"
)

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
