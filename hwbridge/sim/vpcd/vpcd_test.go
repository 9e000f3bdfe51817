package vpcd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// echoCard answers every APDU with its INS byte followed by 90 00 and counts
// resets.
type echoCard struct {
	mu     sync.Mutex
	resets int
}

func (c *echoCard) ATR() []byte { return []byte{0x3B, 0x80, 0x80, 0x01, 0x01} }
func (c *echoCard) Process(apdu []byte) []byte {
	return []byte{apdu[1], 0x90, 0x00}
}
func (c *echoCard) Reset() {
	c.mu.Lock()
	c.resets++
	c.mu.Unlock()
}
func (c *echoCard) resetCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resets
}

// driver plays pcscd's vpcd IFD handler: it listens, and sends frames to the
// card that connects.
type driver struct {
	t  *testing.T
	ln net.Listener
}

func newDriver(t *testing.T) *driver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &driver{t: t, ln: ln}
}

func (d *driver) accept() net.Conn {
	d.t.Helper()
	c, err := d.ln.Accept()
	if err != nil {
		d.t.Fatalf("accept: %v", err)
	}
	d.t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func send(t *testing.T, c net.Conn, payload []byte) {
	t.Helper()
	if err := writeFrame(c, payload); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func recv(t *testing.T, c net.Conn) []byte {
	t.Helper()
	var hdr [2]byte
	p, err := readFrame(c, hdr[:], nil)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return append([]byte(nil), p...)
}

func startServe(t *testing.T, addr string, card Card, opts Options) (cancel func(), done <-chan error) {
	t.Helper()
	ctx, cancelCtx := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ch <- Serve(ctx, addr, card, opts)
	}()
	t.Cleanup(func() {
		cancelCtx()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return cancelCtx, ch
}

func TestServeAnswersControlAndAPDUs(t *testing.T) {
	d := newDriver(t)
	card := &echoCard{}
	var seen [][]byte
	var mu sync.Mutex
	startServe(t, d.ln.Addr().String(), card, Options{OnAPDU: func(cmd, rsp []byte) {
		mu.Lock()
		seen = append(seen, cmd)
		mu.Unlock()
	}})
	c := d.accept()

	send(t, c, []byte{ctrlPowerOn})
	send(t, c, []byte{ctrlGetATR})
	if got := recv(t, c); !bytes.Equal(got, card.ATR()) {
		t.Fatalf("ATR = % X, want % X", got, card.ATR())
	}
	send(t, c, []byte{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00})
	if got := recv(t, c); !bytes.Equal(got, []byte{0xA4, 0x90, 0x00}) {
		t.Fatalf("response = % X, want A4 90 00", got)
	}
	send(t, c, []byte{ctrlReset})
	send(t, c, []byte{ctrlPowerOff})
	send(t, c, []byte{ctrlGetATR}) // a reply proves the no-reply messages were consumed
	recv(t, c)
	if n := card.resetCount(); n != 2 {
		t.Errorf("resets = %d, want 2 (power on, reset)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 {
		t.Errorf("OnAPDU saw %d APDUs, want 1", len(seen))
	}
}

func TestDropAfter(t *testing.T) {
	d := newDriver(t)
	_, done := startServe(t, d.ln.Addr().String(), &echoCard{}, Options{DropAfter: 2})
	c := d.accept()
	send(t, c, []byte{0x00, 0xB0, 0x00, 0x00, 0x00})
	recv(t, c)
	send(t, c, []byte{0x00, 0xB0, 0x00, 0x00, 0x00})
	var hdr [2]byte
	if _, err := readFrame(c, hdr[:], nil); !errors.Is(err, io.EOF) {
		t.Fatalf("after the 2nd APDU: read err = %v, want EOF (connection dropped)", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrDropped) {
			t.Fatalf("Serve = %v, want ErrDropped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after dropping")
	}
}

func TestGarbageIsShorterThanAStatusWord(t *testing.T) {
	d := newDriver(t)
	startServe(t, d.ln.Addr().String(), &echoCard{}, Options{Garbage: true})
	c := d.accept()
	send(t, c, []byte{0x00, 0x84, 0x00, 0x00, 0x08})
	if got := recv(t, c); len(got) >= 2 {
		t.Fatalf("garbage answer % X has a status word", got)
	}
}

func TestDelayStillAnswers(t *testing.T) {
	d := newDriver(t)
	startServe(t, d.ln.Addr().String(), &echoCard{}, Options{Delay: 20 * time.Millisecond})
	c := d.accept()
	send(t, c, []byte{0x00, 0x84, 0x00, 0x00, 0x08})
	if got := recv(t, c); !bytes.Equal(got, []byte{0x84, 0x90, 0x00}) {
		t.Fatalf("response = % X", got)
	}
}

// The driver going away (pcscd restart) must not end Serve: the card comes
// back as soon as the driver listens again.
func TestReconnectsWhenDriverReturns(t *testing.T) {
	d := newDriver(t)
	addr := d.ln.Addr().String()
	connects := make(chan string, 4)
	startServe(t, addr, &echoCard{}, Options{RetryInterval: 20 * time.Millisecond,
		OnConnect: func(a string) { connects <- a }})
	c := d.accept()
	<-connects
	c.Close()
	d.ln.Close()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	d2 := &driver{t: t, ln: ln}
	c2 := d2.accept()
	send(t, c2, []byte{ctrlGetATR})
	if got := recv(t, c2); len(got) == 0 {
		t.Fatal("no ATR after reconnect")
	}
}

func TestServeReturnsOnCancelWhileWaitingForDriver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: Serve keeps retrying
	cancel, done := startServe(t, addr, &echoCard{}, Options{RetryInterval: 10 * time.Millisecond})
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Serve = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestConnCloseRemovesCard(t *testing.T) {
	d := newDriver(t)
	ctx := context.Background()
	conn, err := Dial(ctx, d.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- conn.Serve(ctx, &echoCard{}, Options{}) }()
	c := d.accept()
	send(t, c, []byte{ctrlGetATR})
	recv(t, c)
	conn.Close()
	var hdr [2]byte
	if _, err := readFrame(c, hdr[:], nil); !errors.Is(err, io.EOF) {
		t.Fatalf("driver read after Close = %v, want EOF", err)
	}
	if err := <-done; err == nil {
		t.Fatal("Serve returned nil after Close")
	}
}

func TestUnknownControlByteIsAnError(t *testing.T) {
	d := newDriver(t)
	_, done := startServe(t, d.ln.Addr().String(), &echoCard{}, Options{})
	c := d.accept()
	send(t, c, []byte{0x7F})
	select {
	case err := <-done:
		if !errors.Is(err, ErrFrame) {
			t.Fatalf("Serve = %v, want ErrFrame", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return on an unknown control byte")
	}
}

func TestReadFrameTruncated(t *testing.T) {
	var hdr [2]byte
	_, err := readFrame(bytes.NewReader([]byte{0x00, 0x05, 0x01}), hdr[:], nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want ErrUnexpectedEOF", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0x04})
	f.Add([]byte{0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00})
	f.Add([]byte{0xFF, 0xFF})
	f.Add([]byte{0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		var hdr [2]byte
		r := bytes.NewReader(data)
		for {
			p, err := readFrame(r, hdr[:], nil)
			if err != nil {
				return
			}
			var out bytes.Buffer
			if err := writeFrame(&out, p); err != nil {
				t.Fatal(err)
			}
			if got := binary.BigEndian.Uint16(out.Bytes()); int(got) != len(p) {
				t.Fatalf("length %d != %d", got, len(p))
			}
		}
	})
}
