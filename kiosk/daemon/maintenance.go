package daemon

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/card"
	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/hwbridge/serialprinter"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/kiosk/maint"
	"github.com/kioskd/kioskd/kiosk/receipt"
	"github.com/kioskd/kioskd/store"
)

// menuBackend is the maintenance menu's maint.Backend over the daemon's
// parts: the PIN guard from the config's technicians, the store's queue,
// the readers, the printer and the log ring. It audits nothing:
// maint.Audited does, over the store's audit log.
type menuBackend struct {
	d     *Daemon
	guard *maint.Guard
	ring  *logRing
}

func newMenuBackend(d *Daemon) *menuBackend {
	c := d.cfg.Maintenance
	techs := make([]maint.Technician, len(c.Technicians))
	for i, t := range c.Technicians {
		techs[i] = maint.Technician{Label: t.Label, PINHash: t.PINHash}
	}
	b := &menuBackend{d: d, guard: maint.NewGuard(techs, c.MaxTries, c.Lockout.Duration, time.Now), ring: d.logRing}
	if len(techs) == 0 {
		d.log.Warn("no technicians configured: the maintenance menu accepts no PIN")
	}
	return b
}

var _ maint.Backend = (*menuBackend)(nil)

// Technicians is how many technicians are configured: with none, the
// menu's entry says how to add one instead of asking for a PIN.
func (b *menuBackend) Technicians() int { return len(b.d.cfg.Maintenance.Technicians) }

func (b *menuBackend) IdleTimeout() time.Duration {
	if t := b.d.cfg.Maintenance.IdleTimeout.Duration; t > 0 {
		return t
	}
	return 2 * time.Minute
}

func (b *menuBackend) LockedUntil() time.Time { return b.guard.LockedUntil() }

func (b *menuBackend) CheckPIN(ctx context.Context, pin string) (string, error) {
	who, err := b.guard.Check(pin)
	var locked *maint.LockedError
	switch {
	case err == nil:
		b.d.log.Info("technician logged in", "who", who)
	case errors.As(err, &locked):
		if locked.JustLocked {
			b.d.log.Warn("maintenance menu locked after wrong PINs", "until", locked.Until)
		}
	case errors.Is(err, maint.ErrHashFormat):
		b.d.log.Error("maintenance.technicians: malformed PIN hash", "err", err)
	}
	return who, err
}

func (b *menuBackend) Devices(ctx context.Context) (maint.Devices, error) {
	var out maint.Devices
	for _, r := range b.d.dev.readers.Readers() {
		out.Readers = append(out.Readers, maint.Reader{Slot: string(r.Slot), Reader: r.Reader, Present: r.Present, Card: r.Card, ATR: hex.EncodeToString(r.ATR)})
	}
	out.Printer = b.d.dev.printerInfo(b.d.cfg)
	return out, nil
}

// maxListed bounds the operations shown per state.
const maxListed = 50

func (b *menuBackend) Queue(ctx context.Context) (maint.Queue, error) {
	st, err := b.d.store.Stats()
	if err != nil {
		return maint.Queue{}, fmt.Errorf("outbox stats: %w", err)
	}
	q := maint.Queue{Pending: st.Pending, Rejected: st.Rejected, OldestPending: st.OldestPending}
	// The same count as /v1/status and the metrics: an alert here is one
	// there.
	q.SLABreached = b.d.statsView().SLABreached > 0
	rejected, err := b.d.store.List(store.Rejected, maxListed)
	if err != nil {
		return q, err
	}
	pending, err := b.d.store.List(store.Pending, maxListed)
	if err != nil {
		return q, err
	}
	damaged, err := b.d.store.List(store.Damaged, maxListed)
	if err != nil {
		return q, err
	}
	for _, op := range slices.Concat(damaged, rejected, pending) {
		if op.State == store.Pending && op.Attempts == 0 {
			continue // not tried yet: nothing to retry
		}
		reason := op.LastError
		if op.State == store.Rejected || op.State == store.Damaged {
			reason = strings.TrimPrefix(op.RejectCode+": "+op.RejectReason, ": ")
		}
		q.Ops = append(q.Ops, maint.QueuedOp{Key: op.Key, Voucher: op.Voucher, Kind: op.Kind, State: string(op.State),
			Reason: reason, Attempts: op.Attempts, NextAttempt: op.NextAttempt})
	}
	unprinted, err := b.d.store.UnprintedReceipts()
	if err != nil {
		return q, err
	}
	for _, r := range unprinted[:min(len(unprinted), maxListed)] {
		q.Unprinted = append(q.Unprinted, maint.UnprintedReceipt{Voucher: r.Voucher, LastError: r.LastError, Problems: printProblems(r.LastError), Attempts: r.Attempts})
	}
	return q, nil
}

