package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kioskd/kioskd/kiosk/central"
)

func init() {
	register(command{
		name:    "central-sim",
		summary: "serve the simulated central system (fault injection, exactly-once record)",
		run: func(ctx context.Context, args []string) error {
			return centralSim(ctx, args, os.Stderr)
		},
	})
}

// centralSim is `kioskd central-sim`: it serves central.Sim until ctx is
// done and says "central-sim listening on <url>" on stderr once listening.
func centralSim(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("central-sim", flag.ContinueOnError)
	listen := fs.String("listen", "", "address to listen on, e.g. 127.0.0.1:8443 (port 0: any free port)")
	var cfg central.SimConfig
	fs.DurationVar(&cfg.Latency, "latency", 0, "latency added to every /v1 answer, e.g. 200ms")
	fs.Float64Var(&cfg.FailRate, "fail-rate", 0, "share of /v1 requests answered 503, in [0,1]")
	fs.Float64Var(&cfg.DropRate, "drop-rate", 0, "share of operation submissions applied but left unanswered (connection cut), in [0,1]")
	fs.Float64Var(&cfg.DuplicateRate, "duplicate-rate", 0, "share of repeated operations answered 409 duplicate, in [0,1]")
	fs.BoolVar(&cfg.Outage, "outage", false, "start in a full outage (every /v1 connection cut)")
	fs.Int64Var(&cfg.Seed, "seed", 0, "seed of the fault choices (0: fixed default)")
	cert := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM)")
	key := fs.String("tls-key", "", "private key of --tls-cert (PEM)")
	clientCA := fs.String("client-ca", "", "require client certificates signed by these CAs (PEM; needs --tls-cert)")
	if help, err := parseFlags(fs, args, stderr); help || err != nil {
		return err
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	if *listen == "" {
		problems = append(problems, "--listen ADDR is required")
	}
	if (*cert == "") != (*key == "") {
		problems = append(problems, "--tls-cert and --tls-key go together")
	}
	if *clientCA != "" && *cert == "" {
		problems = append(problems, "--client-ca needs --tls-cert and --tls-key")
	}
	if err := cfg.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			problems = append(problems, "--"+strings.Replace(strings.SplitN(line, " ", 2)[0], "_", "-", 1)+": "+line)
		}
	}
	if len(problems) > 0 {
		return usageError{"central-sim: " + strings.Join(problems, "; ")}
	}
	var tc *tls.Config
	if *cert != "" {
		var err error
		if tc, err = central.SimTLSConfig(*cert, *key, *clientCA); err != nil {
			return err
		}
	}
	return central.ListenAndServeSim(ctx, *listen, cfg, tc, func(url string) {
		fmt.Fprintf(stderr, "central-sim listening on %s\n", url)
	})
}
