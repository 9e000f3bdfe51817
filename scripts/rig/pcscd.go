package rig

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Paths of the Debian packages the PC/SC rig needs (DOMAIN.md, "PC/SC on
// Linux").
const (
	vpcdDriver  = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
	installHint = "install pcscd, libpcsclite-dev and vsmartcard-vpcd: run `make test-deps` (scripts/install-test-deps.sh) as root"
	// VPCDReaderPrefix is how pcscd names the vpcd readers: the first slot
	// is "Virtual PCD 00 00", the second "Virtual PCD 00 01".
	VPCDReaderPrefix = "Virtual PCD"
)

// libpcsclite reads PCSCLITE_CSOCK_NAME once per process
// (winscard_msg.c, SocketName_init under pthread_once), so every rig pcscd
// of one test process serves the same socket path, one at a time.
var (
	sockOnce sync.Once
	sockDir  string
	sockErr  error

	liveMu sync.Mutex
	live   *PCSCDaemon
)

// PCSCDaemon is a private pcscd with the vsmartcard vpcd reader driver, started
// in the foreground inside its own mount namespace with a temporary folder
// bind-mounted over /run/pcscd, so it never touches a system pcscd and test
// binaries can run side by side. The test process reaches it through
// PCSCLITE_CSOCK_NAME, which PCSCD sets.
type PCSCDaemon struct {
	t       testing.TB
	confDir string
	port    int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *syncBuffer
}

// PCSCD starts a private pcscd for the test and stops it in t.Cleanup. When
// pcscd, the vpcd driver or unshare is missing, or the process is not root,
// the test fails with an install hint, or is skipped under -short.
func PCSCD(t testing.TB) *PCSCDaemon {
	t.Helper()
	if reason := missing(); reason != "" {
		if testing.Short() {
			t.Skipf("PC/SC rig unavailable (%s); skipped under -short", reason)
		}
		t.Fatalf("PC/SC rig unavailable: %s; %s", reason, installHint)
	}
	sockOnce.Do(func() {
		sockDir, sockErr = os.MkdirTemp("", "kioskd-pcscd-run-")
		if sockErr == nil {
			sockErr = os.Setenv("PCSCLITE_CSOCK_NAME", filepath.Join(sockDir, "pcscd.comm"))
		}
	})
	if sockErr != nil {
		t.Fatalf("rig pcscd socket folder: %v", sockErr)
	}
	liveMu.Lock()
	if live != nil {
		liveMu.Unlock()
		t.Fatal("rig: one private pcscd per test process at a time (libpcsclite fixes its socket path per process)")
	}
	p := &PCSCDaemon{t: t, confDir: t.TempDir()}
	live = p
	liveMu.Unlock()

	port, err := freePortPair()
	if err != nil {
		t.Fatalf("rig pcscd: %v", err)
	}
	p.port = port
	// A copy of Debian's /etc/reader.conf.d/vpcd on our own port; the driver
	// listens on port (slot 0) and port+1 (slot 1).
	conf := fmt.Sprintf("FRIENDLYNAME \"%s\"\nDEVICENAME   /dev/null:0x%04X\nLIBPATH      %s\nCHANNELID    0x%04X\n",
		VPCDReaderPrefix, port, vpcdDriver, port)
	if err := os.WriteFile(filepath.Join(p.confDir, "vpcd"), []byte(conf), 0o644); err != nil {
		t.Fatalf("rig pcscd config: %v", err)
	}
	t.Cleanup(func() {
		p.Stop()
		// The folder's name stays this process's socket path; it is made
		// again by the next Start.
		os.RemoveAll(sockDir)
		liveMu.Lock()
		live = nil
		liveMu.Unlock()
	})
	p.Start()
	return p
}

// missing says what the rig lacks on this machine, or "".
func missing() string {
	if _, err := exec.LookPath("pcscd"); err != nil {
		return "pcscd not installed"
	}
	if _, err := os.Stat(vpcdDriver); err != nil {
		return "vpcd driver " + vpcdDriver + " not installed"
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		return "unshare (util-linux) not installed"
	}
	if os.Geteuid() != 0 {
		return "a private mount namespace needs root"
	}
	return ""
}

// freePortPair finds p such that p and p+1 are free TCP ports.
func freePortPair() (int, error) {
	for range 50 {
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			return 0, err
		}
		p := ln.Addr().(*net.TCPAddr).Port
		if p >= 0xFFFF {
			ln.Close()
			continue
		}
		ln2, err := net.Listen("tcp", fmt.Sprintf(":%d", p+1))
		ln.Close()
		if err != nil {
			continue
		}
		ln2.Close()
		return p, nil
	}
	return 0, fmt.Errorf("no two consecutive free TCP ports found for the vpcd driver")
}

