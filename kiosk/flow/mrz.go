package flow

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kioskd/kioskd/hwbridge/card/emrtd"
)

// ErrMRZ is wrapped by every ParseMRZ error.
var ErrMRZ = errors.New("machine readable zone not usable")

// ParseMRZ takes the machine readable zone of an ID card or passport as a
// scanner types it (lines joined, with or without line breaks, any case)
// and returns the BAC key. The MRZ itself is read by emrtd.ParseMRZ, which
// checks every check digit (ICAO 9303 part 3, 4.9) of TD1, TD2 and TD3;
// this adds the date and document-number rules of typed keys. Errors name
// the field, never its value.
func ParseMRZ(s string) (BACKey, error) {
	m, err := emrtd.ParseMRZ(strings.ToUpper(s))
	if err != nil {
		return BACKey{}, fmt.Errorf("%w: %w", ErrMRZ, err)
	}
	k := emrtd.KeyFromMRZ(m)
	if CheckYYMMDD(k.BirthDate) != "" {
		return BACKey{}, fmt.Errorf("%w: birth date is not a date", ErrMRZ)
	}
	if CheckYYMMDD(k.ExpiryDate) != "" {
		return BACKey{}, fmt.Errorf("%w: expiry date is not a date", ErrMRZ)
	}
	d, code := CheckDocNumber(k.DocumentNumber)
	if code != "" {
		return BACKey{}, fmt.Errorf("%w: document number empty", ErrMRZ)
	}
	return BACKey{DocNumber: d, BirthDate: k.BirthDate, ExpiryDate: k.ExpiryDate}, nil
}
