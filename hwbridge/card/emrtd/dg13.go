package emrtd

import (
	"encoding/asn1"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/kioskd/kioskd/hwbridge/card/tlv"
)

// DG13 holds the national fields a Vietnamese citizen identity card (CCCD)
// stores in DG13 (DOMAIN.md): entries SEQUENCE { INTEGER n, value } with
// UTF8String or PrintableString values. Dates are as the card stores them,
// dd/mm/yyyy. Sources disagree on entries 15 and 16: 15 is taken as the old
// 9-digit ID (CMND) number; other numbers land in Other.
type DG13 struct {
	IDNumber         string         `json:"id_number,omitempty"`         // 1: 12-digit personal ID number
	FullName         string         `json:"full_name,omitempty"`         // 2
	BirthDate        string         `json:"birth_date,omitempty"`        // 3: dd/mm/yyyy
	Sex              string         `json:"sex,omitempty"`               // 4
	Nationality      string         `json:"nationality,omitempty"`       // 5
	Ethnicity        string         `json:"ethnicity,omitempty"`         // 6
	Religion         string         `json:"religion,omitempty"`          // 7
	Hometown         string         `json:"hometown,omitempty"`          // 8: place of origin
	Residence        string         `json:"residence,omitempty"`         // 9: place of residence
	IdentifyingMarks string         `json:"identifying_marks,omitempty"` // 10
	IssueDate        string         `json:"issue_date,omitempty"`        // 11
	ExpiryDate       string         `json:"expiry_date,omitempty"`       // 12
	FatherName       string         `json:"father_name,omitempty"`       // 13, first value
	MotherName       string         `json:"mother_name,omitempty"`       // 13, second value
	SpouseName       string         `json:"spouse_name,omitempty"`       // 14
	OldIDNumber      string         `json:"old_id_number,omitempty"`     // 15
	Other            map[int]string `json:"other,omitempty"`             // any other entry number
}

// DG13 entry numbers (DOMAIN.md, Vietnam CCCD).
const (
	dg13IDNumber = iota + 1
	dg13FullName
	dg13BirthDate
	dg13Sex
	dg13Nationality
	dg13Ethnicity
	dg13Religion
	dg13Hometown
	dg13Residence
	dg13Marks
	dg13IssueDate
	dg13ExpiryDate
	dg13Parents
	dg13Spouse
	dg13OldID
)

// Entries returns the fields as DG13 entry numbers and their values, in the
// card's layout: entry 13 holds two values (father, mother). Empty fields
// are left out.
func (d *DG13) Entries() map[int][]string {
	out := map[int][]string{}
	set := func(n int, v ...string) {
		for _, s := range v {
			if s != "" {
				out[n] = v
				return
			}
		}
	}
	set(dg13IDNumber, d.IDNumber)
	set(dg13FullName, d.FullName)
	set(dg13BirthDate, d.BirthDate)
	set(dg13Sex, d.Sex)
	set(dg13Nationality, d.Nationality)
	set(dg13Ethnicity, d.Ethnicity)
	set(dg13Religion, d.Religion)
	set(dg13Hometown, d.Hometown)
	set(dg13Residence, d.Residence)
	set(dg13Marks, d.IdentifyingMarks)
	set(dg13IssueDate, d.IssueDate)
	set(dg13ExpiryDate, d.ExpiryDate)
	set(dg13Parents, d.FatherName, d.MotherName)
	set(dg13Spouse, d.SpouseName)
	set(dg13OldID, d.OldIDNumber)
	for n, v := range d.Other {
		set(n, v)
	}
	return out
}

func isStringTag(tag uint32) bool {
	switch tag {
	case 0x0C, 0x13, 0x14, 0x16, 0x1A, 0x1E: // UTF8, Printable, T61, IA5, Visible, BMP
		return true
	}
	return false
}

// decodeString turns an ASN.1 string value into Go text; BMPString is
// UTF-16BE, the others are taken as UTF-8 (Printable/IA5/Visible are ASCII).
func decodeString(t tlv.TLV) (string, error) {
	if t.Tag == 0x1E {
		if len(t.Value)%2 != 0 {
			return "", fmt.Errorf("BMPString of odd length")
		}
		r := make([]rune, 0, len(t.Value)/2)
		for i := 0; i < len(t.Value); i += 2 {
			r = append(r, rune(t.Value[i])<<8|rune(t.Value[i+1]))
		}
		return string(r), nil
	}
	if !utf8.Valid(t.Value) {
		return "", fmt.Errorf("text is not valid UTF-8")
	}
	return string(t.Value), nil
}

