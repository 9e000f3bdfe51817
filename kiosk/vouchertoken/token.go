// Package vouchertoken makes and checks the signed voucher token printed in
// a receipt's QR code, so a receipt proves itself without the terminal that
// printed it or the central system: anybody holding the fleet's public keys
// can tell that terminal X issued voucher V at time T for the masked
// subject printed on the paper.
//
// A token is binary, base64url without padding, at most MaxLen characters:
//
//	version   1 byte  (Version)
//	kind      1 byte  (1 report_loss, 2 suspend_settlement, 3 resume_settlement)
//	key id    4 bytes (the first 4 bytes of SHA-256 of the Ed25519 public key)
//	created   4 bytes (Unix seconds, big endian)
//	terminal  uvarint (the voucher's terminal number)
//	sequence  uvarint (the voucher's sequence; with the terminal it gives the
//	                   voucher and its check digit, package store/voucher)
//	kiosk id  1 byte length + bytes
//	name, ID number, card number: each 1 byte length + the masked value as
//	          printed, every run of n '*' (1..31) written as the byte n
//	signature 64 bytes Ed25519 over SigningContext followed by all of the above
//
// The token carries only masked values: it is printed on paper and travels
// in URLs. The package owns the format, signing, verification and the
// terminal's key files (Keyring); it knows no devices, no HTTP and no store.
// Where the public keys come from (a file, central, a cache) is the caller's
// business: Verify takes a KeySet.
package vouchertoken

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kioskd/kioskd/kiosk/op"
	"github.com/kioskd/kioskd/store/voucher"
)

const (
	// Version is the token format written by Sign.
	Version = 1
	// MaxLen is the longest token accepted, in characters: the receipt
	// grows by at most this much and its QR code stays scannable from paper.
	MaxLen = 160
	// MaxBytes is MaxLen decoded.
	MaxBytes = MaxLen * 3 / 4
	// KeyIDLen is the length of a key id in bytes; it is written as hex.
	KeyIDLen = 4
	// SigningContext is prefixed to the signed bytes, so a signature made
	// by a kioskd key for anything else can never pass as a token's.
	SigningContext = "kioskd voucher token v1\x00"

	maxRun = 31 // the longest run of '*' one byte stands for
)

// Errors callers branch on with errors.Is. Every error Decode and Verify
// return wraps one of them and says what is wrong in words a technician
// understands; none repeats the token.
var (
	// ErrMalformed: not a token this format can read (truncated, too long,
	// not base64url, unknown version, trailing bytes, foreign data).
	ErrMalformed = errors.New("not a valid voucher token")
	// ErrUnknownKey: no public key with the token's key id is known for
	// the token's kiosk.
	ErrUnknownKey = errors.New("signing key unknown")
	// ErrWrongKiosk: the key id belongs to another kiosk than the one the
	// token names.
	ErrWrongKiosk = errors.New("signing key belongs to another kiosk")
	// ErrSignature: the signature does not match the token's content: the
	// token was altered or signed by another key.
	ErrSignature = errors.New("signature does not match")
)

// kinds gives each operation kind its byte in the token: its index. The
// bytes are part of the format: append, never reorder.
var kinds = []op.Kind{"", op.ReportLoss, op.SuspendSettlement, op.ResumeSettlement}

func kindCode(k op.Kind) (byte, bool) {
	for i, v := range kinds {
		if i > 0 && v == k {
			return byte(i), true
		}
	}
	return 0, false
}

// Claims is what a token says.
type Claims struct {
	KeyID   string // 8 hex characters
	KioskID string
	Voucher string // digits only, as voucher.New makes it
	Kind    op.Kind
	Created time.Time // whole seconds
	// The masked subject exactly as printed on the receipt; empty when the
	// receipt has no such line.
	Name, IDNumber, CardNumber string
}

// KeyID is the key id of a public key: the first 4 bytes of its SHA-256,
// in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:KeyIDLen])
}

// Sign encodes c with priv; c.KeyID is set from priv's public key. It fails
// when a field cannot be carried (a voucher that is not one, an unknown
// kind, a value with a control character or longer than 255 bytes) or when
// the token would be longer than MaxLen. Callers pass the masked values they
// print; Sign cannot tell a masked value from an unmasked one.
func Sign(priv ed25519.PrivateKey, c Claims) (string, error) {
	c.KeyID = KeyID(priv.Public().(ed25519.PublicKey))
	body, err := encodeBody(c)
	if err != nil {
		return "", err
	}
	sig := ed25519.Sign(priv, signed(body))
	tok := base64.RawURLEncoding.EncodeToString(append(body, sig...))
	if len(tok) > MaxLen {
		return "", fmt.Errorf("voucher token: %d characters, over the %d the receipt allows (kiosk id %d characters, shorten it)", len(tok), MaxLen, len(c.KioskID))
	}
	return tok, nil
}

