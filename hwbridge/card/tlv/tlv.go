// Package tlv parses and encodes BER-TLV data objects as ISO/IEC 7816-4 and
// ICAO Doc 9303 use them: tags of one to four bytes, short- and long-form
// definite lengths, and constructed objects whose value is itself a sequence
// of data objects.
//
// It does not interpret any tag (that is the card drivers' business), does
// not accept indefinite lengths (which neither ISO 7816-4 files nor the LDS
// use), and does not skip 00/FF padding between objects: callers that read
// padded files trim them first.
package tlv

import (
	"errors"
	"fmt"
)

// ErrSyntax is wrapped by every error Parse and ParseHeader return, so
// callers can tell malformed data from other failures.
var ErrSyntax = errors.New("tlv: malformed data")

// maxDepth bounds the nesting of constructed objects Parse descends into;
// real card data nests a handful of levels.
const maxDepth = 32

// TLV is one data object. Tag holds the tag bytes big-endian (0x5F1F, 0x7F61).
// Value is the raw value; for a constructed object Children holds the value
// parsed as data objects (and Value still holds its bytes).
type TLV struct {
	Tag      uint32
	Value    []byte
	Children []TLV
}

// Constructed reports whether the tag's first byte marks a constructed object
// (bit 6, 0x20).
func (t TLV) Constructed() bool { return IsConstructed(t.Tag) }

// Bytes re-encodes the object (tag ‖ length ‖ Value).
func (t TLV) Bytes() []byte { return Encode(t.Tag, t.Value) }

// Find returns the first child (searching t's children) along path.
func (t TLV) Find(path ...uint32) (TLV, bool) { return Find(t.Children, path...) }

// IsConstructed reports whether tag's first byte has the constructed bit.
func IsConstructed(tag uint32) bool {
	b := TagBytes(tag)
	return len(b) > 0 && b[0]&0x20 != 0
}

// Parse parses b as a sequence of data objects. Constructed objects are
// parsed recursively; every byte of b must belong to an object.
func Parse(b []byte) ([]TLV, error) { return parse(b, 0, 0) }

func parse(b []byte, base, depth int) ([]TLV, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: at offset %d: objects nested more than %d deep", ErrSyntax, base, maxDepth)
	}
	var out []TLV
	off := 0
	for off < len(b) {
		tag, n, hdr, err := header(b[off:], base+off)
		if err != nil {
			return nil, err
		}
		v := b[off+hdr : off+hdr+n]
		t := TLV{Tag: tag, Value: v}
		if IsConstructed(tag) && n > 0 {
			kids, err := parse(v, base+off+hdr, depth+1)
			if err != nil {
				return nil, err
			}
			t.Children = kids
		}
		out = append(out, t)
		off += hdr + n
	}
	return out, nil
}

// ParseOne parses the first data object of b (recursively when constructed)
// and returns the bytes after it.
func ParseOne(b []byte) (TLV, []byte, error) {
	tag, n, hdr, err := header(b, 0)
	if err != nil {
		return TLV{}, nil, err
	}
	t := TLV{Tag: tag, Value: b[hdr : hdr+n]}
	if IsConstructed(tag) && n > 0 {
		if t.Children, err = parse(t.Value, hdr, 1); err != nil {
			return TLV{}, nil, err
		}
	}
	return t, b[hdr+n:], nil
}

// ParseHeader reads only the tag and length at the start of b and returns
// them with the header's size, without requiring the value to be present:
// it is what a reader needs to learn a file's full size from its first bytes.
func ParseHeader(b []byte) (tag uint32, length, headerLen int, err error) {
	tag, hdr, err := readTag(b, 0)
	if err != nil {
		return 0, 0, 0, err
	}
	length, lh, err := readLength(b[hdr:], hdr)
	if err != nil {
		return 0, 0, 0, err
	}
	return tag, length, hdr + lh, nil
}

