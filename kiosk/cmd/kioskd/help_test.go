package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

var built struct {
	once sync.Once
	bin  string
	err  error
	out  []byte
}

// kioskd builds the command once for the package's tests, as `go build`
// does in a checkout (without the pcsc tag), so the binary carries the
// build information a release has.
func kioskd(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds kioskd")
	}
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "kioskd-bin")
		if err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(dir, "kioskd")
		built.out, built.err = exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.bin != "" {
		os.RemoveAll(filepath.Dir(built.bin))
	}
	os.Exit(code)
}

// run runs the binary and returns its stdout, stderr and exit status.
func run(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	cmd := exec.Command(kioskd(t), args...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		status = exit.ExitCode()
	default:
		t.Fatal(err)
	}
	return o.String(), e.String(), status
}

// `kioskd help`, `--help` and `-h` list every command on stdout and exit
// 0; no command, or one kioskd does not know, lists them on stderr and is
// a usage error (exit 2).
func TestHelpListsEveryCommand(t *testing.T) {
	for _, arg := range []string{"help", "--help", "-h"} {
		out, errOut, status := run(t, arg)
		if status != 0 || errOut != "" {
			t.Errorf("kioskd %s: exit %d, stderr %q; want 0 and nothing", arg, status, errOut)
		}
		for _, name := range commandNames() {
			if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + ` +\S`).MatchString(out) {
				t.Errorf("kioskd %s does not list %q with its summary:\n%s", arg, name, out)
			}
		}
	}
	for _, args := range [][]string{{}, {"frobnicate"}} {
		out, errOut, status := run(t, args...)
		if status != 2 || out != "" || !strings.Contains(errOut, "usage: kioskd <command>") || !strings.Contains(errOut, "check-config") {
			t.Errorf("kioskd %q: exit %d, stdout %q, stderr %q; want 2 and the list on stderr", args, status, out, errOut)
		}
	}
}

// `kioskd --version` is `kioskd version`: the version, the commit and the
// Go version. The commit is what the Go toolchain recorded in the binary
// (vcs.revision; none in a git worktree or with -buildvcs=false), or what
// the Makefile's -ldflags set.
func TestVersion(t *testing.T) {
	bin := kioskd(t)
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "unknown"
	if m := regexp.MustCompile(`(?m)^\s*build\s+vcs\.revision=([0-9a-f]{7})`).FindSubmatch(info); m != nil {
		want = string(m[1])
	}
	for _, arg := range []string{"version", "--version"} {
		out, errOut, status := run(t, arg)
		if status != 0 || errOut != "" || !regexp.MustCompile(`^kioskd dev \(commit `+want+`, go1\.[0-9.]+\)\n$`).MatchString(out) {
			t.Errorf("kioskd %s: exit %d, stdout %q, stderr %q; want version dev, commit %s", arg, status, out, errOut, want)
		}
	}
	// The Makefile's flags still name the release and the commit.
	flagged := filepath.Join(t.TempDir(), "kioskd")
	ld := "-X github.com/kioskd/kioskd/kiosk.Version=v9.8.7 -X github.com/kioskd/kioskd/kiosk.Commit=abc1234"
	if out, err := exec.Command("go", "build", "-ldflags", ld, "-o", flagged, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(flagged, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "kioskd v9.8.7 (commit abc1234, go1.") {
		t.Errorf("kioskd built with -ldflags: %q, %v", out, err)
	}
}

// README.md's command table is the command line's single source: every
// registered command has a row, and every row is a registered command.
func TestREADMEListsEveryCommand(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `kioskd ([a-z-]+)[^`]*` \\|").FindAllStringSubmatch(string(b), -1) {
		documented = append(documented, m[1])
	}
	for _, name := range commandNames() {
		if !slices.Contains(documented, name) {
			t.Errorf("kioskd %s is registered but has no row in README.md's command table", name)
		}
	}
	for _, name := range documented {
		if _, ok := commands[name]; !ok {
			t.Errorf("README.md lists kioskd %s, which is not a command", name)
		}
	}
}
