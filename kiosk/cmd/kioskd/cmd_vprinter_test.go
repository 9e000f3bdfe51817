package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/kioskd/kioskd/hwbridge/escpos"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestVprinterUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"--link", "x", "--paper", "60"}, {"--link", "x", "--state", "jammed"}, {"--link", "x", "extra"}} {
		err := vprinterCmd(context.Background(), args, &syncBuf{})
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}

func TestVprinterCommand(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "ttyPRN")
	var stderr syncBuf
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- vprinterCmd(ctx, []string{"--link", link, "--out", dir, "--control", "127.0.0.1:0"}, &stderr)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("vprinter: %v", err)
		}
		if _, err := os.Lstat(link); err == nil {
			t.Errorf("link left behind")
		}
	}()
	var base string
	re := regexp.MustCompile(`control listening on (http://\S+)`)
	for deadline := time.Now().Add(10 * time.Second); base == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no control address in %q", stderr.String())
		}
	}
	assertHeaderLimit(t, base)
	port, err := serial.Open(link, &serial.Mode{BaudRate: 9600})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	port.SetReadTimeout(5 * time.Second)
	status := func() byte {
		port.Write(escpos.StatusRequest(4))
		b := make([]byte, 1)
		if n, _ := port.Read(b); n != 1 {
			t.Fatal("no status reply")
		}
		return b[0]
	}
	resp, err := http.Post(base+"/state/paper_out", "", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /state/paper_out: %v %v", resp, err)
	}
	if got := status(); got != 0x7E {
		t.Errorf("paper out: DLE EOT 4 = %#x, want 0x7e", got)
	}
	if resp, _ := http.Post(base+"/state/jammed", "", nil); resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown state accepted")
	}
	http.Post(base+"/state/ok", "", nil)
	doc, _ := escpos.Encode(escpos.Doc{Blocks: []escpos.Block{escpos.Text{S: "hello"}, escpos.Cut{}}}, escpos.Options{})
	port.Write(doc)
	status() // answered after the receipt was parsed
	resp, err = http.Get(base + "/receipts")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Receipts []struct {
			Text    string `json:"text"`
			PNGPath string `json:"png_path"`
		} `json:"receipts"`
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if len(got.Receipts) != 1 || !strings.Contains(got.Receipts[0].Text, "hello") || got.Receipts[0].PNGPath == "" {
		t.Fatalf("receipts %+v", got)
	}
	if resp, _ := http.Post(base+"/unplug", "", nil); resp == nil || resp.StatusCode != http.StatusNoContent {
		t.Fatal("unplug failed")
	}
	if _, err := os.Lstat(link); err == nil {
		t.Errorf("link still there after unplug")
	}
	if resp, _ := http.Post(base+"/plug", "", nil); resp == nil || resp.StatusCode != http.StatusNoContent {
		t.Fatal("plug failed")
	}
	if _, err := os.Stat(link); err != nil {
		t.Errorf("link not back after plug: %v", err)
	}
}
