package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/kioskd/kioskd/store/voucher"
)

// State is where an operation is in its life.
type State string

const (
	// Pending: stored, not yet acknowledged by the central system.
	Pending State = "pending"
	// Acknowledged: the central system applied it (CentralRef is set).
	Acknowledged State = "acknowledged"
	// Rejected: the central system refused it for good (RejectCode, RejectReason).
	Rejected State = "rejected"
	// Damaged: its stored record or its encrypted personal fields cannot
	// be read back (RejectCode "damaged_record", RejectReason what is
	// damaged). Pending sets it aside so that the operations after it keep
	// flowing; its voucher and kind are kept, its bytes are left as found.
	Damaged State = "damaged"
)

// CodeDamaged is the RejectCode of a damaged operation.
const CodeDamaged = "damaged_record"

// MaxPersonal bounds NewOperation.Personal.
const MaxPersonal = 1 << 20

// NewOperation is what a flow asks to store.
type NewOperation struct {
	// Kind is the operation kind, e.g. "report_loss" (lower case, digits, '_').
	Kind string
	// Personal is the JSON {subject, card, agent, evidence}; stored encrypted.
	Personal []byte
}

// Operation is a stored operation.
type Operation struct {
	Seq          uint64
	Key          string // idempotency key, "<kioskID>-<32 hex>"
	Voucher      string // digits only; voucher.Format for printing
	Kind         string
	CreatedAt    time.Time
	State        State
	Attempts     int
	NextAttempt  time.Time
	LastError    string
	CentralRef   string
	RejectCode   string
	RejectReason string
	AckAt        time.Time
	Personal     []byte // decrypted; nil once purged and in List
	Purged       bool
}

