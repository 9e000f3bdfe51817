// Package cardsim emulates smart cards at the APDU level: the social
// security card and (in the emrtd files) the ICAO 9303 eMRTD. One emulation
// serves both `kioskd vcard` (a virtual card plugged into pcscd through vpcd)
// and the in-process simulated readers, so the same APDUs are exchanged in
// tests, in the embedded default and through the real PC/SC stack.
//
// A Card is built from a Profile (the card profile JSON, PROFILE.md) by the
// Applet registered for the profile's type. The package owns the card side
// only: it knows no readers, no vpcd protocol and no PC/SC; Direct adapts a
// Card to hwbridge.Card for in-process use.
package cardsim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/card/apdu"
)

// Profile types.
const (
	TypeSSCard = "ss_card"
	TypeEMRTD  = "emrtd"
)

// Profile is a card profile as PROFILE.md lays it out.
// The social security card uses the holder fields and PIN; the eMRTD uses
// MRZ, DG13 and the photo.
type Profile struct {
	Type string `json:"type"`

	CardNumber  string `json:"card_number,omitempty"`
	SSN         string `json:"ssn,omitempty"`
	Name        string `json:"name,omitempty"`
	Gender      string `json:"gender,omitempty"`
	Nationality string `json:"nationality,omitempty"`
	BirthDate   string `json:"birth_date,omitempty"`
	IssueDate   string `json:"issue_date,omitempty"`
	ExpiryDate  string `json:"expiry_date,omitempty"`
	IssuerCode  string `json:"issuer_code,omitempty"`
	CardType    string `json:"card_type,omitempty"`
	SpecVersion string `json:"spec_version,omitempty"`
	PIN         string `json:"pin,omitempty"`

	MRZ          string          `json:"mrz,omitempty"`
	DG13         json.RawMessage `json:"dg13,omitempty"`
	PhotoJPEGB64 string          `json:"photo_jpeg_b64,omitempty"`
}

// validators check a profile of one type, field by field; each type's file
// registers its own in init (ss.go for ss_card). A validator returns every
// problem it finds, joined, each naming the JSON field.
var validators = map[string]func(Profile) error{}

// ParseProfile decodes a card profile strictly: unknown fields, trailing
// data, an unknown type and bad field values are errors naming the field.
func ParseProfile(b []byte) (Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return Profile{}, fmt.Errorf("card profile: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Profile{}, errors.New("card profile: unexpected data after the JSON object")
	}
	if err := p.Validate(); err != nil {
		return Profile{}, err
	}
	return p, nil
}

