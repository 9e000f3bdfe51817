package store

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/kioskd/kioskd/store/voucher"
)

// Errors callers branch on with errors.Is.
var (
	// ErrNotFound: no operation, receipt or voucher with that key.
	ErrNotFound = errors.New("store: not found")
	// ErrState: the operation is not in a state that allows the change,
	// e.g. rejecting an acknowledged operation.
	ErrState = errors.New("store: operation is in the wrong state for this change")
	// ErrCorrupt: the file is not a readable bbolt file (damaged or truncated).
	ErrCorrupt = errors.New("store file is corrupt")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrWrongKey: the encryption key is not the one the file was written with.
	ErrWrongKey = errors.New("store: encryption key does not match the one this file was written with")
)

// Options configure a Store.
type Options struct {
	// Key is the 32-byte AES-256-GCM key for personal fields (LoadOrCreateKey).
	Key []byte
	// KioskID prefixes idempotency keys: "<KioskID>-<32 hex random>", unique
	// across a fleet as long as kiosk IDs are.
	KioskID string
	// TerminalNo (0..99999) is the terminal part of vouchers.
	TerminalNo int
	// Retention is how long personal data is kept after acknowledgement.
	Retention time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnDamaged, when set, is called once for each pending operation
	// Pending sets aside as damaged (op holds no personal data; err says
	// what is damaged), after that is on disk.
	OnDamaged func(op Operation, err error)
}

// Store is the outbox, receipt journal and audit log in one bbolt file. Its
// methods are safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
	opt  Options
	aead cipher.AEAD
	now  func() time.Time

	enqueued chan struct{}
	closed   atomic.Bool

	// Group commit state, guarded by mu: queue holds callers waiting for a
	// commit, busy is true while a leader is committing.
	mu    sync.Mutex
	queue []*enqueueReq
	busy  bool

	arriving  atomic.Int64  // callers inside Enqueue that have not queued yet
	returning atomic.Int64  // callers the last commit released, not seen back in Enqueue yet
	joined    chan struct{} // capacity 1: a caller queued (wakes a waiting leader)

	commitFailures atomic.Int64          // operations whose enqueue commit failed
	lastCommitErr  atomic.Pointer[error] // the last enqueue commit's error; nil after a success
}

// openTimeout bounds the wait for another process's lock on the file, so a
// second kioskd on the same data directory errors instead of hanging.
const openTimeout = 2 * time.Second

// Bucket names. There is no voucher index: a voucher carries its
// operation's sequence number.
var (
	bOps       = []byte("ops")       // seq → JSON record (non-personal)
	bPersonal  = []byte("personal")  // seq → nonce|ciphertext, AAD = idempotency key
	bKeys      = []byte("keys")      // idempotency key → seq
	bPending   = []byte("pending")   // seq → empty: the pending operations, in order
	bRejected  = []byte("rejected")  // seq → empty
	bDamaged   = []byte("damaged")   // seq → the record as found when it was set aside
	bPurgeQ    = []byte("purgeq")    // ackAt nanos | seq → empty: acknowledged, personal data not yet purged
	bMeta      = []byte("meta")      // counters, last ack, key check
	bReceipts  = []byte("receipts")  // voucher → JSON receipt (body encrypted)
	bUnprinted = []byte("unprinted") // voucher → empty
	bAudit     = []byte("audit")     // seq → JSON audit entry
	allBuckets = [][]byte{bOps, bPersonal, bKeys, bPending, bRejected, bDamaged, bPurgeQ, bMeta, bReceipts, bUnprinted, bAudit}
)

var (
	metaKeyCheck = []byte("key_check")
	metaPending  = []byte("n_pending")
	metaAcked    = []byte("n_acknowledged")
	metaRejected = []byte("n_rejected")
	metaDamaged  = []byte("n_damaged")
	metaLastAck  = []byte("last_ack_at")
	metaProbe    = []byte("writable_probe")
)

// keyCheckPlain is sealed with the key at creation, so Open can tell a wrong
// key before anything is written with it.
const keyCheckPlain = "kioskd store key check v1"

