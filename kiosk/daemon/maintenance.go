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
	"github.com/kioskd/kioskd/kiosk/session"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/store/voucher"
)

// maintenance is the technician's menu (session.Maintenance) over the
// daemon's parts: the PIN guard from the config's technicians, the store's
// queue and audit log, the readers, the printer and the log ring. Every
// action is audited under the technician's label, "unknown" before login.
type maintenance struct {
	d     *Daemon
	guard *maint.Guard
	ring  *logRing
}

func newMaintenance(d *Daemon) *maintenance {
	c := d.cfg.Maintenance
	techs := make([]maint.Technician, len(c.Technicians))
	for i, t := range c.Technicians {
		techs[i] = maint.Technician{Label: t.Label, PINHash: t.PINHash}
	}
	m := &maintenance{d: d, guard: maint.NewGuard(techs, c.MaxTries, c.Lockout.Duration, time.Now), ring: d.logRing}
	if len(techs) == 0 {
		d.log.Warn("no technicians configured: the maintenance menu accepts no PIN")
	}
	return m
}

var _ session.Maintenance = (*maintenance)(nil)

func (m *maintenance) audit(who, action, detail string) {
	if err := m.d.store.Audit(who, action, detail); err != nil {
		m.d.log.Error("audit log", "action", action, "err", err)
	}
}

// Technicians is how many technicians are configured: with none, the
// menu's entry says how to add one instead of asking for a PIN.
func (m *maintenance) Technicians() int { return len(m.d.cfg.Maintenance.Technicians) }

func (m *maintenance) IdleTimeout() time.Duration {
	if t := m.d.cfg.Maintenance.IdleTimeout.Duration; t > 0 {
		return t
	}
	return 2 * time.Minute
}

func (m *maintenance) LockedUntil() time.Time { return m.guard.LockedUntil() }

func (m *maintenance) Login(ctx context.Context, pin string) (session.MaintLogin, error) {
	if err := ctx.Err(); err != nil {
		return session.MaintLogin{}, err
	}
	who, err := m.guard.Check(pin)
	var wrong *maint.WrongPIN
	var locked *maint.LockedError
	switch {
	case err == nil:
		m.audit(who, "login", "")
		m.d.log.Info("technician logged in", "who", who)
		return session.MaintLogin{OK: true, Label: who}, nil
	case errors.As(err, &locked):
		if locked.JustLocked {
			m.audit("unknown", "lockout", fmt.Sprintf("%d wrong PINs: locked until %s", m.d.cfg.Maintenance.MaxTries, locked.Until.UTC().Format(time.RFC3339)))
			m.d.log.Warn("maintenance menu locked after wrong PINs", "until", locked.Until)
		} else {
			m.audit("unknown", "login_refused", "menu locked")
		}
		return session.MaintLogin{LockedUntil: locked.Until}, nil
	case errors.As(err, &wrong):
		if errors.Is(err, maint.ErrHashFormat) {
			m.d.log.Error("maintenance.technicians: malformed PIN hash", "err", err)
		}
		m.audit("unknown", "login_failed", fmt.Sprintf("wrong PIN, %d tries left", wrong.TriesLeft))
		return session.MaintLogin{TriesLeft: wrong.TriesLeft}, nil
	}
	return session.MaintLogin{}, err
}

func (m *maintenance) Logout(ctx context.Context, who, why string) error {
	m.audit(who, "logout", why)
	return nil
}

func (m *maintenance) Devices(ctx context.Context) (session.MaintDevices, error) {
	var out session.MaintDevices
	for _, r := range m.d.dev.readers.Readers() {
		out.Readers = append(out.Readers, session.MaintReader{Slot: string(r.Slot), Reader: r.Reader, Present: r.Present, Card: r.Card, ATR: hex.EncodeToString(r.ATR)})
	}
	out.Printer = m.d.dev.printerInfo(m.d.cfg)
	return out, nil
}

// maxListed bounds the operations shown per state.
const maxListed = 50

