package store_test

import (
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/kioskd/kioskd/store"
)

// damage rewrites one value of a bucket in a closed store file.
func damage(t *testing.T, path, bucket string, seq uint64, f func([]byte) []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		k := binary.BigEndian.AppendUint64(nil, seq)
		return b.Put(k, f(append([]byte(nil), b.Get(k)...)))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Pending sets damaged operations aside (undecryptable personal fields, or
// a record that does not decode) and returns the others in order; the
// damaged ones keep their voucher, are listed, counted, reported once, and
// cannot be retried.
func TestPendingSetsDamagedAside(t *testing.T) {
	path := dbPath(t)
	s := mustOpen(t, path, testOptions(nil))
	var ops []store.Operation
	for i := range 6 {
		ops = append(ops, enqueue(t, s, "report_loss", personalJSON(t, i)))
	}
	s.Close()
	damage(t, path, "personal", ops[1].Seq, func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
	damage(t, path, "ops", ops[4].Seq, func(b []byte) []byte { return b[:len(b)/2] })

	var mu sync.Mutex
	var told []store.Operation
	opt := testOptions(nil)
	opt.OnDamaged = func(op store.Operation, err error) {
		mu.Lock()
		told = append(told, op)
		mu.Unlock()
		if err == nil || len(op.Personal) != 0 {
			t.Errorf("OnDamaged(%+v, %v): want an error and no personal data", op, err)
		}
	}
	s = mustOpen(t, path, opt)
	got, err := s.Pending(0, 3) // a page of 3 is still full without the two
	if err != nil {
		t.Fatal(err)
	}
	want := []uint64{ops[0].Seq, ops[2].Seq, ops[3].Seq}
	if len(got) != 3 || got[0].Seq != want[0] || got[1].Seq != want[1] || got[2].Seq != want[2] {
		t.Fatalf("Pending(0, 3) = %d operations, want seqs %v", len(got), want)
	}
	rest, err := s.Pending(got[2].Seq, 3)
	if err != nil || len(rest) != 1 || rest[0].Seq != ops[5].Seq {
		t.Fatalf("Pending after %d = %+v, %v; want only seq %d", got[2].Seq, rest, err, ops[5].Seq)
	}
	if len(told) != 2 || told[0].Voucher != ops[1].Voucher || told[1].Voucher != ops[4].Voucher {
		t.Fatalf("OnDamaged told %+v, want vouchers %s and %s", told, ops[1].Voucher, ops[4].Voucher)
	}
	st, err := s.Stats()
	if err != nil || st.Damaged != 2 || st.Pending != 4 {
		t.Fatalf("Stats = %+v, %v; want 2 damaged, 4 pending", st, err)
	}
	list, err := s.List(store.Damaged, 10)
	if err != nil || len(list) != 2 {
		t.Fatalf("List(damaged) = %+v, %v", list, err)
	}
	for _, op := range list {
		if op.State != store.Damaged || op.RejectCode != store.CodeDamaged || !strings.Contains(op.RejectReason, "damaged") {
			t.Errorf("listed %+v, want damaged with code %s", op, store.CodeDamaged)
		}
	}
	if list[1].Key != ops[1].Key || list[1].Kind != "report_loss" || list[0].Voucher != ops[4].Voucher {
		t.Errorf("listed %+v; want the readable one with its key and kind, the other with its voucher", list)
	}
	if _, err := s.List("", 10); err != nil {
		t.Errorf("List(all) with a damaged record: %v", err)
	}
	if err := s.Retry(ops[1].Key); !errors.Is(err, store.ErrState) {
		t.Errorf("Retry of a damaged operation: %v, want ErrState", err)
	}
	// Set aside once, for good: no second report.
	if _, err := s.Pending(0, 10); err != nil {
		t.Fatal(err)
	}
	if len(told) != 2 {
		t.Errorf("OnDamaged told %d times, want 2", len(told))
	}
}
