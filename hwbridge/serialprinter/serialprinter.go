// Package serialprinter drives an ESC/POS receipt printer on a serial port
// (go.bug.st/serial): it keeps the port open, reopens it when the device
// disappears and comes back (USB-serial re-enumeration), polls the
// printer's real-time status and reports changes as events, and writes
// receipts honouring the printer's busy signal (XON/XOFF or RTS/CTS). A
// receipt counts as printed only when the printer answered ready both before
// and after it.
//
// It owns the line to the printer only: the bytes come from package escpos,
// and what to do with a receipt that was not printed (journal, reprint) is
// the caller's business.
package serialprinter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.bug.st/serial"

	"github.com/kioskd/kioskd/hwbridge/escpos"
)

// Flow is the flow control the printer uses to say it is busy.
type Flow string

const (
	FlowNone    Flow = "none"
	FlowRTSCTS  Flow = "rtscts"
	FlowXonXoff Flow = "xonxoff"
)

// Port is the part of serial.Port the driver uses; tests swap in fakes.
type Port interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	SetReadTimeout(t time.Duration) error
	GetModemStatusBits() (*serial.ModemStatusBits, error)
	ResetInputBuffer() error
	Close() error
}

// Opener opens the serial device; the default is serial.Open.
type Opener func(device string, mode *serial.Mode) (Port, error)

func openSerial(device string, mode *serial.Mode) (Port, error) {
	return serial.Open(device, mode)
}

// Config says where the printer is and how it speaks.
type Config struct {
	// Device is the serial device; prefer a stable /dev/serial/by-id/...
	// path, which survives re-enumeration, over /dev/ttyUSBn.
	Device string
	Baud   int  // default 9600; 8N1 always
	Flow   Flow // none, rtscts or xonxoff; default none
	// StatusTimeout is how long to wait for each status reply; default 500ms.
	StatusTimeout time.Duration
	// PollInterval is the time between status polls; default 2s.
	PollInterval time.Duration
	// Open opens the port; nil is go.bug.st/serial. OpenPoller serves a
	// process holding many ports (kioskd fleet-sim); tests put fakes here.
	Open Opener
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Device == "" {
		errs = append(errs, errors.New("printer device: empty"))
	}
	if c.Baud < 0 || c.Baud > 921600 {
		errs = append(errs, fmt.Errorf("printer baud %d: want 1200..115200", c.Baud))
	}
	switch c.Flow {
	case "", FlowNone, FlowRTSCTS, FlowXonXoff:
	default:
		errs = append(errs, fmt.Errorf("printer flow %q: want none, rtscts or xonxoff", c.Flow))
	}
	if c.StatusTimeout < 0 || c.PollInterval < 0 {
		errs = append(errs, errors.New("printer status_timeout and poll_interval must not be negative"))
	}
	return errors.Join(errs...)
}

// Event is a change of the printer's connection or status.
type Event struct {
	Connected bool
	Status    escpos.Status // valid when Connected and Err is nil
	Err       error         // why the status is unknown or the port is gone
	At        time.Time
}

func (e Event) String() string {
	switch {
	case !e.Connected && e.Err != nil:
		return "printer disconnected: " + e.Err.Error()
	case !e.Connected:
		return "printer disconnected"
	case e.Err != nil:
		return "printer connected, status unknown: " + e.Err.Error()
	}
	return "printer " + e.Status.String()
}

var (
	// ErrDisconnected: the serial device is not open (missing or unplugged).
	ErrDisconnected = errors.New("printer not connected")
	// ErrNoStatus: the printer did not answer a status request in time
	// (powered off, wrong baud rate, wrong cable).
	ErrNoStatus = errors.New("printer did not answer the status request")

	errStopped = errors.New("the driver is stopping")
)

// NotPrintedError says a receipt was not (or not surely) printed: Reason is
// the printer status that stopped it, or Err the failure on the line.
type NotPrintedError struct {
	Reason escpos.Status
	Err    error
}

func (e *NotPrintedError) Error() string {
	if e.Err != nil {
		return "receipt not printed: " + e.Err.Error()
	}
	return "receipt not printed: printer " + e.Reason.String()
}

func (e *NotPrintedError) Unwrap() error { return e.Err }

