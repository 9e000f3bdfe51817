package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scripts/rig"
)

// notifySocket is a test's stand-in for systemd's notification socket: a
// real unixgram socket that `kioskd run` gets as NOTIFY_SOCKET.
type notifySocket struct {
	path string
	msgs chan string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	// A short path: a unix socket's name is at most 107 bytes.
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	n := &notifySocket{path: filepath.Join(dir, "notify"), msgs: make(chan string, 1024)}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			n.msgs <- string(buf[:k])
		}
	}()
	return n
}

// next returns the next message that contains want, failing after limit or
// when the process ends.
func (n *notifySocket) next(t *testing.T, want string, limit time.Duration, done <-chan struct{}, stderr func() string) string {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case m := <-n.msgs:
			if strings.Contains(m, want) {
				return m
			}
		case <-done:
			// What kioskd sent before it ended is in the socket already
			// (STOPPING=1 comes just before the exit), though the reader
			// may not have handed it over yet: a select on both picks
			// either.
			if m, ok := n.sent(want); ok {
				return m
			}
			t.Fatalf("kioskd exited before sending %q:\n%s", want, stderr())
		case <-deadline:
			t.Fatalf("no %q from kioskd within %s:\n%s", want, limit, stderr())
		}
	}
}

// sent returns a message containing want that the reader hands over
// within a second: for a process that has ended, whose messages are all in
// the socket.
func (n *notifySocket) sent(want string) (string, bool) {
	grace := time.After(time.Second)
	for {
		select {
		case m := <-n.msgs:
			if strings.Contains(m, want) {
				return m, true
			}
		case <-grace:
			return "", false
		}
	}
}

// freePort is a loopback address nothing listens on at the moment.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestSystemdWatchdog runs `kioskd run` under the sd_notify protocol the
// way systemd does (NOTIFY_SOCKET, WATCHDOG_USEC): READY=1 comes once the
// UI and the management API answer, STATUS= carries the outbox, WATCHDOG=1
// comes regularly, and wedging the session loop, the store or the printer
// driver (a hook of a test build only) stops the pings, so systemd would
// restart kioskd; SIGTERM sends STOPPING=1.
func TestSystemdWatchdog(t *testing.T) {
	hooked := rig.KioskdTestHooks(t)
	const interval = 2 * time.Second // WATCHDOG_USEC
	for _, part := range []string{"session", "store", "printer"} {
		t.Run(part, func(t *testing.T) {
			n := listenNotify(t)
			dir := t.TempDir()
			ui, mg := freePort(t), freePort(t)
			cfg := writeConfig(t, dir, "http://127.0.0.1:1", "")
			cmd := exec.Command(hooked, "run", "--config", cfg, "--listen", ui, "--mgmt-listen", mg)
			cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+n.path, fmt.Sprintf("WATCHDOG_USEC=%d", interval.Microseconds()))
			var stderr lockedBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			var exitErr error
			go func() { exitErr = cmd.Wait(); close(done) }()
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-done
			})

			ready := n.next(t, "READY=1", 60*time.Second, done, stderr.String)
			// Ready means serving: both listeners answer at once, no retry.
			for _, url := range []string{"http://" + mg + "/healthz", "http://" + mg + "/v1/status", "http://" + ui + "/"} {
				resp, err := http.Get(url)
				if err != nil {
					t.Fatalf("READY=1 sent while %s does not answer: %v", url, err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("READY=1 sent while %s answers %s", url, resp.Status)
				}
			}
			if !strings.Contains(ready, "STATUS=0 pending, 0 rejected") || !strings.Contains(ready, "; printer ") {
				t.Errorf("READY=1 without the outbox and device status: %q", ready)
			}
			// An operation queued while central is unreachable shows in STATUS.
			if code, err := postJSON(context.Background(), "http://"+mg+"/v1/sim/operations",
				map[string]any{"kind": "report_loss", "subject": map[string]string{"id_number": "110101199003071234"}}, nil); err != nil || code != 201 {
				t.Fatalf("enqueue: %d %v", code, err)
			}
			n.next(t, "STATUS=1 pending", 10*interval, done, stderr.String)
			for range 3 {
				n.next(t, "WATCHDOG=1", 5*interval, done, stderr.String)
			}

			resp, err := http.Post("http://"+mg+"/v1/test/freeze/"+part, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("freeze %s: %s", part, resp.Status)
			}
			// Pings already decided may still come; then none for three
			// intervals, which systemd takes for a hang.
			quiet := quietFor(n, "WATCHDOG=1", 3*interval, 20*interval)
			if !quiet {
				t.Fatalf("with the %s frozen, WATCHDOG=1 kept coming for %s", part, 20*interval)
			}
			name := map[string]string{"session": "session loop", "store": "store", "printer": "printer"}[part]
			if log := stderr.String(); !strings.Contains(log, "not alive") || !strings.Contains(log, name) {
				t.Errorf("the log does not say the %s stopped answering:\n%s", name, log)
			}

			_ = cmd.Process.Signal(syscall.SIGTERM)
			n.next(t, "STOPPING=1", 30*time.Second, done, stderr.String)
			select {
			case <-done:
				if exitErr != nil {
					t.Errorf("kioskd did not stop cleanly: %v\n%s", exitErr, stderr.String())
				}
			case <-time.After(30 * time.Second):
				t.Errorf("kioskd did not stop within 30 s of SIGTERM:\n%s", stderr.String())
			}
		})
	}
}

// quietFor waits until no message containing want came for quiet, and
// reports whether that happened before limit.
func quietFor(n *notifySocket, want string, quiet, limit time.Duration) bool {
	deadline := time.After(limit)
	t := time.NewTimer(quiet)
	defer t.Stop()
	for {
		select {
		case m := <-n.msgs:
			if strings.Contains(m, want) {
				t.Reset(quiet)
			}
		case <-t.C:
			return true
		case <-deadline:
			return false
		}
	}
}

// TestShippedBinaryHasNoFreezeHook: the hooks of the watchdog test are not
// in the kioskd that ships.
func TestShippedBinaryHasNoFreezeHook(t *testing.T) {
	bin(t)
	dir := t.TempDir()
	p := start(t, daemonReady, "run", "--config", writeConfig(t, dir, "http://127.0.0.1:1", ""))
	resp, err := http.Post(p.URL+"/v1/test/freeze/session", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("the shipped kioskd answers the freeze hook: %s", resp.Status)
	}
	out, err := exec.Command("go", "version", "-m", kioskdBin).Output()
	if err == nil && strings.Contains(string(out), "kioskd_testhooks") {
		t.Errorf("the shipped kioskd was built with the kioskd_testhooks tag:\n%s", out)
	}
}