// SocketPath is the pcscd.comm socket this pcscd serves.
func (p *PCSCDaemon) SocketPath() string { return filepath.Join(sockDir, "pcscd.comm") }

// VPCDAddr is where the vpcd driver's first slot (reader "Virtual PCD 00 00")
// waits for a virtual card.
func (p *PCSCDaemon) VPCDAddr() string { return p.VPCDAddrSlot(0) }

// VPCDAddrSlot is the address for slot 0 or 1 of the vpcd driver.
func (p *PCSCDaemon) VPCDAddrSlot(slot int) string {
	return fmt.Sprintf("127.0.0.1:%d", p.port+slot)
}

// ReaderName is the PC/SC name of the vpcd reader for slot 0 or 1.
func (p *PCSCDaemon) ReaderName(slot int) string {
	return fmt.Sprintf("%s 00 %02d", VPCDReaderPrefix, slot)
}

// Log is pcscd's output so far, for failure messages.
func (p *PCSCDaemon) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out == nil {
		return ""
	}
	return p.out.String()
}

// Start starts pcscd when it is not running and waits until it is ready.
func (p *PCSCDaemon) Start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return
	}
	// A killed pcscd leaves its socket and pid file behind; a new one would
	// think another pcscd owns the folder.
	os.Remove(filepath.Join(sockDir, "pcscd.comm"))
	os.Remove(filepath.Join(sockDir, "pcscd.pid"))
	if err := os.MkdirAll(sockDir, 0o755); err != nil {
		p.t.Fatalf("rig: pcscd socket folder: %v", err)
	}
	script := `mkdir -p /run/pcscd && mount --bind "$1" /run/pcscd && exec pcscd --foreground --info --config "$2"`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private",
		"sh", "-c", script, "rig-pcscd", sockDir, p.confDir)
	out := &syncBuffer{ready: make(chan struct{}), marker: "daemon ready"}
	cmd.Stdout = out
	cmd.Stderr = out
	// pcscd dies with the test binary even when the test binary is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("rig: start pcscd: %v", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	select {
	case <-out.ready:
	case <-done:
		p.t.Fatalf("rig: pcscd exited during start:\n%s", out.String())
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
		p.t.Fatalf("rig: pcscd not ready after 15s:\n%s", out.String())
	}
	// "daemon ready" can come before the socket is bound: wait for it, or
	// the first client finds no pcscd.
	sock := filepath.Join(sockDir, "pcscd.comm")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			p.t.Fatalf("rig: pcscd ready but no socket at %s after 5s:\n%s", sock, out.String())
		}
	}
	p.cmd, p.done, p.out = cmd, done, out
}

// Stop ends pcscd with SIGTERM (an orderly shutdown) and waits for it.
func (p *PCSCDaemon) Stop() { p.signal(syscall.SIGTERM) }

// Kill ends pcscd with SIGKILL (a crash) and waits for it.
func (p *PCSCDaemon) Kill() { p.signal(syscall.SIGKILL) }

// Restart stops pcscd and starts it again on the same socket and ports.
func (p *PCSCDaemon) Restart() {
	p.t.Helper()
	p.Stop()
	p.Start()
}

func (p *PCSCDaemon) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// syncBuffer collects a process's output and closes ready the first time
// marker appears in it.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	ready  chan struct{}
	seen   bool
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if !b.seen && strings.Contains(b.buf.String(), b.marker) {
		b.seen = true
		close(b.ready)
	}
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
