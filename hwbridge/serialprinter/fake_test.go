package serialprinter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/kioskd/kioskd/hwbridge/escpos"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakePort answers status requests with ok and records what was written.
// Only for unit tests of the driver's own logic (CTS, timeouts): the
// printing path is tested through a real pty in printer_test.go.
type fakePort struct {
	mu      sync.Mutex
	cts     bool
	mute    bool
	written bytes.Buffer
	replies chan byte
	closed  chan struct{}
	once    sync.Once
	timeout time.Duration
	reading atomic.Int32 // Reads in flight
	// closedUnderRead: Close ran while a Read was in flight, which with
	// go.bug.st/serial may read from another file reusing the descriptor.
	closedUnderRead atomic.Bool
}

func newFake() *fakePort {
	return &fakePort{replies: make(chan byte, 16), closed: make(chan struct{}), timeout: 50 * time.Millisecond}
}

func (f *fakePort) Read(p []byte) (int, error) {
	f.reading.Add(1)
	defer f.reading.Add(-1)
	select {
	case b := <-f.replies:
		p[0] = b
		return 1, nil
	case <-f.closed:
		return 0, errors.New("port closed")
	case <-time.After(f.timeout):
		return 0, nil
	}
}

func (f *fakePort) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.written.Write(p)
	if len(p) == 3 && p[0] == escpos.DLE && p[1] == escpos.EOT && !f.mute {
		f.replies <- 0x12
	}
	return len(p), nil
}

func (f *fakePort) SetReadTimeout(t time.Duration) error { f.timeout = t; return nil }
func (f *fakePort) ResetInputBuffer() error              { return nil }
func (f *fakePort) Close() error {
	if f.reading.Load() > 0 {
		f.closedUnderRead.Store(true)
	}
	f.once.Do(func() { close(f.closed) })
	return nil
}
func (f *fakePort) GetModemStatusBits() (*serial.ModemStatusBits, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &serial.ModemStatusBits{CTS: f.cts}, nil
}

func (f *fakePort) receipt() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	// drop the status requests
	return bytes.ReplaceAll(bytes.ReplaceAll(bytes.ReplaceAll(bytes.ReplaceAll(f.written.Bytes(),
		escpos.StatusRequest(1), nil), escpos.StatusRequest(2), nil), escpos.StatusRequest(3), nil), escpos.StatusRequest(4), nil)
}

func runFake(t *testing.T, cfg Config, f *fakePort) *Printer {
	t.Helper()
	cfg.Device = "/dev/fake"
	cfg.Open = func(string, *serial.Mode) (Port, error) { return f, nil }
	p := New(cfg, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for ev := range p.Events() {
		if ev.Connected {
			break
		}
	}
	return p
}

func TestRTSCTSWaitsForClearToSend(t *testing.T) {
	f := newFake()
	p := runFake(t, Config{Flow: FlowRTSCTS}, f)
	receipt := []byte("receipt body\n")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := p.Print(ctx, receipt)
	cancel()
	var np *NotPrintedError
	if !errors.As(err, &np) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "CTS low") {
		t.Fatalf("Print with CTS low: %v, want *NotPrintedError after the deadline", err)
	}
	if got := f.receipt(); len(got) != 0 {
		t.Fatalf("wrote %q while CTS was low", got)
	}
	f.mu.Lock()
	f.cts = true
	f.mu.Unlock()
	if err := p.Print(context.Background(), receipt); err != nil {
		t.Fatalf("Print with CTS high: %v", err)
	}
	if got := f.receipt(); !bytes.Equal(got, receipt) {
		t.Fatalf("printer got %q, want %q", got, receipt)
	}
}

func TestNoStatusReply(t *testing.T) {
	f := newFake()
	p := runFake(t, Config{StatusTimeout: 50 * time.Millisecond}, f)
	f.mu.Lock()
	f.mute = true
	f.mu.Unlock()
	err := p.Print(context.Background(), []byte("x"))
	var np *NotPrintedError
	if !errors.As(err, &np) || !errors.Is(err, ErrNoStatus) {
		t.Fatalf("Print to a silent printer: %v, want NotPrintedError wrapping ErrNoStatus", err)
	}
	if len(f.receipt()) != 0 {
		t.Fatalf("receipt sent to a printer that did not answer")
	}
}

// TestStopClosesNoPortUnderARead: stopping the driver ends its reader
// before the port closes, every time.
func TestStopClosesNoPortUnderARead(t *testing.T) {
	for i := range 10 {
		f := newFake()
		p := New(Config{Device: "/dev/fake", Open: func(string, *serial.Mode) (Port, error) { return f, nil }}, quiet)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- p.Run(ctx) }()
		for ev := range p.Events() {
			if ev.Connected {
				break
			}
		}
		time.Sleep(time.Duration(i*23%100) * time.Millisecond) // stop at different points of the 100 ms read
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if f.closedUnderRead.Load() {
			t.Fatalf("stop %d: the port was closed while a Read was in flight", i)
		}
	}
}

func TestValidate(t *testing.T) {
	err := Config{Baud: -1, Flow: "dtrdsr", StatusTimeout: -1}.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"device", "baud", "flow", "status_timeout"} {
		if !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if err := (Config{Device: "/dev/serial/by-id/usb-printer", Baud: 9600, Flow: FlowXonXoff}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}