// Printer is one receipt printer on a serial port.
type Printer struct {
	cfg Config
	log *slog.Logger

	io     sync.Mutex // one exchange with the printer at a time
	events chan Event

	mu      sync.Mutex
	conn    *conn
	last    Event
	emitted bool

	alive atomic.Int64 // Unix nanoseconds of the driver's last progress, for Alive
}

// conn is one open port and the goroutine reading it.
type conn struct {
	port    Port
	replies chan byte
	stop    chan struct{} // closed to end the reader before the port closes
	lost    chan struct{} // closed when the reader has ended
	err     error         // why, set before lost is closed

	mu      sync.Mutex
	paused  bool          // XOFF received
	resumed chan struct{} // closed on XON
}

// New makes a printer driver; nothing is opened until Run.
func New(cfg Config, log *slog.Logger) *Printer {
	if cfg.Baud == 0 {
		cfg.Baud = 9600
	}
	if cfg.Flow == "" {
		cfg.Flow = FlowNone
	}
	if cfg.StatusTimeout <= 0 {
		cfg.StatusTimeout = 500 * time.Millisecond
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.Open == nil {
		cfg.Open = openSerial
	}
	if log == nil {
		log = slog.Default()
	}
	return &Printer{cfg: cfg, log: log.With("device", "printer"), events: make(chan Event, 32)}
}

// Events delivers status and connection changes. Slow readers lose the
// oldest events, never block the driver.
func (p *Printer) Events() <-chan Event { return p.events }

// Last is the most recent event (the current view of the printer).
func (p *Printer) Last() Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// Alive is when the driver last made progress: a status poll answered or
// timed out, a failed attempt to open the device, a chunk of a receipt written
// or a look at the busy signal. While Run runs it is at most a
// PollInterval (plus a status timeout) old, or 2 s while the device is
// missing; an exchange with the port that hangs leaves it behind, which is
// what a watchdog looks for. It is the zero time before Run.
func (p *Printer) Alive() time.Time {
	if n := p.alive.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

func (p *Printer) touch() { p.alive.Store(time.Now().UnixNano()) }

func sameEvent(a, b Event) bool {
	if a.Connected != b.Connected || a.Status != b.Status || (a.Err == nil) != (b.Err == nil) {
		return false
	}
	return a.Err == nil || a.Err.Error() == b.Err.Error()
}

func (p *Printer) emit(e Event) {
	e.At = time.Now()
	p.mu.Lock()
	if p.emitted && sameEvent(p.last, e) {
		p.mu.Unlock()
		return
	}
	p.last, p.emitted = e, true
	p.mu.Unlock()
	p.log.Info("printer status", "status", e.String())
	for {
		select {
		case p.events <- e:
			return
		default:
		}
		select {
		case <-p.events: // drop the oldest
		default:
		}
	}
}

// Run keeps the port open until ctx is done: it opens the device, polls
// status every PollInterval, and when the device fails or disappears, closes
// it and retries with backoff (100 ms doubling to 2 s) until it is back.
func (p *Printer) Run(ctx context.Context) error {
	if err := p.cfg.Validate(); err != nil {
		return err
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		port, err := p.cfg.Open(p.cfg.Device, &serial.Mode{BaudRate: p.cfg.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
		if err != nil {
			if _, serr := os.Stat(p.cfg.Device); serr != nil {
				err = fmt.Errorf("%w: %s is missing", ErrDisconnected, p.cfg.Device)
			} else {
				err = fmt.Errorf("%w: open %s: %v", ErrDisconnected, p.cfg.Device, err)
			}
			p.emit(Event{Err: err})
			p.touch()
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		p.serve(ctx, port)
	}
	return nil
}

// serve runs one connection until the port fails or ctx is done.
func (p *Printer) serve(ctx context.Context, port Port) {
	c := &conn{port: port, replies: make(chan byte, 64), stop: make(chan struct{}), lost: make(chan struct{}), resumed: make(chan struct{})}
	_ = port.SetReadTimeout(100 * time.Millisecond)
	_ = port.ResetInputBuffer()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.read()
	}()
	p.mu.Lock()
	p.conn = c
	p.mu.Unlock()
	p.poll(ctx)
	tick := time.NewTicker(p.cfg.PollInterval)
	defer tick.Stop()
	var why error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-c.lost:
			why = c.err
			break loop
		case <-tick.C:
			p.poll(ctx)
		}
	}
	p.mu.Lock()
	p.conn = nil
	p.mu.Unlock()
	// The reader ends within its read timeout and closes c.lost, so an
	// exchange in flight returns ErrDisconnected. Only then may the port
	// close: go.bug.st/serial closes the descriptor under a Read in flight,
	// which could then read from a socket or file that reuses its number.
	close(c.stop)
	wg.Wait()
	port.Close()
	if why != nil {
		p.emit(Event{Err: fmt.Errorf("%w: %v", ErrDisconnected, why)})
	}
}

func (p *Printer) poll(ctx context.Context) {
	_, _ = p.Status(ctx) // Status emits the event
	p.touch()
}

// read sorts what the printer sends: XON/XOFF drive the pause, every other
// byte is a status reply (status bytes never equal XON or XOFF). It reads
// until the port fails or c.stop is closed.
func (c *conn) read() {
	defer close(c.lost)
	buf := make([]byte, 64)
	for {
		select {
		case <-c.stop:
			c.err = errStopped
			return
		default:
		}
		n, err := c.port.Read(buf)
		for _, b := range buf[:n] {
			switch b {
			case escpos.XOFF:
				c.mu.Lock()
				c.paused = true
				c.mu.Unlock()
			case escpos.XON:
				c.mu.Lock()
				if c.paused {
					c.paused = false
					close(c.resumed)
					c.resumed = make(chan struct{})
				}
				c.mu.Unlock()
			default:
				select {
				case c.replies <- b:
				default: // nobody asked: stale
				}
			}
		}
		if err != nil {
			c.err = err
			return
		}
	}
}

func (p *Printer) current() *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conn
}

// Status asks the printer for its real-time status (DLE EOT 1..4).
func (p *Printer) Status(ctx context.Context) (escpos.Status, error) {
	p.io.Lock()
	defer p.io.Unlock()
	c := p.current()
	if c == nil {
		return escpos.Status{}, ErrDisconnected
	}
	st, err := p.status(ctx, c, p.cfg.StatusTimeout)
	if err != nil {
		p.emit(Event{Connected: true, Err: err})
		return st, err
	}
	p.emit(Event{Connected: true, Status: st})
	return st, nil
}

// status does the four requests; timeout is for the first reply.
func (p *Printer) status(ctx context.Context, c *conn, timeout time.Duration) (escpos.Status, error) {
	var st escpos.Status
	for n := 1; n <= 4; n++ {
		for len(c.replies) > 0 {
			<-c.replies
		}
		if err := p.write(ctx, c, escpos.StatusRequest(n), false); err != nil {
			return st, err
		}
		t := time.NewTimer(timeout)
		var b byte
		select {
		case b = <-c.replies:
		case <-t.C:
			return st, fmt.Errorf("%w (DLE EOT %d)", ErrNoStatus, n)
		case <-c.lost:
			t.Stop()
			return st, fmt.Errorf("%w: %v", ErrDisconnected, c.err)
		case <-ctx.Done():
			t.Stop()
			return st, ctx.Err()
		}
		t.Stop()
		s, err := escpos.DecodeStatus(n, b)
		if err != nil {
			return st, err
		}
		st = st.Merge(s)
		timeout = p.cfg.StatusTimeout
	}
	return st, nil
}

// writeChunk is how much is written between two looks at the busy signal.
const writeChunk = 64

// write sends b, pausing while the printer is busy when flow is true
// (real-time status requests are sent even while it is busy). With flow
// control, writes are also paced to the baud rate: the kernel's tty buffer
// would otherwise take kilobytes ahead of the line, and an XOFF would stop
// nothing of them.
func (p *Printer) write(ctx context.Context, c *conn, b []byte, flow bool) error {
	start, sent := time.Now(), 0
	for len(b) > 0 {
		p.touch()
		if flow {
			due := start.Add(time.Duration(sent) * 10 * time.Second / time.Duration(p.cfg.Baud))
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(d):
				}
			}
			waited, err := p.waitReady(ctx, c)
			if err != nil {
				return err
			}
			if waited {
				// after a pause, pace from now: no burst to catch up
				start, sent = time.Now(), 0
			}
		}
		n := min(len(b), writeChunk)
		k, err := c.port.Write(b[:n])
		b = b[max(k, 0):]
		sent += max(k, 0)
		if err != nil && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR) {
			return fmt.Errorf("%w: write: %v", ErrDisconnected, err)
		}
		if k <= 0 || err != nil {
			// the port's buffer is full: give the line time to drain
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-c.lost:
				return fmt.Errorf("%w: %v", ErrDisconnected, c.err)
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return nil
}