func (m *maintenance) Queue(ctx context.Context) (session.MaintQueue, error) {
	st, err := m.d.store.Stats()
	if err != nil {
		return session.MaintQueue{}, fmt.Errorf("outbox stats: %w", err)
	}
	q := session.MaintQueue{Pending: st.Pending, Rejected: st.Rejected, OldestPending: st.OldestPending}
	// The same count as /v1/status and the metrics: an alert here is one
	// there.
	q.SLABreached = m.d.statsView().SLABreached > 0
	rejected, err := m.d.store.List(store.Rejected, maxListed)
	if err != nil {
		return q, err
	}
	pending, err := m.d.store.List(store.Pending, maxListed)
	if err != nil {
		return q, err
	}
	damaged, err := m.d.store.List(store.Damaged, maxListed)
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
		q.Ops = append(q.Ops, session.QueuedOp{Key: op.Key, Voucher: op.Voucher, Kind: op.Kind, State: string(op.State),
			Reason: reason, Attempts: op.Attempts, NextAttempt: op.NextAttempt})
	}
	unprinted, err := m.d.store.UnprintedReceipts()
	if err != nil {
		return q, err
	}
	for _, r := range unprinted[:min(len(unprinted), maxListed)] {
		q.Unprinted = append(q.Unprinted, session.UnprintedReceipt{Voucher: r.Voucher, LastError: r.LastError, Problems: printProblems(r.LastError), Attempts: r.Attempts})
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
func (m *maintenance) Reprint(ctx context.Context, who, v string) error {
	err := m.d.receipts.reprint(ctx, v)
	detail := "voucher " + voucher.Format(v)
	if err != nil {
		detail += ": not printed"
	}
	m.audit(who, "reprint", detail)
	return err
}

func (m *maintenance) Retry(ctx context.Context, who, key string) error {
	op, err := m.d.store.Get(key)
	if err != nil {
		m.audit(who, "retry", "unknown operation")
		return err
	}
	detail := fmt.Sprintf("voucher %s (%s, was %s)", voucher.Format(op.Voucher), op.Kind, op.State)
	if err := m.d.store.Retry(key); err != nil {
		m.audit(who, "retry", detail+": refused")
		return err
	}
	m.audit(who, "retry", detail)
	// The drainer ignores new work while it backs off; "retry now" means now.
	m.d.drainer.Kick()
	m.d.log.Info("technician retried an operation", "who", who, "voucher", op.Voucher, "kind", op.Kind)
	return nil
}

func (m *maintenance) TestPrint(ctx context.Context, who string) error {
	err := m.testPrint(ctx)
	detail := "printed"
	if err != nil {
		detail = "failed: " + err.Error()
	}
	m.audit(who, "test_print", detail)
	return err
}

func (m *maintenance) testPrint(ctx context.Context) error {
	opt := m.d.receipts.opt // as receipts are
	doc := receipt.TestPage{
		KioskID: m.d.cfg.KioskID, Version: kiosk.Version, Commit: kiosk.Commit, Time: time.Now(),
		Device: m.d.dev.device, Baud: m.d.cfg.Printer.Baud, Paper: opt.Paper,
	}.Doc()
	body, err := escpos.Encode(doc, opt)
	if err != nil {
		return fmt.Errorf("encode test page: %w", err)
	}
	return m.d.dev.printer.Print(ctx, body)
}

func (m *maintenance) ReaderTest(ctx context.Context, who string, slot hwbridge.Slot) (session.ReaderTest, error) {
	r, err := m.readerTest(ctx, slot)
	detail := fmt.Sprintf("reader %s: %s", slot, r.CardType)
	if err != nil {
		detail = fmt.Sprintf("reader %s: failed: %v", slot, err)
	}
	m.audit(who, "reader_test", detail)
	return r, err
}

func (m *maintenance) readerTest(ctx context.Context, slot hwbridge.Slot) (session.ReaderTest, error) {
	r := session.ReaderTest{Slot: string(slot)}
	c, err := m.d.dev.readers.Connect(ctx, slot)
	if err != nil {
		return r, fmt.Errorf("no card to test: %w", err)
	}
	defer c.Close()
	r.ATR = hex.EncodeToString(c.ATR())
	t, err := card.Identify(ctx, c)
	r.CardType = string(t)
	return r, err
}

func (m *maintenance) Log(ctx context.Context) ([]string, error) {
	return m.ring.lines(), nil
}

// AuditChain checks the store's audit hash chain for the log screen.
func (m *maintenance) AuditChain(ctx context.Context) (session.AuditChain, error) {
	c, err := m.d.store.VerifyAudit()
	if err != nil {
		return session.AuditChain{}, err
	}
	a := session.AuditChain{Intact: c.Break == nil, Entries: c.Entries}
	if c.Break != nil {
		a.BreakSeq, a.Reason = c.Break.Seq, c.Break.Reason
	}
	return a, nil
}

// Settings is the configuration, flattened to dotted keys, with the PIN
// hashes left out (technicians by label only). Paths are shown; no file is
// read, so the token and keys stay where they are.
func (m *maintenance) Settings(ctx context.Context) ([]session.Setting, error) {
	cfg := m.d.cfg
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
	var out []session.Setting
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
			out = append(out, session.Setting{Key: prefix, Value: fmt.Sprint(x)})
		}
	}
	walk("", tree)
	out = append(out, session.Setting{Key: "maintenance.technicians", Value: strings.Join(labels, ", ") + " (PIN hashes hidden)"})
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

func (m *maintenance) About(ctx context.Context) (session.About, error) {
	return session.About{
		KioskID:   m.d.cfg.KioskID,
		Version:   kiosk.Version,
		Commit:    kiosk.Commit,
		GoVersion: runtime.Version(),
		Uptime:    time.Since(m.d.started),
	}, nil
}
