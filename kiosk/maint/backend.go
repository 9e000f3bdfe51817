package maint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/store/voucher"
)

// Backend is what the menu reads and does over the terminal's parts: the
// daemon implements it with thin adapters over its guard, store, devices,
// printer and log. It audits nothing itself: Audited does, in one place.
type Backend interface {
	// IdleTimeout logs the technician out after no touch for that long.
	IdleTimeout() time.Duration
	// Technicians is how many technicians are configured. With none, the
	// menu's entry says how to add one (`kioskd hash-pin`,
	// [[maintenance.technicians]]) instead of a PIN pad that no PIN opens.
	Technicians() int
	// LockedUntil is the end of the lockout after too many wrong PINs, or
	// zero when the menu is not locked.
	LockedUntil() time.Time
	// CheckPIN answers as Guard.Check: the technician's label, or
	// *WrongPIN, or *LockedError.
	CheckPIN(ctx context.Context, pin string) (string, error)
	Devices(ctx context.Context) (Devices, error)
	Queue(ctx context.Context) (Queue, error)
	// Retry puts an operation back to be delivered; it answers with the
	// operation as it was, or an error wrapping ErrUnknownOperation when
	// key names none.
	Retry(ctx context.Context, key string) (QueuedOp, error)
	// DeliverNow wakes delivery out of its backoff: "retry now" means now.
	// Audited calls it after the retry is audited, so the technician's
	// entry comes before delivery's in the audit chain.
	DeliverNow()
	// Reprint prints a copy of a receipt that did not come out, marked as
	// a copy.
	Reprint(ctx context.Context, voucher string) error
	TestPrint(ctx context.Context) error
	ReaderTest(ctx context.Context, slot hwbridge.Slot) (ReaderTest, error)
	Log(ctx context.Context) ([]string, error)
	AuditChain(ctx context.Context) (AuditChain, error)
	Settings(ctx context.Context) ([]Setting, error)
	About(ctx context.Context) (About, error)
}

// ErrUnknownOperation: Retry was given a key no operation has.
var ErrUnknownOperation = errors.New("unknown operation")

// Actions is what the session calls for the menu: the Backend with the
// technician named on every action, each one audited under who ("unknown"
// before a login). Audited makes one.
type Actions interface {
	IdleTimeout() time.Duration
	Technicians() int
	LockedUntil() time.Time
	Login(ctx context.Context, pin string) (Login, error)
	Logout(ctx context.Context, who, why string) error
	Devices(ctx context.Context) (Devices, error)
	Queue(ctx context.Context) (Queue, error)
	Retry(ctx context.Context, who, key string) error
	Reprint(ctx context.Context, who, voucher string) error
	TestPrint(ctx context.Context, who string) error
	ReaderTest(ctx context.Context, who string, slot hwbridge.Slot) (ReaderTest, error)
	Log(ctx context.Context) ([]string, error)
	AuditChain(ctx context.Context) (AuditChain, error)
	Settings(ctx context.Context) ([]Setting, error)
	About(ctx context.Context) (About, error)
}

// Auditor records one technician action (the store's audit log).
type Auditor interface {
	Audit(who, action, detail string) error
}

// Audited returns the Actions over b that record every technician action
// in audit: login, login_failed, login_refused, lockout, logout, retry,
// reprint, test_print, reader_test. An entry that cannot be written is
// logged on log; the action's own answer is unchanged.
func Audited(b Backend, audit Auditor, log *slog.Logger) Actions {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &audited{Backend: b, audit: audit, log: log}
}

type audited struct {
	Backend
	audit Auditor
	log   *slog.Logger
}

func (a *audited) record(who, action, detail string) {
	if err := a.audit.Audit(who, action, detail); err != nil {
		a.log.Error("audit log", "action", action, "err", err)
	}
}

func (a *audited) Login(ctx context.Context, pin string) (Login, error) {
	if err := ctx.Err(); err != nil {
		return Login{}, err
	}
	who, err := a.CheckPIN(ctx, pin)
	var wrong *WrongPIN
	var locked *LockedError
	switch {
	case err == nil:
		a.record(who, "login", "")
		return Login{OK: true, Label: who}, nil
	case errors.As(err, &locked):
		if locked.JustLocked {
			a.record("unknown", "lockout", fmt.Sprintf("%d wrong PINs: locked until %s", locked.After, locked.Until.UTC().Format(time.RFC3339)))
		} else {
			a.record("unknown", "login_refused", "menu locked")
		}
		return Login{LockedUntil: locked.Until}, nil
	case errors.As(err, &wrong):
		a.record("unknown", "login_failed", fmt.Sprintf("wrong PIN, %d tries left", wrong.TriesLeft))
		return Login{TriesLeft: wrong.TriesLeft}, nil
	}
	return Login{}, err
}

func (a *audited) Logout(ctx context.Context, who, why string) error {
	a.record(who, "logout", why)
	return nil
}

func (a *audited) Retry(ctx context.Context, who, key string) error {
	op, err := a.Backend.Retry(ctx, key)
	switch {
	case errors.Is(err, ErrUnknownOperation):
		a.record(who, "retry", "unknown operation")
		return err
	case err != nil:
		a.record(who, "retry", fmt.Sprintf("voucher %s (%s, was %s): refused", voucher.Format(op.Voucher), op.Kind, op.State))
		return err
	}
	a.record(who, "retry", fmt.Sprintf("voucher %s (%s, was %s)", voucher.Format(op.Voucher), op.Kind, op.State))
	a.DeliverNow()
	a.log.Info("technician retried an operation", "who", who, "voucher", op.Voucher, "kind", op.Kind)
	return nil
}

func (a *audited) Reprint(ctx context.Context, who, v string) error {
	err := a.Backend.Reprint(ctx, v)
	detail := "voucher " + voucher.Format(v)
	if err != nil {
		detail += ": not printed"
	}
	a.record(who, "reprint", detail)
	return err
}

func (a *audited) TestPrint(ctx context.Context, who string) error {
	err := a.Backend.TestPrint(ctx)
	detail := "printed"
	if err != nil {
		detail = "failed: " + err.Error()
	}
	a.record(who, "test_print", detail)
	return err
}

func (a *audited) ReaderTest(ctx context.Context, who string, slot hwbridge.Slot) (ReaderTest, error) {
	r, err := a.Backend.ReaderTest(ctx, slot)
	detail := fmt.Sprintf("reader %s: %s", slot, r.CardType)
	if err != nil {
		detail = fmt.Sprintf("reader %s: failed: %v", slot, err)
	}
	a.record(who, "reader_test", detail)
	return r, err
}