// header reads a tag and length and checks that the value fits in b.
func header(b []byte, at int) (tag uint32, length, hdrLen int, err error) {
	tag, length, hdrLen, err = ParseHeader(b)
	if err != nil {
		var se *offsetError
		if errors.As(err, &se) {
			se.off += at
		}
		return 0, 0, 0, err
	}
	if length > len(b)-hdrLen {
		return 0, 0, 0, &offsetError{at, fmt.Sprintf("tag %X says %d value bytes but only %d remain", tag, length, len(b)-hdrLen)}
	}
	return tag, length, hdrLen, nil
}

type offsetError struct {
	off int
	msg string
}

func (e *offsetError) Error() string {
	return fmt.Sprintf("%v: at offset %d: %s", ErrSyntax, e.off, e.msg)
}
func (e *offsetError) Unwrap() error { return ErrSyntax }

func readTag(b []byte, at int) (uint32, int, error) {
	if len(b) == 0 {
		return 0, 0, &offsetError{at, "missing tag"}
	}
	tag := uint32(b[0])
	if b[0]&0x1F != 0x1F {
		return tag, 1, nil
	}
	// Multi-byte tag: subsequent bytes have bit 8 set while more follow.
	for i := 1; ; i++ {
		if i >= len(b) {
			return 0, 0, &offsetError{at, "tag truncated"}
		}
		if i >= 4 {
			return 0, 0, &offsetError{at, "tag longer than 4 bytes"}
		}
		tag = tag<<8 | uint32(b[i])
		if b[i]&0x80 == 0 {
			return tag, i + 1, nil
		}
	}
}

func readLength(b []byte, at int) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, &offsetError{at, "missing length"}
	}
	first := b[0]
	if first < 0x80 {
		return int(first), 1, nil
	}
	if first == 0x80 {
		return 0, 0, &offsetError{at, "indefinite length is not allowed"}
	}
	k := int(first & 0x7F)
	if k > 4 {
		return 0, 0, &offsetError{at, fmt.Sprintf("length field of %d bytes is too long", k)}
	}
	if len(b) < 1+k {
		return 0, 0, &offsetError{at, "length truncated"}
	}
	n := 0
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	return n, 1 + k, nil
}

// TagBytes returns the tag's bytes, big-endian, without leading zero bytes
// (a zero tag is the single byte 00).
func TagBytes(tag uint32) []byte {
	switch {
	case tag > 0xFFFFFF:
		return []byte{byte(tag >> 24), byte(tag >> 16), byte(tag >> 8), byte(tag)}
	case tag > 0xFFFF:
		return []byte{byte(tag >> 16), byte(tag >> 8), byte(tag)}
	case tag > 0xFF:
		return []byte{byte(tag >> 8), byte(tag)}
	}
	return []byte{byte(tag)}
}

// EncodeLength returns the BER definite-length encoding of n (short form
// below 128, long form 81 to 84 above).
func EncodeLength(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n <= 0xFF:
		return []byte{0x81, byte(n)}
	case n <= 0xFFFF:
		return []byte{0x82, byte(n >> 8), byte(n)}
	case n <= 0xFFFFFF:
		return []byte{0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return []byte{0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

// Encode returns tag ‖ length ‖ v. To build a constructed object, pass the
// concatenated encodings of its children as v.
func Encode(tag uint32, v []byte) []byte {
	tb := TagBytes(tag)
	lb := EncodeLength(len(v))
	out := make([]byte, 0, len(tb)+len(lb)+len(v))
	out = append(out, tb...)
	out = append(out, lb...)
	return append(out, v...)
}

// Find walks path through ts: the first object with path[0] among ts, then
// the first with path[1] among its children, and so on.
func Find(ts []TLV, path ...uint32) (TLV, bool) {
	if len(path) == 0 {
		return TLV{}, false
	}
	for _, t := range ts {
		if t.Tag != path[0] {
			continue
		}
		if len(path) == 1 {
			return t, true
		}
		return Find(t.Children, path[1:]...)
	}
	return TLV{}, false
}
