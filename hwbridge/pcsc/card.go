//go:build pcsc

package pcsc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"github.com/kioskd/kioskd/hwbridge"
)

// Connect opens the card in slot's reader. The Card has its own PC/SC
// context, so a waiting supervisor never blocks it; Close releases both.
func (s *Supervisor) Connect(ctx context.Context, slot hwbridge.Slot) (hwbridge.Card, error) {
	name, err := s.tab.readerFor(slot)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := &card{reader: name, timeout: s.cfg.transmitTimeout()}
	err = c.do(ctx, func() error {
		sctx, err := scard.EstablishContext()
		if err != nil {
			return fmt.Errorf("pcsc: reach pcscd: %w", mapErr(err))
		}
		h, err := sctx.Connect(name, scard.ShareShared, scard.ProtocolAny)
		if err != nil {
			_ = sctx.Release()
			return fmt.Errorf("pcsc: connect to card in %q: %w", name, mapErr(err))
		}
		if p := h.ActiveProtocol(); p != scard.ProtocolT0 && p != scard.ProtocolT1 {
			_ = h.Disconnect(scard.LeaveCard)
			_ = sctx.Release()
			return fmt.Errorf("pcsc: card in %q speaks protocol %d, not T=0 or T=1", name, p)
		}
		st, err := h.Status()
		if err != nil {
			_ = h.Disconnect(scard.LeaveCard)
			_ = sctx.Release()
			return fmt.Errorf("pcsc: status of card in %q: %w", name, mapErr(err))
		}
		c.sctx, c.h, c.atr = sctx, h, slices.Clone(st.Atr)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// card is a connection to one card through pcscd.
//
// PC/SC cannot abandon an SCardTransmit already sent, so when ctx ends
// first, Transmit returns at once and the call finishes in the background;
// the card is then unusable (its state is unknown) and Close waits for that
// call before disconnecting.
type card struct {
	reader  string
	timeout time.Duration
	atr     []byte

	mu     sync.Mutex
	sctx   *scard.Context
	h      *scard.Card
	busy   chan struct{} // closed when the call in flight ends; nil when idle
	broken error
	closed bool
}

func (c *card) ATR() []byte { return slices.Clone(c.atr) }

// Transmit sends one command APDU and returns the whole response with its
// status word.
func (c *card) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if len(cmd) < 4 {
		return nil, fmt.Errorf("pcsc: command APDU of %d bytes is shorter than its 4-byte header", len(cmd))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var rsp []byte
	err := c.do(ctx, func() error {
		r, err := c.h.Transmit(cmd)
		if err != nil {
			return fmt.Errorf("pcsc: transmit to card in %q: %w", c.reader, mapErr(err))
		}
		rsp = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return checkResponse(rsp)
}

// Reset warm-resets the card (SCardReconnect with SCARD_RESET_CARD) and
// keeps the connection: the card forgets its sessions and selected
// application. pcscd reports no removal or insertion for it.
func (c *card) Reset(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	return c.do(ctx, func() error {
		if err := c.h.Reconnect(scard.ShareShared, scard.ProtocolAny, scard.ResetCard); err != nil {
			return fmt.Errorf("pcsc: reset card in %q: %w", c.reader, mapErr(err))
		}
		return nil
	})
}

// do runs fn (a blocking PC/SC call) and returns its error, or ctx's error
// as soon as ctx ends; then fn finishes in the background and the card is
// marked broken.
func (c *card) do(ctx context.Context, fn func() error) error {
	done := make(chan struct{})
	var err error
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrCardClosed
	case c.broken != nil:
		err := c.broken
		c.mu.Unlock()
		return err
	case c.busy != nil:
		c.mu.Unlock()
		return errors.New("pcsc: another APDU is in flight on this card")
	}
	c.busy = done
	c.mu.Unlock()
	go func() {
		defer close(done)
		err = fn()
	}()
	select {
	case <-done:
		c.mu.Lock()
		c.busy = nil
		c.mu.Unlock()
		return err
	case <-ctx.Done():
		c.mu.Lock()
		c.broken = fmt.Errorf("pcsc: card in %q did not answer in time: %w", c.reader, ctx.Err())
		c.mu.Unlock()
		go func() { // release what fn obtained once it ends
			<-done
			c.mu.Lock()
			c.busy = nil
			c.mu.Unlock()
			c.Close()
		}()
		return fmt.Errorf("pcsc: card in %q: %w", c.reader, ctx.Err())
	}
}

// Close disconnects from the card, leaving it powered for the next
// connection, and releases the PC/SC context.
func (c *card) Close() error {
	c.mu.Lock()
	if c.closed && c.busy == nil && c.h == nil {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if c.busy != nil { // the late call's goroutine closes when it ends
		c.mu.Unlock()
		return nil
	}
	h, sctx := c.h, c.sctx
	c.h, c.sctx = nil, nil
	c.mu.Unlock()
	var err error
	if h != nil {
		if e := h.Disconnect(scard.LeaveCard); e != nil && !isGone(e) {
			err = fmt.Errorf("pcsc: disconnect from card in %q: %w", c.reader, e)
		}
	}
	if sctx != nil {
		_ = sctx.Release()
	}
	return err
}

// mapErr adds this package's sentinel to the scard errors callers branch on.
func mapErr(err error) error {
	var se scard.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se {
	case scard.ErrRemovedCard, scard.ErrNotTransacted, scard.ErrNoSmartcard, scard.ErrResetCard,
		scard.ErrUnpoweredCard, scard.ErrUnresponsiveCard:
		return fmt.Errorf("%w: %w", ErrCardRemoved, err)
	case scard.ErrReaderUnavailable, scard.ErrUnknownReader, scard.ErrNoService,
		scard.ErrServiceStopped, scard.ErrNoReadersAvailable, scard.ErrInvalidHandle:
		return fmt.Errorf("%w: %w", ErrReaderGone, err)
	}
	return err
}

func isGone(err error) bool {
	err = mapErr(err)
	return errors.Is(err, ErrCardRemoved) || errors.Is(err, ErrReaderGone)
}
