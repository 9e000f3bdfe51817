package emrtd

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/card/apdu"
	"github.com/kioskd/kioskd/hwbridge/card/emrtd/bac"
	"github.com/kioskd/kioskd/hwbridge/card/tlv"
)

// AID is the LDS1 eMRTD application identifier (ICAO 9303 part 10, 3.1).
var AID = []byte{0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01}

// Elementary file identifiers (ICAO 9303 part 10, 3.6) and the tags the
// files start with (part 10, 4.7).
const (
	FIDCOM  uint16 = 0x011E
	FIDSOD  uint16 = 0x011D
	FIDDG1  uint16 = 0x0101
	FIDDG2  uint16 = 0x0102
	FIDDG13 uint16 = 0x010D

	TagCOM  = 0x60
	TagDG1  = 0x61
	TagDG2  = 0x75
	TagDG13 = 0x6D
	TagSOD  = 0x77
)

const (
	// maxChunk is the most READ BINARY asks for at once: 223 bytes of data
	// pad to 224, and with DO87, DO99 and DO8E the protected answer still
	// fits a short response (ICAO 9303 part 11 leaves the size to the
	// reader; 0xDF is what common readers use).
	maxChunk = 0xDF
	// maxFileSize bounds what a file header may announce: READ BINARY with
	// an even INS addresses offsets up to 0x7FFF.
	maxFileSize = 0x7FFF
	// defaultTimeout bounds Read when the caller's context has no deadline.
	defaultTimeout = 30 * time.Second
	// resetTimeout bounds the reset that ends a read, which runs even when
	// the read's own context has ended.
	resetTimeout = 5 * time.Second
)

// Options configures Read.
type Options struct {
	// CSCA are the trusted country signing CA certificates. None (nil or
	// empty) means the signature of EF.SOD is not checked; the hashes
	// still are.
	CSCA []*x509.Certificate
	// Photo asks for DG2 (the face image) as well, when EF.COM lists it.
	// It is the largest file on the chip and the slowest to read.
	Photo bool
}

// PassiveAuth tells what passive authentication established.
type PassiveAuth struct {
	HashesOK         bool   // every data group read matched its hash in EF.SOD
	SignatureChecked bool   // EF.SOD's signature chains to a configured CSCA
	Signer           string // document signer certificate subject, when present
	HashAlgorithm    string // e.g. "SHA-256"
	Checked          []int  // data groups whose hashes were compared, e.g. [1 13]
}

// Document is what Read got from the chip.
type Document struct {
	COM        []byte // EF.COM as read
	DataGroups []int  // data groups EF.COM lists
	DG1        MRZ
	DG13       *DG13  // nil when the chip has no DG13
	Photo      []byte // JPEG or JPEG 2000 from DG2 when Options.Photo; nil otherwise
	SOD        []byte // EF.SOD as read: the issuer's signed hashes, evidence of what was read
	PA         PassiveAuth
}

