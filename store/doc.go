// Package store owns kioskd's durability: the outbox of operations waiting
// for the central system, the receipt journal and the audit log, all in one
// bbolt file in the data directory.
//
// What "accepted" means: Enqueue returns nil only after the bbolt
// transaction holding the operation has been committed and fsynced
// (bbolt's Update writes the pages, fdatasyncs, writes the meta page and
// fdatasyncs again). Only then may the caller tell a citizen "accepted".
// Any error means the operation is not stored at all: a bbolt transaction is
// atomic, so a failed commit (full disk, read-only file system, I/O error)
// leaves the file as it was before.
//
// Concurrent Enqueues are committed together (group commit): while one
// commit is in flight, arriving operations queue up; when it finishes, the
// first queued caller commits the whole queue in one transaction and one
// fsync, and wakes the others. Before it takes the queue, the new leader
// waits for the callers the previous commit released to come back with
// their next operation (at most 1 ms: callers that do not come back cost
// no more), so that concurrent callers share commits instead of splitting
// into alternating batches. There is no background goroutine: a lone
// caller commits at once.
//
// Personal fields (Operation.Personal, Receipt.Body) are encrypted with
// AES-256-GCM before they reach the file; the idempotency key (or voucher)
// is the additional authenticated data, so a ciphertext cannot be moved to
// another record. Personal data of an acknowledged operation is deleted
// Options.Retention after the acknowledgement (Purge), leaving a
// non-personal tombstone. Rejected operations keep their personal data so a
// technician can retry them.
//
// Each operation gets a sequence number (delivery order = enqueue order),
// an idempotency key "<KioskID>-<32 hex>" (48 bits of milliseconds, 80
// random bits: unique across a fleet of distinct kiosk IDs) and a voucher
// (package voucher) carrying the terminal number and the sequence.
//
// A pending operation whose record or encrypted personal fields cannot be
// read back (a flipped bit on disk) is set aside by Pending in the state
// Damaged (code "damaged_record"), keeping its voucher, kind and bytes as
// found, so that the operations after it keep flowing in order.
//
// A corrupt or truncated file is never recreated, emptied or written to:
// before bbolt maps it, Open checks both meta pages, the file length and
// every page of the tree with plain bounds-checked reads (bbolt itself
// would crash on some damage), then runs bbolt's consistency check, and
// refuses the file with an error naming it and wrapping ErrCorrupt.
//
// The store starts no goroutines; Purge is called by its owner (e.g. once
// an hour).
//
// The package knows no devices, no flows and no HTTP; it does not decide
// when to send an operation (the central link does) and does not render
// receipts (it stores the bytes it is given).
package store
