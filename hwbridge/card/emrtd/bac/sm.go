package bac

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/kioskd/kioskd/hwbridge/card/apdu"
)

// Secure messaging data object tags (ICAO 9303 part 11, 9.8).
const (
	tagCryptogram     = 0x87 // padding-content indicator 01 ‖ encrypted data
	tagCryptogramOdd  = 0x85 // encrypted data for odd INS (no indicator byte)
	tagLe             = 0x97
	tagStatus         = 0x99
	tagChecksum       = 0x8E
	claSM             = 0x0C // CLA bits for "SM, header authenticated"
	paddingIndicator  = 0x01
	maxDOLengthOctets = 2
)

// ErrSMMissing and ErrSMIncorrect are the secure messaging failures a chip
// reports as 6987 and 6988 (ISO/IEC 7816-4 5.6); a reader gets them when an
// answer lacks its MAC or its MAC does not match.
var (
	ErrSMMissing   = errors.New("secure messaging: expected data objects missing")
	ErrSMIncorrect = errors.New("secure messaging: data objects incorrect")
)

// Session is an established secure messaging channel: the session keys
// KS_enc, KS_mac and the send sequence counter. Each protected command and
// each protected answer increments SSC by one (part 11, 9.8.2). A Session
// is used by one goroutine at a time.
type Session struct {
	Keys Keys
	SSC  uint64
}

func (s *Session) sscBytes() []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, s.SSC)
	return b
}

func (s *Session) mac(parts ...[]byte) []byte {
	msg := s.sscBytes()
	for _, p := range parts {
		msg = append(msg, p...)
	}
	return MAC(s.Keys.MAC, msg)
}

// appendDO appends tag ‖ BER length ‖ value.
func appendDO(out []byte, tag byte, val []byte) []byte {
	out = append(out, tag)
	switch n := len(val); {
	case n < 0x80:
		out = append(out, byte(n))
	case n <= 0xFF:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, val...)
}

type dataObject struct {
	tag byte
	val []byte
	end int // offset just past this object in the buffer parsed
}

// parseDOs splits secure messaging data objects. Only one-byte tags and
// lengths of up to two octets occur in secure messaging.
func parseDOs(b []byte) ([]dataObject, error) {
	var out []dataObject
	for i := 0; i < len(b); {
		tag := b[i]
		if tag&0x1F == 0x1F || tag == 0 || tag == 0xFF {
			return nil, fmt.Errorf("%w: unexpected tag %02X", ErrSMIncorrect, tag)
		}
		i++
		if i >= len(b) {
			return nil, fmt.Errorf("%w: data object %02X has no length", ErrSMIncorrect, tag)
		}
		n := int(b[i])
		i++
		if n >= 0x80 {
			k := n & 0x7F
			if k == 0 || k > maxDOLengthOctets || i+k > len(b) {
				return nil, fmt.Errorf("%w: data object %02X has a bad length", ErrSMIncorrect, tag)
			}
			n = 0
			for j := 0; j < k; j++ {
				n = n<<8 | int(b[i+j])
			}
			i += k
		}
		if n > len(b)-i {
			return nil, fmt.Errorf("%w: data object %02X is longer than the data", ErrSMIncorrect, tag)
		}
		out = append(out, dataObject{tag: tag, val: b[i : i+n], end: i + n})
		i += n
	}
	return out, nil
}

// splitMAC checks that the data objects end with exactly one DO8E holding
// an 8-byte MAC and returns the bytes it covers and the MAC.
func splitMAC(b []byte, dos []dataObject) (covered, mac []byte, err error) {
	if len(dos) == 0 || dos[len(dos)-1].tag != tagChecksum {
		return nil, nil, fmt.Errorf("%w: no checksum (8E)", ErrSMMissing)
	}
	last := dos[len(dos)-1]
	if len(last.val) != 8 {
		return nil, nil, fmt.Errorf("%w: checksum of %d bytes, want 8", ErrSMIncorrect, len(last.val))
	}
	start := 0
	if len(dos) > 1 {
		start = dos[len(dos)-2].end
	}
	for _, d := range dos[:len(dos)-1] {
		if d.tag == tagChecksum {
			return nil, nil, fmt.Errorf("%w: more than one checksum", ErrSMIncorrect)
		}
	}
	return b[:start], last.val, nil
}