// Read selects the eMRTD application, runs Basic Access Control with key,
// reads EF.COM, DG1, DG13 when EF.COM lists it (and DG2 when asked) under
// secure messaging, then EF.SOD, and checks every data group read against
// it. A refused key is ErrBACFailed; a data group that does not match
// EF.SOD, or a signature that does not verify against opt.CSCA, is a
// *PassiveAuthError (ErrPassiveAuth). When ctx has no deadline, Read uses
// 30 seconds.
//
// A chip keeps its secure-messaging session as long as it stays powered,
// and a strict chip answers the next plain command with 6987 (ending the
// session then). So when card is a hwbridge.Resetter, Read ends however
// it ends with a reset of the card, and the chip left on the reader reads
// at once the next time; and a SELECT answered 6987 or 6988 (a session
// left by a read that did not reset: another application, a crash) is
// followed by a reset, when the card can, and one more SELECT.
func Read(ctx context.Context, card hwbridge.Card, key BACKey, opt Options) (*Document, error) {
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("emrtd: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	if rs, ok := card.(hwbridge.Resetter); ok {
		defer func() {
			// A reset that fails (the card was taken away) changes nothing
			// of what was read: the next read retries on 6987 anyway.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resetTimeout)
			defer cancel()
			_ = rs.Reset(rctx)
		}()
	}
	r := &reader{card: card}
	if err := r.selectApplication(ctx); err != nil {
		return nil, err
	}
	if err := r.authenticate(ctx, key); err != nil {
		return nil, err
	}

	doc := &Document{}
	var err error
	if doc.COM, err = r.readFile(ctx, FIDCOM, TagCOM); err != nil {
		return nil, fmt.Errorf("emrtd: read EF.COM: %w", err)
	}
	if doc.DataGroups, err = parseCOM(doc.COM); err != nil {
		return nil, fmt.Errorf("emrtd: EF.COM: %w", err)
	}
	// Read everything first and check it against EF.SOD before decoding,
	// so altered data is reported as such, not as a decoding error.
	read := map[int][]byte{}
	want := []struct {
		dg  int
		fid uint16
		tag uint32
	}{{1, FIDDG1, TagDG1}, {2, FIDDG2, TagDG2}, {13, FIDDG13, TagDG13}}
	for _, w := range want {
		if w.dg != 1 && !slices.Contains(doc.DataGroups, w.dg) || w.dg == 2 && !opt.Photo {
			continue
		}
		b, err := r.readFile(ctx, w.fid, w.tag)
		if err != nil {
			return nil, fmt.Errorf("emrtd: read DG%d: %w", w.dg, err)
		}
		read[w.dg] = b
	}
	sodBytes, err := r.readFile(ctx, FIDSOD, TagSOD)
	var se *apdu.StatusError
	if errors.As(err, &se) && se.SW == apdu.SWFileNotFound {
		return nil, &PassiveAuthError{Reason: "the chip has no EF.SOD"}
	}
	if err != nil {
		return nil, fmt.Errorf("emrtd: read EF.SOD: %w", err)
	}
	doc.SOD = sodBytes
	sod, err := ParseSOD(sodBytes)
	if err != nil {
		return nil, err
	}
	for _, w := range want {
		if b, ok := read[w.dg]; ok {
			if err := sod.CheckHash(w.dg, b); err != nil {
				return nil, err
			}
			doc.PA.Checked = append(doc.PA.Checked, w.dg)
		}
	}

	if doc.DG1, err = parseDG1(read[1]); err != nil {
		return nil, fmt.Errorf("emrtd: DG1: %w", err)
	}
	if b, ok := read[13]; ok {
		if doc.DG13, err = ParseDG13(b); err != nil {
			return nil, fmt.Errorf("emrtd: %w", err)
		}
	}
	if b, ok := read[2]; ok {
		if doc.Photo, err = parseDG2(b); err != nil {
			return nil, fmt.Errorf("emrtd: DG2: %w", err)
		}
	}
	doc.PA.HashesOK = true
	doc.PA.HashAlgorithm = sod.Hash.String()
	if ds := sod.DocumentSigner(); ds != nil {
		doc.PA.Signer = ds.Subject.String()
	}
	if len(opt.CSCA) > 0 {
		if doc.PA.Signer, err = sod.VerifySignature(opt.CSCA); err != nil {
			return nil, err
		}
		doc.PA.SignatureChecked = true
	}
	return doc, nil
}

// reader holds one BAC session with a card.
type reader struct {
	card hwbridge.Card
	sm   *bac.Session
}

