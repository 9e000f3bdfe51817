package store_test

import (
	"errors"
	"testing"

	"github.com/kioskd/kioskd/store"
)

func TestAcknowledgeAllIsOneTransaction(t *testing.T) {
	s := mustOpen(t, dbPath(t), testOptions(nil))
	defer s.Close()
	var acks []store.Ack
	for i := 0; i < 5; i++ {
		op := enqueue(t, s, "report_loss", personalJSON(t, i))
		acks = append(acks, store.Ack{Key: op.Key, CentralRef: "C-" + op.Voucher})
	}
	// One unknown key spoils the batch: nothing is written.
	if err := s.AcknowledgeAll(append(acks[:2:2], store.Ack{Key: "no-such-key", CentralRef: "x"})); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("batch with an unknown key: %v, want store.ErrNotFound", err)
	}
	if st, _ := s.Stats(); st.Pending != 5 {
		t.Fatalf("a failed batch changed the outbox: %d pending", st.Pending)
	}
	// A repeated acknowledgement (central's first answer again) is fine.
	if err := s.AcknowledgeAll(acks[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.AcknowledgeAll(acks); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Stats()
	if st.Pending != 0 || st.Acknowledged != 5 {
		t.Fatalf("stats after acknowledging all: %+v", st)
	}
	for _, a := range acks {
		op, err := s.Get(a.Key)
		if err != nil || op.State != store.Acknowledged || op.CentralRef != a.CentralRef {
			t.Errorf("%s: %+v %v", a.Key, op.State, err)
		}
	}
}
