package cardsim

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/kioskd/kioskd/hwbridge/card/apdu"
)

// The social security card as DOMAIN.md lays it out: MF 3F00 holding the
// DDF1 application "sx1.sh.社会保障", whose record files EF05 (card data)
// and EF06 (holder data) hold one record per tag, each read with READ
// RECORD P1 = tag and answered as tag ‖ length ‖ value. The card behaves
// like a T=0 card: SELECT of a DF without Le answers 61XX (the FCI waits for
// GET RESPONSE), a READ RECORD whose Le is not the record's length answers
// 6CXX, and VERIFY counts down from 3 and blocks at zero.

// ssAID is the DDF1 name: ASCII "sx1.sh." + GBK "社会保障" (DOMAIN.md).
var ssAID = []byte{0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9, 0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF}

const (
	ssPINTries   = 3
	ssNameLen    = 30
	ssEF05       = 0x05
	ssEF06       = 0x06
	ssSWBlocked  = 0x6983
	ssSWWrongPIN = 0x63C0 // | tries left
)

// ssATR: TS 3B, T0 6A (TB1, TC1, 10 historical bytes), "kioskd.ss3".
var ssATR = append([]byte{0x3B, 0x6A, 0x00, 0x00}, "kioskd.ss3"...)

func init() {
	validators[TypeSSCard] = validateSS
	Applets[TypeSSCard] = newSSApplet
}

// validateSS checks every social security card field against what the card
// can hold (DOMAIN.md table). The ID number's check character is not
// checked: a card with a wrong one is a case the reader must handle.
func validateSS(p Profile) error {
	var errs []error
	bad := func(field, why string) { errs = append(errs, fmt.Errorf("field %s %s", field, why)) }
	if !isAlnum(p.CardNumber) || len(p.CardNumber) == 0 || len(p.CardNumber) > 9 {
		bad("card_number", "must be 1 to 9 letters or digits")
	}
	if len(p.SSN) != 18 || !isDigits(p.SSN[:17]) || !strings.ContainsAny(p.SSN[17:], "0123456789X") {
		bad("ssn", "must be an 18-character resident ID number (17 digits and a digit or X)")
	}
	if p.Name == "" {
		bad("name", "is missing")
	} else if strings.TrimSpace(p.Name) != p.Name || strings.ContainsFunc(p.Name, unicode.IsControl) {
		bad("name", "has leading or trailing spaces or control characters")
	} else if gbk, err := simplifiedchinese.GBK.NewEncoder().String(p.Name); err != nil {
		bad("name", "has characters GBK cannot encode")
	} else if len(gbk) > ssNameLen {
		bad("name", fmt.Sprintf("is %d bytes in GBK, the card holds %d", len(gbk), ssNameLen))
	}
	if p.Gender != "1" && p.Gender != "2" {
		bad("gender", `must be "1" (male) or "2" (female)`)
	}
	if p.Nationality != "" && (len(p.Nationality) != 3 || strings.ToUpper(p.Nationality) != p.Nationality || !isAlnum(p.Nationality)) {
		bad("nationality", "must be a 3-letter ISO 3166 code such as CHN")
	}
	for _, d := range []struct{ field, v string }{{"birth_date", p.BirthDate}, {"issue_date", p.IssueDate}, {"expiry_date", p.ExpiryDate}} {
		if _, err := time.Parse("20060102", d.v); err != nil {
			bad(d.field, "must be a date YYYYMMDD")
		}
	}
	if _, err := hex.DecodeString(padEven(p.IssuerCode)); err != nil || p.IssuerCode == "" || len(p.IssuerCode) > 24 ||
		strings.ToUpper(p.IssuerCode) != p.IssuerCode || strings.HasSuffix(p.IssuerCode, "F") {
		bad("issuer_code", "must be 1 to 24 upper-case hex digits, not ending in F (the card's padding)")
	}
	if len(p.CardType) != 1 || !isAlnum(p.CardType) {
		bad("card_type", "must be one letter or digit")
	}
	if len(p.SpecVersion) != 4 || !printable(p.SpecVersion) {
		bad("spec_version", `must be 4 characters such as "3.00"`)
	}
	if len(p.PIN) < 4 || len(p.PIN) > 12 || !isDigits(p.PIN) {
		bad("pin", "must be 4 to 12 digits")
	}
	return errors.Join(errs...)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7E {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

func padEven(s string) string {
	if len(s)%2 == 1 {
		return s + "F"
	}
	return s
}

// bcdF packs decimal (or hex) digits two per byte, padding with F nibbles
// to n bytes (DOMAIN.md: numeric fields are padded with F).
func bcdF(digits string, n int) []byte {
	s := digits + strings.Repeat("F", 2*n-len(digits))
	b, err := hex.DecodeString(s)
	if err != nil {
		panic("cardsim: bcdF on validated digits: " + err.Error())
	}
	return b
}

// pad00 pads s with 00 bytes to n (alphanumeric fields, DOMAIN.md).
func pad00(s []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, s)
	return out
}

type ssLevel int

const (
	ssMF ssLevel = iota // implicitly selected at power-on (ISO 7816-4 §7.1.1)
	ssDDF1
)

type ssApplet struct {
	files map[byte]map[byte][]byte // EF → tag → value
	pin   []byte                   // BCD, F-padded
	tries int                      // survives Reset (a power cycle)

	level    ssLevel
	ef       byte   // selected EF in DDF1, 0 for none
	pending  []byte // data waiting for GET RESPONSE
	verified bool
}

func newSSApplet(p Profile, _ Options) (Applet, error) {
	if err := validateSS(p); err != nil {
		return nil, err
	}
	name, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(p.Name))
	if err != nil {
		return nil, errors.New("field name: not encodable in GBK")
	}
	cardID := make([]byte, 16) // first 3 bytes BCD pooling-area code, then a serial
	copy(cardID, bcdF(firstN(p.IssuerCode, 6), 3))
	copy(cardID[3:], pad00([]byte(p.CardNumber), 9))
	region := bcdF(firstN(p.SSN, 6), 3) // birthplace: the ID number's region code
	a := &ssApplet{
		files: map[byte]map[byte][]byte{
			ssEF05: {
				0x01: cardID,
				0x02: []byte(p.CardType),
				0x03: []byte(p.SpecVersion),
				0x04: bcdF(p.IssuerCode, 12),
				0x05: bcdF(p.IssueDate, 4),
				0x06: bcdF(p.ExpiryDate, 4),
				0x07: pad00([]byte(p.CardNumber), 9),
			},
			ssEF06: {
				0x08: []byte(p.SSN),
				0x09: pad00(name, ssNameLen),
				0x0A: []byte(p.Gender),
				0x0B: {0x01}, // ethnicity: not in the profile, 01 = 汉
				0x0C: region,
				0x0D: bcdF(p.BirthDate, 4),
			},
		},
		pin:   bcdF(p.PIN, (len(p.PIN)+1)/2),
		tries: ssPINTries,
	}
	return a, nil
}

