// Package apdu encodes and decodes ISO/IEC 7816-4 command and response APDUs
// (short and extended length), names the common status words, and exchanges
// a command with a card while handling the transport-level status words 61XX
// (GET RESPONSE) and 6CXX (re-issue with the right Le) that pcscd leaves to
// the application.
//
// It knows nothing of any particular card's file system or data: drivers in
// hwbridge/card/... build on it, and the card simulator parses with it.
package apdu

import (
	"context"
	"errors"
	"fmt"

	"github.com/kioskd/kioskd/hwbridge"
)

// Common status words (ISO/IEC 7816-4 §5.6).
const (
	SWOK                   uint16 = 0x9000
	SWWrongLength          uint16 = 0x6700
	SWSMNotSupported       uint16 = 0x6882
	SWSecurityNotSatisfied uint16 = 0x6982
	SWAuthBlocked          uint16 = 0x6983
	SWConditionsNotMet     uint16 = 0x6985
	SWCommandNotAllowed    uint16 = 0x6986
	SWSMObjectsMissing     uint16 = 0x6987
	SWSMObjectsIncorrect   uint16 = 0x6988
	SWWrongData            uint16 = 0x6A80
	SWFuncNotSupported     uint16 = 0x6A81
	SWFileNotFound         uint16 = 0x6A82
	SWRecordNotFound       uint16 = 0x6A83
	SWWrongP1P2            uint16 = 0x6A86
	SWDataNotFound         uint16 = 0x6A88
	SWWrongParams          uint16 = 0x6B00
	SWINSNotSupported      uint16 = 0x6D00
	SWCLANotSupported      uint16 = 0x6E00
	SWUnknown              uint16 = 0x6F00
)

// Instruction bytes used by more than one package.
const (
	INSVerify             byte = 0x20
	INSMutualAuth         byte = 0x82
	INSGetChallenge       byte = 0x84
	INSSelect             byte = 0xA4
	INSReadBinary         byte = 0xB0
	INSReadRecord         byte = 0xB2
	INSGetResponse        byte = 0xC0
	maxShortData               = 255
	maxShortLe                 = 256
	maxExtendedLength          = 65535
	maxExtendedLe              = 65536
	maxGetResponseLoops        = 64 // 64 × 256 bytes: far more than any card file we read
	maxWrongLengthRetries      = 2
)

// Command is a command APDU.
//
// Le is the number of response data bytes expected: -1 means no Le field
// (ISO cases 1 and 3); 0 means "up to 256" and is sent as the short Le byte
// 00, as is 256; 1..255 are sent as short Le; 257..65536 force the extended
// encoding (65536 is sent as 0000). Data longer than 255 bytes also forces
// the extended encoding.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	Le               int
}

// String shows the header and lengths only: command data may carry a PIN or
// personal data and must not reach a log.
func (c Command) String() string {
	return fmt.Sprintf("APDU{CLA %02X INS %02X P1 %02X P2 %02X Lc %d Le %d}", c.CLA, c.INS, c.P1, c.P2, len(c.Data), c.Le)
}

// Bytes encodes the command, choosing the short encoding when both Lc and Le
// fit and the extended one otherwise (ISO/IEC 7816-3 §12.1.3).
func (c Command) Bytes() ([]byte, error) {
	if len(c.Data) > maxExtendedLength {
		return nil, fmt.Errorf("apdu: command data of %d bytes is longer than the 65535 an APDU can carry", len(c.Data))
	}
	if c.Le < -1 || c.Le > maxExtendedLe {
		return nil, fmt.Errorf("apdu: Le %d out of range (-1 for none, 0..65536)", c.Le)
	}
	out := make([]byte, 0, 4+3+len(c.Data)+3)
	out = append(out, c.CLA, c.INS, c.P1, c.P2)
	extended := len(c.Data) > maxShortData || c.Le > maxShortLe
	if !extended {
		if len(c.Data) > 0 {
			out = append(out, byte(len(c.Data)))
			out = append(out, c.Data...)
		}
		if c.Le >= 0 {
			out = append(out, byte(c.Le)) // 256 and 0 both encode as 00
		}
		return out, nil
	}
	out = append(out, 0x00)
	if len(c.Data) > 0 {
		out = append(out, byte(len(c.Data)>>8), byte(len(c.Data)))
		out = append(out, c.Data...)
	}
	if c.Le >= 0 {
		le := c.Le
		switch le {
		case 0: // "up to 256" keeps its meaning; extended 0000 would ask for 65536
			le = maxShortLe
		case maxExtendedLe:
			le = 0
		}
		out = append(out, byte(le>>8), byte(le))
	}
	return out, nil
}

