// Package voucher makes and checks the voucher numbers printed on receipts.
//
// A voucher is the 5-digit terminal number, a zero-padded sequence of at
// least 6 digits and one Damm check digit: "012340000427". The Damm check
// digit catches every single wrong digit and every swap of two neighbouring
// digits, the two mistakes people make when they type a number off paper.
// It is printed grouped as "01234-000042-7" (Format) and may be typed with or
// without dashes and spaces (Normalize).
//
// The package only computes and checks numbers; it does not allocate
// sequences (package store does) and holds no state.
package voucher

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

const (
	terminalDigits = 5
	minSeqDigits   = 6
	// MinLen is the length of the shortest voucher in digits: terminal,
	// a 6-digit sequence and the check digit.
	MinLen = terminalDigits + minSeqDigits + 1
	// MaxLen bounds what Normalize accepts: terminal, the 20 digits of the
	// largest uint64 sequence and the check digit.
	MaxLen = terminalDigits + 20 + 1
	// MaxTerminal is the largest terminal number a voucher can carry.
	MaxTerminal = 99999
)

// Errors returned (wrapped) by Normalize; callers branch with errors.Is.
var (
	ErrEmpty     = errors.New("voucher is empty")
	ErrCharacter = errors.New("voucher may contain only digits, spaces and dashes")
	ErrLength    = errors.New("voucher has the wrong number of digits")
	ErrChecksum  = errors.New("voucher check digit does not match: a digit is wrong or two digits are swapped")
)

// damm is the order-10 weakly totally anti-symmetric quasigroup of
// H. M. Damm (2004), the table published with the algorithm.
var damm = [10][10]byte{
	{0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
	{7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
	{4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
	{1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
	{6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
	{3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
	{5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
	{8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
	{9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
	{2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}

// interim runs the Damm quasigroup over the ASCII digits of s and ignores
// every other byte.
func interim(s string) byte {
	var c byte
	for i := 0; i < len(s); i++ {
		if d := s[i]; d >= '0' && d <= '9' {
			c = damm[c][d-'0']
		}
	}
	return c
}

// CheckDigit returns the Damm check digit ('0'..'9') of the ASCII digits in
// digits; bytes that are not digits are ignored.
func CheckDigit(digits string) byte {
	return '0' + interim(digits)
}

// New returns the voucher for sequence seq at terminal, digits only, e.g.
// New(1234, 42) == "012340000427". A terminal outside 0..MaxTerminal is
// reduced modulo 100000 (and made non-negative) so the result is always a well-formed voucher;
// callers validate terminal numbers where they are configured.
func New(terminal int, seq uint64) string {
	terminal %= MaxTerminal + 1
	if terminal < 0 {
		terminal += MaxTerminal + 1
	}
	body := fmt.Sprintf("%0*d%0*d", terminalDigits, terminal, minSeqDigits, seq)
	return body + string(CheckDigit(body))
}

// Normalize strips spaces and dashes from s and checks the result: only
// digits, MinLen to MaxLen of them, and a matching check digit. The error
// wraps ErrEmpty, ErrCharacter, ErrLength or ErrChecksum and says what is
// wrong.
func Normalize(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	pos := 0
	for _, r := range s {
		pos++
		switch {
		case r >= '0' && r <= '9':
			b.WriteByte(byte(r))
		case r == ' ' || r == '-' || r == '\t' || r == '\u00a0' || r == '\u3000':
			// Separators people type or paste: ASCII and full-width spaces, dashes.
		default:
			return "", fmt.Errorf("%w: %s at position %d", ErrCharacter, strconv.QuoteRune(r), pos)
		}
	}
	v := b.String()
	switch {
	case v == "":
		return "", ErrEmpty
	case len(v) < MinLen:
		return "", fmt.Errorf("%w: %d digits, want at least %d", ErrLength, len(v), MinLen)
	case len(v) > MaxLen:
		return "", fmt.Errorf("%w: %d digits, want at most %d", ErrLength, len(v), MaxLen)
	case interim(v) != 0:
		return "", ErrChecksum
	}
	return v, nil
}

// Valid reports whether v, normalized or formatted, is a well-formed voucher.
func Valid(v string) bool {
	_, err := Normalize(v)
	return err == nil
}

// Format groups a voucher for printing and reading aloud: terminal,
// sequence and check digit, "01234-000042-7". Input that is not a valid
// voucher is returned unchanged, so a typo is shown as typed.
func Format(v string) string {
	n, err := Normalize(v)
	if err != nil {
		return v
	}
	return n[:terminalDigits] + "-" + n[terminalDigits:len(n)-1] + "-" + n[len(n)-1:]
}

// Parse checks v like Normalize and returns the terminal number and
// sequence it carries.
func Parse(v string) (terminal int, seq uint64, err error) {
	n, err := Normalize(v)
	if err != nil {
		return 0, 0, err
	}
	t, _ := strconv.Atoi(n[:terminalDigits])
	seq, err = strconv.ParseUint(n[terminalDigits:len(n)-1], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: sequence does not fit 64 bits", ErrLength)
	}
	return t, seq, nil
}
