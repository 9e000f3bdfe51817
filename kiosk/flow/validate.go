package flow

import (
	"errors"
	"strings"
	"time"

	"github.com/kioskd/kioskd/hwbridge/card/sscard"
)

// CheckDocNumber normalises a typed ID document number for BAC: upper case,
// trailing MRZ fillers dropped; 1 to 22 characters of A-Z, 0-9 and '<'
// (ICAO 9303 TD1 document number with its optional-data overflow). It
// returns the normalised number or a problem code.
func CheckDocNumber(v string) (string, string) {
	d := strings.TrimRight(strings.ToUpper(strings.TrimSpace(v)), "<")
	if d == "" || len(d) > 22 {
		return "", "invalid_doc_number"
	}
	for _, r := range d {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '<') {
			return "", "invalid_doc_number"
		}
	}
	return d, ""
}

// TypedDocNumber checks a document number typed on the keypad before any
// card is placed: the 9-character document number printed in the card's
// machine readable zone (1 to 9 letters and digits), or the 12-digit
// citizen ID number of a Vietnamese CCCD, whose chip's document number is
// its last 9 digits (derived is then true). An 18-character resident ID
// number is refused as such ("doc_is_id_number"): it opens no chip. Longer
// document numbers (TD1 with optional-data overflow) come by MRZ scan.
func TypedDocNumber(v string) (doc string, derived bool, code string) {
	d := strings.TrimRight(strings.ToUpper(strings.Join(strings.Fields(v), "")), "<")
	switch {
	case isDigits(d, 12, 12):
		return d[3:], true, ""
	case len(d) == 18 && isDigits(d[:17], 17, 17) && strings.ContainsRune("0123456789X", rune(d[17])):
		return "", false, "doc_is_id_number"
	case d == "" || len(d) > 9:
		return "", false, "invalid_doc_number"
	}
	for _, r := range d {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "", false, "invalid_doc_number"
		}
	}
	return d, false, ""
}

// CheckYYMMDD accepts a real calendar date written YYMMDD (as in the MRZ) and
// returns a problem code otherwise.
func CheckYYMMDD(v string) string {
	if !isDigits(v, 6, 6) {
		return "invalid_date"
	}
	yy := int(v[0]-'0')*10 + int(v[1]-'0')
	mm := int(v[2]-'0')*10 + int(v[3]-'0')
	dd := int(v[4]-'0')*10 + int(v[5]-'0')
	// The century is unknown; 29 Feb is fine if it exists in either.
	for _, y := range []int{1900 + yy, 2000 + yy} {
		t := time.Date(y, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
		if t.Year() == y && int(t.Month()) == mm && t.Day() == dd {
			return ""
		}
	}
	return "invalid_date"
}

// CheckIDNumber accepts an 18-character Chinese resident ID number whose
// check character (ISO 7064 MOD 11-2) is right, or a 12-digit Vietnamese
// citizen ID number (which has none). It returns the normalised number or a
// problem code.
func CheckIDNumber(v string) (string, string) {
	id := strings.ToUpper(strings.TrimSpace(v))
	switch len(id) {
	case 12:
		if !isDigits(id, 12, 12) {
			return "", "invalid_id_number"
		}
		return id, ""
	case 18:
		if !isDigits(id[:17], 17, 17) || !strings.ContainsRune("0123456789X", rune(id[17])) {
			return "", "invalid_id_number"
		}
		if !sscard.ValidIDNumber(id) {
			return "", "id_check_failed"
		}
		return id, ""
	}
	return "", "invalid_id_number"
}

func isDigits(v string, min, max int) bool {
	if len(v) < min || len(v) > max {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

var errVoucher = errors.New("voucher must be 4 to 26 characters of 0-9 and A-Z")

// defaultVoucherCheck drops spaces and dashes and accepts 4 to 26
// characters of 0-9 and A-Z; the daemon configures the real check
// (store/voucher) through Policy.CheckVoucher.
func defaultVoucherCheck(v string) (string, error) {
	v = strings.NewReplacer(" ", "", "-", "").Replace(strings.ToUpper(v))
	if len(v) < 4 || len(v) > 26 {
		return "", errVoucher
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return "", errVoucher
		}
	}
	return v, nil
}
