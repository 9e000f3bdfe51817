package daemon_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAcceptedOnlyAfterSync: "accepted" is said only once the operation
// is on disk. A SIGKILL keeps the page cache, so the crash test cannot
// tell a missing fsync; here strace attaches to a running `kioskd run` and
// makes every fdatasync and fsync fail with EIO (fault injection into the
// real binary, nothing in the build). Every enqueue must then be refused,
// and none of the refused operations may be in the store after a restart.
// Opening the store without syncing (bbolt's NoSync) makes the enqueue
// answer 201 and fails this test. Once strace detaches, enqueues are
// accepted again.
func TestAcceptedOnlyAfterSync(t *testing.T) {
	bin(t)
	strace, err := exec.LookPath("strace")
	if err != nil {
		if testing.Short() {
			t.Skip("strace not installed; skipped under -short")
		}
		t.Fatal("strace not installed: run `make test-deps` (scripts/install-test-deps.sh) as root")
	}
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "http://127.0.0.1:1", "")
	d := start(t, daemonReady, "run", "--config", cfg)

	out := filepath.Join(dir, "strace.out")
	cmd := exec.Command(strace, "-f", "-p", strconv.Itoa(d.Pid()), "-o", out,
		"-e", "trace=fdatasync,fsync", "-e", "inject=fdatasync,fsync:error=EIO")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start strace: %v", err)
	}
	detached := false
	detach := func() {
		if detached {
			return
		}
		detached = true
		_ = cmd.Process.Signal(syscall.SIGINT) // strace detaches and exits
		_ = cmd.Wait()
	}
	t.Cleanup(detach)
	// "Process N attached with M threads" comes once every thread is
	// traced; threads made later are followed (-f).
	attached := make(chan string, 1)
	go func() {
		var seen strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			seen.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "attached") {
				select {
				case attached <- "":
				default:
				}
			}
		}
		select {
		case attached <- seen.String():
		default:
		}
	}()
	select {
	case msg := <-attached:
		if msg != "" {
			t.Fatalf("strace did not attach to kioskd:\n%s", msg)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("strace did not attach to kioskd within 15 s")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	enqueue := func(id string) (int, map[string]string) {
		t.Helper()
		var got map[string]string
		code, err := postJSON(ctx, d.URL+"/v1/sim/operations",
			map[string]any{"kind": "report_loss", "subject": map[string]string{"name": "SYNC TEST", "id_number": id}}, &got)
		if err != nil {
			t.Fatalf("enqueue: %v", err)
		}
		return code, got
	}
	for i := range 3 {
		if code, got := enqueue("90000000000" + strconv.Itoa(i)); code == 201 {
			t.Fatalf("enqueue answered 201 (voucher %s) while every fdatasync and fsync of kioskd failed: "+
				"the citizen would hear \"accepted\" for an operation that is not on disk", got["voucher"])
		} else if code != 422 {
			t.Errorf("enqueue with failing syncs answered %d, want 422 not_stored", code)
		}
	}
	detach()
	trace, _ := os.ReadFile(out)
	if !strings.Contains(string(trace), "(INJECTED)") {
		t.Errorf("strace injected no fault: kioskd called neither fdatasync nor fsync while refusing:\n%s", trace)
	}
	code, got := enqueue("900000000009")
	if code != 201 {
		t.Fatalf("enqueue after the syncs work again answered %d, want 201", code)
	}

	// After a restart the store holds the accepted operation only.
	d.Kill()
	d = start(t, daemonReady, "run", "--config", cfg)
	var st struct {
		Queue struct{ Pending, Rejected, Acked int }
	}
	if err := getJSON(ctx, d.URL+"/v1/status", &st); err != nil {
		t.Fatal(err)
	}
	if st.Queue.Pending != 1 {
		t.Errorf("after a restart the store holds %d pending operations, want 1 (voucher %s); the refused ones must not be there", st.Queue.Pending, got["voucher"])
	}
}
