package store_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/store/voucher"
)

// The life of an operation: a flow enqueues it (and may tell the citizen
// "accepted" once Enqueue returns), the central link reads pending
// operations in order and records the central system's answer.
func Example() {
	dir, err := os.MkdirTemp("", "kioskd-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	key, err := store.LoadOrCreateKey(filepath.Join(dir, "store.key"))
	if err != nil {
		log.Fatal(err)
	}
	s, err := store.Open(filepath.Join(dir, "kioskd.db"), store.Options{
		Key:        key,
		KioskID:    "kiosk-bj-0042",
		TerminalNo: 1234,
		Retention:  30 * 24 * time.Hour,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// The flow: durable once Enqueue returns.
	op, err := s.Enqueue(context.Background(), store.NewOperation{
		Kind:     "report_loss",
		Personal: []byte(`{"subject":{"id_number":"110101199003071234"},"card":{},"evidence":{"method":"id_chip"}}`),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("voucher on the receipt:", voucher.Format(op.Voucher))

	// The central link: pending operations in enqueue order.
	pending, err := s.Pending(0, 100)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range pending {
		// ... POST /v1/operations with p.Key and p.Personal ...
		if err := s.Acknowledge(p.Key, "C-2026-000001"); err != nil {
			log.Fatal(err)
		}
	}

	got, err := s.ByVoucher("01234 000001 3")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.State, got.CentralRef)
	// Output:
	// voucher on the receipt: 01234-000001-3
	// acknowledged C-2026-000001
}