// printProblems are the codes of what a journaled print error names, for
// the technician's screen in its language: the journal keeps the error as
// the text serialprinter.NotPrintedError wrote, whose status words are
// escpos.Status's (escpos.StatusCodes reads them back).
func printProblems(lastError string) []string {
	out := []string{"not_printed"}
	if strings.Contains(lastError, serialprinter.ErrDisconnected.Error()) {
		return append(out, "not_connected")
	}
	return append(out, escpos.StatusCodes(lastError)...)
}

// Reprint prints a copy of a receipt that did not come out.
func (b *menuBackend) Reprint(ctx context.Context, v string) error {
	return b.d.receipts.reprint(ctx, v)
}

func (b *menuBackend) Retry(ctx context.Context, key string) (maint.QueuedOp, error) {
	op, err := b.d.store.Get(key)
	if err != nil {
		return maint.QueuedOp{}, fmt.Errorf("%w: %w", maint.ErrUnknownOperation, err)
	}
	was := maint.QueuedOp{Key: op.Key, Voucher: op.Voucher, Kind: op.Kind, State: string(op.State)}
	return was, b.d.store.Retry(key)
}

// DeliverNow wakes the drainer, which ignores new work while it backs off.
func (b *menuBackend) DeliverNow() { b.d.drainer.Kick() }

func (b *menuBackend) TestPrint(ctx context.Context) error {
	opt := b.d.receipts.opt // as receipts are
	doc := receipt.TestPage{
		KioskID: b.d.cfg.KioskID, Version: kiosk.Version, Commit: kiosk.Commit, Time: time.Now(),
		Device: b.d.dev.device, Baud: b.d.cfg.Printer.Baud, Paper: opt.Paper,
	}.Doc()
	body, err := escpos.Encode(doc, opt)
	if err != nil {
		return fmt.Errorf("encode test page: %w", err)
	}
	return b.d.dev.printer.Print(ctx, body)
}

// ReaderTest says what the card in slot is (card.Identify).
func (b *menuBackend) ReaderTest(ctx context.Context, slot hwbridge.Slot) (maint.ReaderTest, error) {
	r := maint.ReaderTest{Slot: string(slot)}
	c, err := b.d.dev.readers.Connect(ctx, slot)
	if err != nil {
		return r, fmt.Errorf("no card to test: %w", err)
	}
	defer c.Close()
	r.ATR = hex.EncodeToString(c.ATR())
	t, err := card.Identify(ctx, c)
	r.CardType = string(t)
	return r, err
}

func (b *menuBackend) Log(ctx context.Context) ([]string, error) {
	return b.ring.lines(), nil
}

// AuditChain checks the store's audit hash chain for the log screen.
func (b *menuBackend) AuditChain(ctx context.Context) (maint.AuditChain, error) {
	c, err := b.d.store.VerifyAudit()
	if err != nil {
		return maint.AuditChain{}, err
	}
	a := maint.AuditChain{Intact: c.Break == nil, Entries: c.Entries}
	if c.Break != nil {
		a.BreakSeq, a.Reason = c.Break.Seq, c.Break.Reason
	}
	return a, nil
}

// Settings is the configuration, flattened to dotted keys, with the PIN
// hashes left out (technicians by label only). Paths are shown; no file is
// read, so the token and keys stay where they are.
func (b *menuBackend) Settings(ctx context.Context) ([]maint.Setting, error) {
	cfg := b.d.cfg
	labels := make([]string, len(cfg.Maintenance.Technicians))
	for i, t := range cfg.Maintenance.Technicians {
		labels[i] = t.Label
	}
	cfg.Maintenance.Technicians = nil
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(cfg); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	var tree map[string]any
	if _, err := toml.Decode(buf.String(), &tree); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	var out []maint.Setting
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, v := range x {
				walk(strings.TrimPrefix(prefix+"."+k, "."), v)
			}
		default:
			if isSecretKey(prefix) {
				x = "(hidden)"
			}
			out = append(out, maint.Setting{Key: prefix, Value: fmt.Sprint(x)})
		}
	}
	walk("", tree)
	out = append(out, maint.Setting{Key: "maintenance.technicians", Value: strings.Join(labels, ", ") + " (PIN hashes hidden)"})
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// isSecretKey: values that must never be shown. File paths (…_file,
// tls_key, key_file) are fine; their contents are never read here.
func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"pin", "password", "secret", "token"} {
		if strings.Contains(k, s) && !strings.HasSuffix(k, "_file") {
			return true
		}
	}
	return false
}

func (b *menuBackend) About(ctx context.Context) (maint.About, error) {
	return maint.About{
		KioskID:   b.d.cfg.KioskID,
		Version:   kiosk.Version,
		Commit:    kiosk.Commit,
		GoVersion: runtime.Version(),
		Uptime:    time.Since(b.d.started),
	}, nil
}
