package store_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

// Tests here run parts of themselves in a child process: the test binary
// re-executed with -test.run naming the test and an environment variable
// telling it which part to play.
const (
	envTmpfs     = "KIOSKD_STORE_TEST_TMPFS"      // child: a small tmpfs is mounted here
	envKillChild = "KIOSKD_STORE_TEST_KILL_CHILD" // child: enqueue into this file until killed
)

// inSmallTmpfs re-executes the current test inside a private mount
// namespace with a tmpfs of the given size mounted on a fresh directory,
// and returns "" in the parent (after checking the child passed). In the
// child it returns the tmpfs directory.
func inSmallTmpfs(t *testing.T, size string) string {
	t.Helper()
	if dir := os.Getenv(envTmpfs); dir != "" {
		return dir
	}
	// Only -short skips: without -short a machine that cannot run this
	// (make test installs util-linux and runs as root) fails, saying why,
	// instead of passing without having tested.
	if testing.Short() {
		t.Skip("-short: mounts a private tmpfs in a child process")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatal("needs unshare(1) from util-linux to mount a private tmpfs: not installed (scripts/install-test-deps.sh installs it); -short skips this test")
	}
	if out, err := exec.Command("unshare", "--mount", "--propagation", "private", "true").CombinedOutput(); err != nil {
		t.Fatalf("needs a private mount namespace (root or CAP_SYS_ADMIN): unshare failed: %v: %s; -short skips this test", err, out)
	}
	dir := t.TempDir()
	script := `mount -t tmpfs -o size="$1" tmpfs "$2" && exec "$3" -test.run "^$4\$" -test.count=1 -test.v`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", size, dir, os.Args[0], t.Name())
	cmd.Env = append(os.Environ(), envTmpfs+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("child in private tmpfs: %v\n%s", err, out)
	}
	t.Logf("child in private tmpfs:\n%s", out)
	return ""
}

func TestFullDisk(t *testing.T) {
	dir := inSmallTmpfs(t, "2m")
	if dir == "" {
		return
	}
	// A filler we delete later, to show the store works again once space
	// is freed.
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 256<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "data", "kioskd.db")
	s := mustOpen(t, path, testOptions(nil))

	var (
		mu       sync.Mutex
		accepted = map[uint64]store.Operation{}
		failures []error
	)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 9))
			fails := 0
			for i := 0; fails < 3 && i < 100000; i++ {
				pers := append(personalJSON(t, i), bytes.Repeat([]byte{byte('a' + r.IntN(26))}, r.IntN(600))...)
				op, err := s.Enqueue(context.Background(), store.NewOperation{Kind: "report_loss", Personal: pers})
				mu.Lock()
				if err != nil {
					fails++
					failures = append(failures, err)
				} else {
					accepted[op.Seq] = op
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failures) == 0 {
		t.Fatal("the disk never filled up")
	}
	for _, err := range failures {
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "nothing stored") {
			t.Errorf("failed Enqueue: %v; want a 'no space left on device ... nothing stored' error", err)
		}
	}
	t.Logf("%d accepted, %d failed, first failure: %v", len(accepted), len(failures), failures[0])
	st, err := s.Stats()
	if err != nil || st.Pending != len(accepted) {
		t.Errorf("Stats.Pending = %d (%v), want %d", st.Pending, err, len(accepted))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen on the still full disk: every accepted operation is there as
	// the caller was told, none other, sequence without gaps.
	s = mustOpen(t, path, testOptions(nil))
	checkAll := func() {
		t.Helper()
		ops, err := s.Pending(0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(ops) != len(accepted) {
			t.Fatalf("after reopen %d operations, %d were accepted", len(ops), len(accepted))
		}
		for i, op := range ops {
			want, ok := accepted[uint64(i+1)]
			if !ok || !reflect.DeepEqual(op, want) {
				t.Fatalf("operation %d after reopen = %+v, accepted as %+v", i+1, op, want)
			}
		}
	}
	checkAll()

	// Free space: enqueue works again and continues the sequence.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	op := enqueue(t, s, "report_loss", personalJSON(t, 0))
	if op.Seq != uint64(len(accepted)+1) {
		t.Errorf("after freeing space: Seq %d, want %d", op.Seq, len(accepted)+1)
	}
	accepted[op.Seq] = op
	checkAll()
	s.Close()
}

func TestReadOnlyDataDir(t *testing.T) {
	dir := inSmallTmpfs(t, "4m")
	if dir == "" {
		return
	}
	path := filepath.Join(dir, "data", "kioskd.db")
	s := mustOpen(t, path, testOptions(nil))
	var want []store.Operation
	for i := range 20 {
		want = append(want, enqueue(t, s, "report_loss", personalJSON(t, i)))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	remount := func(mode string) {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "remount,"+mode, dir).CombinedOutput(); err != nil {
			t.Fatalf("remount %s: %v: %s", mode, err, out)
		}
	}
	remount("ro")

	_, err := store.Open(path, testOptions(nil))
	if !errors.Is(err, syscall.EROFS) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "read-only file system") {
		t.Errorf("Open on read-only dir: %v; want a read-only error naming %s", err, path)
	}
	t.Logf("existing file: %v", err)
	other := filepath.Join(dir, "data", "new.db")
	_, err = store.Open(other, testOptions(nil))
	if !errors.Is(err, syscall.EROFS) || !strings.Contains(err.Error(), other) {
		t.Errorf("Open new file on read-only dir: %v; want a read-only error naming %s", err, other)
	}
	t.Logf("new file: %v", err)
	if _, err := store.LoadOrCreateKey(filepath.Join(dir, "data", "store.key")); !errors.Is(err, syscall.EROFS) {
		t.Errorf("LoadOrCreateKey on read-only dir: %v, want EROFS", err)
	}

	remount("rw")
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("file changed while the directory was read-only")
	}
	s = mustOpen(t, path, testOptions(nil))
	defer s.Close()
	got, err := s.Pending(0, 100)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("after read-only episode: %d ops, %v; want the 20 earlier ones intact", len(got), err)
	}
	if op := enqueue(t, s, "report_loss", nil); op.Seq != 21 {
		t.Errorf("next Seq = %d, want 21", op.Seq)
	}
}

