package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/kioskd/kioskd/hwbridge/pcsc"
	"github.com/kioskd/kioskd/kiosk/config"
)

func init() {
	register(command{
		name:    "check-config",
		summary: "validate a config file and name every wrong or unknown key with its line",
		run:     runCheckConfig,
	})
}

func runCheckConfig(_ context.Context, args []string) error {
	if len(args) != 1 {
		return usageError{"usage: kioskd check-config FILE"}
	}
	cfg, err := config.Load(args[0])
	if err != nil {
		return err
	}
	// The files it names: tokens, keys and their permissions.
	data, _ := os.ReadFile(args[0]) // Load has read it
	if err := config.CheckFiles(args[0], data, cfg); err != nil {
		return err
	}
	// The file is right, but this binary could not run it.
	if cfg.Readers.Mode == "pcsc" && !pcsc.Built {
		return fmt.Errorf("%s: readers.mode = \"pcsc\": %w", args[0], pcsc.ErrNotBuilt)
	}
	// Speech without espeak-ng is not an error (the terminal works
	// silently) but the technician should hear of it.
	if cfg.Speech.Enabled {
		if _, err := exec.LookPath(cfg.Speech.Binary); err != nil {
			fmt.Fprintf(os.Stdout, "%s: warning: speech.enabled = true but %s is not installed (apt-get install espeak-ng): speech mode will be silent\n", args[0], cfg.Speech.Binary)
		}
	}
	fmt.Fprintf(os.Stdout, "%s: ok\n", args[0])
	return nil
}