func (s *Session) decryptDO(d dataObject) ([]byte, error) {
	val := d.val
	if d.tag == tagCryptogram {
		if len(val) < 1 || val[0] != paddingIndicator {
			return nil, fmt.Errorf("%w: cryptogram without padding indicator 01", ErrSMIncorrect)
		}
		val = val[1:]
	}
	if len(val) == 0 || len(val)%8 != 0 {
		return nil, fmt.Errorf("%w: cryptogram of %d bytes is not whole blocks", ErrSMIncorrect, len(val))
	}
	p, err := Decrypt(s.Keys.Enc, val)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSMIncorrect, err)
	}
	plain, err := Unpad(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSMIncorrect, err)
	}
	return plain, nil
}

func encodeLe(le int) []byte {
	switch {
	case le == 0 || le == 256:
		return []byte{0}
	case le < 256:
		return []byte{byte(le)}
	case le == 65536:
		return []byte{0, 0}
	}
	return []byte{byte(le >> 8), byte(le)}
}

// Wrap protects a plain command for the chip (reader side, part 11,
// 9.8.4): the header is authenticated, data goes encrypted in DO87, Le in
// DO97, and the MAC in DO8E; the protected command has Le 00.
func (s *Session) Wrap(c apdu.Command) (apdu.Command, error) {
	if c.CLA&0x0C != 0 {
		return apdu.Command{}, fmt.Errorf("bac: command CLA %02X already marks secure messaging", c.CLA)
	}
	if c.INS&1 == 1 {
		return apdu.Command{}, fmt.Errorf("bac: odd INS %02X is not supported", c.INS)
	}
	s.SSC++
	header := Pad([]byte{c.CLA | claSM, c.INS, c.P1, c.P2})
	var dos []byte
	if len(c.Data) > 0 {
		crypt := append([]byte{paddingIndicator}, Encrypt(s.Keys.Enc, Pad(c.Data))...)
		dos = appendDO(dos, tagCryptogram, crypt)
	}
	if c.Le >= 0 {
		dos = appendDO(dos, tagLe, encodeLe(c.Le))
	}
	data := appendDO(dos, tagChecksum, s.mac(header, dos))
	return apdu.Command{CLA: c.CLA | claSM, INS: c.INS, P1: c.P1, P2: c.P2, Data: data, Le: 0}, nil
}

// Unwrap checks and decrypts the chip's protected answer (reader side,
// part 11, 9.8.5) and returns the plain answer with the status word from
// DO99. A bare status word other than 9000 (the chip has left secure
// messaging, typically 6987/6988) is returned as it is; a bare 9000 is an
// error, as is a missing or wrong MAC.
func (s *Session) Unwrap(r apdu.Response) (apdu.Response, error) {
	s.SSC++
	if len(r.Data) == 0 {
		if r.OK() {
			return apdu.Response{}, fmt.Errorf("%w: answer 9000 is not protected", ErrSMMissing)
		}
		return r, nil
	}
	dos, err := parseDOs(r.Data)
	if err != nil {
		return apdu.Response{}, err
	}
	covered, mac, err := splitMAC(r.Data, dos)
	if err != nil {
		return apdu.Response{}, err
	}
	if subtle.ConstantTimeCompare(s.mac(covered), mac) != 1 {
		return apdu.Response{}, fmt.Errorf("%w: answer MAC does not match", ErrSMIncorrect)
	}
	var out apdu.Response
	var haveSW bool
	for _, d := range dos[:len(dos)-1] {
		switch d.tag {
		case tagCryptogram, tagCryptogramOdd:
			if out.Data != nil {
				return apdu.Response{}, fmt.Errorf("%w: more than one cryptogram", ErrSMIncorrect)
			}
			p, err := s.decryptDO(d)
			if err != nil {
				return apdu.Response{}, err
			}
			out.Data = p
		case tagStatus:
			if len(d.val) != 2 {
				return apdu.Response{}, fmt.Errorf("%w: status object of %d bytes, want 2", ErrSMIncorrect, len(d.val))
			}
			out.SW1, out.SW2, haveSW = d.val[0], d.val[1], true
		default:
			return apdu.Response{}, fmt.Errorf("%w: unexpected data object %02X in answer", ErrSMIncorrect, d.tag)
		}
	}
	if !haveSW {
		return apdu.Response{}, fmt.Errorf("%w: no status object (99)", ErrSMMissing)
	}
	return out, nil
}

