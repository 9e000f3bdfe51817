package emrtd

import (
	"fmt"
	"strings"
)

// BACKey is what Basic Access Control derives its keys from: the document
// number and the birth and expiry dates (YYMMDD), as printed in the MRZ or
// typed by the citizen.
type BACKey struct {
	DocumentNumber string
	BirthDate      string // YYMMDD
	ExpiryDate     string // YYMMDD
}

// KeyFromMRZ takes the BAC key fields from a parsed MRZ.
func KeyFromMRZ(m MRZ) BACKey {
	return BACKey{DocumentNumber: m.DocumentNumber, BirthDate: m.BirthDate, ExpiryDate: m.ExpiryDate}
}

// Validate checks the fields' form before a card is touched: a typing
// mistake gets a message naming the field instead of a failed BAC. It never
// repeats the values.
func (k BACKey) Validate() error {
	doc := strings.ToUpper(k.DocumentNumber)
	if doc == "" {
		return fmt.Errorf("document number is empty")
	}
	if len(doc) > 22 {
		return fmt.Errorf("document number is longer than 22 characters")
	}
	for i := 0; i < len(doc); i++ {
		if c := doc[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("document number may hold only letters A-Z and digits")
		}
	}
	for _, f := range []struct{ name, v string }{{"birth date", k.BirthDate}, {"expiry date", k.ExpiryDate}} {
		// '<' stands for an unknown part of a date, as the MRZ prints it.
		if len(f.v) != 6 || strings.Trim(f.v, "0123456789<") != "" {
			return fmt.Errorf("%s must be 6 digits YYMMDD", f.name)
		}
		if err := checkDate(f.name, f.v); err != nil {
			return fmt.Errorf("%s is not a valid date YYMMDD", f.name)
		}
	}
	return nil
}

// MRZInfo is the MRZ information K_seed is hashed from (ICAO 9303 part 11,
// 9.7.1.1): document number padded with '<' to at least 9 characters, its
// check digit, birth date, check digit, expiry date, check digit.
func (k BACKey) MRZInfo() string {
	doc := strings.ToUpper(k.DocumentNumber)
	for len(doc) < 9 {
		doc += "<"
	}
	return doc + string(CheckDigit(doc)) +
		k.BirthDate + string(CheckDigit(k.BirthDate)) +
		k.ExpiryDate + string(CheckDigit(k.ExpiryDate))
}