// ParseCommand decodes a command APDU in any of the ISO/IEC 7816-3 cases
// 1, 2S/E, 3S/E and 4S/E. A short Le byte 00 is returned as Le 0 ("up to
// 256"), an extended Le 0000 as 65536; an absent Le as -1.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("apdu: command of %d bytes is shorter than the 4-byte header", len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3], Le: -1}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
		return c, nil
	case len(body) == 1: // case 2S
		c.Le = int(body[0])
		return c, nil
	case body[0] != 0: // case 3S or 4S
		lc := int(body[0])
		switch len(body) {
		case 1 + lc:
		case 2 + lc:
			c.Le = int(body[1+lc])
		default:
			return Command{}, fmt.Errorf("apdu: Lc says %d data bytes but %d bytes follow it", lc, len(body)-1)
		}
		c.Data = append([]byte(nil), body[1:1+lc]...)
		return c, nil
	}
	// Extended: body[0] == 00.
	if len(body) < 3 {
		return Command{}, fmt.Errorf("apdu: extended length field is %d bytes, want 3", len(body))
	}
	n := int(body[1])<<8 | int(body[2])
	if len(body) == 3 { // case 2E
		if n == 0 {
			n = maxExtendedLe
		}
		c.Le = n
		return c, nil
	}
	if n == 0 {
		return Command{}, errors.New("apdu: extended Lc is 0 but data follows")
	}
	switch len(body) {
	case 3 + n:
	case 5 + n:
		le := int(body[3+n])<<8 | int(body[4+n])
		if le == 0 {
			le = maxExtendedLe
		}
		c.Le = le
	default:
		return Command{}, fmt.Errorf("apdu: extended Lc says %d data bytes but %d bytes follow it", n, len(body)-3)
	}
	c.Data = append([]byte(nil), body[3:3+n]...)
	return c, nil
}

// Response is a response APDU: data and the two status bytes.
type Response struct {
	Data     []byte
	SW1, SW2 byte
}

// ParseResponse splits a response APDU into data and status bytes. A
// response shorter than two bytes is an error (a dying card behind pcscd
// has been seen to return an empty response without any error).
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("apdu: response of %d bytes has no status word", len(b))
	}
	n := len(b) - 2
	return Response{Data: append([]byte(nil), b[:n]...), SW1: b[n], SW2: b[n+1]}, nil
}

// SW is the status word SW1‖SW2.
func (r Response) SW() uint16 { return uint16(r.SW1)<<8 | uint16(r.SW2) }

// OK reports whether the status word is 9000.
func (r Response) OK() bool { return r.SW() == SWOK }

// Err is nil for 9000 and a *StatusError otherwise.
func (r Response) Err() error {
	if r.OK() {
		return nil
	}
	return &StatusError{SW: r.SW()}
}

// Bytes encodes the response APDU (data ‖ SW1 ‖ SW2).
func (r Response) Bytes() []byte {
	out := make([]byte, 0, len(r.Data)+2)
	out = append(out, r.Data...)
	return append(out, r.SW1, r.SW2)
}

// StatusWord returns a response APDU consisting of the status word sw
// preceded by data.
func StatusWord(sw uint16, data ...byte) []byte {
	out := make([]byte, 0, len(data)+2)
	out = append(out, data...)
	return append(out, byte(sw>>8), byte(sw))
}

// StatusError is a status word other than 9000 returned by a card.
type StatusError struct{ SW uint16 }

func (e *StatusError) Error() string {
	return fmt.Sprintf("card answered %04X (%s)", e.SW, Describe(e.SW))
}