func (r *reader) selectApplication(ctx context.Context) error {
	sel := apdu.Command{INS: apdu.INSSelect, P1: 0x04, P2: 0x0C, Data: AID, Le: -1}
	resp, err := apdu.Exchange(ctx, r.card, sel)
	if err != nil {
		return fmt.Errorf("emrtd: select eMRTD application: %w", err)
	}
	if sw := resp.SW(); sw == apdu.SWSMObjectsMissing || sw == apdu.SWSMObjectsIncorrect {
		// The chip still held a secure-messaging session and refused a
		// plain command in it (ICAO 9303 part 11, 9.8.6); it has closed
		// the session now. Reset it when the card can, and select again.
		if rs, ok := r.card.(hwbridge.Resetter); ok {
			if err := rs.Reset(ctx); err != nil {
				return fmt.Errorf("emrtd: reset the chip after SELECT answered %04X: %w", sw, err)
			}
		}
		if resp, err = apdu.Exchange(ctx, r.card, sel); err != nil {
			return fmt.Errorf("emrtd: select eMRTD application: %w", err)
		}
	}
	if !resp.OK() {
		return fmt.Errorf("%w (SELECT answered %04X)", ErrNotEMRTD, resp.SW())
	}
	return nil
}

// authenticate runs BAC (ICAO 9303 part 11, 9.7.2).
func (r *reader) authenticate(ctx context.Context, key BACKey) error {
	resp, err := apdu.Exchange(ctx, r.card, apdu.Command{INS: apdu.INSGetChallenge, Le: 8})
	if err != nil {
		return fmt.Errorf("emrtd: get challenge: %w", err)
	}
	if !resp.OK() || len(resp.Data) != 8 {
		// A chip that answers 6D00/6A81 here has no BAC: it needs PACE
		// with the card access number, which this package does not do.
		return fmt.Errorf("emrtd: get challenge (the chip may require PACE, which is not supported): %w", responseError(resp, 8))
	}
	rndICC := resp.Data
	rnd := make([]byte, 24)
	if _, err := rand.Read(rnd); err != nil {
		return fmt.Errorf("emrtd: random numbers: %w", err)
	}
	rndIFD, kIFD := rnd[:8], rnd[8:24]
	keys := bac.DeriveKeys(bac.Seed(key.MRZInfo()))
	cmd := bac.AuthenticateCommand(keys, rndIFD, rndICC, kIFD)
	resp, err = apdu.Exchange(ctx, r.card, apdu.Command{INS: apdu.INSMutualAuth, Data: cmd, Le: 40})
	if err != nil {
		return fmt.Errorf("emrtd: mutual authenticate: %w", err)
	}
	if !resp.OK() {
		// 6300 or 6982: the chip's MAC check of our cryptogram failed,
		// which means the MRZ data was wrong.
		return ErrBACFailed
	}
	if r.sm, err = bac.FinishAuthenticate(keys, resp.Data, rndIFD, rndICC, kIFD); err != nil {
		return ErrBACFailed
	}
	return nil
}

func responseError(r apdu.Response, want int) error {
	if err := r.Err(); err != nil {
		return err
	}
	return fmt.Errorf("answer of %d bytes, want %d", len(r.Data), want)
}

// transmit sends a command under secure messaging and returns the plain
// answer. A status word other than 9000 is returned as *apdu.StatusError.
func (r *reader) transmit(ctx context.Context, c apdu.Command) ([]byte, error) {
	w, err := r.sm.Wrap(c)
	if err != nil {
		return nil, err
	}
	resp, err := apdu.Exchange(ctx, r.card, w)
	if err != nil {
		return nil, err
	}
	plain, err := r.sm.Unwrap(resp)
	if err != nil {
		return nil, err
	}
	if err := plain.Err(); err != nil {
		return plain.Data, err
	}
	return plain.Data, nil
}