// Open opens (or creates) the store file at path. A file that exists but is
// damaged or truncated is refused with an error naming it and wrapping
// ErrCorrupt; it is never recreated, emptied or written to. A file locked by
// another process errors after 2 s.
func Open(path string, opt Options) (*Store, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(opt.Key)
	if err != nil {
		return nil, fmt.Errorf("store: key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("store: key: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create data directory: %w", err)
		}
	}
	if err := precheck(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("store: %s is locked by another process (waited %s)", path, openTimeout)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
			return nil, corruptError(path, err)
		}
		return nil, fmt.Errorf("store: open %s for writing: %w", path, err)
	}
	s := &Store{
		db:       db,
		path:     path,
		opt:      opt,
		aead:     aead,
		now:      opt.Now,
		enqueued: make(chan struct{}, 1),
		joined:   make(chan struct{}, 1),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.checkFile(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.initBuckets(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

func (o *Options) validate() error {
	var errs []error
	if len(o.Key) != 32 {
		errs = append(errs, fmt.Errorf("key is %d bytes, want 32 (AES-256)", len(o.Key)))
	}
	if o.KioskID == "" {
		errs = append(errs, errors.New("kiosk ID is empty"))
	}
	for _, r := range o.KioskID {
		if r <= ' ' || r == 0x7f || r > 0x7e {
			errs = append(errs, fmt.Errorf("kiosk ID %q may contain only printable ASCII without spaces", o.KioskID))
			break
		}
	}
	if len(o.KioskID) > 64 {
		errs = append(errs, fmt.Errorf("kiosk ID is %d characters, at most 64", len(o.KioskID)))
	}
	if o.TerminalNo < 0 || o.TerminalNo > voucher.MaxTerminal {
		errs = append(errs, fmt.Errorf("terminal number %d is outside 0..%d", o.TerminalNo, voucher.MaxTerminal))
	}
	if o.Retention < 0 {
		errs = append(errs, fmt.Errorf("retention %s is negative", o.Retention))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: options: %w", err)
	}
	return nil
}

func corruptError(path string, cause error) error {
	return fmt.Errorf("store: %s: %w (%v); kioskd will not start on it and has not changed it: restore it from a backup or move it aside", path, ErrCorrupt, cause)
}

// precheck reads the bbolt meta pages of an existing file without mapping
// it. bbolt maps the file and would crash (SIGBUS) on a file truncated
// below its high-water mark, so that case must be caught before bolt.Open.
func precheck(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store: stat %s: %w", path, err)
	}
	size := fi.Size()
	if size == 0 {
		return nil // bbolt initialises an empty file: nothing to lose.
	}
	var best *boltMeta
	consider := func(off int64) {
		m, ok := readMeta(f, off)
		if ok && (best == nil || m.txid > best.txid) {
			best = &m
		}
	}
	consider(0)
	if best != nil {
		consider(int64(best.pageSize))
	} else {
		for i := 0; i <= 14; i++ {
			consider(1024 << uint(i))
		}
	}
	if best == nil {
		if size < 1024 {
			return corruptError(path, fmt.Errorf("truncated to %d bytes, no meta page", size))
		}
		return corruptError(path, errors.New("no valid bbolt meta page"))
	}
	need := int64(best.pgid) * int64(best.pageSize)
	switch {
	case best.pageSize < 512 || best.pageSize > 1<<24 || best.pageSize&(best.pageSize-1) != 0:
		return corruptError(path, fmt.Errorf("meta page has implausible page size %d", best.pageSize))
	case best.pgid < 2 || best.root >= best.pgid || (best.freelist >= best.pgid && best.freelist != ^uint64(0)):
		return corruptError(path, errors.New("meta page points outside the file"))
	case size < need:
		return corruptError(path, fmt.Errorf("truncated: %d bytes, the data needs %d", size, need))
	}
	if err := walkTree(f, *best); err != nil {
		return corruptError(path, err)
	}
	return nil
}

// boltMeta mirrors bbolt's on-disk meta page (go.etcd.io/bbolt
// internal/common/meta.go): after the 16-byte page header come magic,
// version, pageSize, flags (uint32 each), root bucket (pgid, sequence),
// freelist pgid, high-water pgid, txid and an FNV-64a checksum of the
// preceding 56 bytes, all in the host's byte order.
type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64
	txid     uint64
}

const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	boltPageHeader  = 16
	boltMetaSumSize = 56
)

func readMeta(f io.ReaderAt, off int64) (boltMeta, bool) {
	var buf [boltPageHeader + boltMetaSumSize + 8]byte
	if n, _ := f.ReadAt(buf[:], off); n != len(buf) {
		return boltMeta{}, false
	}
	m := buf[boltPageHeader:]
	e := binary.NativeEndian
	if e.Uint32(m[0:]) != boltMagic || e.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:boltMetaSumSize])
	if h.Sum64() != e.Uint64(m[boltMetaSumSize:]) {
		return boltMeta{}, false
	}
	return boltMeta{
		pageSize: e.Uint32(m[8:]),
		root:     e.Uint64(m[16:]),
		freelist: e.Uint64(m[32:]),
		pgid:     e.Uint64(m[40:]),
		txid:     e.Uint64(m[48:]),
	}, true
}

