package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/kiosk/mask"
	"github.com/kioskd/kioskd/kiosk/op"
	"github.com/kioskd/kioskd/store"
)

// Personal is what an operation carries about people, stored encrypted in
// the outbox and sent in the body of POST /v1/operations.
type Personal struct {
	Subject  json.RawMessage `json:"subject"`
	Card     json.RawMessage `json:"card,omitempty"`
	Agent    json.RawMessage `json:"agent,omitempty"`
	Evidence json.RawMessage `json:"evidence,omitempty"`
}

// Commit stores an operation durably (fsync) and returns it with its
// idempotency key and voucher; only then may a citizen be told "accepted".
func (d *Daemon) Commit(ctx context.Context, kind op.Kind, p Personal) (store.Operation, error) {
	if !kind.Valid() {
		return store.Operation{}, fmt.Errorf("unknown operation kind %q", kind)
	}
	if len(p.Subject) == 0 {
		return store.Operation{}, fmt.Errorf("operation %s has no subject", kind)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return store.Operation{}, fmt.Errorf("encode personal fields: %w", err)
	}
	stored, err := d.store.Enqueue(ctx, store.NewOperation{Kind: string(kind), Personal: body})
	if err != nil {
		return store.Operation{}, err
	}
	d.metrics.Enqueued(string(kind))
	return stored, nil
}

// outbox adapts the store to the central drainer.
type outbox struct {
	s       *store.Store
	kioskID string
}

func (o outbox) Pending(afterSeq uint64, limit int) ([]central.Queued, error) {
	ops, err := o.s.Pending(afterSeq, limit)
	if err != nil {
		return nil, err
	}
	q := make([]central.Queued, len(ops))
	for i, op := range ops {
		q[i] = central.Queued{Seq: op.Seq, Op: toCentral(op, o.kioskID), Attempts: op.Attempts, NextAttempt: op.NextAttempt}
	}
	return q, nil
}

func toCentral(op store.Operation, kioskID string) central.Operation {
	var p Personal
	// Personal was written by Commit as this JSON; a record that does not
	// decode still goes to central, whose 4xx answer names the problem.
	_ = json.Unmarshal(op.Personal, &p)
	return central.Operation{
		IdempotencyKey: op.Key,
		KioskID:        kioskID,
		Kind:           op.Kind,
		Voucher:        op.Voucher,
		CreatedAt:      op.CreatedAt,
		Subject:        p.Subject,
		Card:           p.Card,
		Agent:          p.Agent,
		Evidence:       p.Evidence,
	}
}

func (o outbox) Acknowledge(acks []central.Acked) error {
	all := make([]store.Ack, len(acks))
	for i, a := range acks {
		all[i] = store.Ack{Key: a.Key, CentralRef: a.CentralRef}
	}
	return o.s.AcknowledgeAll(all)
}

// Reject records central's rejection. Its reason is shown to technicians,
// so numbers central may echo back are masked first.
func (o outbox) Reject(key, code, reason string) error {
	return o.s.Reject(key, mask.Numbers(code), mask.Numbers(reason))
}
func (o outbox) RecordAttempt(key, lastErr string, next time.Time) error {
	return o.s.RecordAttempt(key, lastErr, next)
}
func (o outbox) Enqueued() <-chan struct{} { return o.s.Enqueued() }
