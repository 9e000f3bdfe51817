// Package sscard reads the China social security card (社会保障卡, MOHRSS
// specification) over any hwbridge.Card: the card and holder records of
// EF05 and EF06 in the DDF1 application "sx1.sh.社会保障", and the user PIN
// check with VERIFY, as DOMAIN.md lays them out.
//
// It reads only what the kiosk needs, with as few APDUs as that layout
// allows, and decodes every field strictly (GBK name, BCD dates, the ID
// number's GB 11643 check character). It does not log, and its errors never
// carry the PIN or a personal field's value. It knows nothing of readers,
// flows or the central system: the loss report is a back-end operation and
// no card command suspends settlement.
package sscard

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/card/apdu"
	"github.com/kioskd/kioskd/hwbridge/card/tlv"
)

// Holder is what the card says about its holder and itself. Strings are as
// the card profile JSON (hwbridge/sim/cardsim/PROFILE.md) has them: dates YYYYMMDD, gender "1"
// (male) or "2" (female), the issuer code as hex digits without padding.
type Holder struct {
	CardNumber  string // EF05 07
	SSN         string // EF06 08, the resident ID number, check character validated
	Name        string // EF06 09, decoded from GBK
	Gender      string // EF06 0A
	Nationality string // not on the basic-information files (DF01/EF0A needs more rights): Read leaves it empty
	BirthDate   string // EF06 0D
	IssueDate   string // EF05 05
	ExpiryDate  string // EF05 06
	IssuerCode  string // EF05 04
	CardType    string // EF05 02
	SpecVersion string // EF05 03
}

// DefaultTimeout bounds Read and VerifyPIN when ctx has no deadline.
const DefaultTimeout = 10 * time.Second

var (
	// ErrNotSSCard: the card has no social security application (another
	// card was inserted).
	ErrNotSSCard = errors.New("sscard: not a social security card (application sx1.sh.社会保障 not found)")
	// ErrPINBlocked: the PIN retry counter is at zero; the card refuses
	// every PIN, the right one included, until an office unblocks it.
	ErrPINBlocked = errors.New("sscard: PIN blocked")
	// ErrIDNumberCheck: the ID number's check character does not match its
	// first 17 digits (GB 11643): the card data is corrupt or forged.
	ErrIDNumberCheck = errors.New("ID number check character does not match")
)

// WrongPIN is a rejected PIN with tries left before the card blocks it.
type WrongPIN struct{ TriesLeft int }

func (e *WrongPIN) Error() string {
	return fmt.Sprintf("sscard: wrong PIN, %d tries left", e.TriesLeft)
}

