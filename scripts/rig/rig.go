// Package rig holds what integration tests need around the daemon: the
// kioskd binary built once per test run, and (pcscd.go) a private pcscd with
// the vpcd driver. It is imported by tests only.
package rig

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/pcsc"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Kioskd returns the path of a kioskd binary for tests that need real child
// processes: $KIOSKD_BIN when `make` set it and it exists, otherwise one built
// once per test binary into a temporary folder, with the PC/SC driver when
// the test binary has it (built with the `pcsc` tag), so a child `kioskd
// run` with readers.mode "pcsc" drives the same readers the test does.
func Kioskd(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("KIOSKD_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kioskd-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "kioskd")
		args := []string{"build", "-o", binPath}
		if pcsc.Built {
			args = append(args, "-tags", "pcsc")
		}
		cmd := exec.Command("go", append(args, "github.com/kioskd/kioskd/kiosk/cmd/kioskd")...)
		cmd.Dir = moduleRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatalf("build kioskd: %v", buildErr)
	}
	return binPath
}

var (
	hooksOnce sync.Once
	hooksPath string
	hooksErr  error
)

// KioskdTestHooks is a kioskd built once per test binary with the
// kioskd_testhooks tag (and `pcsc` when the test binary has it): the
// shipped kioskd plus POST /v1/test/freeze/{part} on its management API,
// which wedges the session loop, the store or the printer driver for the
// systemd watchdog test. Never $KIOSKD_BIN: that is the shipped binary.
func KioskdTestHooks(t testing.TB) string {
	t.Helper()
	hooksOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kioskd-hooks-")
		if err != nil {
			hooksErr = err
			return
		}
		hooksPath = filepath.Join(dir, "kioskd")
		tags := "kioskd_testhooks"
		if pcsc.Built {
			tags += ",pcsc"
		}
		cmd := exec.Command("go", "build", "-tags", tags, "-o", hooksPath, "github.com/kioskd/kioskd/kiosk/cmd/kioskd")
		cmd.Dir = moduleRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			hooksErr = &buildError{out: string(out), err: err}
		}
	})
	if hooksErr != nil {
		t.Fatalf("build kioskd with test hooks: %v", hooksErr)
	}
	return hooksPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// moduleRoot is the folder holding go.mod, found from this source file.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
