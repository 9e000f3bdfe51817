package cardsim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/kioskd/kioskd/hwbridge/card/apdu"
	"github.com/kioskd/kioskd/hwbridge/card/emrtd"
	"github.com/kioskd/kioskd/hwbridge/card/emrtd/bac"
	"github.com/kioskd/kioskd/hwbridge/card/tlv"
)

// The eMRTD applet: an ICAO 9303 LDS1 chip with Basic Access Control and
// secure messaging, built from a profile's MRZ, DG13 and photo. It answers
// as a chip does: plain SELECT of the application, GET CHALLENGE and MUTUAL
// AUTHENTICATE (6300 for a wrong key), then only protected SELECT EF and
// READ BINARY (by file or short file identifier); a protected command with
// a wrong or missing MAC gets a bare 6988/6987 and ends the session; a plain
// command after BAC ends it too and, as on a strict chip, is answered a bare
// 6987 instead of being carried out. A reset (power cycle) forgets it all.

func init() {
	Applets[TypeEMRTD] = newEMRTD
	validators[TypeEMRTD] = validateEMRTD
}

// emrtdATR is a PC/SC part 3 ATR for a contactless ISO 14443-4 card:
// 3B 8n 80 01, n historical bytes, TCK (XOR of T0..last historical byte).
var emrtdATR = func() []byte {
	hist := []byte("kioskd.eID")
	atr := append([]byte{0x3B, 0x80 | byte(len(hist)), 0x80, 0x01}, hist...)
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	return append(atr, tck)
}()

// validateEMRTD checks the MRZ (every check digit) and the dg13 object
// (known fields only, text values).
func validateEMRTD(p Profile) error {
	var errs []error
	if _, err := emrtd.ParseMRZ(p.MRZ); err != nil && p.MRZ != "" {
		errs = append(errs, fmt.Errorf("field mrz: %w", err))
	}
	if len(p.DG13) > 0 {
		if _, err := decodeDG13(p.DG13); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func decodeDG13(raw json.RawMessage) (*emrtd.DG13, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var d emrtd.DG13
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("field dg13: %w", err)
	}
	if len(d.Entries()) == 0 {
		return nil, errors.New("field dg13: no fields set")
	}
	for n, vs := range d.Entries() {
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, fmt.Errorf("field dg13: entry %d is not valid UTF-8", n)
			}
		}
	}
	return &d, nil
}

// Short file identifiers (ICAO 9303 part 10, 3.6).
var sfiToFID = map[byte]uint16{
	0x1E: emrtd.FIDCOM, 0x1D: emrtd.FIDSOD, 0x01: emrtd.FIDDG1, 0x02: emrtd.FIDDG2, 0x0D: emrtd.FIDDG13,
}

type emrtdApplet struct {
	files map[uint16][]byte
	keys  bac.Keys

	selected bool   // eMRTD application selected
	rndICC   []byte // last challenge, consumed by MUTUAL AUTHENTICATE
	sm       *bac.Session
	current  []byte // selected EF
}

func newEMRTD(p Profile, opt Options) (Applet, error) {
	mrz, err := emrtd.ParseMRZ(p.MRZ)
	if err != nil {
		return nil, fmt.Errorf("field mrz: %w", err)
	}
	ca := opt.CSCA
	if ca == nil {
		ca = TestCSCA()
	}
	dgs := map[int][]byte{
		1: tlv.Encode(emrtd.TagDG1, tlv.Encode(0x5F1F, []byte(emrtd.NormalizeMRZ(p.MRZ)))),
	}
	tags := []byte{emrtd.TagDG1}
	if p.PhotoJPEGB64 != "" {
		jpeg, err := base64.StdEncoding.DecodeString(p.PhotoJPEGB64)
		if err != nil {
			return nil, fmt.Errorf("field photo_jpeg_b64: %w", err)
		}
		dgs[2] = buildDG2(jpeg)
		tags = append(tags, emrtd.TagDG2)
	}
	if len(p.DG13) > 0 {
		d, err := decodeDG13(p.DG13)
		if err != nil {
			return nil, err
		}
		dgs[13] = emrtd.EncodeDG13(d)
		tags = append(tags, emrtd.TagDG13)
	}
	sod, err := buildSOD(dgs, ca)
	if err != nil {
		return nil, fmt.Errorf("build EF.SOD: %w", err)
	}
	// EF.COM: LDS version 0107, Unicode version 040000, tag list.
	com := tlv.Encode(emrtd.TagCOM, bytes.Join([][]byte{
		tlv.Encode(0x5F01, []byte("0107")),
		tlv.Encode(0x5F36, []byte("040000")),
		tlv.Encode(0x5C, tags),
	}, nil))
	a := &emrtdApplet{
		files: map[uint16][]byte{emrtd.FIDCOM: com, emrtd.FIDSOD: sod, emrtd.FIDDG1: dgs[1]},
		keys:  bac.DeriveKeys(bac.Seed(emrtd.KeyFromMRZ(mrz).MRZInfo())),
	}
	if d, ok := dgs[2]; ok {
		a.files[emrtd.FIDDG2] = d
	}
	if d, ok := dgs[13]; ok {
		a.files[emrtd.FIDDG13] = d
	}
	return a, nil
}

