package emrtd

import (
	"errors"
	"fmt"
	"strings"
)

// MRZ is the machine readable zone of an ID card (TD1, three lines of 30
// characters) or a passport (TD3, two lines of 44), as ICAO 9303 parts 4
// and 5 lay it out (and TD2, two lines of 36, part 6). Text fields have their '<' fillers turned into spaces
// and trimmed; dates stay as printed, YYMMDD.
type MRZ struct {
	Format         string // "TD1", "TD2" or "TD3"
	DocumentCode   string // e.g. "ID", "I", "P"
	Issuer         string // issuing state, ICAO three-letter code
	DocumentNumber string // without fillers; may exceed 9 characters (TD1 long form)
	Surname        string
	GivenNames     string
	Nationality    string
	BirthDate      string // YYMMDD, '<' where unknown
	Sex            string // "M", "F" or "<"
	ExpiryDate     string // YYMMDD
	OptionalData1  string // TD1 line 1 optional data; TD2 optional data; TD3 personal number
	OptionalData2  string // TD1 line 2 optional data; empty for TD2 and TD3
}

// MRZError says which MRZ field is wrong and why. It never carries the
// field's value.
type MRZError struct {
	Field  string // e.g. "document number", "birth date", "composite"
	Reason string
}

func (e *MRZError) Error() string { return "MRZ " + e.Field + ": " + e.Reason }

// ErrCheckDigit is matched (errors.Is) by every MRZError about a check digit
// that does not match its field.
var ErrCheckDigit = errors.New("check digit does not match")

// Is lets errors.Is(err, ErrCheckDigit) find check digit failures.
func (e *MRZError) Is(target error) bool {
	return target == ErrCheckDigit && e.Reason == ErrCheckDigit.Error()
}

func checkDigitErr(field string) error {
	return &MRZError{Field: field, Reason: ErrCheckDigit.Error()}
}

// mrzValue is the ICAO 9303 part 3 value of one MRZ character: digits are
// themselves, A..Z are 10..35, the filler '<' is 0. ok is false for any
// other character.
func mrzValue(c byte) (v int, ok bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10, true
	case c == '<':
		return 0, true
	}
	return 0, false
}

// CheckDigit computes the ICAO 9303 part 3 check digit of s (weights 7, 3, 1
// repeating, sum modulo 10). Characters outside 0-9, A-Z and '<' count as 0;
// ParseMRZ rejects them before it gets here.
func CheckDigit(s string) byte {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		v, _ := mrzValue(s[i])
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10)
}

// checkField validates field against its printed check character c. A
// filler as check character is allowed only over an all-filler field (ICAO
// 9303 part 4 lets the personal number check be '<' when it is empty).
func checkField(name, field string, c byte) error {
	if c == '<' {
		if strings.Trim(field, "<") == "" {
			return nil
		}
		return checkDigitErr(name)
	}
	if c < '0' || c > '9' {
		return &MRZError{Field: name, Reason: "check digit is not a digit"}
	}
	if CheckDigit(field) != c {
		return checkDigitErr(name)
	}
	return nil
}

// NormalizeMRZ removes line breaks, spaces and tabs around and between the
// lines, and upper-cases letters, so a scanned or typed MRZ can be parsed.
func NormalizeMRZ(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n' || c == '\r' || c == ' ' || c == '\t':
			continue
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ParseMRZ parses a TD1 (3×30), TD2 (2×36) or TD3 (2×44) MRZ, lines joined with or
// without newlines, and validates every check digit. Errors are *MRZError
// naming the field; check digit failures also match ErrCheckDigit.
func ParseMRZ(s string) (MRZ, error) {
	n := NormalizeMRZ(s)
	for i := 0; i < len(n); i++ {
		if _, ok := mrzValue(n[i]); !ok {
			return MRZ{}, &MRZError{Field: "text", Reason: fmt.Sprintf("character %d is not A-Z, 0-9 or '<'", i+1)}
		}
	}
	switch len(n) {
	case 90:
		return parseTD1(n[0:30], n[30:60], n[60:90])
	case 88:
		return parseTD3(n[0:44], n[44:88])
	case 72:
		return parseTD2(n[0:36], n[36:72])
	}
	return MRZ{}, &MRZError{Field: "length", Reason: fmt.Sprintf("%d characters: want 90 (ID card, 3 lines of 30), 72 (2 lines of 36) or 88 (passport, 2 lines of 44)", len(n))}
}

func trimFill(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "<", " "))
}

