package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/store/voucher"
)

func TestEnqueueSurvivesReopen(t *testing.T) {
	clk := newClock()
	path := dbPath(t)
	s := mustOpen(t, path, testOptions(clk.Now))
	var want []store.Operation
	kinds := []string{"report_loss", "suspend_settlement", "resume_settlement", "report_loss", "report_loss"}
	for i, k := range kinds {
		op := enqueue(t, s, k, personalJSON(t, i))
		want = append(want, op)
		clk.Add(time.Second)
	}
	for i, op := range want {
		if op.Seq != uint64(i+1) {
			t.Errorf("op %d: Seq = %d, want %d", i, op.Seq, i+1)
		}
		if op.Voucher != voucher.New(1234, op.Seq) {
			t.Errorf("op %d: Voucher = %q, want %q", i, op.Voucher, voucher.New(1234, op.Seq))
		}
		if !strings.HasPrefix(op.Key, "kiosk-bj-0042-") || len(op.Key) != len("kiosk-bj-0042-")+32 {
			t.Errorf("op %d: Key = %q, want kiosk-bj-0042-<32 hex>", i, op.Key)
		}
		if op.State != store.Pending || !op.CreatedAt.Equal(newClock().Now().Add(time.Duration(i)*time.Second)) {
			t.Errorf("op %d: State %s CreatedAt %s", i, op.State, op.CreatedAt)
		}
		if op.Kind != kinds[i] || !bytes.Equal(op.Personal, personalJSON(t, i)) {
			t.Errorf("op %d: Kind %q Personal %q", i, op.Kind, op.Personal)
		}
	}
	if want[0].Key == want[1].Key {
		t.Error("two operations got the same idempotency key")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, path, testOptions(clk.Now))
	defer s.Close()
	got, err := s.Pending(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen Pending =\n%+v\nwant\n%+v", got, want)
	}
	page, err := s.Pending(2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 4 {
		t.Errorf("Pending(2, 2) = seqs %v, want 3 and 4", seqs(page))
	}
	op, err := s.Get(want[2].Key)
	if err != nil || !reflect.DeepEqual(op, want[2]) {
		t.Errorf("Get = %+v, %v; want %+v", op, err, want[2])
	}
	op, err = s.ByVoucher(voucher.Format(want[3].Voucher))
	if err != nil || !reflect.DeepEqual(op, want[3]) {
		t.Errorf("ByVoucher(formatted) = %+v, %v; want %+v", op, err, want[3])
	}
	// The next operation continues the sequence.
	if op := enqueue(t, s, "report_loss", nil); op.Seq != 6 || op.Personal != nil {
		t.Errorf("after reopen: Seq %d Personal %q, want 6 and nil", op.Seq, op.Personal)
	}
}

func seqs(ops []store.Operation) []uint64 {
	var out []uint64
	for _, op := range ops {
		out = append(out, op.Seq)
	}
	return out
}

func TestLookupErrors(t *testing.T) {
	s := mustOpen(t, dbPath(t), testOptions(nil))
	defer s.Close()
	op := enqueue(t, s, "report_loss", personalJSON(t, 0))
	if _, err := s.Get("kiosk-bj-0042-00000000000000000000000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.ByVoucher(voucher.New(1234, 99)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ByVoucher(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.ByVoucher(voucher.New(4321, op.Seq)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ByVoucher(other terminal, same seq) error = %v, want ErrNotFound", err)
	}
	typo := []byte(op.Voucher)
	typo[6], typo[7] = typo[7], typo[6]
	if typo[6] == typo[7] {
		typo[10] = '0' + (typo[10]-'0'+1)%10
	}
	if _, err := s.ByVoucher(string(typo)); !errors.Is(err, voucher.ErrChecksum) {
		t.Errorf("ByVoucher(typo) error = %v, want voucher.ErrChecksum", err)
	}
	if _, err := s.Pending(0, 0); err == nil {
		t.Error("Pending with limit 0: no error")
	}
	if _, err := s.List("lost", 10); err == nil || !strings.Contains(err.Error(), `"lost"`) {
		t.Errorf("List(lost) error = %v, want it to name the state", err)
	}
}