// buildDG2 wraps a JPEG in DG2's biometric template (part 10, 4.7.2) with
// an ISO/IEC 19794-5 facial record header: one face, no feature points,
// full frontal JPEG.
func buildDG2(jpeg []byte) []byte {
	rec := []byte("FAC\x00010\x00")
	total := uint32(14 + 20 + 12 + len(jpeg))
	rec = binary.BigEndian.AppendUint32(rec, total)
	rec = binary.BigEndian.AppendUint16(rec, 1) // number of faces
	// Facial information block: block length, 0 feature points, gender,
	// eye colour, hair colour, property mask (3), expression, pose (3),
	// pose uncertainty (3).
	rec = binary.BigEndian.AppendUint32(rec, uint32(20+12+len(jpeg)))
	rec = append(rec, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	// Image information: face image type 01 (full frontal), data type 00
	// (JPEG), width, height, colour space, source type, device type (2),
	// quality (2).
	rec = append(rec, 0x01, 0x00, 0x01, 0xE0, 0x02, 0x80, 0x01, 0x02, 0, 0, 0, 0)
	rec = append(rec, jpeg...)
	header := tlv.Encode(0xA1, bytes.Join([][]byte{
		tlv.Encode(0x80, []byte{0x01, 0x01}), // ICAO header version
		tlv.Encode(0x81, []byte{0x02}),       // biometric type: facial features
		tlv.Encode(0x87, []byte{0x01, 0x01}), // format owner
		tlv.Encode(0x88, []byte{0x00, 0x08}), // format type
	}, nil))
	bit := tlv.Encode(0x7F60, append(header, tlv.Encode(0x5F2E, rec)...))
	return tlv.Encode(emrtd.TagDG2, tlv.Encode(0x7F61, append(tlv.Encode(0x02, []byte{1}), bit...)))
}

func (a *emrtdApplet) ATR() []byte { return emrtdATR }

func (a *emrtdApplet) Reset() {
	a.selected, a.rndICC, a.sm, a.current = false, nil, nil, nil
}

func (a *emrtdApplet) Process(cmd apdu.Command) []byte {
	if cmd.CLA&0x0C == 0x0C {
		if a.sm == nil {
			return apdu.StatusWord(apdu.SWSecurityNotSatisfied)
		}
		plain, err := a.sm.UnwrapCommand(cmd)
		if err != nil {
			a.sm, a.current = nil, nil
			if errors.Is(err, bac.ErrSMMissing) {
				return apdu.StatusWord(apdu.SWSMObjectsMissing)
			}
			return apdu.StatusWord(apdu.SWSMObjectsIncorrect)
		}
		r, _ := apdu.ParseResponse(a.protected(plain))
		return a.sm.WrapResponse(r).Bytes()
	}
	if cmd.CLA != 0x00 {
		return apdu.StatusWord(apdu.SWCLANotSupported)
	}
	if a.sm != nil {
		// A plain command inside a secure-messaging session ends it
		// (part 11, 9.8.6) and, on a strict chip, is not carried out: it
		// gets a bare 6987, as a protected command without its data
		// objects does. A chip left on the reader after a read still
		// holds that session, so the next reader's plain SELECT meets
		// this answer unless the card was reset in between.
		a.sm, a.current = nil, nil
		return apdu.StatusWord(apdu.SWSMObjectsMissing)
	}
	switch cmd.INS {
	case apdu.INSSelect:
		if cmd.P1 == 0x04 {
			if bytes.Equal(cmd.Data, emrtd.AID) {
				a.selected, a.rndICC = true, nil
				return apdu.StatusWord(apdu.SWOK)
			}
			return apdu.StatusWord(apdu.SWFileNotFound)
		}
		return apdu.StatusWord(apdu.SWSecurityNotSatisfied)
	case apdu.INSGetChallenge:
		if !a.selected {
			return apdu.StatusWord(apdu.SWConditionsNotMet)
		}
		if cmd.Le != 8 {
			return apdu.StatusWord(0x6C08)
		}
		a.rndICC = make([]byte, 8)
		_, _ = rand.Read(a.rndICC)
		return apdu.StatusWord(apdu.SWOK, a.rndICC...)
	case apdu.INSMutualAuth:
		if a.rndICC == nil {
			return apdu.StatusWord(apdu.SWConditionsNotMet)
		}
		rndICC := a.rndICC
		a.rndICC = nil // one attempt per challenge
		if len(cmd.Data) != 40 {
			return apdu.StatusWord(apdu.SWWrongLength)
		}
		kICC := make([]byte, 16)
		_, _ = rand.Read(kICC)
		resp, s, err := bac.AnswerAuthenticate(a.keys, cmd.Data, rndICC, kICC)
		if err != nil {
			return apdu.StatusWord(0x6300) // authentication failed
		}
		a.sm = s
		return apdu.StatusWord(apdu.SWOK, resp...)
	case apdu.INSReadBinary:
		return apdu.StatusWord(apdu.SWSecurityNotSatisfied)
	}
	return apdu.StatusWord(apdu.SWINSNotSupported)
}

// protected answers a command that arrived under secure messaging.
func (a *emrtdApplet) protected(c apdu.Command) []byte {
	switch c.INS {
	case apdu.INSSelect:
		switch c.P1 {
		case 0x04:
			if bytes.Equal(c.Data, emrtd.AID) {
				return apdu.StatusWord(apdu.SWOK)
			}
			return apdu.StatusWord(apdu.SWFileNotFound)
		case 0x02, 0x00:
			if len(c.Data) != 2 {
				return apdu.StatusWord(apdu.SWWrongLength)
			}
			f, ok := a.files[uint16(c.Data[0])<<8|uint16(c.Data[1])]
			if !ok {
				return apdu.StatusWord(apdu.SWFileNotFound)
			}
			a.current = f
			return apdu.StatusWord(apdu.SWOK)
		}
		return apdu.StatusWord(apdu.SWWrongP1P2)
	case apdu.INSReadBinary:
		off := int(c.P1)<<8 | int(c.P2)
		if c.P1&0x80 != 0 { // P1 = 100xxxxx: short file identifier, P2 = offset
			fid, ok := sfiToFID[c.P1&0x1F]
			f, present := a.files[fid]
			if !ok || !present || c.P1&0x60 != 0 {
				return apdu.StatusWord(apdu.SWFileNotFound)
			}
			a.current, off = f, int(c.P2)
		}
		if a.current == nil {
			return apdu.StatusWord(apdu.SWCommandNotAllowed)
		}
		if off > len(a.current) {
			return apdu.StatusWord(apdu.SWWrongParams)
		}
		n := c.Le
		if n <= 0 {
			n = 256
		}
		if off+n > len(a.current) {
			return apdu.StatusWord(0x6282, a.current[off:]...) // end of file before Le bytes
		}
		return apdu.StatusWord(apdu.SWOK, a.current[off:off+n]...)
	}
	return apdu.StatusWord(apdu.SWINSNotSupported)
}

// TamperDG1 changes one byte of the name in the card's DG1 after EF.SOD was
// signed, as a forger editing the chip would: the MRZ still parses and its
// check digits still hold (the name has none), but passive authentication
// must fail. It is for tests; c must hold an eMRTD.
func TamperDG1(c *Card) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.applet.(*emrtdApplet)
	if !ok {
		return errors.New("cardsim: TamperDG1: not an eMRTD card")
	}
	dg1 := append([]byte(nil), a.files[emrtd.FIDDG1]...)
	t, _, err := tlv.ParseOne(dg1)
	if err != nil {
		return err
	}
	mrz, _ := t.Find(0x5F1F)
	// The last character of the name field: line 3 ends with it in TD1,
	// line 1 in TD2 and TD3; no check digit covers it.
	i := len(dg1) - 1
	switch start := len(dg1) - len(mrz.Value); len(mrz.Value) {
	case 72:
		i = start + 35
	case 88:
		i = start + 43
	}
	if dg1[i] == 'X' {
		dg1[i] = 'Y'
	} else {
		dg1[i] = 'X'
	}
	a.files[emrtd.FIDDG1] = dg1
	return nil
}
