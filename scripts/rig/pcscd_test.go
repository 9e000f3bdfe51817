package rig_test

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge/sim/vpcd"
	"github.com/kioskd/kioskd/scripts/rig"
)

// atrCard counts how often pcscd asked for its ATR: pcscd polls every vpcd
// slot with "get ATR" every 400 ms while a card is connected.
type atrCard struct{ atrs, connects atomic.Int32 }

func (c *atrCard) ATR() []byte             { c.atrs.Add(1); return []byte{0x3B, 0x80, 0x80, 0x01, 0x01} }
func (c *atrCard) Process(b []byte) []byte { return []byte{0x90, 0x00} }
func (c *atrCard) Reset()                  {}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPCSCDServesVPCDAndSurvivesKillAndRestart(t *testing.T) {
	p := rig.PCSCD(t)
	if os.Getenv("PCSCLITE_CSOCK_NAME") != p.SocketPath() {
		t.Fatalf("PCSCLITE_CSOCK_NAME = %q, want %q", os.Getenv("PCSCLITE_CSOCK_NAME"), p.SocketPath())
	}
	if _, err := os.Stat(p.SocketPath()); err != nil {
		t.Fatalf("pcscd socket: %v\n%s", err, p.Log())
	}
	if _, err := os.Stat("/run/pcscd/pcscd.comm"); err == nil && p.SocketPath() != "/run/pcscd/pcscd.comm" {
		// The system folder must not hold *our* pcscd: our socket lives in
		// the temp folder only. (A system pcscd may exist; that is fine.)
		t.Logf("a system pcscd socket exists at /run/pcscd; the rig left it alone")
	}

	card := &atrCard{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- vpcd.Serve(ctx, p.VPCDAddr(), card, vpcd.Options{RetryInterval: 50 * time.Millisecond,
			OnConnect: func(string) { card.connects.Add(1) }})
	}()
	defer func() {
		cancel()
		<-done
	}()
	waitFor(t, "pcscd to poll the virtual card's ATR", func() bool { return card.atrs.Load() > 0 })

	p.Kill()
	p.Start()
	waitFor(t, "the virtual card to reconnect after pcscd was killed", func() bool { return card.connects.Load() >= 2 })
	before := card.atrs.Load()
	waitFor(t, "the restarted pcscd to poll the card", func() bool { return card.atrs.Load() > before })

	p.Restart()
	waitFor(t, "the virtual card to reconnect after a restart", func() bool { return card.connects.Load() >= 3 })
}

func TestPCSCDNamesTwoVPCDSlots(t *testing.T) {
	p := rig.PCSCD(t)
	if p.VPCDAddr() == p.VPCDAddrSlot(1) {
		t.Fatal("slot 0 and slot 1 share an address")
	}
	if got, want := p.ReaderName(1), "Virtual PCD 00 01"; got != want {
		t.Fatalf("ReaderName(1) = %q, want %q", got, want)
	}
	// The second slot answers a card too.
	card := &atrCard{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- vpcd.Serve(ctx, p.VPCDAddrSlot(1), card, vpcd.Options{}) }()
	defer func() {
		cancel()
		<-done
	}()
	waitFor(t, "pcscd to poll slot 1", func() bool { return card.atrs.Load() > 0 })
}
