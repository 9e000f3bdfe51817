package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A kioskd built without the pcsc tag (no libpcsclite where it was built)
// given a config with readers.mode = "pcsc": check-config says the binary
// cannot run it, and `kioskd run` exits with that reason before it says
// it is ready, so neither a technician nor systemd is told all is well.
func TestPCSCConfigOnABuildWithoutPCSC(t *testing.T) {
	bin := kioskd(t) // built without the pcsc tag
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kioskd.toml")
	conf := "data_dir = " + `"` + filepath.Join(dir, "data") + `"` + "\n[ui]\nlisten = \"127.0.0.1:0\"\n[mgmt]\nlisten = \"127.0.0.1:0\"\n[readers]\nmode = \"pcsc\"\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	const why = "built without PC/SC support"
	for _, args := range [][]string{{"check-config", cfg}, {"run", "--config", cfg}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), why) || strings.Contains(string(out), "kioskd ready") || strings.Contains(string(out), ": ok") {
			t.Errorf("kioskd %s: %v\n%s\nwant a failure that says %q, before any ready or ok", args[0], err, out, why)
		}
	}
}