// notReady is returned by waitReady when the printer, asked while busy,
// says it cannot print (paper out, cover open): no point waiting for XON.
type notReady struct{ st escpos.Status }

func (e notReady) Error() string { return "printer " + e.st.String() }

// busyCheck is how often a busy printer is asked for its status.
const busyCheck = time.Second

// waitReady blocks while the printer signals busy: XOFF until XON, or CTS
// low (go.bug.st/serial has no hardware flow control of its own). Every
// busyCheck it asks the status (real-time requests pass a busy printer) and
// gives up with notReady when the printer is stopped rather than slow.
func (p *Printer) waitReady(ctx context.Context, c *conn) (waited bool, err error) {
	busy := func() (bool, <-chan struct{}, error) {
		switch p.cfg.Flow {
		case FlowXonXoff:
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.paused, c.resumed, nil
		case FlowRTSCTS:
			bits, err := c.port.GetModemStatusBits()
			if err != nil {
				return false, nil, fmt.Errorf("read CTS: %w", err)
			}
			return !bits.CTS, nil, nil // nil channel: poll CTS
		}
		return false, nil, nil
	}
	signal := map[Flow]string{FlowXonXoff: "XOFF", FlowRTSCTS: "CTS low"}[p.cfg.Flow]
	check := time.Now().Add(busyCheck)
	for {
		isBusy, resumed, err := busy()
		if err != nil || !isBusy {
			return waited, err
		}
		waited = true
		p.touch()
		if time.Now().After(check) {
			st, err := p.status(ctx, c, p.cfg.StatusTimeout)
			if err == nil && !st.Ready() {
				return waited, notReady{st}
			}
			check = time.Now().Add(busyCheck)
		}
		poll := time.NewTimer(10 * time.Millisecond)
		select {
		case <-resumed:
		case <-poll.C:
		case <-c.lost:
			poll.Stop()
			return waited, fmt.Errorf("%w: %v", ErrDisconnected, c.err)
		case <-ctx.Done():
			poll.Stop()
			return waited, fmt.Errorf("printer busy (%s): %w", signal, ctx.Err())
		}
		poll.Stop()
	}
}

