package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfigSpeechWithoutEspeak: check-config accepts a config with
// speech on where espeak-ng is missing, and says speech will be silent;
// with speech off, or espeak-ng there, it says nothing of it.
func TestCheckConfigSpeechWithoutEspeak(t *testing.T) {
	dir := t.TempDir()
	base := "data_dir = \"" + filepath.Join(dir, "data") + "\"\n"
	run := func(conf string) string {
		t.Helper()
		cfg := filepath.Join(dir, "kioskd.toml")
		if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := os.CreateTemp(dir, "stdout")
		if err != nil {
			t.Fatal(err)
		}
		stdout := os.Stdout
		os.Stdout = out
		err = runCheckConfig(context.Background(), []string{cfg})
		os.Stdout = stdout
		out.Close()
		if err != nil {
			t.Fatalf("check-config: %v", err)
		}
		b, _ := os.ReadFile(out.Name())
		return string(b)
	}
	const warn = "speech mode will be silent"
	if got := run(base + "[speech]\nbinary = \"" + filepath.Join(dir, "no-espeak-ng") + "\"\n"); !strings.Contains(got, warn) || !strings.Contains(got, ": ok") {
		t.Errorf("espeak-ng missing: %q, want the warning and ok", got)
	}
	if got := run(base + "[speech]\nenabled = false\nbinary = \"" + filepath.Join(dir, "no-espeak-ng") + "\"\n"); strings.Contains(got, warn) {
		t.Errorf("speech off: %q", got)
	}
	if got := run(base + "[speech]\nbinary = \"/bin/true\"\n"); strings.Contains(got, warn) {
		t.Errorf("binary present: %q", got)
	}
}