// checkFile runs bbolt's consistency check over every page, read-only.
func (s *Store) checkFile() error {
	var problems []error
	err := s.db.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			if len(problems) < 5 {
				problems = append(problems, e)
			}
		}
		return nil
	})
	if err != nil {
		return corruptError(s.path, err)
	}
	if len(problems) > 0 {
		return corruptError(s.path, errors.Join(problems...))
	}
	return nil
}

// initBuckets creates missing buckets and the key check, and verifies the
// key. It writes only when something is missing, so a healthy file is not
// touched by Open.
func (s *Store) initBuckets() error {
	complete := false
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				return nil
			}
		}
		sealed := tx.Bucket(bMeta).Get(metaKeyCheck)
		if sealed == nil {
			return nil
		}
		complete = true
		return s.verifyKey(sealed)
	})
	if err != nil || complete {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(bMeta)
		if sealed := meta.Get(metaKeyCheck); sealed != nil {
			return s.verifyKey(sealed)
		}
		sealed, err := s.seal([]byte(keyCheckPlain), metaKeyCheck)
		if err != nil {
			return err
		}
		return meta.Put(metaKeyCheck, sealed)
	})
	if err != nil && !errors.Is(err, ErrWrongKey) {
		return fmt.Errorf("store: initialise %s: %w", s.path, err)
	}
	return err
}

func (s *Store) verifyKey(sealed []byte) error {
	plain, err := s.unseal(sealed, metaKeyCheck)
	if err != nil || string(plain) != keyCheckPlain {
		return fmt.Errorf("%w (%s)", ErrWrongKey, s.path)
	}
	return nil
}

// Close closes the file. Operations in flight finish first; calls after
// Close return ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.db.Close()
}

// Path is the file's path.
func (s *Store) Path() string { return s.path }

// Writable checks that a tiny write transaction commits (for /readyz).
// That write rewrites a key in place and needs no new space, so after an
// enqueue commit failed (LastCommitError) it also writes and syncs 1 MiB
// of fresh data to a scratch file beside the store: only when that
// succeeds too is the failure taken as over (a full disk freed, say).
// Until then, or until an enqueue commits, Writable fails naming the
// commit's error.
func (s *Store) Writable() error {
	if s.closed.Load() {
		return ErrClosed
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put(metaProbe, timeBytes(s.now()))
	})
	if err != nil {
		return fmt.Errorf("store: %s is not writable: %w", s.path, err)
	}
	last := s.lastCommitErr.Load()
	if last == nil {
		return nil
	}
	if err := roomProbe(filepath.Dir(s.path), roomProbeSize); err != nil {
		return fmt.Errorf("store: the last commit failed (%v), and a %d KiB test write still fails: %w", *last, roomProbeSize>>10, err)
	}
	s.lastCommitErr.CompareAndSwap(last, nil)
	return nil
}

// roomProbeSize is what Writable writes after a failed commit: more than
// a group commit of operations needs.
const roomProbeSize = 1 << 20

// roomProbe writes n bytes to a scratch file in dir, syncs and removes it.
func roomProbe(dir string, n int) error {
	f, err := os.CreateTemp(dir, ".kioskd-room-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	buf := make([]byte, n)
	for i := range buf {
		buf[i] = byte(i*7 + i>>8) // not all zeros: no file system may skip it
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// CommitFailures is how many operations failed to commit since Open.
func (s *Store) CommitFailures() int64 { return s.commitFailures.Load() }

// LastCommitError is the error of the last enqueue commit, nil when it
// succeeded (or none failed since Open, or Writable found room again).
func (s *Store) LastCommitError() error {
	if p := s.lastCommitErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Enqueued signals (capacity 1, never closed) after each committed Enqueue,
// so the central link wakes at once.
func (s *Store) Enqueued() <-chan struct{} { return s.enqueued }

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func timeBytes(t time.Time) []byte { return u64(uint64(t.UnixNano())) }

func bytesTime(b []byte) time.Time {
	if len(b) != 8 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b)))
}

func counter(meta *bolt.Bucket, name []byte) int64 {
	if v := meta.Get(name); len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

func addCounter(meta *bolt.Bucket, name []byte, delta int64) error {
	return meta.Put(name, u64(uint64(counter(meta, name)+delta)))
}