// surnameFirst are the issuing states that write a holder's name family
// name first, as their own documents and their citizens do: Vietnam
// ("NGUYỄN THỊ HỒNG NHUNG"), China, Taiwan, Korea, Japan, Hungary.
var surnameFirst = map[string]bool{"VNM": true, "CHN": true, "TWN": true, "KOR": true, "JPN": true, "HUN": true}

// FullName is the holder's name as the issuing state writes it: the
// primary identifier (the surname) first for the states in surnameFirst,
// the secondary identifier (given names) first elsewhere. The MRZ has no
// diacritics; a chip's DG13 full name, where there is one, is better.
func (m MRZ) FullName() string {
	first, second := m.GivenNames, m.Surname
	if surnameFirst[m.Issuer] {
		first, second = m.Surname, m.GivenNames
	}
	return strings.TrimSpace(first + " " + second)
}

// splitName splits the name field at the first "<<" into primary and
// secondary identifiers (ICAO 9303 part 3, 4.6).
func splitName(s string) (surname, given string) {
	s = strings.TrimRight(s, "<")
	if i := strings.Index(s, "<<"); i >= 0 {
		return trimFill(s[:i]), trimFill(s[i+2:])
	}
	return trimFill(s), ""
}

func checkDate(field, s string) error {
	if len(s) != 6 {
		return &MRZError{Field: field, Reason: "want 6 characters YYMMDD"}
	}
	for i := 0; i < 6; i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '<' {
			return &MRZError{Field: field, Reason: "want digits YYMMDD"}
		}
	}
	if !strings.Contains(s, "<") {
		mm := int(s[2]-'0')*10 + int(s[3]-'0')
		dd := int(s[4]-'0')*10 + int(s[5]-'0')
		if mm < 1 || mm > 12 || dd < 1 || dd > 31 {
			return &MRZError{Field: field, Reason: "not a valid date YYMMDD"}
		}
	}
	return nil
}

// checkDatesAndSex checks the fields every format has: the birth date and
// the expiry date, each against its check character, and the sex.
func checkDatesAndSex(m MRZ, birthCheck, expiryCheck byte) error {
	if err := checkDate("birth date", m.BirthDate); err != nil {
		return err
	}
	if err := checkField("birth date", m.BirthDate, birthCheck); err != nil {
		return err
	}
	if err := checkSex(m.Sex); err != nil {
		return err
	}
	if err := checkDate("expiry date", m.ExpiryDate); err != nil {
		return err
	}
	return checkField("expiry date", m.ExpiryDate, expiryCheck)
}

func checkSex(s string) error {
	if s != "M" && s != "F" && s != "<" && s != "X" {
		return &MRZError{Field: "sex", Reason: "want M, F, X or <"}
	}
	return nil
}

// documentNumber checks the 9-character document number field against its
// check character. When that character is a filler, the number is long
// (part 5, note j; part 6): it goes on in the optional data up to the first
// filler, and the character before that filler is its check digit. It
// returns the number without fillers and what is left of the optional data.
func documentNumber(field string, check byte, opt string) (doc, rest string, err error) {
	if check == '<' {
		end := strings.IndexByte(opt, '<')
		if end < 0 {
			end = len(opt)
		}
		if end < 1 {
			return "", "", &MRZError{Field: "document number", Reason: "check digit missing"}
		}
		field += opt[:end-1]
		check = opt[end-1]
		opt = opt[end:]
	}
	if err := checkField("document number", field, check); err != nil {
		return "", "", err
	}
	doc = strings.ReplaceAll(field, "<", "")
	if doc == "" {
		return "", "", &MRZError{Field: "document number", Reason: "empty"}
	}
	return doc, opt, nil
}