// Describe puts a status word in plain words.
func Describe(sw uint16) string {
	switch sw1 := byte(sw >> 8); {
	case sw == SWOK:
		return "success"
	case sw1 == 0x61:
		return fmt.Sprintf("%d more response bytes available", lenOrMax(byte(sw)))
	case sw1 == 0x6C:
		return fmt.Sprintf("wrong Le, the card has %d bytes", lenOrMax(byte(sw)))
	case sw&0xFFF0 == 0x63C0:
		return fmt.Sprintf("verification failed, %d tries left", sw&0x0F)
	}
	switch sw {
	case 0x6281:
		return "part of the returned data may be corrupted"
	case 0x6282:
		return "end of file or record reached before Le bytes"
	case 0x6283:
		return "selected file deactivated"
	case 0x6300:
		return "verification failed"
	case 0x6581:
		return "memory failure"
	case SWWrongLength:
		return "wrong length"
	case 0x6881:
		return "logical channel not supported"
	case SWSMNotSupported:
		return "secure messaging not supported"
	case SWSecurityNotSatisfied:
		return "security status not satisfied"
	case SWAuthBlocked:
		return "authentication method blocked"
	case 0x6984:
		return "reference data not usable"
	case SWConditionsNotMet:
		return "conditions of use not satisfied"
	case SWCommandNotAllowed:
		return "command not allowed (no current file)"
	case SWSMObjectsMissing:
		return "expected secure messaging data objects missing"
	case SWSMObjectsIncorrect:
		return "secure messaging data objects incorrect"
	case SWWrongData:
		return "incorrect parameters in the data field"
	case SWFuncNotSupported:
		return "function not supported"
	case SWFileNotFound:
		return "file or application not found"
	case SWRecordNotFound:
		return "record not found"
	case 0x6A84:
		return "not enough memory space in the file"
	case SWWrongP1P2:
		return "incorrect parameters P1-P2"
	case SWDataNotFound:
		return "referenced data not found"
	case SWWrongParams:
		return "wrong parameters P1-P2"
	case SWINSNotSupported:
		return "instruction not supported"
	case SWCLANotSupported:
		return "class not supported"
	case SWUnknown:
		return "no precise diagnosis"
	}
	return "unknown status"
}

func lenOrMax(b byte) int {
	if b == 0 {
		return 256
	}
	return int(b)
}

// Exchange sends c to the card and returns the card's final answer. It
// handles the transport status words that pcscd leaves to the application:
// on 61XX it sends GET RESPONSE (00 C0 00 00 XX) and concatenates the data
// until the card answers otherwise; on 6CXX it re-sends c with Le = XX.
// A status word other than 9000 is not an error here: the caller reads it
// from the Response (Response.Err turns it into a *StatusError). Errors are
// transport failures, malformed responses and ctx being done.
func Exchange(ctx context.Context, card hwbridge.Card, c Command) (Response, error) {
	r, err := transmit(ctx, card, c)
	for i := 0; err == nil && r.SW1 == 0x6C; i++ {
		if i >= maxWrongLengthRetries {
			return Response{}, fmt.Errorf("apdu: card keeps answering wrong Le (%04X) for INS %02X", r.SW(), c.INS)
		}
		c.Le = lenOrMax(r.SW2)
		r, err = transmit(ctx, card, c)
	}
	if err != nil {
		return Response{}, err
	}
	data := r.Data
	for i := 0; r.SW1 == 0x61; i++ {
		if i >= maxGetResponseLoops {
			return Response{}, fmt.Errorf("apdu: card keeps answering 61XX after %d GET RESPONSE commands", i)
		}
		gr := Command{CLA: c.CLA & 0x03, INS: INSGetResponse, Le: int(r.SW2)} // CLA keeps the logical channel only
		r, err = transmit(ctx, card, gr)
		if err != nil {
			return Response{}, fmt.Errorf("apdu: GET RESPONSE: %w", err)
		}
		data = append(data, r.Data...)
	}
	r.Data = data
	return r, nil
}

// Transmit sends c once and parses the answer, without acting on 61XX or
// 6CXX: for commands where the caller decides, such as a SELECT whose FCI
// (offered with 61XX) it does not need.
func Transmit(ctx context.Context, card hwbridge.Card, c Command) (Response, error) {
	return transmit(ctx, card, c)
}

func transmit(ctx context.Context, card hwbridge.Card, c Command) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	b, err := c.Bytes()
	if err != nil {
		return Response{}, err
	}
	raw, err := card.Transmit(ctx, b)
	if err != nil {
		return Response{}, fmt.Errorf("apdu: transmit INS %02X: %w", c.INS, err)
	}
	r, err := ParseResponse(raw)
	if err != nil {
		return Response{}, fmt.Errorf("apdu: INS %02X: %w", c.INS, err)
	}
	return r, nil
}
