package emrtd

import "strings"

// Holder is who the document says its holder is, in the terms a terminal
// identifies a citizen by: the national ID number, the name as printed,
// and the birth date with its century.
type Holder struct {
	IDNumber  string
	Name      string
	BirthDate string // YYYYMMDD; as in the MRZ when it is not a date
}

// Holder reads the holder from the document: DG13's ID number and full
// name when the chip has them (a Vietnamese CCCD; DG13's name carries the
// diacritics the MRZ cannot); otherwise the 12-digit personal number a
// CCCD carries at the end of the MRZ's optional data, or else the document
// number; the MRZ name; and the MRZ birth date with BirthCentury's rule.
func (d *Document) Holder() Holder {
	h := Holder{IDNumber: d.DG1.DocumentNumber, Name: d.DG1.FullName(), BirthDate: BirthCentury(d.DG1.BirthDate)}
	if id := strings.TrimRight(d.DG1.OptionalData1, "<"); len(id) >= 12 {
		// A Vietnamese CCCD: 9 digits of the document number's tail, then
		// the 12-digit personal number, in TD1 line 1's optional data.
		h.IDNumber = id[len(id)-12:]
	}
	if g := d.DG13; g != nil {
		if g.IDNumber != "" {
			h.IDNumber = g.IDNumber
		}
		if g.FullName != "" {
			h.Name = g.FullName
		}
	}
	return h
}

// BirthCentury turns an MRZ birth date, YYMMDD, into YYYYMMDD. The MRZ has
// no century; the pivot is fixed at 30, not derived from the current year:
// a two-digit year above 30 is of the 1900s (holders born 1931–1999),
// 00–30 of the 2000s (born 2000–2030). Anything but six characters is
// returned as it is.
func BirthCentury(yymmdd string) string {
	if len(yymmdd) != 6 {
		return yymmdd
	}
	if yymmdd[:2] > "30" {
		return "19" + yymmdd
	}
	return "20" + yymmdd
}
