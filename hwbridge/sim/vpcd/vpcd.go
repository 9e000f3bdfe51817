// Package vpcd is the card side of the vsmartcard vpcd protocol: it connects
// a virtual card to pcscd's vpcd reader driver over TCP so that every APDU a
// reader driver sends crosses the real PC/SC stack (libpcsclite, pcscd, the
// IFD handler) before the card answers it.
//
// The driver listens (port 35963 for its first slot by default); the card
// connects as the client. Every message is a 2-byte big-endian length and a
// payload. One-byte payloads are control messages: 00 power off, 01 power on,
// 02 reset (no reply), 04 get ATR (reply: the ATR). Longer payloads are
// command APDUs and are answered with the response APDU (DOMAIN.md, "PC/SC on
// Linux"). Connecting inserts the card, closing the connection removes it.
//
// The package owns the transport and the misbehaviour used by fault tests
// (slow answers, dropped connections, garbage answers). It does not emulate
// any card: the Card it is given answers the APDUs (package cardsim).
package vpcd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// DefaultAddr is where pcscd's vpcd driver listens for its first slot.
const DefaultAddr = "127.0.0.1:35963"

// Control messages of the vpcd protocol (one-byte payloads).
const (
	ctrlPowerOff = 0x00
	ctrlPowerOn  = 0x01
	ctrlReset    = 0x02
	ctrlGetATR   = 0x04
)

// Card is what vpcd needs of a virtual card: its answer to reset, its answer
// to a command APDU (the whole response including the status word), and a
// reset of its volatile state (selected file, secure-messaging session) on
// power on and reset. cardsim.Card has this method set.
type Card interface {
	ATR() []byte
	Process(apdu []byte) []byte
	Reset()
}

// Options make the card misbehave for fault tests and let a caller observe
// the traffic. The zero value is a well-behaved card.
type Options struct {
	// Delay is added before every answer to a command APDU.
	Delay time.Duration
	// DropAfter, when > 0, closes the connection right after the card has
	// received that many command APDUs on one connection (without answering
	// the last one): the card vanishes mid-transaction. Serve then returns
	// ErrDropped instead of reconnecting.
	DropAfter int
	// Garbage answers every command APDU with a single byte, shorter than any
	// status word, as a dying card does.
	Garbage bool
	// RetryInterval is the wait between connection attempts while the driver
	// is not listening (pcscd stopped or restarting). Default 200 ms.
	RetryInterval time.Duration
	// OnAPDU, when set, is called after each answered command APDU.
	OnAPDU func(command, response []byte)
	// OnConnect, when set, is called each time a connection to the driver is
	// established (the card is inserted).
	OnConnect func(addr string)
	// Log receives connection events; nil discards them. APDUs are never
	// logged: they carry personal data and PINs.
	Log *slog.Logger
}

// ErrDropped is returned by Serve when Options.DropAfter closed the
// connection on purpose.
var ErrDropped = errors.New("vpcd: connection dropped on purpose after the configured number of APDUs")

// ErrFrame reports a malformed message from the driver.
var ErrFrame = errors.New("vpcd: malformed message")

// maxDial bounds one connection attempt.
const maxDial = 2 * time.Second

// Conn is one connection to the vpcd driver: one insertion of the card.
type Conn struct {
	addr string
	nc   net.Conn

	closeOnce sync.Once
	closeErr  error
}

// Dial makes one attempt to connect to the driver at addr (host:port). The
// card counts as inserted once the connection is up.
func Dial(ctx context.Context, addr string) (*Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, maxDial)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("vpcd: connect to driver at %s: %w", addr, err)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return &Conn{addr: addr, nc: nc}, nil
}

// Addr is the driver address this connection went to.
func (c *Conn) Addr() string { return c.addr }

// Close ends the connection: the card is removed from the reader. It is safe
// to call more than once and concurrently with Serve.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.nc.Close() })
	return c.closeErr
}

// Serve answers the driver's messages with card until the driver closes the
// connection (io.EOF wrapped), ctx is done (ctx.Err()), Close is called, or
// DropAfter is reached (ErrDropped). The connection is closed on return.
func (c *Conn) Serve(ctx context.Context, card Card, opts Options) error {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	var hdr [2]byte
	buf := make([]byte, 0, 512)
	apdus := 0
	for {
		payload, err := readFrame(quickAcker{c.nc}, hdr[:], buf)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("vpcd: read from driver at %s: %w", c.addr, err)
		}
		var reply []byte
		switch {
		case len(payload) == 0:
			continue // keep-alive of no meaning; nothing to answer
		case len(payload) == 1:
			switch payload[0] {
			case ctrlPowerOn, ctrlReset:
				card.Reset()
				continue
			case ctrlPowerOff:
				continue
			case ctrlGetATR:
				reply = card.ATR()
			default:
				return fmt.Errorf("%w: unknown control byte %#02x", ErrFrame, payload[0])
			}
		default:
			apdus++
			if opts.DropAfter > 0 && apdus >= opts.DropAfter {
				c.Close()
				return ErrDropped
			}
			if opts.Delay > 0 {
				t := time.NewTimer(opts.Delay)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
			cmd := append([]byte(nil), payload...)
			reply = card.Process(cmd)
			if opts.Garbage {
				reply = []byte{0x6F}
			}
			if opts.OnAPDU != nil {
				opts.OnAPDU(cmd, reply)
			}
		}
		if err := writeFrame(c.nc, reply); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("vpcd: write to driver at %s: %w", c.addr, err)
		}
	}
}

// Serve keeps card inserted in the vpcd reader at addr until ctx is done:
// it connects, answers, and when the driver goes away (pcscd stopped or
// restarted) connects again every Options.RetryInterval. It returns ctx.Err()
// when ctx is done, ErrDropped when Options.DropAfter fired, or a protocol
// error when the driver sent something that is not vpcd.
func Serve(ctx context.Context, addr string, card Card, opts Options) error {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	retry := opts.RetryInterval
	if retry <= 0 {
		retry = 200 * time.Millisecond
	}
	waiting := false
	for {
		c, err := Dial(ctx, addr)
		if err == nil {
			waiting = false
			log.Info("vpcd connected", "addr", addr)
			if opts.OnConnect != nil {
				opts.OnConnect(addr)
			}
			err = c.Serve(ctx, card, opts)
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.Is(err, ErrDropped), errors.Is(err, ErrFrame):
				return err
			}
			log.Info("vpcd disconnected; reconnecting", "addr", addr, "err", err)
		} else if !waiting {
			waiting = true
			log.Info("vpcd driver not reachable; retrying", "addr", addr, "err", err)
		}
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// quickAcker re-arms TCP_QUICKACK before every read of the connection.
type quickAcker struct{ net.Conn }

func (q quickAcker) Read(p []byte) (int, error) {
	quickAck(q.Conn)
	return q.Conn.Read(p)
}

// readFrame reads one length-prefixed message into buf (reused when large
// enough) and returns the payload.
func readFrame(r io.Reader, hdr []byte, buf []byte) ([]byte, error) {
	if _, err := io.ReadFull(r, hdr[:2]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:2]))
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// writeFrame writes one length-prefixed message in a single write.
func writeFrame(w io.Writer, payload []byte) error {
	if len(payload) > 0xFFFF {
		return fmt.Errorf("%w: answer of %d bytes exceeds the 65535-byte frame", ErrFrame, len(payload))
	}
	msg := make([]byte, 2+len(payload))
	binary.BigEndian.PutUint16(msg, uint16(len(payload)))
	copy(msg[2:], payload)
	_, err := w.Write(msg)
	return err
}