// parseTD1 follows ICAO 9303 part 5, 4.2.2.
func parseTD1(l1, l2, l3 string) (MRZ, error) {
	m := MRZ{
		Format:       "TD1",
		DocumentCode: trimFill(l1[0:2]),
		Issuer:       trimFill(l1[2:5]),
		BirthDate:    l2[0:6],
		Sex:          l2[7:8],
		ExpiryDate:   l2[8:14],
		Nationality:  trimFill(l2[15:18]),
	}
	if m.DocumentCode == "" || !isAlpha(l1[0]) {
		return MRZ{}, &MRZError{Field: "document code", Reason: "must start with a letter"}
	}
	doc, opt1, err := documentNumber(l1[5:14], l1[14], l1[15:30])
	if err != nil {
		return MRZ{}, err
	}
	m.DocumentNumber, m.OptionalData1 = doc, trimFill(opt1)
	if err := checkDatesAndSex(m, l2[6], l2[14]); err != nil {
		return MRZ{}, err
	}
	m.OptionalData2 = trimFill(l2[18:29])
	composite := l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]
	if err := checkField("composite", composite, l2[29]); err != nil {
		return MRZ{}, err
	}
	m.Surname, m.GivenNames = splitName(l3)
	return m, nil
}

// twoLineHead reads what TD2 and TD3 share: line 1's document code,
// issuer and name, and line 2's nationality, dates and sex (checked by the
// caller, after the document number).
func twoLineHead(format, l1, l2 string) (MRZ, error) {
	m := MRZ{
		Format:       format,
		DocumentCode: trimFill(l1[0:2]),
		Issuer:       trimFill(l1[2:5]),
		Nationality:  trimFill(l2[10:13]),
		BirthDate:    l2[13:19],
		Sex:          l2[20:21],
		ExpiryDate:   l2[21:27],
	}
	if m.DocumentCode == "" || !isAlpha(l1[0]) {
		return MRZ{}, &MRZError{Field: "document code", Reason: "must start with a letter"}
	}
	m.Surname, m.GivenNames = splitName(l1[5:])
	return m, nil
}

// parseTD3 follows ICAO 9303 part 4, 4.2.2.
func parseTD3(l1, l2 string) (MRZ, error) {
	m, err := twoLineHead("TD3", l1, l2)
	if err != nil {
		return MRZ{}, err
	}
	if err := checkField("document number", l2[0:9], l2[9]); err != nil {
		return MRZ{}, err
	}
	m.DocumentNumber = strings.ReplaceAll(l2[0:9], "<", "")
	if m.DocumentNumber == "" {
		return MRZ{}, &MRZError{Field: "document number", Reason: "empty"}
	}
	if err := checkDatesAndSex(m, l2[19], l2[27]); err != nil {
		return MRZ{}, err
	}
	if err := checkField("personal number", l2[28:42], l2[42]); err != nil {
		return MRZ{}, err
	}
	m.OptionalData1 = trimFill(l2[28:42])
	composite := l2[0:10] + l2[13:20] + l2[21:43]
	if err := checkField("composite", composite, l2[43]); err != nil {
		return MRZ{}, err
	}
	return m, nil
}

// parseTD2 follows ICAO 9303 part 6, 4.2.2.
func parseTD2(l1, l2 string) (MRZ, error) {
	m, err := twoLineHead("TD2", l1, l2)
	if err != nil {
		return MRZ{}, err
	}
	doc, opt, err := documentNumber(l2[0:9], l2[9], l2[28:35])
	if err != nil {
		return MRZ{}, err
	}
	m.DocumentNumber, m.OptionalData1 = doc, trimFill(opt)
	if err := checkDatesAndSex(m, l2[19], l2[27]); err != nil {
		return MRZ{}, err
	}
	composite := l2[0:10] + l2[13:20] + l2[21:35]
	if err := checkField("composite", composite, l2[35]); err != nil {
		return MRZ{}, err
	}
	return m, nil
}

func isAlpha(c byte) bool { return c >= 'A' && c <= 'Z' }
