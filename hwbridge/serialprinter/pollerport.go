package serialprinter

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"
)

// OpenPoller is an Opener for pseudo-terminals (simulated printers): it
// opens device as a file served by Go's runtime poller, in raw mode.
// go.bug.st/serial waits for input with select(2), which cannot watch a
// descriptor numbered 1024 or more, so a process holding the devices of
// a thousand terminals (kioskd fleet-sim) opens its simulated printers
// with this instead. A pty has no modem lines: CTS and DSR read as set.
func OpenPoller(device string, _ *serial.Mode) (Port, error) {
	f, err := os.OpenFile(device, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	p := &pollerPort{f: f}
	if err := p.control(func(fd int) error {
		t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return err
		}
		// cfmakeraw(3)
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
		return unix.IoctlSetTermios(fd, unix.TCSETS, t)
	}); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: raw mode: %w", device, err)
	}
	return p, nil
}

type pollerPort struct {
	f       *os.File
	mu      sync.Mutex
	timeout time.Duration
}

func (p *pollerPort) control(fn func(fd int) error) error {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// Read returns 0, nil when the read timeout passes with nothing read, as
// go.bug.st/serial does.
func (p *pollerPort) Read(b []byte) (int, error) {
	p.mu.Lock()
	t := p.timeout
	p.mu.Unlock()
	deadline := time.Time{}
	if t > 0 {
		deadline = time.Now().Add(t)
	}
	if err := p.f.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	n, err := p.f.Read(b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, nil
	}
	return n, err
}

func (p *pollerPort) Write(b []byte) (int, error) { return p.f.Write(b) }

func (p *pollerPort) SetReadTimeout(t time.Duration) error {
	p.mu.Lock()
	p.timeout = t
	p.mu.Unlock()
	return nil
}

func (p *pollerPort) GetModemStatusBits() (*serial.ModemStatusBits, error) {
	return &serial.ModemStatusBits{CTS: true, DSR: true}, nil
}

func (p *pollerPort) ResetInputBuffer() error {
	return p.control(func(fd int) error { return unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH) })
}

func (p *pollerPort) Close() error { return p.f.Close() }