func TestEnqueueRejectsBadInput(t *testing.T) {
	s := mustOpen(t, dbPath(t), testOptions(nil))
	defer s.Close()
	for _, op := range []store.NewOperation{
		{Kind: ""},
		{Kind: "Report Loss"},
		{Kind: strings.Repeat("a", 65)},
		{Kind: "report_loss", Personal: make([]byte, store.MaxPersonal+1)},
	} {
		if _, err := s.Enqueue(context.Background(), op); err == nil {
			t.Errorf("Enqueue(kind %.20q, %d bytes): no error", op.Kind, len(op.Personal))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Enqueue(ctx, store.NewOperation{Kind: "report_loss"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue(cancelled ctx) error = %v, want context.Canceled", err)
	}
	if st, _ := s.Stats(); st.Pending != 0 {
		t.Errorf("after rejected enqueues Stats.Pending = %d, want 0", st.Pending)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(context.Background(), store.NewOperation{Kind: "report_loss"}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Enqueue after Close error = %v, want ErrClosed", err)
	}
}

func TestStateChanges(t *testing.T) {
	clk := newClock()
	s := mustOpen(t, dbPath(t), testOptions(clk.Now))
	defer s.Close()
	a := enqueue(t, s, "report_loss", personalJSON(t, 0))
	b := enqueue(t, s, "suspend_settlement", personalJSON(t, 1))
	c := enqueue(t, s, "resume_settlement", personalJSON(t, 2))
	d := enqueue(t, s, "report_loss", nil)
	clk.Add(time.Minute)

	next := clk.Now().Add(30 * time.Second)
	if err := s.RecordAttempt(a.Key, "central: 503 Service Unavailable", next); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAttempt(a.Key, "central: timeout", next.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(a.Key)
	if got.Attempts != 2 || got.LastError != "central: timeout" || !got.NextAttempt.Equal(next.Add(time.Minute)) {
		t.Errorf("after two attempts: %d %q %s", got.Attempts, got.LastError, got.NextAttempt)
	}
	if err := s.Retry(a.Key); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(a.Key); !got.NextAttempt.IsZero() || got.State != store.Pending {
		t.Errorf("Retry of backed-off op: NextAttempt %s State %s", got.NextAttempt, got.State)
	}

	if err := s.Acknowledge(a.Key, "C-0001"); err != nil {
		t.Fatal(err)
	}
	ackAt := clk.Now()
	clk.Add(time.Minute)
	if err := s.Acknowledge(a.Key, "C-other"); err != nil {
		t.Errorf("second Acknowledge: %v, want no-op", err)
	}
	got, _ = s.Get(a.Key)
	if got.State != store.Acknowledged || got.CentralRef != "C-0001" || !got.AckAt.Equal(ackAt) {
		t.Errorf("acknowledged op: %s %q %s", got.State, got.CentralRef, got.AckAt)
	}
	if err := s.Reject(a.Key, "E1", "x"); !errors.Is(err, store.ErrState) {
		t.Errorf("Reject(acknowledged) = %v, want ErrState", err)
	}
	if err := s.RecordAttempt(a.Key, "x", time.Time{}); !errors.Is(err, store.ErrState) {
		t.Errorf("RecordAttempt(acknowledged) = %v, want ErrState", err)
	}
	if err := s.Retry(a.Key); !errors.Is(err, store.ErrState) {
		t.Errorf("Retry(acknowledged) = %v, want ErrState", err)
	}

	if err := s.Reject(b.Key, "CARD_NOT_FOUND", "no such card for this person"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reject(b.Key, "OTHER", "other"); err != nil {
		t.Errorf("second Reject: %v, want no-op", err)
	}
	got, _ = s.Get(b.Key)
	if got.State != store.Rejected || got.RejectCode != "CARD_NOT_FOUND" || got.RejectReason != "no such card for this person" {
		t.Errorf("rejected op: %s %q %q", got.State, got.RejectCode, got.RejectReason)
	}
	if err := s.Acknowledge(b.Key, "C-2"); !errors.Is(err, store.ErrState) {
		t.Errorf("Acknowledge(rejected) = %v, want ErrState", err)
	}
	if err := s.Reject(c.Key, "E", "r"); err != nil {
		t.Fatal(err)
	}
	if err := s.Acknowledge("kiosk-bj-0042-nope", "C"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Acknowledge(unknown) = %v, want ErrNotFound", err)
	}

	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := store.Stats{Pending: 1, Acknowledged: 1, Rejected: 2, OldestPending: d.CreatedAt, LastAckAt: ackAt}
	if st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
	if p, _ := s.Pending(0, 10); len(p) != 1 || p[0].Seq != d.Seq {
		t.Errorf("Pending = %v, want only %d", seqs(p), d.Seq)
	}

	// Technician retries the rejected b: pending again, in enqueue order.
	if err := s.Retry(b.Key); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(b.Key)
	if got.State != store.Pending || got.RejectCode != "" || !strings.Contains(got.LastError, "CARD_NOT_FOUND") {
		t.Errorf("retried op: %s %q %q", got.State, got.RejectCode, got.LastError)
	}
	if p, _ := s.Pending(0, 10); !reflect.DeepEqual(seqs(p), []uint64{b.Seq, d.Seq}) {
		t.Errorf("Pending after retry = %v, want [%d %d]", seqs(p), b.Seq, d.Seq)
	}

	list := func(state store.State, limit int) []uint64 {
		ops, err := s.List(state, limit)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range ops {
			if op.Personal != nil {
				t.Errorf("List(%s) returned personal data of op %d", state, op.Seq)
			}
		}
		return seqs(ops)
	}
	for _, tc := range []struct {
		state store.State
		limit int
		want  []uint64
	}{
		{store.Pending, 10, []uint64{4, 2}},
		{store.Rejected, 10, []uint64{3}},
		{store.Acknowledged, 10, []uint64{1}},
		{"", 10, []uint64{4, 3, 2, 1}},
		{"", 2, []uint64{4, 3}},
	} {
		if got := list(tc.state, tc.limit); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("List(%q, %d) = %v, want %v", tc.state, tc.limit, got, tc.want)
		}
	}
	st, _ = s.Stats()
	if st.Pending != 2 || st.Rejected != 1 || st.Acknowledged != 1 || !st.OldestPending.Equal(b.CreatedAt) {
		t.Errorf("Stats after retry = %+v", st)
	}
}

func TestEnqueuedSignals(t *testing.T) {
	s := mustOpen(t, dbPath(t), testOptions(nil))
	defer s.Close()
	select {
	case <-s.Enqueued():
		t.Fatal("signal before any enqueue")
	default:
	}
	enqueue(t, s, "report_loss", nil)
	enqueue(t, s, "report_loss", nil)
	select {
	case <-s.Enqueued():
	default:
		t.Fatal("no signal after enqueue")
	}
	select {
	case <-s.Enqueued():
		t.Fatal("two signals buffered; want capacity 1")
	default:
	}
	op := enqueue(t, s, "report_loss", nil)
	<-s.Enqueued()
	if err := s.Reject(op.Key, "E", "r"); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry(op.Key); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Enqueued():
	default:
		t.Fatal("no signal after Retry")
	}
}

func TestGroupCommit(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path, testOptions(nil))
	const callers, each = 64, 4
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := map[string]uint64{}
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range each {
				op, err := s.Enqueue(context.Background(), store.NewOperation{Kind: "report_loss", Personal: []byte(`{"subject":{}}`)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				stored[op.Key] = op.Seq
				mu.Unlock()
			}
		}()
	}
	before := s.Commits()
	close(start)
	wg.Wait()
	commits := s.Commits() - before
	t.Logf("%d enqueues in %d commits", callers*each, commits)
	if commits >= callers*each {
		t.Errorf("%d enqueues took %d commits: no batching", callers*each, commits)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path, testOptions(nil))
	defer s.Close()
	ops, err := s.Pending(0, 10*callers*each)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != callers*each || len(stored) != callers*each {
		t.Fatalf("after reopen %d pending, %d returned; want %d", len(ops), len(stored), callers*each)
	}
	for i, op := range ops {
		if op.Seq != uint64(i+1) || stored[op.Key] != op.Seq {
			t.Fatalf("op %d: seq %d, caller was told %d", i, op.Seq, stored[op.Key])
		}
	}
}

func TestNoPersonalDataInFile(t *testing.T) {
	clk := newClock()
	path := dbPath(t)
	s := mustOpen(t, path, testOptions(clk.Now))
	var vouchers []string
	for i := range 50 {
		op := enqueue(t, s, "report_loss", personalJSON(t, i))
		vouchers = append(vouchers, op.Voucher)
		body := "姓名 " + subjectNameCN + " / " + subjectNameVN + "\nID " + subjectID + "\ncard " + cardNumber + "\n"
		if err := s.JournalReceipt(store.Receipt{Voucher: op.Voucher, Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Acknowledge(mustGetKey(t, s, vouchers[0]), "C-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Audit("technician", "retry", "voucher "+voucher.Format(vouchers[1])); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The check must be able to fail: non-personal fields are in plaintext.
	if !bytes.Contains(raw, []byte(vouchers[7])) || !bytes.Contains(raw, []byte("report_loss")) {
		t.Fatal("raw file does not contain the voucher and kind in plaintext; the grep below proves nothing")
	}
	for _, secret := range []string{subjectNameCN, subjectNameVN, subjectID, cardNumber, "079090001234"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("raw bbolt file contains %q in plaintext", secret)
		}
	}
	// And it all decrypts again with the key.
	s = mustOpen(t, path, testOptions(clk.Now))
	defer s.Close()
	r, err := s.Receipt(vouchers[3])
	if err != nil || !strings.Contains(string(r.Body), subjectNameCN) {
		t.Errorf("Receipt after reopen: %q, %v", r.Body, err)
	}
}

func mustGetKey(t *testing.T, s *store.Store, v string) string {
	t.Helper()
	op, err := s.ByVoucher(v)
	if err != nil {
		t.Fatal(err)
	}
	return op.Key
}

func TestPurgeAfterRetention(t *testing.T) {
	clk := newClock()
	path := dbPath(t)
	opt := testOptions(clk.Now)
	s := mustOpen(t, path, opt)
	acked := enqueue(t, s, "report_loss", personalJSON(t, 0))
	pending := enqueue(t, s, "suspend_settlement", personalJSON(t, 1))
	rejected := enqueue(t, s, "resume_settlement", personalJSON(t, 2))
	for _, op := range []store.Operation{acked, pending} {
		if err := s.JournalReceipt(store.Receipt{Voucher: op.Voucher, Body: []byte("receipt " + op.Voucher), Printed: true, Copies: 1}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(10 * time.Minute)
	if err := s.Acknowledge(acked.Key, "C-77"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reject(rejected.Key, "E", "refused"); err != nil {
		t.Fatal(err)
	}
	ackAt := clk.Now()

	clk.Add(opt.Retention - time.Second)
	if n, err := s.Purge(); err != nil || n != 0 {
		t.Fatalf("Purge before retention = %d, %v; want 0", n, err)
	}
	if op, _ := s.Get(acked.Key); op.Personal == nil || op.Purged {
		t.Fatal("personal data gone before retention")
	}
	clk.Add(2 * time.Second)
	if n, err := s.Purge(); err != nil || n != 1 {
		t.Fatalf("Purge after retention = %d, %v; want 1", n, err)
	}
	if n, err := s.Purge(); err != nil || n != 0 {
		t.Fatalf("second Purge = %d, %v; want 0", n, err)
	}
	clk.Add(365 * 24 * time.Hour)
	if n, err := s.Purge(); err != nil || n != 0 {
		t.Fatalf("Purge a year later = %d, %v; want 0 (pending and rejected are kept)", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, path, opt)
	tomb, err := s.ByVoucher(acked.Voucher)
	if err != nil {
		t.Fatal(err)
	}
	want := acked
	want.Personal, want.Purged = nil, true
	want.State, want.CentralRef, want.AckAt = store.Acknowledged, "C-77", ackAt
	if !reflect.DeepEqual(tomb, want) {
		t.Errorf("tombstone =\n%+v\nwant\n%+v", tomb, want)
	}
	for _, op := range []store.Operation{pending, rejected} {
		got, err := s.Get(op.Key)
		if err != nil || got.Purged || !bytes.Equal(got.Personal, op.Personal) {
			t.Errorf("op %d (%s): Purged %v Personal %q, %v; want kept", op.Seq, got.State, got.Purged, got.Personal, err)
		}
	}
	r, err := s.Receipt(acked.Voucher)
	if err != nil || r.Body != nil || !r.Printed || r.Copies != 1 {
		t.Errorf("purged op's receipt = %+v, %v; want body gone, rest kept", r, err)
	}
	if r, err := s.Receipt(pending.Voucher); err != nil || string(r.Body) != "receipt "+pending.Voucher {
		t.Errorf("pending op's receipt = %+v, %v; want kept", r, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The encrypted record itself is gone from the personal bucket.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("personal"))
		if b == nil {
			return errors.New("no personal bucket")
		}
		var left []uint64
		_ = b.ForEach(func(k, _ []byte) error {
			left = append(left, uint64(k[7]))
			return nil
		})
		if !reflect.DeepEqual(left, []uint64{pending.Seq, rejected.Seq}) {
			t.Errorf("personal bucket holds seqs %v, want [%d %d]", left, pending.Seq, rejected.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReceiptJournal(t *testing.T) {
	clk := newClock()
	s := mustOpen(t, dbPath(t), testOptions(clk.Now))
	defer s.Close()
	a := enqueue(t, s, "report_loss", nil)
	b := enqueue(t, s, "report_loss", nil)
	for _, op := range []store.Operation{b, a} {
		if err := s.JournalReceipt(store.Receipt{Voucher: voucher.Format(op.Voucher), Body: []byte("\x1b@receipt " + op.Voucher)}); err != nil {
			t.Fatal(err)
		}
	}
	un, err := s.UnprintedReceipts()
	if err != nil || len(un) != 2 || un[0].Voucher != a.Voucher || un[1].Voucher != b.Voucher {
		t.Fatalf("UnprintedReceipts = %+v, %v; want a then b", un, err)
	}
	clk.Add(time.Minute)
	if err := s.JournalReceipt(store.Receipt{Voucher: a.Voucher, Lang: "vi", Body: un[0].Body, Printed: true, Copies: 1, Attempts: 2, LastError: "paper out"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Receipt(a.Voucher)
	want := store.Receipt{Voucher: a.Voucher, Lang: "vi", Body: []byte("\x1b@receipt " + a.Voucher), Printed: true, Copies: 1, Attempts: 2, LastError: "paper out", UpdatedAt: clk.Now()}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Receipt = %+v, %v; want %+v", got, err, want)
	}
	if un, _ := s.UnprintedReceipts(); len(un) != 1 || un[0].Voucher != b.Voucher {
		t.Errorf("UnprintedReceipts after printing a = %+v", un)
	}
	if _, err := s.Receipt(voucher.New(1234, 50)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Receipt(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.JournalReceipt(store.Receipt{Voucher: "12345"}); !errors.Is(err, voucher.ErrLength) {
		t.Errorf("JournalReceipt(bad voucher) = %v, want voucher.ErrLength", err)
	}
}

func TestAuditLog(t *testing.T) {
	clk := newClock()
	s := mustOpen(t, dbPath(t), testOptions(clk.Now))
	defer s.Close()
	for _, a := range []string{"maintenance_login", "retry", "test_print"} {
		if err := s.Audit("technician", a, "detail "+a); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Second)
	}
	if err := s.Audit("technician", "", "x"); err == nil {
		t.Error("Audit with empty action: no error")
	}
	got, err := s.AuditLog(2)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.AuditEntry{
		{Seq: 3, At: newClock().Now().Add(2 * time.Second), Who: "technician", Action: "test_print", Detail: "detail test_print"},
		{Seq: 2, At: newClock().Now().Add(time.Second), Who: "technician", Action: "retry", Detail: "detail retry"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AuditLog(2) = %+v, want %+v", got, want)
	}
	long := strings.Repeat("长", 2000)
	if err := s.Audit("x", "y", long); err != nil {
		t.Fatal(err)
	}
	got, _ = s.AuditLog(1)
	if len(got[0].Detail) > 1100 || !strings.HasSuffix(got[0].Detail, "…") || !strings.HasPrefix(got[0].Detail, "长长") {
		t.Errorf("long detail stored as %d bytes %.12q…", len(got[0].Detail), got[0].Detail)
	}
}

func TestWritable(t *testing.T) {
	s := mustOpen(t, dbPath(t), testOptions(nil))
	if err := s.Writable(); err != nil {
		t.Errorf("Writable = %v", err)
	}
	if s.Path() == "" {
		t.Error("Path is empty")
	}
	s.Close()
	if err := s.Writable(); err == nil {
		t.Error("Writable after Close: no error")
	}
}

func TestPurgeInSeveralTransactions(t *testing.T) {
	defer store.SetPurgeBatch(3)()
	clk := newClock()
	opt := testOptions(clk.Now)
	s := mustOpen(t, dbPath(t), opt)
	defer s.Close()
	var ops []store.Operation
	for i := range 10 {
		op := enqueue(t, s, "report_loss", personalJSON(t, i))
		ops = append(ops, op)
		if i != 4 {
			if err := s.Acknowledge(op.Key, "C"); err != nil {
				t.Fatal(err)
			}
		}
		clk.Add(time.Minute)
	}
	clk.Add(opt.Retention)
	if n, err := s.Purge(); err != nil || n != 9 {
		t.Fatalf("Purge = %d, %v; want 9 over several transactions", n, err)
	}
	for i, op := range ops {
		got, err := s.Get(op.Key)
		if err != nil {
			t.Fatal(err)
		}
		if wantPurged := i != 4; got.Purged != wantPurged || (got.Personal == nil) != wantPurged {
			t.Errorf("op %d: Purged %v, Personal %d bytes; want purged = %v", i, got.Purged, len(got.Personal), wantPurged)
		}
	}
}

func TestCloseWhileEnqueueing(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path, testOptions(nil))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		stored  = map[string]bool{}
		started = make(chan struct{}, 16)
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				op, err := s.Enqueue(context.Background(), store.NewOperation{Kind: "report_loss"})
				if errors.Is(err, store.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Enqueue: %v, want nil or ErrClosed", err)
					return
				}
				mu.Lock()
				stored[op.Key] = true
				mu.Unlock()
				if i == 3 {
					started <- struct{}{}
				}
			}
		}()
	}
	for range 16 {
		<-started
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s = mustOpen(t, path, testOptions(nil))
	defer s.Close()
	ops, err := s.Pending(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		delete(stored, op.Key)
	}
	if len(stored) != 0 {
		t.Errorf("%d operations reported stored are missing after Close and reopen", len(stored))
	}
}
