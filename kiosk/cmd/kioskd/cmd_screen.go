package main

import (
	"context"
	"flag"
	"log/slog"
	"os"

	"github.com/kioskd/kioskd/kiosk/screen"
	"github.com/kioskd/kioskd/kiosk/sdnotify"
)

func init() {
	register(command{
		name:    "screen",
		summary: "the touch screen: cage with Chromium in kiosk mode on kioskd's page, supervised (kioskd-screen.service)",
		run:     runScreen,
	})
}

func runScreen(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("screen", flag.ContinueOnError)
	var cfg screen.Config
	fs.StringVar(&cfg.UI, "ui", "http://127.0.0.1:8080/", "kioskd's page")
	fs.StringVar(&cfg.Mgmt, "mgmt", "http://127.0.0.1:9100", "kioskd's management API (loopback: /v1/status without a token)")
	fs.StringVar(&cfg.Cage, "cage", "cage", "the cage Wayland kiosk compositor")
	fs.StringVar(&cfg.Chromium, "chromium", "chromium", "the Chromium browser")
	fs.Func("chromium-flag", "one more Chromium flag (repeatable)", func(s string) error {
		cfg.Flags = append(cfg.Flags, s)
		return nil
	})
	if help, err := parseFlags(fs, args, os.Stderr); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"screen: unexpected argument " + fs.Arg(0)}
	}
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		return usageError{"screen: XDG_RUNTIME_DIR is not set: cage needs it for its Wayland socket (kioskd-screen.service gets one from its login session)"}
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	return screen.Run(ctx, cfg, sdnotify.New(cfg.Log.With("part", "systemd")))
}