// FieldError says which record of the card is malformed and why; Err is
// ErrIDNumberCheck for a bad check character.
type FieldError struct {
	EF    byte   // 0x05 or 0x06
	Tag   byte   // record tag
	Field string // Holder field, or the record's name
	Err   error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("sscard: EF%02X record %02X (%s): %v", e.EF, e.Tag, e.Field, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// AID is the DDF1 name: ASCII "sx1.sh." + GBK "社会保障" (DOMAIN.md).
var AID = []byte{0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9, 0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF}

// field is one record of the DOMAIN.md table that Read decodes.
type field struct {
	tag    byte
	length int // value length per the layout; READ RECORD asks Le = length + 2
	name   string
}

// The records Read reads, in file order. Not read: 01 card identification
// code, 0B ethnicity, 0C birthplace (no Holder field needs them).
var (
	ef05Fields = []field{
		{0x02, 1, "card type"},
		{0x03, 4, "spec version"},
		{0x04, 12, "issuer code"},
		{0x05, 4, "issue date"},
		{0x06, 4, "expiry date"},
		{0x07, 9, "card number"},
	}
	ef06Fields = []field{
		{0x08, 18, "ssn"},
		{0x09, 30, "name"},
		{0x0A, 1, "gender"},
		{0x0D, 4, "birth date"},
	}
)

// Read reads and decodes the card's basic information: SELECT MF, SELECT
// DDF1 by name, then for EF05 and EF06 a SELECT and one READ RECORD per
// needed tag (14 APDUs unless the card asks for GET RESPONSE or a new Le).
// On error the Holder is empty.
func Read(ctx context.Context, card hwbridge.Card) (Holder, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	if err := selectApp(ctx, card); err != nil {
		return Holder{}, err
	}
	ef05, err := readFile(ctx, card, 0x05, ef05Fields)
	if err != nil {
		return Holder{}, err
	}
	ef06, err := readFile(ctx, card, 0x06, ef06Fields)
	if err != nil {
		return Holder{}, err
	}
	var h Holder
	if err := decodeEF05(ef05, &h); err != nil {
		return Holder{}, err
	}
	if err := decodeEF06(ef06, &h); err != nil {
		return Holder{}, err
	}
	return h, nil
}

func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// selectApp selects the MF, then DDF1 by name. A 61XX answer means the card
// selected the file and offers its FCI, which Read does not need: it is not
// fetched.
func selectApp(ctx context.Context, card hwbridge.Card) error {
	if err := selectFile(ctx, card, apdu.Command{INS: apdu.INSSelect, P1: 0x00, Data: []byte{0x3F, 0x00}, Le: -1}, "MF"); err != nil {
		return err
	}
	err := selectFile(ctx, card, apdu.Command{INS: apdu.INSSelect, P1: 0x04, Data: AID, Le: -1}, "DDF1")
	var se *apdu.StatusError
	if errors.As(err, &se) && se.SW == apdu.SWFileNotFound {
		return ErrNotSSCard
	}
	return err
}

func selectFile(ctx context.Context, card hwbridge.Card, c apdu.Command, what string) error {
	r, err := apdu.Transmit(ctx, card, c)
	if err != nil {
		return fmt.Errorf("sscard: select %s: %w", what, err)
	}
	if r.SW1 == 0x61 || r.OK() {
		return nil
	}
	return fmt.Errorf("sscard: select %s: %w", what, r.Err())
}

// readFile selects EF<ef> and reads each field's record, returning the
// records concatenated as the card sent them (tag ‖ length ‖ value each).
func readFile(ctx context.Context, card hwbridge.Card, ef byte, fields []field) ([]byte, error) {
	if err := selectFile(ctx, card, apdu.Command{INS: apdu.INSSelect, P1: 0x02, Data: []byte{0xEF, ef}, Le: -1}, fmt.Sprintf("EF%02X", ef)); err != nil {
		return nil, err
	}
	var out []byte
	for _, f := range fields {
		r, err := apdu.Exchange(ctx, card, apdu.Command{INS: apdu.INSReadRecord, P1: f.tag, P2: 0x00, Le: f.length + 2})
		if err != nil {
			return nil, fmt.Errorf("sscard: read EF%02X record %02X: %w", ef, f.tag, err)
		}
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("sscard: read EF%02X record %02X: %w", ef, f.tag, err)
		}
		out = append(out, r.Data...)
	}
	return out, nil
}

// records splits concatenated records into tag → value, checking their
// framing, and requires every field of the file.
func records(ef byte, b []byte, fields []field) (map[byte][]byte, error) {
	ts, err := tlv.Parse(b)
	if err != nil {
		return nil, &FieldError{EF: ef, Field: "records", Err: err}
	}
	m := make(map[byte][]byte, len(ts))
	for _, t := range ts {
		if t.Tag > 0xFF {
			return nil, &FieldError{EF: ef, Field: "records", Err: fmt.Errorf("unexpected tag %X", t.Tag)}
		}
		m[byte(t.Tag)] = t.Value
	}
	for _, f := range fields {
		if _, ok := m[f.tag]; !ok {
			return nil, &FieldError{EF: ef, Tag: f.tag, Field: f.name, Err: errors.New("record missing")}
		}
	}
	return m, nil
}

// decodeEF05 decodes the card records (tags 02-07) into h.
func decodeEF05(b []byte, h *Holder) error {
	m, err := records(0x05, b, ef05Fields)
	if err != nil {
		return err
	}
	fail := func(tag byte, name string, err error) error {
		return &FieldError{EF: 0x05, Tag: tag, Field: name, Err: err}
	}
	var out Holder
	if out.CardType, err = ascii(m[0x02], 1, 1); err != nil {
		return fail(0x02, "card type", err)
	}
	if out.SpecVersion, err = ascii(m[0x03], 1, 4); err != nil {
		return fail(0x03, "spec version", err)
	}
	if out.IssuerCode, err = hexF(m[0x04], 12); err != nil {
		return fail(0x04, "issuer code", err)
	}
	if out.IssueDate, err = bcdDate(m[0x05]); err != nil {
		return fail(0x05, "issue date", err)
	}
	if out.ExpiryDate, err = bcdDate(m[0x06]); err != nil {
		return fail(0x06, "expiry date", err)
	}
	if out.CardNumber, err = ascii(m[0x07], 1, 9); err != nil {
		return fail(0x07, "card number", err)
	}
	if !alnum(out.CardNumber) {
		return fail(0x07, "card number", errors.New("not letters and digits"))
	}
	h.CardType, h.SpecVersion, h.IssuerCode = out.CardType, out.SpecVersion, out.IssuerCode
	h.IssueDate, h.ExpiryDate, h.CardNumber = out.IssueDate, out.ExpiryDate, out.CardNumber
	return nil
}

// decodeEF06 decodes the holder records (tags 08, 09, 0A, 0D) into h.
func decodeEF06(b []byte, h *Holder) error {
	m, err := records(0x06, b, ef06Fields)
	if err != nil {
		return err
	}
	fail := func(tag byte, name string, err error) error {
		return &FieldError{EF: 0x06, Tag: tag, Field: name, Err: err}
	}
	var out Holder
	if out.SSN, err = ascii(m[0x08], 18, 18); err != nil {
		return fail(0x08, "ssn", err)
	}
	if !ValidIDNumber(out.SSN) {
		if !idFormat(out.SSN) {
			return fail(0x08, "ssn", errors.New("not 17 digits and a check character"))
		}
		return fail(0x08, "ssn", ErrIDNumberCheck)
	}
	if out.Name, err = gbkName(m[0x09]); err != nil {
		return fail(0x09, "name", err)
	}
	if out.Gender, err = ascii(m[0x0A], 1, 1); err != nil {
		return fail(0x0A, "gender", err)
	}
	if !strings.Contains("0129", out.Gender) { // GB/T 2261.1: 0 unknown, 1 male, 2 female, 9 unstated
		return fail(0x0A, "gender", errors.New("not a GB/T 2261.1 code"))
	}
	if out.BirthDate, err = bcdDate(m[0x0D]); err != nil {
		return fail(0x0D, "birth date", err)
	}
	h.SSN, h.Name, h.Gender, h.BirthDate = out.SSN, out.Name, out.Gender, out.BirthDate
	return nil
}

// ascii decodes an alphanumeric field: printable ASCII padded with 00
// (DOMAIN.md), between minLen and maxLen characters once unpadded.
func ascii(v []byte, minLen, maxLen int) (string, error) {
	if len(v) > maxLen {
		return "", fmt.Errorf("%d bytes, the layout has %d", len(v), maxLen)
	}
	s := strings.TrimRight(string(v), "\x00")
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return "", fmt.Errorf("byte %d is not printable ASCII", i)
		}
	}
	if len(s) < minLen {
		return "", fmt.Errorf("%d characters, want at least %d", len(s), minLen)
	}
	return s, nil
}

