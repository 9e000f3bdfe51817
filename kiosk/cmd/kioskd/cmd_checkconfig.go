package main

import (
	"context"
	"fmt"
	"os"

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
	if _, err := config.Load(args[0]); err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "%s: ok\n", args[0])
	return nil
}