func signed(body []byte) []byte {
	return append([]byte(SigningContext), body...)
}

func encodeBody(c Claims) ([]byte, error) {
	kc, ok := kindCode(c.Kind)
	if !ok {
		return nil, fmt.Errorf("voucher token: unknown kind %q", c.Kind)
	}
	kid, err := hex.DecodeString(c.KeyID)
	if err != nil || len(kid) != KeyIDLen {
		return nil, fmt.Errorf("voucher token: key id %q is not %d hex bytes", c.KeyID, KeyIDLen)
	}
	terminal, seq, err := voucher.Parse(c.Voucher)
	if err != nil {
		return nil, fmt.Errorf("voucher token: %w", err)
	}
	secs := c.Created.Unix()
	if secs < 0 || secs > 1<<32-1 {
		return nil, fmt.Errorf("voucher token: creation time %s outside 1970..2106", c.Created.UTC().Format(time.RFC3339))
	}
	b := []byte{Version, kc}
	b = append(b, kid...)
	b = binary.BigEndian.AppendUint32(b, uint32(secs))
	b = binary.AppendUvarint(b, uint64(terminal))
	b = binary.AppendUvarint(b, seq)
	for _, f := range []struct{ name, v string }{{"kiosk id", c.KioskID}, {"name", c.Name}, {"ID number", c.IDNumber}, {"card number", c.CardNumber}} {
		v := f.v
		if f.name != "kiosk id" {
			v = packStars(v)
		}
		if len(v) > 255 {
			return nil, fmt.Errorf("voucher token: %s is %d bytes, at most 255", f.name, len(v))
		}
		if !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("voucher token: %s holds a control character or invalid UTF-8", f.name)
		}
		b = append(b, byte(len(v)))
		b = append(b, v...)
	}
	return b, nil
}

// packStars writes every run of '*' as one byte holding its length.
func packStars(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '*' {
			b.WriteByte(s[i])
			i++
			continue
		}
		n := 0
		for i < len(s) && s[i] == '*' && n < maxRun {
			n++
			i++
		}
		b.WriteByte(byte(n))
	}
	return b.String()
}

func unpackStars(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 1 && c <= maxRun {
			b.WriteString(strings.Repeat("*", int(c)))
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Token is a decoded token whose signature is not yet checked.
type Token struct {
	Claims
	body, sig []byte
}

// FromText finds the token in what a scanner typed: the token itself, or a
// lookup URL carrying it in its "token" query parameter.
func FromText(text string) string {
	text = strings.TrimSpace(text)
	if i := strings.Index(text, "token="); i >= 0 {
		text = text[i+len("token="):]
		if j := strings.IndexAny(text, "&#"); j >= 0 {
			text = text[:j]
		}
	}
	return text
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Decode reads a token (or a URL holding one, FromText) without checking
// its signature.
func Decode(text string) (*Token, error) {
	s := FromText(text)
	switch {
	case s == "":
		return nil, malformed("empty")
	case len(s) > MaxLen:
		return nil, malformed("%d characters, a token has at most %d", len(s), MaxLen)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, malformed("not base64url (%v)", err)
	}
	if len(raw) < 2+KeyIDLen+4+ed25519.SignatureSize {
		return nil, malformed("%d bytes, too short for a token (truncated?)", len(raw))
	}
	if raw[0] != Version {
		return nil, malformed("format version %d, this terminal reads version %d", raw[0], Version)
	}
	if int(raw[1]) >= len(kinds) || raw[1] == 0 {
		return nil, malformed("unknown operation kind %d", raw[1])
	}
	body, sig := raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]
	t := &Token{body: body, sig: sig}
	t.Kind = kinds[raw[1]]
	t.KeyID = hex.EncodeToString(raw[2 : 2+KeyIDLen])
	r := bytes.NewReader(body[2+KeyIDLen:])
	var secs uint32
	_ = binary.Read(r, binary.BigEndian, &secs) // length checked above
	t.Created = time.Unix(int64(secs), 0).UTC()
	terminal, err := binary.ReadUvarint(r)
	if err != nil || terminal > voucher.MaxTerminal {
		return nil, malformed("voucher terminal number unreadable (truncated?)")
	}
	seq, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, malformed("voucher sequence unreadable (truncated?)")
	}
	t.Voucher = voucher.New(int(terminal), seq)
	for _, f := range []struct {
		name string
		dst  *string
	}{{"kiosk id", &t.KioskID}, {"name", &t.Name}, {"ID number", &t.IDNumber}, {"card number", &t.CardNumber}} {
		n, err := r.ReadByte()
		if err != nil {
			return nil, malformed("%s missing (truncated?)", f.name)
		}
		v := make([]byte, n)
		if _, err := io.ReadFull(r, v); err != nil {
			return nil, malformed("%s cut short (truncated?)", f.name)
		}
		s := string(v)
		if f.name != "kiosk id" {
			s = unpackStars(s)
		}
		if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return nil, malformed("%s is not printable text", f.name)
		}
		*f.dst = s
	}
	if r.Len() != 0 {
		return nil, malformed("%d unexpected bytes after the fields", r.Len())
	}
	if t.KioskID == "" {
		return nil, malformed("kiosk id empty")
	}
	return t, nil
}

