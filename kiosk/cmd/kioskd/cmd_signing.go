package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/vouchertoken"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/store/voucher"
)

// Commands around signed vouchers and the audit chain: verify-voucher,
// rotate-key and audit verify. The logic is in kiosk/vouchertoken and
// store; these parse flags and print.

func init() {
	register(command{
		name:    "verify-voucher",
		summary: "check a receipt's signed voucher token (or its QR's URL) with a key file or central's keys",
		run:     func(ctx context.Context, args []string) error { return verifyVoucher(ctx, args, os.Stdout) },
	})
	register(command{
		name:    "rotate-key",
		summary: "make a new voucher signing key (older keys stay valid); the daemon must be stopped",
		run:     func(ctx context.Context, args []string) error { return rotateKey(args, os.Stdout) },
	})
	register(command{
		name:    "audit",
		summary: "audit verify: check the audit log's hash chain, and against central's heads with --central",
		run:     func(ctx context.Context, args []string) error { return audit(ctx, args, os.Stdout) },
	})
}

// parseInterleaved parses flags given before or after the positional
// arguments and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) (pos []string, help bool, err error) {
	for {
		if help, err = parseFlags(fs, args, os.Stderr); help || err != nil {
			return nil, help, err
		}
		if fs.NArg() == 0 {
			return pos, false, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func verifyVoucher(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("verify-voucher", flag.ContinueOnError)
	keysFile := fs.String("keys", "", `public keys file ({"keys": [...]}, as GET /v1/keys answers or the terminal's fleet-keys.json)`)
	centralURL := fs.String("central", "", "central API URL to fetch the fleet's public keys from")
	pos, help, err := parseInterleaved(fs, args)
	if help || err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"verify-voucher: give one TOKEN_OR_URL (quote a URL)"}
	}
	if (*keysFile == "") == (*centralURL == "") {
		return usageError{"verify-voucher: give --keys FILE or --central URL"}
	}
	tok, err := vouchertoken.Decode(pos[0])
	if err != nil {
		return err
	}
	var keys vouchertoken.Keys
	if *keysFile != "" {
		if keys, err = vouchertoken.ReadKeyFile(*keysFile); err != nil {
			return err
		}
	} else {
		c, err := central.NewClient(central.ClientConfig{BaseURL: *centralURL, Timeout: 10 * time.Second})
		if err != nil {
			return err
		}
		if keys, err = c.FleetKeys(ctx); err != nil {
			return fmt.Errorf("fetch the fleet's keys: %w", err)
		}
	}
	c := tok.Claims
	fmt.Fprintf(out, "voucher      %s\n", voucher.Format(c.Voucher))
	fmt.Fprintf(out, "kind         %s\n", c.Kind)
	fmt.Fprintf(out, "issued by    terminal %s (key %s)\n", c.KioskID, c.KeyID)
	fmt.Fprintf(out, "issued at    %s\n", c.Created.UTC().Format("2006-01-02 15:04:05 UTC"))
	for _, f := range [][2]string{{"name", c.Name}, {"ID number", c.IDNumber}, {"card number", c.CardNumber}} {
		if f[1] != "" {
			fmt.Fprintf(out, "%-12s %s\n", f[0], f[1])
		}
	}
	if err := tok.Verify(keys); err != nil {
		fmt.Fprintf(out, "signature    NOT VALID\n")
		return err
	}
	fmt.Fprintf(out, "signature    valid\n")
	return nil
}

// loadConfig reads --config and applies --data-dir, as run does.
func loadConfig(cfgPath, dataDir string) (config.Config, error) {
	cfg := config.Default()
	if cfgPath != "" {
		var err error
		if cfg, err = config.Load(cfgPath); err != nil {
			return cfg, err
		}
	}
	if dataDir != "" {
		cfg.DataDir = dataDir
	}
	return cfg, nil
}

// openExistingStore opens the terminal's store; it never creates one.
func openExistingStore(cfg config.Config) (*store.Store, error) {
	if _, err := os.Stat(cfg.DBPath()); err != nil {
		return nil, fmt.Errorf("no store at %s (wrong --data-dir?): %w", cfg.DBPath(), err)
	}
	key, _, err := store.LoadKeyFor(cfg.KeyPath(), cfg.DBPath())
	if err != nil {
		return nil, err
	}
	// A running daemon holds the file's lock: Open then says it is locked.
	return store.Open(cfg.DBPath(), store.Options{Key: key, KioskID: cfg.KioskID, TerminalNo: cfg.TerminalNo, Retention: cfg.Retention.Duration})
}

func rotateKey(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("rotate-key", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file (TOML); none = the embedded default")
	dataDir := fs.String("data-dir", "", "data directory (overrides data_dir)")
	if help, err := parseFlags(fs, args, os.Stderr); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"rotate-key: unexpected argument " + fs.Arg(0)}
	}
	cfg, err := loadConfig(*cfgPath, *dataDir)
	if err != nil {
		return err
	}
	// The store is opened first: it is locked while the daemon runs, and
	// the rotation goes to its audit chain.
	s, err := openExistingStore(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	old := "none"
	if kr, err := vouchertoken.LoadKeyring(cfg.SigningDir(), cfg.KioskID); err == nil {
		old = kr.Current().KeyID
	} else {
		return err
	}
	k, err := vouchertoken.Rotate(cfg.SigningDir(), cfg.KioskID, time.Now())
	if err != nil {
		return err
	}
	if err := s.Audit("kioskd rotate-key", "signing_key.rotated", "key "+old+" -> "+k.KeyID); err != nil {
		return fmt.Errorf("new key %s made, but the audit entry failed: %w", k.KeyID, err)
	}
	fmt.Fprintf(out, "new signing key %s (the previous key %s stays valid for the vouchers it signed); central hears of it with the next heartbeat\n", k.KeyID, old)
	return nil
}

func audit(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError{"audit: usage: kioskd audit verify [--config FILE] [--data-dir DIR] [--central URL]"}
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file (TOML); none = the embedded default")
	dataDir := fs.String("data-dir", "", "data directory (overrides data_dir)")
	centralURL := fs.String("central", "", "central API URL: also compare with the chain heads central saw")
	if help, err := parseFlags(fs, args[1:], os.Stderr); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"audit verify: unexpected argument " + fs.Arg(0)}
	}
	cfg, err := loadConfig(*cfgPath, *dataDir)
	if err != nil {
		return err
	}
	s, err := openExistingStore(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := s.VerifyAudit()
	if err != nil {
		return err
	}
	if c.Break != nil {
		return c.Break
	}
	if *centralURL != "" {
		cl, err := central.NewClient(central.ClientConfig{BaseURL: *centralURL, Timeout: 10 * time.Second})
		if err != nil {
			return err
		}
		heads, err := cl.AuditHeads(ctx, cfg.KioskID)
		if err != nil {
			return fmt.Errorf("fetch the heads central saw: %w", err)
		}
		sh := make([]store.AuditHead, len(heads))
		for i, h := range heads {
			sh[i] = store.AuditHead{Length: h.Length, Head: h.Head, At: h.At}
		}
		if b := c.CompareHeads(sh); b != nil {
			return b
		}
		fmt.Fprintf(out, "audit chain intact (%d entries), matching the %d head(s) central saw\n", c.Entries, len(heads))
		return nil
	}
	fmt.Fprintf(out, "audit chain intact (%d entries)\n", c.Entries)
	return nil
}