// collectStrings appends the string values under ts, depth first.
func collectStrings(ts []tlv.TLV, out []string) ([]string, error) {
	for _, t := range ts {
		switch {
		case isStringTag(t.Tag):
			s, err := decodeString(t)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		case t.Constructed():
			var err error
			if out, err = collectStrings(t.Children, out); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func smallInt(v []byte) (int, bool) {
	if len(v) == 0 || len(v) > 2 || v[0]&0x80 != 0 {
		return 0, false
	}
	n := 0
	for _, b := range v {
		n = n<<8 | int(b)
	}
	return n, true
}

// ParseDG13 decodes DG13 (tag 6D). It looks for entries SEQUENCE {INTEGER
// n, value...} anywhere below the version/OID header, so it reads the
// layouts that different card batches use. Errors name the entry number,
// never its value.
func ParseDG13(b []byte) (*DG13, error) {
	outer, _, err := tlv.ParseOne(b)
	if err != nil {
		return nil, fmt.Errorf("DG13: %w", err)
	}
	if outer.Tag != 0x6D {
		return nil, fmt.Errorf("DG13: tag %X, want 6D", outer.Tag)
	}
	d := &DG13{}
	found := 0
	var walk func(ts []tlv.TLV, depth int) error
	walk = func(ts []tlv.TLV, depth int) error {
		for _, t := range ts {
			if !t.Constructed() {
				continue
			}
			kids := t.Children
			if t.Tag == 0x30 && len(kids) >= 2 && kids[0].Tag == 0x02 && (isStringTag(kids[1].Tag) || kids[1].Tag == 0x30 || kids[1].Tag == 0x31) {
				n, ok := smallInt(kids[0].Value)
				if !ok {
					return fmt.Errorf("DG13: entry number is not a small positive integer")
				}
				vals, err := collectStrings(kids[1:], nil)
				if err != nil {
					return fmt.Errorf("DG13 entry %d: %w", n, err)
				}
				if len(vals) > 0 {
					d.set(n, vals)
					found++
					continue
				}
			}
			if depth < 8 {
				if err := walk(kids, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(outer.Children, 0); err != nil {
		return nil, err
	}
	if found == 0 {
		return nil, fmt.Errorf("DG13: no entries found")
	}
	return d, nil
}

func (d *DG13) set(n int, v []string) {
	first := v[0]
	switch n {
	case dg13IDNumber:
		d.IDNumber = first
	case dg13FullName:
		d.FullName = first
	case dg13BirthDate:
		d.BirthDate = first
	case dg13Sex:
		d.Sex = first
	case dg13Nationality:
		d.Nationality = first
	case dg13Ethnicity:
		d.Ethnicity = first
	case dg13Religion:
		d.Religion = first
	case dg13Hometown:
		d.Hometown = first
	case dg13Residence:
		d.Residence = first
	case dg13Marks:
		d.IdentifyingMarks = first
	case dg13IssueDate:
		d.IssueDate = first
	case dg13ExpiryDate:
		d.ExpiryDate = first
	case dg13Parents:
		d.FatherName = first
		if len(v) > 1 {
			d.MotherName = v[1]
		}
	case dg13Spouse:
		d.SpouseName = first
	case dg13OldID:
		d.OldIDNumber = first
	default:
		if d.Other == nil {
			d.Other = map[int]string{}
		}
		d.Other[n] = first
	}
}

// oidDG13 is the object identifier CCCD chips put in DG13's header.
var oidDG13 = asn1.ObjectIdentifier{1, 0, 10646, 1, 0, 8}

// EncodeDG13 builds DG13 in the CCCD layout of DOMAIN.md:
// 6D { 30 { INTEGER 1, OID 1.0.10646.1.0.8, SET { 30 { INTEGER n, UTF8String value } … } } }.
// The card simulator uses it; entry 13 carries two strings (father, mother).
func EncodeDG13(d *DG13) []byte {
	entries := d.Entries()
	nums := make([]int, 0, len(entries))
	for n := range entries {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	var set []byte
	for _, n := range nums {
		e, _ := asn1.Marshal(n)
		for _, s := range entries[n] {
			e = append(e, tlv.Encode(0x0C, []byte(s))...)
		}
		set = append(set, tlv.Encode(0x30, e)...)
	}
	hdr, _ := asn1.Marshal(1)
	oid, _ := asn1.Marshal(oidDG13)
	hdr = append(hdr, oid...)
	hdr = append(hdr, tlv.Encode(0x31, set)...)
	return tlv.Encode(0x6D, tlv.Encode(0x30, hdr))
}