func alnum(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

// hexF decodes a "hex" field as upper-case hex digits with the trailing F
// padding nibbles removed.
func hexF(v []byte, maxLen int) (string, error) {
	if len(v) == 0 || len(v) > maxLen {
		return "", fmt.Errorf("%d bytes, want 1 to %d", len(v), maxLen)
	}
	s := strings.TrimRight(strings.ToUpper(hex.EncodeToString(v)), "F")
	if s == "" {
		return "", errors.New("empty (all padding)")
	}
	return s, nil
}

// bcdDate decodes 4 BCD bytes YYYYMMDD and checks it is a calendar date.
func bcdDate(v []byte) (string, error) {
	if len(v) != 4 {
		return "", fmt.Errorf("%d bytes, want 4 BCD bytes", len(v))
	}
	s := hex.EncodeToString(v)
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", errors.New("not BCD digits")
		}
	}
	if _, err := time.Parse("20060102", s); err != nil {
		return "", errors.New("not a calendar date")
	}
	return s, nil
}

// gbkName decodes the 30-byte GBK name padded with 00.
func gbkName(v []byte) (string, error) {
	if len(v) > 30 {
		return "", fmt.Errorf("%d bytes, the layout has 30", len(v))
	}
	raw := []byte(strings.TrimRight(string(v), "\x00"))
	if len(raw) == 0 {
		return "", errors.New("empty")
	}
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(raw)
	if err != nil {
		return "", errors.New("not valid GBK")
	}
	name := string(s)
	for _, r := range name {
		if r == utf8.RuneError || r < 0x20 || r == 0x7F {
			return "", errors.New("not valid GBK text")
		}
	}
	return strings.TrimSpace(name), nil
}