func firstN(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}

func (a *ssApplet) ATR() []byte { return ssATR }

func (a *ssApplet) Reset() {
	a.level, a.ef, a.pending, a.verified = ssMF, 0, nil, false
}

func (a *ssApplet) Process(c apdu.Command) []byte {
	pending := a.pending
	a.pending = nil // any command but GET RESPONSE drops the waiting data
	if c.CLA != 0x00 {
		return apdu.StatusWord(apdu.SWCLANotSupported)
	}
	switch c.INS {
	case apdu.INSSelect:
		return a.selectFile(c)
	case apdu.INSReadRecord:
		return a.readRecord(c)
	case apdu.INSVerify:
		return a.verify(c)
	case apdu.INSGetResponse:
		return getResponse(c, pending, &a.pending)
	}
	return apdu.StatusWord(apdu.SWINSNotSupported)
}

// getResponse answers GET RESPONSE from pending data, T=0 style: Le must
// not exceed what is waiting (6CXX otherwise); what is left stays pending
// with 61XX.
func getResponse(c apdu.Command, pending []byte, keep *[]byte) []byte {
	if c.P1 != 0 || c.P2 != 0 {
		return apdu.StatusWord(apdu.SWWrongP1P2)
	}
	if len(pending) == 0 {
		return apdu.StatusWord(apdu.SWConditionsNotMet)
	}
	le := c.Le
	if le == 0 || le == -1 {
		le = 256
	}
	if le > len(pending) {
		*keep = pending
		return apdu.StatusWord(0x6C00 | uint16(len(pending)&0xFF))
	}
	out, rest := pending[:le], pending[le:]
	if len(rest) > 0 {
		*keep = rest
		return apdu.StatusWord(0x6100|uint16(min(len(rest), 256)&0xFF), out...)
	}
	return apdu.StatusWord(apdu.SWOK, out...)
}

