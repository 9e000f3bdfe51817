package main

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

// --help lists a command's flags and does nothing else; a wrong flag lists
// them too and is a usage error (exit status 2).
func TestParseFlags(t *testing.T) {
	newFS := func() *flag.FlagSet {
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		fs.String("config", "", "config file (TOML)")
		return fs
	}
	var out strings.Builder
	help, err := parseFlags(newFS(), []string{"--help"}, &out)
	if !help || err != nil || !strings.Contains(out.String(), "usage: kioskd run [flags]") || !strings.Contains(out.String(), "-config") {
		t.Errorf("--help: help %v, err %v, printed %q", help, err, out.String())
	}
	out.Reset()
	help, err = parseFlags(newFS(), []string{"--bogus"}, &out)
	var ue usageError
	if help || !errors.As(err, &ue) || !strings.Contains(err.Error(), "bogus") || !strings.Contains(out.String(), "-config") {
		t.Errorf("--bogus: help %v, err %v, printed %q", help, err, out.String())
	}
	// `kioskd run --help` prints and returns without starting the daemon.
	if err := runDaemon(context.Background(), []string{"--help"}); err != nil {
		t.Errorf("run --help: %v", err)
	}
}
