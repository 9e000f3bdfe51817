package emrtd

import (
	"errors"
	"fmt"
)

// maxBERDepth bounds the nesting normalizeBER follows.
const maxBERDepth = 32

var errBER = errors.New("malformed BER encoding")

// normalizeBER re-encodes BER framing as DER framing: indefinite lengths
// become definite and every length takes its shortest form. Values of
// primitive objects are kept as they are. Some issuers write EF.SOD this
// way; encoding/asn1 accepts only the DER form.
func normalizeBER(b []byte) ([]byte, error) {
	out, rest, err := berObject(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the object", errBER, len(rest))
	}
	return out, nil
}

// berObject normalizes the first object of b and returns the bytes after it.
func berObject(b []byte, depth int) (out, rest []byte, err error) {
	if depth > maxBERDepth {
		return nil, nil, fmt.Errorf("%w: nested too deep", errBER)
	}
	if len(b) < 2 {
		return nil, nil, fmt.Errorf("%w: truncated header", errBER)
	}
	i := 1
	if b[0]&0x1F == 0x1F {
		for {
			if i >= len(b) || i > 4 {
				return nil, nil, fmt.Errorf("%w: bad tag", errBER)
			}
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	tag := b[:i]
	constructed := b[0]&0x20 != 0
	if i >= len(b) {
		return nil, nil, fmt.Errorf("%w: truncated length", errBER)
	}
	l := int(b[i])
	i++
	if l == 0x80 { // indefinite: children up to the end-of-contents octets 00 00
		if !constructed {
			return nil, nil, fmt.Errorf("%w: indefinite length on a primitive object", errBER)
		}
		var content []byte
		r := b[i:]
		for {
			if len(r) >= 2 && r[0] == 0 && r[1] == 0 {
				return encodeObject(tag, content), r[2:], nil
			}
			if len(r) == 0 {
				return nil, nil, fmt.Errorf("%w: no end-of-contents", errBER)
			}
			var child []byte
			if child, r, err = berObject(r, depth+1); err != nil {
				return nil, nil, err
			}
			content = append(content, child...)
		}
	}
	if l > 0x80 {
		k := l & 0x7F
		if k > 3 || i+k > len(b) {
			return nil, nil, fmt.Errorf("%w: bad length", errBER)
		}
		l = 0
		for j := 0; j < k; j++ {
			l = l<<8 | int(b[i+j])
		}
		i += k
	}
	if l > len(b)-i {
		return nil, nil, fmt.Errorf("%w: object longer than the data", errBER)
	}
	val := b[i : i+l]
	if !constructed {
		return encodeObject(tag, val), b[i+l:], nil
	}
	var content []byte
	for r := val; len(r) > 0; {
		var child []byte
		if child, r, err = berObject(r, depth+1); err != nil {
			return nil, nil, err
		}
		content = append(content, child...)
	}
	return encodeObject(tag, content), b[i+l:], nil
}

func encodeObject(tag, val []byte) []byte {
	out := append([]byte(nil), tag...)
	switch n := len(val); {
	case n < 0x80:
		out = append(out, byte(n))
	case n <= 0xFF:
		out = append(out, 0x81, byte(n))
	case n <= 0xFFFF:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, val...)
}
