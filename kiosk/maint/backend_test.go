package maint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/store/voucher"
)

// fakeBackend answers every call; fail makes the actions fail.
type fakeBackend struct {
	guard     *Guard
	fail      error
	delivered int
}

func (f *fakeBackend) IdleTimeout() time.Duration { return time.Minute }
func (f *fakeBackend) Technicians() int           { return 1 }
func (f *fakeBackend) LockedUntil() time.Time     { return f.guard.LockedUntil() }
func (f *fakeBackend) CheckPIN(ctx context.Context, pin string) (string, error) {
	return f.guard.Check(pin)
}
func (f *fakeBackend) Devices(context.Context) (Devices, error) { return Devices{}, nil }
func (f *fakeBackend) Queue(context.Context) (Queue, error)     { return Queue{}, nil }
func (f *fakeBackend) Retry(ctx context.Context, key string) (QueuedOp, error) {
	if key != "K-1" {
		return QueuedOp{}, fmt.Errorf("%w: %s", ErrUnknownOperation, key)
	}
	return QueuedOp{Key: key, Voucher: "100000471", Kind: "report_loss", State: "rejected"}, f.fail
}
func (f *fakeBackend) DeliverNow()                                 { f.delivered++ }
func (f *fakeBackend) Reprint(ctx context.Context, v string) error { return f.fail }
func (f *fakeBackend) TestPrint(ctx context.Context) error         { return f.fail }
func (f *fakeBackend) ReaderTest(ctx context.Context, slot hwbridge.Slot) (ReaderTest, error) {
	return ReaderTest{Slot: string(slot), CardType: "ss_card"}, f.fail
}
func (f *fakeBackend) Log(context.Context) ([]string, error)          { return nil, nil }
func (f *fakeBackend) AuditChain(context.Context) (AuditChain, error) { return AuditChain{}, nil }
func (f *fakeBackend) Settings(context.Context) ([]Setting, error)    { return nil, nil }
func (f *fakeBackend) About(context.Context) (About, error)           { return About{}, nil }

type auditList []string

func (a *auditList) Audit(who, action, detail string) error {
	*a = append(*a, who+" "+action+" "+detail)
	return nil
}

// TestAuditedRecordsEveryAction: each technician action of Actions leaves
// exactly its entry in the audit log, with the detail the log has always
// had, whether it succeeded or failed.
func TestAuditedRecordsEveryAction(t *testing.T) {
	h, err := HashWith("135790", Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	ctx := context.Background()
	failed := errors.New("printer offline")
	v := voucher.Format("100000471") // as the audit log has always written it
	for _, tc := range []struct {
		name string
		fail error
		do   func(a Actions) error
		want string
	}{
		{"login", nil, func(a Actions) error { _, err := a.Login(ctx, "135790"); return err }, "tech-7 login "},
		{"wrong PIN", nil, func(a Actions) error { _, err := a.Login(ctx, "000000"); return err }, "unknown login_failed wrong PIN, 2 tries left"},
		{"logout", nil, func(a Actions) error { return a.Logout(ctx, "tech-7", "idle_timeout") }, "tech-7 logout idle_timeout"},
		{"retry", nil, func(a Actions) error { return a.Retry(ctx, "tech-7", "K-1") }, "tech-7 retry voucher " + v + " (report_loss, was rejected)"},
		{"retry refused", failed, func(a Actions) error { return a.Retry(ctx, "tech-7", "K-1") }, "tech-7 retry voucher " + v + " (report_loss, was rejected): refused"},
		{"retry unknown", nil, func(a Actions) error { return a.Retry(ctx, "tech-7", "K-2") }, "tech-7 retry unknown operation"},
		{"reprint", nil, func(a Actions) error { return a.Reprint(ctx, "tech-7", "100000471") }, "tech-7 reprint voucher " + v + ""},
		{"reprint failed", failed, func(a Actions) error { return a.Reprint(ctx, "tech-7", "100000471") }, "tech-7 reprint voucher " + v + ": not printed"},
		{"test print", nil, func(a Actions) error { return a.TestPrint(ctx, "tech-7") }, "tech-7 test_print printed"},
		{"test print failed", failed, func(a Actions) error { return a.TestPrint(ctx, "tech-7") }, "tech-7 test_print failed: printer offline"},
		{"reader test", nil, func(a Actions) error { _, err := a.ReaderTest(ctx, "tech-7", hwbridge.SlotSS); return err }, "tech-7 reader_test reader ss: ss_card"},
		{"reader test failed", failed, func(a Actions) error { _, err := a.ReaderTest(ctx, "tech-7", hwbridge.SlotID); return err }, "tech-7 reader_test reader id: failed: printer offline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBackend{guard: NewGuard([]Technician{{Label: "tech-7", PINHash: h}}, 3, time.Minute, func() time.Time { return now }), fail: tc.fail}
			var audit auditList
			err := tc.do(Audited(b, &audit, nil))
			if tc.fail != nil && !errors.Is(err, tc.fail) {
				t.Errorf("err = %v, want %v", err, tc.fail)
			}
			if !slices.Equal(audit, auditList{tc.want}) {
				t.Errorf("audit %q, want %q", audit, tc.want)
			}
		})
	}
}

// TestAuditedLockout: the PIN that locks the menu is audited as the
// lockout, and a PIN while locked as refused; retry now wakes delivery
// only once the retry is audited.
func TestAuditedLockout(t *testing.T) {
	h, err := HashWith("135790", Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	b := &fakeBackend{guard: NewGuard([]Technician{{Label: "tech-7", PINHash: h}}, 2, time.Minute, func() time.Time { return now })}
	var audit auditList
	a := Audited(b, &audit, nil)
	ctx := context.Background()
	for _, pin := range []string{"000000", "000000", "135790"} {
		if _, err := a.Login(ctx, pin); err != nil {
			t.Fatal(err)
		}
	}
	want := auditList{"unknown login_failed wrong PIN, 1 tries left", "unknown lockout 2 wrong PINs: locked until 2026-11-23T08:01:00Z", "unknown login_refused menu locked"}
	if !slices.Equal(audit, want) {
		t.Errorf("audit %q\nwant  %q", audit, want)
	}
	if err := a.Retry(ctx, "tech-7", "K-1"); err != nil || b.delivered != 1 {
		t.Errorf("retry: %v, delivery woken %d times", err, b.delivered)
	}
	if err := a.Retry(ctx, "tech-7", "K-2"); err == nil || b.delivered != 1 {
		t.Errorf("retry of an unknown operation: %v, delivery woken %d times", err, b.delivered)
	}
}
