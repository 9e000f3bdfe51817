package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an io.Writer the test can read while the command writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestCentralSimCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- centralSim(ctx, []string{"--listen", "127.0.0.1:0", "--fail-rate", "0.25", "--duplicate-rate", "1", "--latency", "3ms", "--outage"}, &stderr)
	}()
	re := regexp.MustCompile(`central-sim listening on (http://127\.0\.0\.1:[1-9][0-9]*)\n`)
	var url string
	deadline := time.Now().Add(10 * time.Second)
	for url == "" {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("central-sim exited early: %v (stderr %q)", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line on stderr: %q", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	assertHeaderLimit(t, url)
	resp, err := http.Get(url + "/_sim/faults")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		LatencyMS     int64   `json:"latency_ms"`
		FailRate      float64 `json:"fail_rate"`
		DuplicateRate float64 `json:"duplicate_rate"`
		Outage        bool    `json:"outage"`
	}
	err = json.NewDecoder(resp.Body).Decode(&f)
	resp.Body.Close()
	if err != nil || f.LatencyMS != 3 || f.FailRate != 0.25 || f.DuplicateRate != 1 || !f.Outage {
		t.Fatalf("faults from flags = %+v, %v", f, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("central-sim after cancel: %v", err)
	}
}

func TestCentralSimCommandBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--listen"},
		{[]string{"--listen", ":0", "--fail-rate", "2"}, "fail-rate"},
		{[]string{"--listen", ":0", "--drop-rate", "-1"}, "drop-rate"},
		{[]string{"--listen", ":0", "--latency", "-1s"}, "latency"},
		{[]string{"--listen", ":0", "--tls-cert", "c.pem"}, "--tls-key"},
		{[]string{"--listen", ":0", "--client-ca", "ca.pem"}, "--client-ca"},
		{[]string{"--listen", ":0", "extra"}, "extra"},
		{[]string{"--nope"}, "nope"},
	} {
		var stderr lockedBuffer
		err := centralSim(context.Background(), tc.args, &stderr)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("central-sim %q: err = %v, want a usage error naming %q", tc.args, err, tc.want)
		}
	}
	var stderr lockedBuffer
	err := centralSim(context.Background(), []string{"--listen", ":0", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/c.pem") {
		t.Errorf("missing TLS files: err = %v, want one naming the file", err)
	}
}
