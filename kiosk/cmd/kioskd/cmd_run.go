package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"

	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/daemon"
)

func init() {
	register(command{
		name:    "run",
		summary: "run the terminal daemon (no config: the embedded default with simulated devices)",
		run:     runDaemon,
	})
}

func runDaemon(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file (TOML); none = the embedded default")
	dataDir := fs.String("data-dir", "", "data directory (overrides data_dir)")
	listen := fs.String("listen", "", "UI listen address (overrides ui.listen)")
	mgmtListen := fs.String("mgmt-listen", "", "management API listen address (overrides mgmt.listen)")
	centralURL := fs.String("central", "", `central API URL or "embedded" (overrides central.url)`)
	if help, err := parseFlags(fs, args, os.Stderr); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"run: unexpected argument " + fs.Arg(0)}
	}
	cfg := config.Default()
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			return err
		}
	}
	for _, o := range []struct {
		flag string
		dst  *string
	}{{*dataDir, &cfg.DataDir}, {*listen, &cfg.UI.Listen}, {*mgmtListen, &cfg.Mgmt.Listen}, {*centralURL, &cfg.Central.URL}} {
		if o.flag != "" {
			*o.dst = o.flag
		}
	}
	if ps := cfg.Validate(); len(ps) > 0 {
		return &config.Problems{File: "flags", List: ps}
	}
	var data []byte
	name := "the embedded default"
	if *cfgPath != "" {
		name = *cfgPath
		data, _ = os.ReadFile(*cfgPath) // Load has read it
	}
	if err := config.CheckFiles(name, data, cfg); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level(cfg.LogLevel)}))
	d, err := daemon.Open(cfg, log)
	if err != nil {
		return err
	}
	if err := d.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func level(s string) slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(s))
	return l
}