// LoadProfile reads and parses a card profile file.
func LoadProfile(path string) (Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("card profile: %w", err)
	}
	p, err := ParseProfile(b)
	if err != nil {
		return Profile{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Validate checks the profile's type and the fields that type uses, and
// that fields of the other type are not set. The error names every bad
// field (never its value: profiles carry personal data).
func (p Profile) Validate() error {
	var errs []error
	ssSet := p.CardNumber != "" || p.SSN != "" || p.Name != "" || p.Gender != "" || p.Nationality != "" ||
		p.BirthDate != "" || p.IssueDate != "" || p.ExpiryDate != "" || p.IssuerCode != "" ||
		p.CardType != "" || p.SpecVersion != "" || p.PIN != ""
	emrtdSet := p.MRZ != "" || len(p.DG13) > 0 || p.PhotoJPEGB64 != ""
	switch p.Type {
	case TypeSSCard:
		if emrtdSet {
			errs = append(errs, errors.New("fields mrz, dg13 and photo_jpeg_b64 belong to type emrtd, not ss_card"))
		}
	case TypeEMRTD:
		if ssSet {
			errs = append(errs, errors.New("social security card fields (card_number, ssn, ...) do not belong to type emrtd"))
		}
		errs = append(errs, validateEMRTDBasics(p)...)
	case "":
		return errors.New("card profile: field type is missing (want ss_card or emrtd)")
	default:
		return fmt.Errorf("card profile: field type %q is not ss_card or emrtd", p.Type)
	}
	if v := validators[p.Type]; v != nil {
		if err := v(p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("card profile: %w", err)
	}
	return nil
}

// validateEMRTDBasics checks what cardsim.go can check of an eMRTD profile
// without knowing the LDS; the eMRTD applet checks the MRZ itself.
func validateEMRTDBasics(p Profile) []error {
	var errs []error
	if strings.TrimSpace(p.MRZ) == "" {
		errs = append(errs, errors.New("field mrz is missing"))
	}
	if len(p.DG13) > 0 {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(p.DG13, &obj); err != nil {
			errs = append(errs, errors.New("field dg13 is not a JSON object"))
		}
	}
	if p.PhotoJPEGB64 != "" {
		if _, err := base64.StdEncoding.DecodeString(p.PhotoJPEGB64); err != nil {
			errs = append(errs, fmt.Errorf("field photo_jpeg_b64 is not valid base64: %w", err))
		}
	}
	return errs
}

// CSCA is a country signing CA: the eMRTD applet signs its EF.SOD with a
// document signer certified by it. TestCSCA is the process's own, made at
// run time; NewCSCA makes others.
type CSCA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Options changes how a Card behaves, mostly for fault tests.
type Options struct {
	// Delay is added before every answer (Card.Process sleeps; Direct
	// waits and gives up when the caller's context ends).
	Delay time.Duration
	// Garbage makes the card answer every APDU with random bytes (of random
	// length, sometimes shorter than a status word).
	Garbage bool
	// CSCA signs the eMRTD's document signer; nil means TestCSCA.
	CSCA *CSCA
}

// Applet is one card application: it answers parsed command APDUs with a
// full response APDU (data ‖ SW1 ‖ SW2), and Reset returns it to its
// power-on state (selected files, secure-messaging sessions) while keeping
// what a card keeps across power cycles (PIN retry counters).
type Applet interface {
	Process(cmd apdu.Command) []byte
	Reset()
}

// ATRProvider is implemented by an Applet that has its own answer-to-reset;
// otherwise the Card answers with DefaultATR.
type ATRProvider interface {
	ATR() []byte
}

// DefaultATR is a contact-card ATR: TS 3B, T0 6A (TB1, TC1 and 10
// historical bytes), TB1 00, TC1 00, historical bytes "kioskd.sim".
var DefaultATR = append([]byte{0x3B, 0x6A, 0x00, 0x00}, "kioskd.sim"...)

// Applets builds the applet for each profile type; each type's file
// registers its constructor in init (ss.go: "ss_card", emrtd.go: "emrtd").
var Applets = map[string]func(p Profile, opt Options) (Applet, error){}

// Card is one emulated card. It is safe for concurrent use; APDUs are
// answered one at a time, as a card does.
type Card struct {
	opt    Options
	atr    []byte
	mu     sync.Mutex
	applet Applet
	rnd    *rand.Rand
	count  int
}

// New builds a card from a profile. The profile is validated first.
func New(p Profile, opt Options) (*Card, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	mk := Applets[p.Type]
	if mk == nil {
		known := make([]string, 0, len(Applets))
		for k := range Applets {
			known = append(known, k)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("cardsim: no applet for card type %q in this build (have %v)", p.Type, known)
	}
	a, err := mk(p, opt)
	if err != nil {
		return nil, fmt.Errorf("cardsim: %s: %w", p.Type, err)
	}
	atr := DefaultATR
	if ap, ok := a.(ATRProvider); ok {
		atr = ap.ATR()
	}
	return &Card{
		opt:    opt,
		atr:    append([]byte(nil), atr...),
		applet: a,
		rnd:    rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}, nil
}

// ATR returns the card's answer-to-reset.
func (c *Card) ATR() []byte { return append([]byte(nil), c.atr...) }

// Process answers one command APDU with a response APDU, after the
// configured Delay. A command that does not parse gets 6700 (wrong length);
// the applet answers the rest, 6D00/6E00 for what it does not know.
func (c *Card) Process(cmd []byte) []byte {
	if c.opt.Delay > 0 {
		time.Sleep(c.opt.Delay)
	}
	return c.process(cmd)
}

func (c *Card) process(raw []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count++
	if c.opt.Garbage {
		out := make([]byte, c.rnd.IntN(40))
		for i := range out {
			out[i] = byte(c.rnd.UintN(256))
		}
		return out
	}
	cmd, err := apdu.ParseCommand(raw)
	if err != nil {
		return apdu.StatusWord(apdu.SWWrongLength)
	}
	if cmd.CLA == 0xFF {
		return apdu.StatusWord(apdu.SWCLANotSupported) // FF is reserved for PPS / reader pseudo-APDUs
	}
	return c.applet.Process(cmd)
}

// Reset power-cycles the card: selected files, pending responses and
// secure-messaging sessions are gone; PIN retry counters stay.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applet.Reset()
}

// Count is the number of APDUs the card has been sent since it was made.
func (c *Card) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// ErrClosed is returned by a Direct adapter's Transmit after Close.
var ErrClosed = errors.New("cardsim: card connection closed")

// Direct connects to c in process, as a reader would: it implements
// hwbridge.Card, waits the card's Delay (giving up when ctx ends) and turns
// a response shorter than two bytes (Garbage) into an error, as the
// hwbridge.Card contract asks. It is a hwbridge.Resetter too: Reset resets
// c as a reader's warm reset does.
func Direct(c *Card) hwbridge.Card { return &direct{card: c} }

type direct struct {
	card   *Card
	mu     sync.Mutex
	closed bool
}

func (d *direct) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if delay := d.card.opt.Delay; delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	resp := d.card.process(cmd)
	if len(resp) < 2 {
		return nil, fmt.Errorf("cardsim: response of %d bytes has no status word", len(resp))
	}
	return resp, nil
}

func (d *direct) ATR() []byte { return d.card.ATR() }

// Reset resets the card (Card.Reset) and keeps the connection.
func (d *direct) Reset(ctx context.Context) error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.card.Reset()
	return nil
}

func (d *direct) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// String names the profile without its personal data or PIN, for logs.
func (p Profile) String() string {
	switch p.Type {
	case TypeSSCard:
		tail := p.CardNumber
		if len(tail) > 4 {
			tail = strings.Repeat("*", len(tail)-4) + tail[len(tail)-4:]
		}
		return fmt.Sprintf("cardsim.Profile{ss_card %s}", tail)
	case TypeEMRTD:
		return fmt.Sprintf("cardsim.Profile{emrtd, MRZ of %d characters}", len(p.MRZ))
	}
	return fmt.Sprintf("cardsim.Profile{type %q}", p.Type)
}