func (a *ssApplet) selectFile(c apdu.Command) []byte {
	if c.P2 != 0x00 && c.P2 != 0x0C {
		return apdu.StatusWord(apdu.SWWrongP1P2)
	}
	var fci []byte
	switch c.P1 {
	case 0x00, 0x02: // by file identifier (00: any, 02: EF under the current DF)
		if len(c.Data) != 2 {
			return apdu.StatusWord(apdu.SWWrongData)
		}
		fid := uint16(c.Data[0])<<8 | uint16(c.Data[1])
		switch {
		case fid == 0x3F00 && c.P1 == 0x00:
			a.level, a.ef = ssMF, 0
			fci = []byte{0x6F, 0x04, 0x83, 0x02, 0x3F, 0x00}
		case (fid == 0xEF05 || fid == 0xEF06) && a.level == ssDDF1:
			a.ef = byte(fid)
			return apdu.StatusWord(apdu.SWOK) // EFs answer without FCI
		default:
			return apdu.StatusWord(apdu.SWFileNotFound)
		}
	case 0x04: // by DF name
		if !bytes.Equal(c.Data, ssAID) {
			return apdu.StatusWord(apdu.SWFileNotFound)
		}
		a.level, a.ef = ssDDF1, 0
		fci = append([]byte{0x6F, byte(2 + len(ssAID)), 0x84, byte(len(ssAID))}, ssAID...)
	default:
		return apdu.StatusWord(apdu.SWWrongP1P2)
	}
	switch {
	case c.P2 == 0x0C:
		return apdu.StatusWord(apdu.SWOK)
	case c.Le == -1: // T=0: the FCI waits for GET RESPONSE
		a.pending = fci
		return apdu.StatusWord(0x6100 | uint16(len(fci)))
	case c.Le != 0 && c.Le < len(fci):
		return apdu.StatusWord(0x6C00 | uint16(len(fci)))
	}
	return apdu.StatusWord(apdu.SWOK, fci...)
}

// readRecord answers READ RECORD: P2 00 takes P1 as the record's tag (what
// DOMAIN.md's readers send), P2 04 as its number within the file.
func (a *ssApplet) readRecord(c apdu.Command) []byte {
	if c.P2 != 0x00 && c.P2 != 0x04 {
		return apdu.StatusWord(apdu.SWWrongP1P2)
	}
	if a.level != ssDDF1 || a.ef == 0 {
		return apdu.StatusWord(apdu.SWCommandNotAllowed)
	}
	tag := c.P1
	if c.P2 == 0x04 { // P1 is the record number: the file's records in tag order, from 1
		tags := make([]byte, 0, len(a.files[a.ef]))
		for t := range a.files[a.ef] {
			tags = append(tags, t)
		}
		slices.Sort(tags)
		if c.P1 == 0 || int(c.P1) > len(tags) {
			return apdu.StatusWord(apdu.SWRecordNotFound)
		}
		tag = tags[c.P1-1]
	}
	v, ok := a.files[a.ef][tag]
	if !ok {
		return apdu.StatusWord(apdu.SWRecordNotFound)
	}
	rec := append([]byte{tag, byte(len(v))}, v...)
	if c.Le != len(rec) { // T=0: wrong (or no) Le gets the right one back
		return apdu.StatusWord(0x6C00 | uint16(len(rec)))
	}
	return apdu.StatusWord(apdu.SWOK, rec...)
}

// verify checks the user PIN (VERIFY P2 00). Without data it reports the
// tries left, as ISO 7816-4 §11.5.6 allows.
func (a *ssApplet) verify(c apdu.Command) []byte {
	if c.P1 != 0x00 || c.P2 != 0x00 {
		return apdu.StatusWord(apdu.SWWrongP1P2)
	}
	if a.tries == 0 {
		return apdu.StatusWord(ssSWBlocked)
	}
	if len(c.Data) == 0 {
		if a.verified {
			return apdu.StatusWord(apdu.SWOK)
		}
		return apdu.StatusWord(ssSWWrongPIN | uint16(a.tries))
	}
	if !bytes.Equal(c.Data, a.pin) {
		a.tries--
		a.verified = false
		return apdu.StatusWord(ssSWWrongPIN | uint16(a.tries))
	}
	a.tries = ssPINTries
	a.verified = true
	return apdu.StatusWord(apdu.SWOK)
}
