package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
	"github.com/kioskd/kioskd/hwbridge/sim/vpcd"
)

func init() {
	register(command{
		name:    "vcard",
		summary: "plug a virtual card (profile JSON) into pcscd through the vpcd driver",
		run:     runVCard,
	})
}

// runVCard keeps the card inserted while the process runs: it is removed
// when the process exits (the connection closes).
func runVCard(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("vcard", flag.ContinueOnError)
	profile := fs.String("profile", "", "card profile JSON file (required)")
	addr := fs.String("vpcd", vpcd.DefaultAddr, "HOST:PORT where pcscd's vpcd driver listens")
	delay := fs.Duration("delay", 0, "wait this long before every answer (fault tests)")
	dropAfter := fs.Int("drop-after", 0, "close the connection on the Nth APDU and exit (fault tests); 0 = never")
	garbage := fs.Bool("garbage", false, "answer every APDU with random bytes (fault tests)")
	cscaOut := fs.String("csca-out", "", "write the certificate of the CSCA this process signs ID cards with (made at start, PEM) to FILE, for a daemon's readers.csca_file")
	if help, err := parseFlags(fs, args, os.Stderr); help || err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError{"unexpected argument " + fs.Arg(0)}
	case *profile == "":
		return usageError{"--profile FILE.json is required"}
	case *delay < 0:
		return usageError{"--delay must not be negative"}
	case *dropAfter < 0:
		return usageError{"--drop-after must not be negative"}
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return usageError{fmt.Sprintf("--vpcd %q is not HOST:PORT", *addr)}
	}
	p, err := cardsim.LoadProfile(*profile)
	if err != nil {
		return err
	}
	card, err := cardsim.New(p, cardsim.Options{Garbage: *garbage})
	if err != nil {
		return err
	}
	if *cscaOut != "" {
		if err := writeFileAtomic(*cscaOut, cardsim.TestCSCA().CertPEM()); err != nil {
			return fmt.Errorf("--csca-out: %w", err)
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	err = vpcd.Serve(ctx, *addr, card, vpcd.Options{
		Delay:     *delay,
		DropAfter: *dropAfter,
		Log:       log,
		OnConnect: func(a string) { fmt.Fprintf(os.Stderr, "vcard connected to %s\n", a) },
	})
	switch {
	case errors.Is(err, context.Canceled):
		return nil // interrupted: the card is removed
	case errors.Is(err, vpcd.ErrDropped):
		fmt.Fprintf(os.Stderr, "vcard dropped the connection at APDU %d as asked\n", *dropAfter)
		return nil
	}
	return err
}

// writeFileAtomic writes b to path through a temporary file in the same
// folder and a rename, so a reader never sees half of it.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