// PublicKey is one terminal key as central and key files list it.
type PublicKey struct {
	KioskID   string    `json:"kiosk_id"`
	KeyID     string    `json:"key_id"`
	PublicKey []byte    `json:"public_key"` // 32 bytes; base64 in JSON
	CreatedAt time.Time `json:"created_at"`
}

// Check says what is wrong with a key record: a key id that is not its
// public key's, a public key of the wrong size, no kiosk id.
func (k PublicKey) Check() error {
	switch {
	case k.KioskID == "":
		return errors.New("kiosk_id is empty")
	case len(k.PublicKey) != ed25519.PublicKeySize:
		return fmt.Errorf("public_key is %d bytes, want %d (Ed25519)", len(k.PublicKey), ed25519.PublicKeySize)
	case KeyID(k.PublicKey) != k.KeyID:
		return fmt.Errorf("key_id %q is not the id of its public key (%s)", k.KeyID, KeyID(k.PublicKey))
	}
	return nil
}

// KeySet finds public keys by key id. Keys of several kiosks may share it.
type KeySet interface {
	// Keys returns every known key with that key id (of any kiosk).
	Keys(keyID string) []PublicKey
}

// Keys is a KeySet held in a slice, e.g. a key file's.
type Keys []PublicKey

// Keys implements KeySet.
func (ks Keys) Keys(keyID string) []PublicKey {
	var out []PublicKey
	for _, k := range ks {
		if k.KeyID == keyID {
			out = append(out, k)
		}
	}
	return out
}

// Verify checks the token's signature with the key its kiosk id and key id
// name. It returns an error wrapping ErrUnknownKey, ErrWrongKiosk or
// ErrSignature when the token does not prove itself.
func (t *Token) Verify(keys KeySet) error {
	found := keys.Keys(t.KeyID)
	var other []string
	for _, k := range found {
		if k.KioskID != t.KioskID {
			other = append(other, k.KioskID)
			continue
		}
		if len(k.PublicKey) == ed25519.PublicKeySize && ed25519.Verify(ed25519.PublicKey(k.PublicKey), signed(t.body), t.sig) {
			return nil
		}
		return fmt.Errorf("%w: the token was altered or not signed by kiosk %s's key %s", ErrSignature, t.KioskID, t.KeyID)
	}
	if len(other) > 0 {
		return fmt.Errorf("%w: key %s is kiosk %s's, but the token names kiosk %s", ErrWrongKiosk, t.KeyID, strings.Join(other, ", "), t.KioskID)
	}
	return fmt.Errorf("%w: no key %s is known for kiosk %s", ErrUnknownKey, t.KeyID, t.KioskID)
}

// Verify decodes text (a token or a URL holding one) and checks its
// signature. When the token decodes but does not verify, the claims it
// makes are returned with the error, to be shown as unproven.
func Verify(text string, keys KeySet) (Claims, error) {
	t, err := Decode(text)
	if err != nil {
		return Claims{}, err
	}
	if err := t.Verify(keys); err != nil {
		return t.Claims, err
	}
	return t.Claims, nil
}