// TestKilledWhileEnqueueing SIGKILLs a process that enqueues from four
// goroutines and prints each operation it was told is stored, many times
// over, then checks every printed operation is in the file as printed, the
// sequence has no gaps and nothing was invented beyond what was in flight.
func TestKilledWhileEnqueueing(t *testing.T) {
	if path := os.Getenv(envKillChild); path != "" {
		killChild(path)
		return
	}
	kills := 20
	if testing.Short() {
		kills = 5
	}
	path := dbPath(t)
	told := map[uint64]string{} // seq → key the child printed
	r := rand.New(rand.NewPCG(3, 4))
	for k := range kills {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestKilledWhileEnqueueing$", "-test.count=1")
		cmd.Env = append(os.Environ(), envKillChild+"="+path)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		deadline := time.Time{}
		n := 0
		for lines.Scan() {
			f := strings.Fields(lines.Text())
			if len(f) != 2 {
				continue
			}
			seq, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				continue
			}
			told[seq] = f[1]
			n++
			if deadline.IsZero() {
				deadline = time.Now().Add(time.Duration(5+r.IntN(100)) * time.Millisecond)
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		for lines.Scan() { // what was printed before the kill landed
			if f := strings.Fields(lines.Text()); len(f) == 2 {
				if seq, err := strconv.ParseUint(f[0], 10, 64); err == nil {
					told[seq] = f[1]
				}
			}
		}
		err = cmd.Wait()
		if n == 0 {
			t.Fatalf("kill %d: child printed nothing: %v\n%s", k, err, stderr.Bytes())
		}
	}

	s := mustOpen(t, path, testOptions(nil))
	defer s.Close()
	ops, err := s.Pending(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i, op := range ops {
		if op.Seq != uint64(i+1) {
			t.Fatalf("gap in sequence: position %d holds %d", i+1, op.Seq)
		}
		if !bytes.HasPrefix(op.Personal, []byte(`{"n":`)) {
			t.Fatalf("op %d: personal data %q, want what the child wrote", op.Seq, op.Personal)
		}
	}
	stored := map[uint64]string{}
	for _, op := range ops {
		stored[op.Seq] = op.Key
	}
	for seq, key := range told {
		if stored[seq] != key {
			t.Fatalf("op %d was reported stored with key %s, file has %q", seq, key, stored[seq])
		}
	}
	// Committed but not yet printed when the kill came: at most one batch
	// (four callers) per kill.
	if extra := len(stored) - len(told); extra < 0 || extra > 4*kills {
		t.Errorf("%d operations stored, %d reported: %d unreported", len(stored), len(told), extra)
	}
	t.Logf("%d kills, %d operations reported, %d stored", kills, len(told), len(stored))
}

func killChild(path string) {
	s, err := store.Open(path, testOptions(nil))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				op, err := s.Enqueue(context.Background(), store.NewOperation{Kind: "report_loss", Personal: fmt.Appendf(nil, `{"n":%d,"g":%d}`, i, g)})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "%d %s\n", op.Seq, op.Key)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
