package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/creack/pty"

	"github.com/kioskd/kioskd/kiosk/maint"
)

func pipeWith(t *testing.T, s string) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.WriteString(s); w.Close() }()
	t.Cleanup(func() { r.Close() })
	return r
}

func TestHashPINFromPipe(t *testing.T) {
	var out, prompt bytes.Buffer
	if err := hashPIN(pipeWith(t, "135790\n"), &out, &prompt); err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(out.String())
	if ok, err := maint.Verify(h, "135790"); !ok || err != nil {
		t.Fatalf("printed %q does not verify the PIN: %v", h, err)
	}
	if prompt.Len() != 0 {
		t.Errorf("prompted %q on a pipe", prompt.String())
	}
}

func TestHashPINBad(t *testing.T) {
	for _, in := range []string{"", "12\n", "12ab56\n"} {
		var out bytes.Buffer
		err := hashPIN(pipeWith(t, in), &out, &out)
		if err == nil || out.Len() != 0 {
			t.Errorf("input %q: err %v, out %q", in, err, out.String())
		}
		var ue usageError
		if in != "" && !errors.As(err, &ue) {
			t.Errorf("input %q: %v is not a usage error", in, err)
		}
	}
}

// On a terminal the PIN is asked twice and not echoed.
func TestHashPINTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skip("no pty:", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	var out bytes.Buffer
	prompt := &signalWriter{c: make(chan struct{}, 8)}
	done := make(chan error, 1)
	go func() { done <- hashPIN(tty, &out, prompt) }()
	<-prompt.c
	ptmx.WriteString("864213\n")
	<-prompt.c // the newline after the first PIN
	<-prompt.c // "again: "
	ptmx.WriteString("864213\n")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ok, _ := maint.Verify(strings.TrimSpace(out.String()), "864213"); !ok {
		t.Fatalf("hash %q does not verify", out.String())
	}
	if !strings.Contains(prompt.b.String(), "again") {
		t.Errorf("prompt %q: PIN not asked twice", prompt.b.String())
	}
	tty.Close()
	echoed := make([]byte, 4096)
	n, _ := ptmx.Read(echoed)
	if bytes.Contains(echoed[:n], []byte("864213")) {
		t.Errorf("the terminal echoed the PIN: %q", echoed[:n])
	}
}

// signalWriter records prompts and signals each write.
type signalWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
	c  chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.b.Write(p)
	w.mu.Unlock()
	w.c <- struct{}{}
	return len(p), nil
}