// UnwrapCommand checks and decrypts a protected command (chip side). Errors
// wrap ErrSMMissing or ErrSMIncorrect: the chip answers 6987 or 6988 and
// ends the session.
func (s *Session) UnwrapCommand(c apdu.Command) (apdu.Command, error) {
	s.SSC++
	if c.CLA&0x0C != claSM {
		return apdu.Command{}, fmt.Errorf("%w: CLA %02X does not mark secure messaging", ErrSMMissing, c.CLA)
	}
	dos, err := parseDOs(c.Data)
	if err != nil {
		return apdu.Command{}, err
	}
	covered, mac, err := splitMAC(c.Data, dos)
	if err != nil {
		return apdu.Command{}, err
	}
	header := Pad([]byte{c.CLA, c.INS, c.P1, c.P2})
	if subtle.ConstantTimeCompare(s.mac(header, covered), mac) != 1 {
		return apdu.Command{}, fmt.Errorf("%w: command MAC does not match", ErrSMIncorrect)
	}
	plain := apdu.Command{CLA: c.CLA &^ 0x0C, INS: c.INS, P1: c.P1, P2: c.P2, Le: -1}
	for _, d := range dos[:len(dos)-1] {
		switch d.tag {
		case tagCryptogram, tagCryptogramOdd:
			if plain.Data != nil {
				return apdu.Command{}, fmt.Errorf("%w: more than one cryptogram", ErrSMIncorrect)
			}
			p, err := s.decryptDO(d)
			if err != nil {
				return apdu.Command{}, err
			}
			plain.Data = p
		case tagLe:
			switch len(d.val) {
			case 1:
				plain.Le = int(d.val[0])
			case 2:
				plain.Le = int(d.val[0])<<8 | int(d.val[1])
				if plain.Le == 0 {
					plain.Le = 65536
				}
			default:
				return apdu.Command{}, fmt.Errorf("%w: Le object of %d bytes", ErrSMIncorrect, len(d.val))
			}
		default:
			return apdu.Command{}, fmt.Errorf("%w: unexpected data object %02X in command", ErrSMIncorrect, d.tag)
		}
	}
	return plain, nil
}

// WrapResponse protects the chip's plain answer (chip side): data in DO87,
// the status word in DO99, the MAC in DO8E; the outer status word repeats
// the inner one.
func (s *Session) WrapResponse(r apdu.Response) apdu.Response {
	s.SSC++
	var dos []byte
	if len(r.Data) > 0 {
		crypt := append([]byte{paddingIndicator}, Encrypt(s.Keys.Enc, Pad(r.Data))...)
		dos = appendDO(dos, tagCryptogram, crypt)
	}
	dos = appendDO(dos, tagStatus, []byte{r.SW1, r.SW2})
	data := appendDO(dos, tagChecksum, s.mac(dos))
	return apdu.Response{Data: data, SW1: r.SW1, SW2: r.SW2}
}
