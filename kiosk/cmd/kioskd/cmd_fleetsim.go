package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"github.com/kioskd/kioskd/kiosk/fleet"
)

func init() {
	register(command{
		name:    "fleet-sim",
		summary: "run N simulated terminals in one process against a central (fleet tests, capacity)",
		run: func(ctx context.Context, args []string) error {
			return fleetSim(ctx, args, os.Stderr)
		},
	})
}

// faultList is the repeatable --fault flag.
type faultList []fleet.Fault

func (l *faultList) String() string { return fmt.Sprint(len(*l), " faults") }
func (l *faultList) Set(s string) error {
	f, err := fleet.ParseFault(s)
	if err != nil {
		return err
	}
	*l = append(*l, f)
	return nil
}

// fleetSim is `kioskd fleet-sim`: it starts the fleet, writes the file_sd
// target file, serves the control API and says "fleet-sim ready: N
// terminals, control http://..." on stderr; it runs until ctx is done.
func fleetSim(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("fleet-sim", flag.ContinueOnError)
	var cfg fleet.Config
	fs.IntVar(&cfg.N, "n", 100, "number of terminals")
	fs.IntVar(&cfg.Sites, "sites", 25, "hospitals/outlets the terminals are spread over (label site)")
	fs.StringVar(&cfg.Dir, "dir", "", "parent of the terminals' data directories (default: a new temporary directory, removed at exit)")
	fs.StringVar(&cfg.Central, "central", "", "central API URL, e.g. the one `kioskd central-sim` prints (required)")
	fs.Float64Var(&cfg.Rate, "rate", 1.0/600, "citizen arrivals per terminal per second (Poisson)")
	fs.DurationVar(&cfg.HeartbeatInterval, "heartbeat", 30*time.Second, "heartbeat interval of every terminal")
	fs.DurationVar(&cfg.MinBackoff, "min-backoff", time.Second, "central.min_backoff of every terminal")
	fs.DurationVar(&cfg.MaxBackoff, "max-backoff", time.Minute, "central.max_backoff of every terminal")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the citizen arrivals")
	targets := fs.String("targets", "", "write the Prometheus file_sd target file here")
	control := fs.String("control", "127.0.0.1:0", "loopback address of the control API")
	logLevel := fs.String("log-level", "error", "log level of the terminals: debug, info, warn, error")
	var faults faultList
	fs.Var(&faults, "fault", `scheduled fault, repeatable: "after=30s stop=0-9" or "after=1m printer=paper_out:10-14"`)
	if help, err := parseFlags(fs, args, stderr); help || err != nil {
		return err
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	if cfg.Central == "" {
		problems = append(problems, "--central URL is required")
	}
	if cfg.N < 1 || cfg.N > 20000 {
		problems = append(problems, fmt.Sprintf("--n %d is not in 1..20000", cfg.N))
	}
	if cfg.Rate < 0 {
		problems = append(problems, fmt.Sprintf("--rate %v is negative", cfg.Rate))
	}
	for _, f := range faults {
		if f.To >= cfg.N {
			problems = append(problems, fmt.Sprintf("--fault: terminal %d is beyond --n %d", f.To, cfg.N))
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		problems = append(problems, "--log-level: "+err.Error())
	}
	if host, _, err := net.SplitHostPort(*control); err != nil || (host != "127.0.0.1" && host != "localhost" && host != "::1") {
		problems = append(problems, fmt.Sprintf("--control %q must be a loopback host:port", *control))
	}
	if len(problems) > 0 {
		return usageError{"fleet-sim: " + strings.Join(problems, "; ")}
	}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "kioskd-fleet-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	start := time.Now()
	fl, err := fleet.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("fleet-sim: %w", err)
	}
	if *targets != "" {
		if err := fl.WriteTargets(*targets); err != nil {
			fl.Wait()
			return fmt.Errorf("fleet-sim: targets: %w", err)
		}
	}
	ln, err := net.Listen("tcp", *control)
	if err != nil {
		fl.Wait()
		return fmt.Errorf("fleet-sim: control: %w", err)
	}
	// The control API also serves the Go profiler (loopback only): where a
	// fleet's CPU goes is what limits how many terminals one machine holds.
	mux := http.NewServeMux()
	mux.Handle("/fleet/", fl.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(stderr, "fleet-sim ready: %d terminals in %s, control http://%s\n", cfg.N, time.Since(start).Round(time.Millisecond), ln.Addr())
	for _, f := range faults {
		go func() {
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(start.Add(f.After))):
				if err := fl.Apply(f); err != nil {
					cfg.Log.Error("fleet-sim fault", "err", err)
				}
			}
		}()
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := fl.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("fleet-sim: %w", err)
	}
	return nil
}