// idWeights are the GB 11643-1999 (ISO 7064 MOD 11-2) weights of the first
// 17 digits; idCheck maps the weighted sum mod 11 to the check character.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheck = "10X98765432"

func idFormat(id string) bool {
	if len(id) != 18 {
		return false
	}
	for i := 0; i < 17; i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	c := id[17]
	return c >= '0' && c <= '9' || c == 'X'
}

// ValidIDNumber reports whether id is an 18-character resident ID number
// whose last character is the GB 11643 check character of the first 17
// digits. A lower-case x is not accepted: the standard writes X.
func ValidIDNumber(id string) bool {
	if !idFormat(id) {
		return false
	}
	sum := 0
	for i, w := range idWeights {
		sum += int(id[i]-'0') * w
	}
	return id[17] == idCheck[sum%11]
}

// VerifyPIN checks the user PIN on the card: SELECT DDF1, then VERIFY
// 00 20 00 00 with the PIN in BCD (two digits a byte, an odd last digit
// padded with F). A wrong PIN is *WrongPIN with the tries left; a blocked
// PIN (including the try that used the last one) is ErrPINBlocked. The PIN
// never appears in an error.
func VerifyPIN(ctx context.Context, card hwbridge.Card, pin string) error {
	data, err := pinBCD(pin)
	if err != nil {
		return err
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	if err := selectApp(ctx, card); err != nil {
		return err
	}
	r, err := apdu.Exchange(ctx, card, apdu.Command{INS: apdu.INSVerify, Data: data, Le: -1})
	if err != nil {
		return fmt.Errorf("sscard: verify PIN: %w", err)
	}
	return pinStatus(r)
}

// TriesLeft asks the card how many PIN tries are left (VERIFY without
// data, ISO 7816-4 §11.5.6). It returns 0 and ErrPINBlocked for a blocked
// PIN, and -1 with nil when the PIN is already verified in this session.
func TriesLeft(ctx context.Context, card hwbridge.Card) (int, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	if err := selectApp(ctx, card); err != nil {
		return 0, err
	}
	r, err := apdu.Exchange(ctx, card, apdu.Command{INS: apdu.INSVerify, Le: -1})
	if err != nil {
		return 0, fmt.Errorf("sscard: PIN tries: %w", err)
	}
	err = pinStatus(r)
	var w *WrongPIN
	switch {
	case err == nil:
		return -1, nil
	case errors.As(err, &w):
		return w.TriesLeft, nil
	}
	return 0, err
}

func pinStatus(r apdu.Response) error {
	sw := r.SW()
	switch {
	case sw == apdu.SWOK:
		return nil
	case sw == 0x63C0, sw == apdu.SWAuthBlocked, sw == 0x6984:
		return ErrPINBlocked
	case sw&0xFFF0 == 0x63C0:
		return &WrongPIN{TriesLeft: int(sw & 0x0F)}
	}
	return fmt.Errorf("sscard: verify PIN: %w", r.Err())
}

func pinBCD(pin string) ([]byte, error) {
	if len(pin) < 4 || len(pin) > 12 {
		return nil, fmt.Errorf("sscard: PIN must be 4 to 12 digits, got %d characters", len(pin))
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return nil, errors.New("sscard: PIN must be digits only")
		}
	}
	if len(pin)%2 == 1 {
		pin += "F"
	}
	return hex.DecodeString(pin)
}

// String shows the holder with personal data masked (the last 4 characters
// of the card and ID numbers, the first character of the name), so that a
// Holder that reaches a log by accident leaks nothing useful.
func (h Holder) String() string {
	return fmt.Sprintf("sscard.Holder{card %s, ssn %s, name %s, card type %s, spec %s, expires %s}",
		maskTail(h.CardNumber, 4), maskTail(h.SSN, 4), maskName(h.Name), h.CardType, h.SpecVersion, h.ExpiryDate)
}

func maskTail(s string, keep int) string {
	if len(s) <= keep {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-keep) + s[len(s)-keep:]
}

func maskName(s string) string {
	r := []rune(s)
	if len(r) == 0 {
		return ""
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}