// DefaultPrintTimeout bounds Print when ctx has no deadline.
const DefaultPrintTimeout = 60 * time.Second

// Print sends one receipt. It asks for the status first and refuses (a
// *NotPrintedError with the Reason) when the printer is not ready; writes
// the bytes honouring the busy signal; then asks again and returns nil only
// when the printer answered ready after the receipt. Every other outcome is
// a *NotPrintedError.
func (p *Printer) Print(ctx context.Context, data []byte) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultPrintTimeout)
		defer cancel()
	}
	p.io.Lock()
	defer p.io.Unlock()
	fail := func(st escpos.Status, err error) error {
		if err != nil {
			p.emit(Event{Connected: p.current() != nil && !errors.Is(err, ErrDisconnected), Err: err})
		} else {
			p.emit(Event{Connected: true, Status: st})
		}
		return &NotPrintedError{Reason: st, Err: err}
	}
	c := p.current()
	if c == nil {
		return &NotPrintedError{Err: ErrDisconnected}
	}
	st, err := p.status(ctx, c, p.cfg.StatusTimeout)
	if err != nil {
		return fail(st, err)
	}
	if !st.Ready() {
		return fail(st, nil)
	}
	if err := p.write(ctx, c, data, p.cfg.Flow != FlowNone); err != nil {
		var nr notReady
		if errors.As(err, &nr) {
			return fail(nr.st, nil)
		}
		return fail(escpos.Status{}, err)
	}
	// The reply to the status request comes after the printer has taken the
	// receipt off the line: allow for the transfer time of the data.
	transfer := time.Duration(len(data)) * 10 * time.Second / time.Duration(p.cfg.Baud)
	st, err = p.status(ctx, c, p.cfg.StatusTimeout+2*transfer+time.Second)
	if err != nil {
		return fail(st, err)
	}
	p.emit(Event{Connected: true, Status: st})
	if !st.Ready() {
		return &NotPrintedError{Reason: st}
	}
	return nil
}
