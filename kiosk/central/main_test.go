package central

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the package when goroutines outlive the tests: every
// server, connection and Run must have been stopped by its owner.
func TestMain(m *testing.M) {
	before := len(otherGoroutines())
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(5 * time.Second)
		left := otherGoroutines()
		for len(left) > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			left = otherGoroutines()
		}
		if len(left) > before {
			fmt.Fprintf(os.Stderr, "goroutine leak: %d goroutines after the tests, %d before:\n\n%s\n", len(left), before, strings.Join(left, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// otherGoroutines returns the stacks of all goroutines but the caller and
// the runtime's signal watcher (started by go test -fuzz).
func otherGoroutines() []string {
	buf := make([]byte, 1<<20)
	all := strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")
	var out []string
	for _, g := range all[1:] {
		if !strings.Contains(g, "os/signal.signal_recv") {
			out = append(out, g)
		}
	}
	return out
}