// readFile selects an elementary file and reads it whole: the first four
// bytes give tag and length, the rest comes in chunks of maxChunk. The file
// must start with wantTag.
func (r *reader) readFile(ctx context.Context, fid uint16, wantTag uint32) ([]byte, error) {
	if _, err := r.transmit(ctx, apdu.Command{INS: apdu.INSSelect, P1: 0x02, P2: 0x0C, Data: []byte{byte(fid >> 8), byte(fid)}, Le: -1}); err != nil {
		return nil, fmt.Errorf("select %04X: %w", fid, err)
	}
	head, err := r.transmit(ctx, apdu.Command{INS: apdu.INSReadBinary, Le: 4})
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	tag, n, hl, err := tlv.ParseHeader(head)
	if err != nil {
		return nil, fmt.Errorf("file header: %w", err)
	}
	if tag != wantTag {
		return nil, fmt.Errorf("file starts with tag %X, want %X", tag, wantTag)
	}
	size := hl + n
	if size > maxFileSize {
		return nil, fmt.Errorf("file announces %d bytes, more than the %d READ BINARY can address", size, maxFileSize)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, head[:min(len(head), size)]...)
	for len(buf) < size {
		off := len(buf)
		want := min(size-off, maxChunk)
		chunk, err := r.transmit(ctx, apdu.Command{INS: apdu.INSReadBinary, P1: byte(off >> 8), P2: byte(off), Le: want})
		if err != nil {
			return nil, fmt.Errorf("read at offset %d: %w", off, err)
		}
		if len(chunk) == 0 {
			return nil, fmt.Errorf("read at offset %d: empty answer", off)
		}
		buf = append(buf, chunk[:min(len(chunk), size-off)]...)
	}
	return buf, nil
}

// parseCOM returns the data group numbers EF.COM lists in its tag list
// (5C), mapping each data group's tag to its number (part 10, 4.6.1).
func parseCOM(b []byte) ([]int, error) {
	com, _, err := tlv.ParseOne(b)
	if err != nil {
		return nil, err
	}
	list, ok := com.Find(0x5C)
	if !ok {
		return nil, errors.New("no tag list (5C)")
	}
	var out []int
	for _, t := range list.Value {
		if n, ok := dgByTag[t]; ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// dgByTag maps the tag a data group file starts with to its number.
var dgByTag = map[byte]int{
	0x61: 1, 0x75: 2, 0x63: 3, 0x76: 4, 0x65: 5, 0x66: 6, 0x67: 7, 0x68: 8,
	0x69: 9, 0x6A: 10, 0x6B: 11, 0x6C: 12, 0x6D: 13, 0x6E: 14, 0x6F: 15, 0x70: 16,
}

// parseDG1 decodes DG1: 61 { 5F1F MRZ }.
func parseDG1(b []byte) (MRZ, error) {
	dg, _, err := tlv.ParseOne(b)
	if err != nil {
		return MRZ{}, err
	}
	mrz, ok := dg.Find(0x5F1F)
	if !ok {
		return MRZ{}, errors.New("no MRZ data object (5F1F)")
	}
	return ParseMRZ(string(mrz.Value))
}

// parseDG2 finds the first face image in DG2 (part 10, 4.7.2: biometric
// data block 5F2E or 7F2E holding an ISO/IEC 19794-5 record) and returns
// the JPEG or JPEG 2000 image inside it.
func parseDG2(b []byte) ([]byte, error) {
	dg, _, err := tlv.ParseOne(b)
	if err != nil {
		return nil, err
	}
	var find func(ts []tlv.TLV) []byte
	find = func(ts []tlv.TLV) []byte {
		for _, t := range ts {
			if t.Tag == 0x5F2E || t.Tag == 0x7F2E {
				return t.Value
			}
			if v := find(t.Children); v != nil {
				return v
			}
		}
		return nil
	}
	bdb := find(dg.Children)
	if bdb == nil {
		return nil, errors.New("no biometric data block (5F2E)")
	}
	for _, magic := range [][]byte{{0xFF, 0xD8, 0xFF}, {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50}, {0xFF, 0x4F, 0xFF, 0x51}} {
		if i := bytes.Index(bdb, magic); i >= 0 {
			return bdb[i:], nil
		}
	}
	return nil, errors.New("no JPEG or JPEG 2000 image in the biometric data block")
}