// record is the non-personal part of an operation as stored in bucket ops.
type record struct {
	Seq          uint64    `json:"seq"`
	Key          string    `json:"key"`
	Voucher      string    `json:"voucher"`
	Kind         string    `json:"kind"`
	CreatedAt    time.Time `json:"created_at"`
	State        State     `json:"state"`
	Attempts     int       `json:"attempts,omitempty"`
	NextAttempt  time.Time `json:"next_attempt,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	CentralRef   string    `json:"central_ref,omitempty"`
	RejectCode   string    `json:"reject_code,omitempty"`
	RejectReason string    `json:"reject_reason,omitempty"`
	AckAt        time.Time `json:"ack_at,omitzero"`
	Purged       bool      `json:"purged,omitempty"`
}

func (r *record) operation() Operation {
	return Operation{
		Seq: r.Seq, Key: r.Key, Voucher: r.Voucher, Kind: r.Kind, CreatedAt: r.CreatedAt,
		State: r.State, Attempts: r.Attempts, NextAttempt: r.NextAttempt, LastError: r.LastError,
		CentralRef: r.CentralRef, RejectCode: r.RejectCode, RejectReason: r.RejectReason,
		AckAt: r.AckAt, Purged: r.Purged,
	}
}

// enqueueReq is one caller's operation waiting for a group commit.
type enqueueReq struct {
	rec    record
	sealed []byte // encrypted Personal, nil when there is none
	wake   chan struct{}
	done   bool // set by the leader before waking: rec/err are final
	err    error
}

func validKind(k string) error {
	if k == "" {
		return errors.New("store: operation kind is empty")
	}
	if len(k) > 64 {
		return fmt.Errorf("store: operation kind is %d characters, at most 64", len(k))
	}
	for _, c := range []byte(k) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("store: operation kind %q may contain only a-z, 0-9 and '_'", k)
		}
	}
	return nil
}

// Enqueue stores op as a new pending operation and returns it with its
// sequence number, idempotency key and voucher. It returns only after the
// transaction holding it is committed and fsynced; on any error the
// operation is not stored at all and the error says what failed.
//
// ctx is checked before the operation joins the commit queue; once queued,
// Enqueue waits for the outcome of the commit (bounded by the disk), so its
// answer is always the truth about what is on disk.
func (s *Store) Enqueue(ctx context.Context, op NewOperation) (Operation, error) {
	if err := validKind(op.Kind); err != nil {
		return Operation{}, err
	}
	if len(op.Personal) > MaxPersonal {
		return Operation{}, fmt.Errorf("store: personal data is %d bytes, at most %d", len(op.Personal), MaxPersonal)
	}
	if s.closed.Load() {
		return Operation{}, ErrClosed
	}
	s.arriving.Add(1)
	s.cameBack()
	joined := false
	defer func() {
		if !joined {
			s.arriving.Add(-1)
		}
	}()
	createdAt := s.now().UTC()
	key, err := s.newKey(createdAt)
	if err != nil {
		return Operation{}, err
	}
	r := &enqueueReq{
		rec: record{
			Key:       key,
			Kind:      op.Kind,
			CreatedAt: createdAt,
			State:     Pending,
		},
		wake: make(chan struct{}, 1),
	}
	// Encrypt before queueing, outside any lock: the commit holds only bytes.
	if op.Personal != nil {
		sealed, err := s.seal(op.Personal, []byte(r.rec.Key))
		if err != nil {
			return Operation{}, err
		}
		r.sealed = sealed
	}
	if err := ctx.Err(); err != nil {
		return Operation{}, fmt.Errorf("store: enqueue not attempted: %w", err)
	}
	joined = true
	if err := s.groupCommit(r); err != nil {
		return Operation{}, err
	}
	s.signal()
	out := r.rec.operation()
	if op.Personal != nil {
		out.Personal = bytes.Clone(op.Personal)
	}
	return out, nil
}

// cameBack counts an arriving caller against those the last commit
// released (a hint for the group commit: any caller counts).
func (s *Store) cameBack() {
	for {
		n := s.returning.Load()
		if n <= 0 || s.returning.CompareAndSwap(n, n-1) {
			return
		}
	}
}

// newKey returns "<KioskID>-<32 hex>": 48 bits of the creation time in
// milliseconds, then 80 random bits. 80 random bits per kiosk and
// millisecond make a collision practically impossible, and the time prefix
// makes new keys sort after old ones, so the key index grows at its end
// instead of dirtying a random page of it per operation (fewer pages per
// commit).
func (s *Store) newKey(t time.Time) (string, error) {
	var k [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		k[i] = byte(ms)
		ms >>= 8
	}
	if _, err := rand.Read(k[6:]); err != nil {
		return "", fmt.Errorf("store: random idempotency key: %w", err)
	}
	return s.opt.KioskID + "-" + hex.EncodeToString(k[:]), nil
}

// groupCommit queues r and either waits for a leader to commit it or, when
// no commit is in flight (or leadership is handed to r), commits the whole
// queue itself in one transaction. A lone caller commits at once.
func (s *Store) groupCommit(r *enqueueReq) error {
	s.mu.Lock()
	s.queue = append(s.queue, r)
	s.arriving.Add(-1)
	select {
	case s.joined <- struct{}{}:
	default:
	}
	if s.busy {
		s.mu.Unlock()
		<-r.wake
		if r.done {
			return r.err
		}
		// Woken without a result: the previous leader handed over to r.
		s.mu.Lock()
	}
	s.busy = true
	// Callers already inside Enqueue (encrypting) and callers the
	// previous commit released (returning: usually back at once with
	// their next operation) are about to queue; wait for them so they
	// join this commit instead of forming a batch of their own. The
	// leader blocks rather than yields while it waits, so that on a busy
	// machine the scheduler runs them; the wait ends when they have
	// queued, or after maxJoinWait if some do not come back. A lone
	// caller yields once and commits.
	n := len(s.queue)
	s.mu.Unlock()
	runtime.Gosched()
	s.mu.Lock()
	if len(s.queue) != n || s.arriving.Load() > 0 || s.returning.Load() > 0 {
		timer := time.NewTimer(maxJoinWait)
	wait:
		for s.arriving.Load() > 0 || s.returning.Load() > 0 {
			s.mu.Unlock()
			select {
			case <-s.joined:
				s.mu.Lock()
			case <-timer.C:
				s.mu.Lock()
				break wait
			}
		}
		timer.Stop()
	}
	batch := s.queue
	s.queue = nil
	s.mu.Unlock()

	err := s.commitBatch(batch)
	// The callers released now are likely back soon with their next
	// operation: the next leader waits a little for them.
	s.returning.Store(int64(len(batch)))
	for _, b := range batch {
		b.err = err
		if b != r {
			b.done = true
			b.wake <- struct{}{}
		}
	}

	s.mu.Lock()
	if len(s.queue) > 0 {
		next := s.queue[0]
		s.mu.Unlock()
		next.wake <- struct{}{} // next leads; busy stays true
	} else {
		s.busy = false
		s.mu.Unlock()
	}
	return err
}

// maxJoinWait bounds how long a new leader waits for callers to join its
// batch: a small part of a commit's cost (two fdatasyncs).
const maxJoinWait = time.Millisecond

// appendFill is the bbolt FillPercent for buckets written in key order.
const appendFill = 0.95

func (s *Store) commitBatch(batch []*enqueueReq) error {
	if s.closed.Load() {
		return ErrClosed
	}
	recs := make([]record, len(batch))
	err := s.db.Update(func(tx *bolt.Tx) error {
		// Keys in these buckets only grow (sequence numbers, time-ordered
		// idempotency keys, vouchers): fill pages when they split instead
		// of leaving them half empty, so a commit writes fewer pages.
		for _, name := range [][]byte{bOps, bPersonal, bKeys, bPending} {
			tx.Bucket(name).FillPercent = appendFill
		}
		ops := tx.Bucket(bOps)
		for i, b := range batch {
			seq, err := ops.NextSequence()
			if err != nil {
				return err
			}
			rec := b.rec
			rec.Seq = seq
			rec.Voucher = voucher.New(s.opt.TerminalNo, seq)
			sk := u64(seq)
			if err := putRecord(tx, &rec); err != nil {
				return err
			}
			if tx.Bucket(bKeys).Get([]byte(rec.Key)) != nil {
				return fmt.Errorf("idempotency key collision for operation %d", seq)
			}
			if err := tx.Bucket(bKeys).Put([]byte(rec.Key), sk); err != nil {
				return err
			}
			if err := tx.Bucket(bPending).Put(sk, nil); err != nil {
				return err
			}
			if b.sealed != nil {
				if err := tx.Bucket(bPersonal).Put(sk, b.sealed); err != nil {
					return err
				}
			}
			if err := s.auditState(tx, &rec, ""); err != nil {
				return err
			}
			recs[i] = rec
		}
		return addCounter(tx.Bucket(bMeta), metaPending, int64(len(batch)))
	})
	if err != nil {
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			return ErrClosed
		}
		n := "1 operation"
		if len(batch) > 1 {
			n = fmt.Sprintf("%d operations", len(batch))
		}
		err = fmt.Errorf("store: commit %s to %s, nothing stored: %w", n, s.path, err)
		s.commitFailures.Add(int64(len(batch)))
		s.lastCommitErr.Store(&err)
		return err
	}
	s.lastCommitErr.Store(nil)
	for i, b := range batch {
		b.rec = recs[i]
	}
	return nil
}

func putRecord(tx *bolt.Tx, rec *record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return tx.Bucket(bOps).Put(u64(rec.Seq), data)
}

func getRecord(tx *bolt.Tx, seq uint64) (record, error) {
	var rec record
	data := tx.Bucket(bOps).Get(u64(seq))
	if data == nil {
		return rec, fmt.Errorf("%w: operation %d", ErrNotFound, seq)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("store: operation %d: %w: %v", seq, errDamagedRecord, err)
	}
	return rec, nil
}

// Sentinels for damage Pending sets aside; their texts are the reasons
// technicians see.
var (
	errDamagedRecord = errors.New("damaged record: the stored record does not decode")
	errUndecryptable = errors.New("damaged record: the encrypted personal fields do not decrypt")
)

func (s *Store) withPersonal(tx *bolt.Tx, rec *record) (Operation, error) {
	op := rec.operation()
	sealed := tx.Bucket(bPersonal).Get(u64(rec.Seq))
	if sealed == nil {
		return op, nil
	}
	plain, err := s.unseal(sealed, []byte(rec.Key))
	if err != nil {
		return op, fmt.Errorf("store: operation %d (voucher %s): %w (%v)", rec.Seq, rec.Voucher, errUndecryptable, err)
	}
	op.Personal = plain
	return op, nil
}

// seqByKey resolves an idempotency key.
func seqByKey(tx *bolt.Tx, key string) (uint64, error) {
	v := tx.Bucket(bKeys).Get([]byte(key))
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: no operation with that idempotency key", ErrNotFound)
	}
	return binary.BigEndian.Uint64(v), nil
}

func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.db.View(fn)
}

func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.db.Update(fn)
}

// Pending returns pending operations with Seq > afterSeq in Seq (= enqueue)
// order, at most limit of them, with Personal decrypted. It reads only the
// pending index, never acknowledged operations.
//
// A pending operation whose record or encrypted personal fields cannot be
// read back is set aside as Damaged (one durable write; Options.OnDamaged
// is told) and left out, so that one damaged record never stops the
// operations after it.
func (s *Store) Pending(afterSeq uint64, limit int) ([]Operation, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("store: pending: limit %d, want > 0", limit)
	}
	if afterSeq == ^uint64(0) {
		return nil, nil
	}
	for {
		var out []Operation
		var damaged []damagedOp
		err := s.view(func(tx *bolt.Tx) error {
			c := tx.Bucket(bPending).Cursor()
			for k, _ := c.Seek(u64(afterSeq + 1)); k != nil && len(out) < limit; k, _ = c.Next() {
				seq := binary.BigEndian.Uint64(k)
				rec, err := getRecord(tx, seq)
				if errors.Is(err, errDamagedRecord) {
					damaged = append(damaged, damagedOp{seq: seq, err: err})
					continue
				}
				if err != nil {
					return err
				}
				op, err := s.withPersonal(tx, &rec)
				if errors.Is(err, errUndecryptable) {
					damaged = append(damaged, damagedOp{seq: seq, rec: &rec, err: err})
					continue
				}
				if err != nil {
					return err
				}
				out = append(out, op)
			}
			return nil
		})
		if err != nil || len(damaged) == 0 {
			return out, err
		}
		if err := s.setAside(damaged); err != nil {
			return nil, err
		}
		// Read again: the page is full again without them.
	}
}

// damagedOp is a pending operation found damaged: rec is nil when its
// record itself does not decode.
type damagedOp struct {
	seq uint64
	rec *record
	err error
}

// setAside moves damaged pending operations to the damaged index in one
// transaction and tells Options.OnDamaged. The damaged bytes stay as they
// were found: an undecodable record is kept in the damaged index and a
// readable record gets the new state.
func (s *Store) setAside(ops []damagedOp) error {
	var set []Operation
	err := s.update(func(tx *bolt.Tx) error {
		set = set[:0]
		for _, d := range ops {
			sk := u64(d.seq)
			if tx.Bucket(bPending).Get(sk) == nil {
				continue // set aside meanwhile
			}
			found := bytes.Clone(tx.Bucket(bOps).Get(sk))
			rec := record{Seq: d.seq, Voucher: voucher.New(s.opt.TerminalNo, d.seq)}
			if d.rec != nil {
				rec = *d.rec
			}
			from := rec.State
			rec.State = Damaged
			rec.RejectCode = CodeDamaged
			rec.RejectReason = errDamagedRecord.Error()
			if errors.Is(d.err, errUndecryptable) {
				rec.RejectReason = errUndecryptable.Error()
			}
			rec.NextAttempt = time.Time{}
			if d.rec != nil {
				if err := putRecord(tx, &rec); err != nil {
					return err
				}
			}
			if err := tx.Bucket(bPending).Delete(sk); err != nil {
				return err
			}
			if err := tx.Bucket(bDamaged).Put(sk, found); err != nil {
				return err
			}
			if err := s.auditState(tx, &rec, from); err != nil {
				return err
			}
			meta := tx.Bucket(bMeta)
			if err := addCounter(meta, metaPending, -1); err != nil {
				return err
			}
			if err := addCounter(meta, metaDamaged, 1); err != nil {
				return err
			}
			set = append(set, rec.operation())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: set aside %d damaged operations in %s: %w", len(ops), s.path, err)
	}
	if s.opt.OnDamaged != nil {
		for i, op := range set {
			s.opt.OnDamaged(op, ops[i].err)
		}
	}
	return nil
}

// Get returns the operation with idempotency key key (ErrNotFound).
func (s *Store) Get(key string) (Operation, error) {
	var op Operation
	err := s.view(func(tx *bolt.Tx) error {
		seq, err := seqByKey(tx, key)
		if err != nil {
			return err
		}
		rec, err := getRecord(tx, seq)
		if err != nil {
			return err
		}
		op, err = s.withPersonal(tx, &rec)
		return err
	})
	return op, err
}

// ByVoucher returns the operation with voucher v, typed with or without
// separators. A mistyped voucher gets the voucher package's error (e.g.
// voucher.ErrChecksum); a well-formed unknown one ErrNotFound.
func (s *Store) ByVoucher(v string) (Operation, error) {
	n, err := voucher.Normalize(v)
	if err != nil {
		return Operation{}, fmt.Errorf("store: %w", err)
	}
	notFound := fmt.Errorf("%w: no operation with voucher %s", ErrNotFound, voucher.Format(n))
	// The voucher carries the operation's sequence number; the record
	// must carry the same voucher (same terminal number).
	_, seq, err := voucher.Parse(n)
	if err != nil {
		return Operation{}, notFound
	}
	var op Operation
	err = s.view(func(tx *bolt.Tx) error {
		rec, err := getRecord(tx, seq)
		if errors.Is(err, ErrNotFound) || err == nil && rec.Voucher != n {
			return notFound
		}
		if err != nil {
			return err
		}
		op, err = s.withPersonal(tx, &rec)
		return err
	})
	return op, err
}

// change loads the operation with key, lets fn modify it and stores it, in
// one transaction. fn returning errNoChange leaves everything as it was.
func (s *Store) change(key string, fn func(tx *bolt.Tx, rec *record) error) error {
	err := s.update(func(tx *bolt.Tx) error {
		seq, err := seqByKey(tx, key)
		if err != nil {
			return err
		}
		rec, err := getRecord(tx, seq)
		if err != nil {
			return err
		}
		if err := fn(tx, &rec); err != nil {
			return err
		}
		return putRecord(tx, &rec)
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

var errNoChange = errors.New("no change")

// moveIndex moves an operation from one state's index bucket and counter
// to another's, under its key in each (sequence number; the purge queue is
// keyed by time first).
func moveIndex(tx *bolt.Tx, fromIndex, fromKey, fromCounter, toIndex, toKey, toCounter []byte) error {
	if err := tx.Bucket(fromIndex).Delete(fromKey); err != nil {
		return err
	}
	if err := tx.Bucket(toIndex).Put(toKey, nil); err != nil {
		return err
	}
	meta := tx.Bucket(bMeta)
	if err := addCounter(meta, fromCounter, -1); err != nil {
		return err
	}
	return addCounter(meta, toCounter, 1)
}

func purgeKey(ackAt time.Time, seq uint64) []byte {
	return append(timeBytes(ackAt), u64(seq)...)
}

// Ack is one acknowledgement from central.
type Ack struct {
	Key, CentralRef string
}

// Acknowledge moves a pending operation to acknowledged with the central
// reference and AckAt = now. Acknowledging an acknowledged operation is a
// no-op (the central system answers the same key with the first answer);
// acknowledging a rejected one is ErrState.
func (s *Store) Acknowledge(key, centralRef string) error {
	return s.AcknowledgeAll([]Ack{{Key: key, CentralRef: centralRef}})
}

// AcknowledgeAll is Acknowledge for many operations in one transaction and
// one fsync, so a drainer is not held to one disk flush per operation.
// Operations already acknowledged are left as they are; if one cannot be
// acknowledged (unknown, rejected) nothing is written and the error names it.
func (s *Store) AcknowledgeAll(acks []Ack) error {
	if len(acks) == 0 {
		return nil
	}
	return s.update(func(tx *bolt.Tx) error {
		for _, a := range acks {
			seq, err := seqByKey(tx, a.Key)
			if err != nil {
				return err
			}
			rec, err := getRecord(tx, seq)
			if err != nil {
				return err
			}
			err = s.acknowledge(tx, &rec, a.CentralRef)
			if errors.Is(err, errNoChange) {
				continue
			}
			if err != nil {
				return err
			}
			if err := putRecord(tx, &rec); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) acknowledge(tx *bolt.Tx, rec *record, centralRef string) error {
	switch rec.State {
	case Acknowledged:
		return errNoChange
	case Rejected, Damaged:
		return fmt.Errorf("%w: acknowledge operation %d (voucher %s): it is %s", ErrState, rec.Seq, rec.Voucher, rec.State)
	}
	sk := u64(rec.Seq)
	from := rec.State
	rec.State = Acknowledged
	rec.CentralRef = centralRef
	rec.AckAt = s.now().UTC()
	rec.NextAttempt = time.Time{}
	if err := moveIndex(tx, bPending, sk, metaPending, bPurgeQ, purgeKey(rec.AckAt, rec.Seq), metaAcked); err != nil {
		return err
	}
	if err := s.auditState(tx, rec, from); err != nil {
		return err
	}
	return tx.Bucket(bMeta).Put(metaLastAck, timeBytes(rec.AckAt))
}

// Reject moves a pending operation to rejected, keeping the central
// system's code and reason for technicians. Rejecting a rejected operation
// is a no-op; rejecting an acknowledged one is ErrState.
func (s *Store) Reject(key, code, reason string) error {
	return s.change(key, func(tx *bolt.Tx, rec *record) error {
		switch rec.State {
		case Rejected:
			return errNoChange
		case Acknowledged, Damaged:
			return fmt.Errorf("%w: reject operation %d (voucher %s): it is %s", ErrState, rec.Seq, rec.Voucher, rec.State)
		}
		sk := u64(rec.Seq)
		from := rec.State
		rec.State = Rejected
		rec.RejectCode = code
		rec.RejectReason = reason
		rec.NextAttempt = time.Time{}
		if err := moveIndex(tx, bPending, sk, metaPending, bRejected, sk, metaRejected); err != nil {
			return err
		}
		return s.auditState(tx, rec, from)
	})
}

// RecordAttempt notes a failed delivery of a pending operation: attempts+1,
// the error and when to try next. Not allowed (ErrState) once it is
// acknowledged or rejected.
func (s *Store) RecordAttempt(key, lastErr string, next time.Time) error {
	return s.change(key, func(tx *bolt.Tx, rec *record) error {
		if rec.State != Pending {
			return fmt.Errorf("%w: record attempt on operation %d (voucher %s): it is %s", ErrState, rec.Seq, rec.Voucher, rec.State)
		}
		rec.Attempts++
		rec.LastError = lastErr
		rec.NextAttempt = next.UTC()
		return nil
	})
}

// Retry is the technician's "retry now": a rejected operation becomes
// pending again (its reject code and reason move into LastError), a
// backed-off pending one gets NextAttempt = zero. Retrying an acknowledged
// operation is ErrState. A successful Retry signals Enqueued, so the
// central link wakes at once.
func (s *Store) Retry(key string) error {
	err := s.retry(key)
	if err == nil {
		s.signal()
	}
	return err
}

// signal pokes the Enqueued channel without blocking.
func (s *Store) signal() {
	select {
	case s.enqueued <- struct{}{}:
	default:
	}
}

func (s *Store) retry(key string) error {
	return s.change(key, func(tx *bolt.Tx, rec *record) error {
		rec.NextAttempt = time.Time{}
		switch rec.State {
		case Pending:
			return nil
		case Acknowledged:
			return fmt.Errorf("%w: retry operation %d (voucher %s): it was acknowledged", ErrState, rec.Seq, rec.Voucher)
		case Damaged:
			return fmt.Errorf("%w: retry operation %d (voucher %s): it is damaged (%s); sending it again cannot help: keep the data directory for second-line support", ErrState, rec.Seq, rec.Voucher, rec.RejectReason)
		}
		sk := u64(rec.Seq)
		from := rec.State
		rec.State = Pending
		rec.LastError = fmt.Sprintf("retried after rejection %s: %s", rec.RejectCode, rec.RejectReason)
		rec.RejectCode, rec.RejectReason = "", ""
		if err := moveIndex(tx, bRejected, sk, metaRejected, bPending, sk, metaPending); err != nil {
			return err
		}
		return s.auditState(tx, rec, from)
	})
}

// List returns up to limit operations in state (all states when state is
// ""), newest first, without Personal: what a technician may see.
func (s *Store) List(state State, limit int) ([]Operation, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("store: list: limit %d, want > 0", limit)
	}
	var index []byte
	switch state {
	case Pending:
		index = bPending
	case Rejected:
		index = bRejected
	case Damaged:
		index = bDamaged
	case Acknowledged, "":
		// Scan the operations themselves: most are acknowledged.
	default:
		return nil, fmt.Errorf("store: list: unknown state %q (want pending, acknowledged, rejected, damaged or empty for all)", state)
	}
	var out []Operation
	err := s.view(func(tx *bolt.Tx) error {
		if index != nil {
			c := tx.Bucket(index).Cursor()
			for k, _ := c.Last(); k != nil && len(out) < limit; k, _ = c.Prev() {
				rec, err := s.listRecord(tx, binary.BigEndian.Uint64(k))
				if err != nil {
					return err
				}
				out = append(out, rec.operation())
			}
			return nil
		}
		c := tx.Bucket(bOps).Cursor()
		for k, _ := c.Last(); k != nil && len(out) < limit; k, _ = c.Prev() {
			rec, err := s.listRecord(tx, binary.BigEndian.Uint64(k))
			if err != nil {
				return err
			}
			if state == "" || rec.State == state {
				out = append(out, rec.operation())
			}
		}
		return nil
	})
	return out, err
}

// listRecord is getRecord, except that a damaged operation whose record
// does not decode is shown by what is known without it: its voucher (from
// its sequence number) and its state.
func (s *Store) listRecord(tx *bolt.Tx, seq uint64) (record, error) {
	rec, err := getRecord(tx, seq)
	if errors.Is(err, errDamagedRecord) && tx.Bucket(bDamaged).Get(u64(seq)) != nil {
		return record{Seq: seq, Voucher: voucher.New(s.opt.TerminalNo, seq), State: Damaged,
			RejectCode: CodeDamaged, RejectReason: errDamagedRecord.Error()}, nil
	}
	return rec, err
}

// Stats summarises the queue. It reads counters kept in the meta bucket
// and the first pending operation, so its cost does not grow with the
// number of operations.
type Stats struct {
	Pending, Acknowledged, Rejected int
	Damaged                         int       // set aside by Pending: unreadable
	OldestPending                   time.Time // zero when nothing is pending
	LastAckAt                       time.Time // zero before the first acknowledgement
}

// Stats returns the queue summary.
func (s *Store) Stats() (Stats, error) {
	var st Stats
	err := s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		st.Pending = int(counter(meta, metaPending))
		st.Acknowledged = int(counter(meta, metaAcked))
		st.Rejected = int(counter(meta, metaRejected))
		st.Damaged = int(counter(meta, metaDamaged))
		if v := meta.Get(metaLastAck); v != nil {
			st.LastAckAt = bytesTime(v).UTC()
		}
		if k, _ := tx.Bucket(bPending).Cursor().First(); k != nil {
			rec, err := getRecord(tx, binary.BigEndian.Uint64(k))
			if err != nil {
				return err
			}
			st.OldestPending = rec.CreatedAt
		}
		return nil
	})
	return st, err
}

// purgeBatch bounds one purge transaction, so a long backlog does not make
// one huge commit that holds the write lock for long.
var purgeBatch = 1000

// Purge deletes the personal data (and receipt body) of operations
// acknowledged more than Retention ago and returns how many it purged. The
// tombstone (kind, voucher, times, state, central reference) stays.
// Pending and rejected operations are never purged.
func (s *Store) Purge() (int, error) {
	total := 0
	for {
		n, err := s.purgeSome()
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
}

func (s *Store) purgeSome() (int, error) {
	cutoff := s.now().Add(-s.opt.Retention)
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		q := tx.Bucket(bPurgeQ)
		var due [][]byte
		c := q.Cursor()
		for k, _ := c.First(); k != nil && len(due) < purgeBatch; k, _ = c.Next() {
			if len(k) != 16 || !bytesTime(k[:8]).Before(cutoff) {
				break
			}
			due = append(due, bytes.Clone(k))
		}
		for _, k := range due {
			seq := binary.BigEndian.Uint64(k[8:])
			rec, err := getRecord(tx, seq)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bPersonal).Delete(u64(seq)); err != nil {
				return err
			}
			if err := s.dropReceiptBody(tx, rec.Voucher); err != nil {
				return err
			}
			rec.Purged = true
			if err := putRecord(tx, &rec); err != nil {
				return err
			}
			if err := q.Delete(k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge: %w", err)
	}
	return n, nil
}
