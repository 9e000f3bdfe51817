package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/kiosk/config"
)

// envTmpfs tells a re-executed test binary where its private tmpfs is.
const envTmpfs = "KIOSKD_DAEMON_TEST_TMPFS"

// inSmallTmpfs re-executes the current test inside a private mount
// namespace with a tmpfs of the given size mounted on a fresh directory,
// and returns "" in the parent (after checking the child passed). In the
// child it returns the tmpfs directory.
func inSmallTmpfs(t *testing.T, size string) string {
	t.Helper()
	if dir := os.Getenv(envTmpfs); dir != "" {
		return dir
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare(1) from util-linux to mount a private tmpfs: not installed")
	}
	if out, err := exec.Command("unshare", "--mount", "--propagation", "private", "true").CombinedOutput(); err != nil {
		t.Skipf("needs a private mount namespace (root or CAP_SYS_ADMIN): unshare failed: %v: %s", err, out)
	}
	dir := t.TempDir()
	script := `mount -t tmpfs -o size="$1" tmpfs "$2" && exec "$3" -test.run "^$4\$" -test.count=1 -test.v`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", size, dir, os.Args[0], t.Name())
	cmd.Env = append(os.Environ(), envTmpfs+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("child in private tmpfs: %v\n%s", err, out)
	}
	return ""
}

// readyz answers /readyz: the status and the body.
func (e *e2e) readyz() (int, string) {
	e.t.Helper()
	resp, err := http.Get(e.a.Mgmt + "/readyz")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// simEnqueueStatus commits an operation through sim control and returns
// the answer's status.
func (e *e2e) simEnqueueStatus() int {
	e.t.Helper()
	resp, err := http.Post(e.a.Mgmt+"/v1/sim/operations", "application/json",
		strings.NewReader(fmt.Sprintf(`{"kind":"report_loss","subject":{"id_number":%q}}`, ssID)))
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A full disk: /readyz says so before a commit fails, names the failed
// commit once one has, and comes back once space is freed; the failures
// and the free space are in /metrics.
func TestReadyzFollowsCommitsAndFreeSpace(t *testing.T) {
	dir := inSmallTmpfs(t, "24m")
	if dir == "" {
		return
	}
	e := runDaemon(t, func(c *config.Config) { c.DataDir = filepath.Join(dir, "data") })
	if code, body := e.readyz(); code != http.StatusOK {
		t.Fatalf("/readyz on an empty disk: %d %s", code, body)
	}
	if e.simEnqueueStatus() != http.StatusCreated {
		t.Fatal("enqueue on an empty disk failed")
	}

	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{0xa5}, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()
	code, body := e.readyz()
	if code == http.StatusOK || !strings.Contains(body, "disk almost full") {
		t.Fatalf("/readyz on a full disk before any commit failed: %d %s; want not ready, disk almost full", code, body)
	}

	failed := false
	for range 2000 {
		if c := e.simEnqueueStatus(); c == http.StatusUnprocessableEntity {
			failed = true
			break
		}
	}
	if !failed {
		t.Fatal("no enqueue failed on the full disk")
	}
	code, body = e.readyz()
	if code == http.StatusOK || !strings.Contains(body, "last commit failed") || !strings.Contains(body, "no space left on device") {
		t.Fatalf("/readyz after a failed commit: %d %s; want not ready, naming the failed commit", code, body)
	}
	fams := e.scrape()
	if v := value(fams, "kioskd_commit_failures_total"); v < 1 {
		t.Errorf("kioskd_commit_failures_total = %v after a failed commit", v)
	}
	if v := value(fams, "kioskd_disk_free_bytes"); v >= readyMinFree {
		t.Errorf("kioskd_disk_free_bytes = %v on a full disk", v)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "ready again once space is freed", func() bool {
		code, _ := e.readyz()
		return code == http.StatusOK
	})
	if c := e.simEnqueueStatus(); c != http.StatusCreated {
		t.Fatalf("enqueue after space was freed: %d", c)
	}
}
