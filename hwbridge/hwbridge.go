// Package hwbridge owns the terminal's devices and nothing else: card readers
// and the cards in them (at the APDU level), the receipt printer, and the
// simulators that stand in for each. It knows no flows, no storage and no
// HTTP; the application (package kiosk) uses it through the small types
// below and through the interfaces it defines for itself.
//
// Subpackages: pcsc (reader supervisor over PC/SC), card/... (APDU-level
// card drivers), escpos (receipt bytes and status decoding), serialprinter
// (the printer on a serial port), sim/... (virtual card, virtual printer and
// in-process simulated devices).
package hwbridge

import (
	"context"
	"errors"
)

// ErrNoCard: the slot's reader has no card in it when a connection is
// asked for. Every reader implementation wraps it, so the application can
// tell "put the card in" from a card that failed.
var ErrNoCard = errors.New("no card in the reader")

// Slot names a card reader by its role on the terminal, as the sim control
// API and the configuration do.
type Slot string

const (
	// SlotID is the reader for the national ID card (contactless, eMRTD).
	SlotID Slot = "id"
	// SlotSS is the reader for the social security card (contact).
	SlotSS Slot = "ss"
)

// EventKind says what happened at a reader.
type EventKind string

const (
	CardInserted  EventKind = "card_inserted"
	CardRemoved   EventKind = "card_removed"
	ReaderAdded   EventKind = "reader_added"
	ReaderRemoved EventKind = "reader_removed"
)

// ReaderEvent is one change at a reader. Slot is empty when the reader is not
// mapped to a slot.
type ReaderEvent struct {
	Kind   EventKind
	Slot   Slot
	Reader string
	ATR    []byte // set for CardInserted
}

// Card is a card present in a reader, spoken to in APDUs. Transmit returns
// the whole response APDU including the two status bytes; a response shorter
// than two bytes is returned as an error, never as data.
type Card interface {
	Transmit(ctx context.Context, command []byte) ([]byte, error)
	ATR() []byte
	Close() error
}

// Resetter is a Card whose connection can reset the card in the reader: a
// warm reset (PC/SC's SCardReconnect with SCARD_RESET_CARD) that ends every
// session the card holds — a secure-messaging session, a selected
// application, a verified PIN — without the card leaving the reader, so no
// removal or insertion is reported. The PC/SC and the simulated readers'
// Cards implement it. A card driver that leaves a session behind ends with
// a reset: a strict chip refuses the next reader's plain commands while a
// session it holds is open.
type Resetter interface {
	Reset(ctx context.Context) error
}

// ReaderState is what a technician sees of one reader.
type ReaderState struct {
	Slot    Slot
	Reader  string
	Present bool // reader attached
	Card    bool // card in the reader
	ATR     []byte
}
