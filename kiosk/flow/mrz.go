package flow

import (
	"errors"
	"strings"
)

// ErrMRZ is wrapped by every ParseMRZ error.
var ErrMRZ = errors.New("machine readable zone not usable")

// ParseMRZ takes the machine readable zone of an ID card or passport as a
// scanner types it (lines joined, with or without line breaks) and returns
// the BAC key, after checking the check digits of the document number, the
// birth date and the expiry date (ICAO 9303 part 3, 4.9: weights 7, 3, 1).
// TD1 (3 × 30, ID cards, including the document-number overflow into the
// optional data), TD2 (2 × 36) and TD3 (2 × 44, passports) are accepted.
// Errors name the field, never its value.
func ParseMRZ(s string) (BACKey, error) {
	z := strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', ' ', '\t':
			return -1
		}
		return r
	}, strings.ToUpper(s))
	for i := 0; i < len(z); i++ {
		if mrzValue(z[i]) < 0 {
			return BACKey{}, mrzErr("character outside A-Z, 0-9 and <")
		}
	}
	var doc, docCheck, birth, birthCheck, expiry, expiryCheck string
	switch len(z) {
	case 90: // TD1: document number on line 1, dates on line 2
		l1, l2 := z[:30], z[30:60]
		doc, docCheck = l1[5:14], l1[14:15]
		if docCheck == "<" {
			// Long document number: it continues in the optional data,
			// whose last character before the filler is its check digit.
			rest := strings.TrimRight(l1[15:30], "<")
			if len(rest) < 2 {
				return BACKey{}, mrzErr("document number overflow is empty")
			}
			doc, docCheck = doc+rest[:len(rest)-1], rest[len(rest)-1:]
		}
		birth, birthCheck = l2[0:6], l2[6:7]
		expiry, expiryCheck = l2[8:14], l2[14:15]
	case 72, 88: // TD2, TD3: everything on line 2
		l2 := z[len(z)/2:]
		doc, docCheck = l2[0:9], l2[9:10]
		birth, birthCheck = l2[13:19], l2[19:20]
		expiry, expiryCheck = l2[21:27], l2[27:28]
	default:
		return BACKey{}, mrzErr("not 3 lines of 30, 2 of 36 or 2 of 44 characters")
	}
	if mrzCheck(doc) != docCheck[0] {
		return BACKey{}, mrzErr("document number check digit wrong")
	}
	if mrzCheck(birth) != birthCheck[0] || CheckYYMMDD(birth) != "" {
		return BACKey{}, mrzErr("birth date or its check digit wrong")
	}
	if mrzCheck(expiry) != expiryCheck[0] || CheckYYMMDD(expiry) != "" {
		return BACKey{}, mrzErr("expiry date or its check digit wrong")
	}
	d, code := CheckDocNumber(doc)
	if code != "" {
		return BACKey{}, mrzErr("document number empty")
	}
	return BACKey{DocNumber: d, BirthDate: birth, ExpiryDate: expiry}, nil
}

func mrzErr(msg string) error { return &mrzError{msg} }

type mrzError struct{ msg string }

func (e *mrzError) Error() string { return "MRZ: " + e.msg }
func (e *mrzError) Unwrap() error { return ErrMRZ }

func mrzValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c == '<':
		return 0
	}
	return -1
}

// mrzCheck is the ICAO 9303 check digit of s.
func mrzCheck(s string) byte {
	w := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		sum += mrzValue(s[i]) * w[i%3]
	}
	return byte('0' + sum%10)
}
