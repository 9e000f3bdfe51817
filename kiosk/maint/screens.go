package maint

import "time"

// The data the menu's screens show, as the Backend answers. Nothing here
// holds personal data: vouchers and kinds, never names or numbers.

// Login is the answer to a PIN: OK with the technician's Label, or wrong
// with TriesLeft, or refused because the menu is locked until LockedUntil
// (set too by the wrong PIN that locks it).
type Login struct {
	OK          bool
	Label       string
	TriesLeft   int
	LockedUntil time.Time
}

// Devices is the devices screen.
type Devices struct {
	Readers []Reader `json:"readers"`
	Printer Printer  `json:"printer"`
}

// Reader is one card reader and its card.
type Reader struct {
	Slot    string `json:"slot"`
	Reader  string `json:"reader"`
	Present bool   `json:"present"`
	Card    bool   `json:"card"`
	ATR     string `json:"atr,omitempty"` // hex
}

// Printer is the receipt printer: its state word (as in `device` frames),
// its status bits in words, and its port.
type Printer struct {
	State  string `json:"state"`
	Status string `json:"status"` // e.g. "ready, paper near end"
	// StatusCodes are the status's words as codes the page translates
	// (escpos.Status.Codes: "paper_out", "cover_open", …).
	StatusCodes []string `json:"status_codes,omitempty"`
	Mode        string   `json:"mode"`
	Device      string   `json:"device"`
	Baud        int      `json:"baud"`
	Error       string   `json:"error,omitempty"`
}

// Queue is the outbox as a technician sees it.
type Queue struct {
	Pending       int
	OldestPending time.Time // zero when nothing is pending
	Rejected      int
	SLABreached   bool
	// Ops are the operations a technician may retry: rejected ones and
	// pending ones waiting out a backoff.
	Ops []QueuedOp
	// Unprinted are receipts that did not come out, to reprint.
	Unprinted []UnprintedReceipt
}

// UnprintedReceipt is a journaled receipt that did not come out.
type UnprintedReceipt struct {
	Voucher   string
	LastError string
	// Problems are what kept it from printing, as codes the page
	// translates ("not_printed", "paper_out", …): only what was the case.
	Problems []string
	Attempts int
}

// QueuedOp is one operation: vouchers and kinds, never personal data.
type QueuedOp struct {
	Key         string // idempotency key: what Retry takes
	Voucher     string
	Kind        string
	State       string // "pending", "rejected" or "damaged" (unreadable, set aside)
	Reason      string // central's reason for a rejection, or the last delivery error
	Attempts    int
	NextAttempt time.Time
}

// ReaderTest is what a card in a reader says about itself.
type ReaderTest struct {
	Slot     string `json:"slot"`
	ATR      string `json:"atr"`       // hex
	CardType string `json:"card_type"` // "emrtd", "ss_card" or "unknown"
	Error    string `json:"error,omitempty"`
}

// Setting is one line of the configuration summary, secrets already hidden.
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// About is the version screen.
type About struct {
	KioskID   string
	Version   string
	Commit    string
	GoVersion string
	Uptime    time.Duration
}

// AuditChain is the audit chain's state: intact with its entries, or where
// it first breaks and why (no personal data: entries hold none).
type AuditChain struct {
	Intact   bool
	Entries  int
	BreakSeq uint64
	Reason   string
}
