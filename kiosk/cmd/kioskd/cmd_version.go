package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/kioskd/kioskd/kiosk"
)

func init() {
	register(command{name: "version", summary: "print version, commit and Go version", run: func(context.Context, []string) error {
		fmt.Printf("kioskd %s (commit %s, %s)\n", kiosk.Version, kiosk.Commit, runtime.Version())
		return nil
	}})
}
