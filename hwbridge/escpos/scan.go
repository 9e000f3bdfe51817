package escpos

import (
	"errors"
	"fmt"
)

// Op names one ESC/POS command that Encode emits (and the virtual printer
// understands).
type Op int

const (
	OpText       Op = iota // printable bytes; Data holds them
	OpLF                   // LF: print the line
	OpInit                 // ESC @
	OpBold                 // ESC E n
	OpAlign                // ESC a n
	OpSize                 // GS ! n
	OpFeed                 // ESC d n
	OpTable                // ESC t n
	OpKanjiOn              // FS &
	OpKanjiOff             // FS .
	OpCut                  // GS V m [n]
	OpQRModel              // GS ( k ... fn 65
	OpQRSize               // GS ( k ... fn 67
	OpQRLevel              // GS ( k ... fn 69
	OpQRStore              // GS ( k ... fn 80; Data holds the payload
	OpQRPrint              // GS ( k ... fn 81
	OpRaster               // GS v 0; W (dots), H (dots), Data (rows)
	OpStatus               // DLE EOT n: real-time status request
	OpAutoStatus           // GS a n: automatic status back
	OpCR                   // CR: ignored by printers in LF mode
)

var opNames = [...]string{"text", "LF", "ESC @", "ESC E", "ESC a", "GS !", "ESC d", "ESC t", "FS &", "FS .", "GS V",
	"QR model", "QR size", "QR level", "QR store", "QR print", "GS v 0", "DLE EOT", "GS a", "CR"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", int(o))
}

// Command is one scanned command. Arg is its parameter byte where it has
// one; Data aliases the scanned buffer.
type Command struct {
	Op   Op
	Arg  byte
	Data []byte
	W, H int
}

// ErrIncomplete means the buffer ends inside a command: read more bytes and
// scan again from the same position.
var ErrIncomplete = errors.New("escpos: incomplete command")

// UnknownError reports bytes that are not a command this package knows.
// Skip says how many bytes to drop to resynchronise.
type UnknownError struct {
	Bytes []byte
	Skip  int
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("escpos: unknown command % X", e.Bytes)
}

// maxRaster bounds a GS v 0 image the scanner accepts (a 80 mm wide image
// 2,000 dots high), so a corrupt header cannot make a reader wait forever.
const maxRaster = 72 * 2000

// Next scans one command at the start of b and returns it with the number
// of bytes it took. It returns ErrIncomplete when b ends inside a command
// and an *UnknownError for bytes that are no known command. XON and XOFF
// never appear in this direction (host to printer) and are unknown here.
func Next(b []byte) (Command, int, error) {
	if len(b) == 0 {
		return Command{}, 0, ErrIncomplete
	}
	c := b[0]
	if c >= 0x20 && c != 0x7F {
		n := 1
		for n < len(b) && b[n] >= 0x20 && b[n] != 0x7F {
			n++
		}
		return Command{Op: OpText, Data: b[:n]}, n, nil
	}
	need := func(n int) error {
		if len(b) < n {
			return ErrIncomplete
		}
		return nil
	}
	unknown := func(n int) (Command, int, error) {
		return Command{}, 0, &UnknownError{Bytes: b[:n], Skip: n}
	}
	switch c {
	case LF:
		return Command{Op: OpLF}, 1, nil
	case '\r':
		return Command{Op: OpCR}, 1, nil
	case DLE:
		if err := need(3); err != nil {
			return Command{}, 0, err
		}
		if b[1] == EOT && b[2] >= 1 && b[2] <= 4 {
			return Command{Op: OpStatus, Arg: b[2]}, 3, nil
		}
		return unknown(2)
	case FS:
		if err := need(2); err != nil {
			return Command{}, 0, err
		}
		switch b[1] {
		case '&':
			return Command{Op: OpKanjiOn}, 2, nil
		case '.':
			return Command{Op: OpKanjiOff}, 2, nil
		}
		return unknown(2)
	case ESC:
		if err := need(2); err != nil {
			return Command{}, 0, err
		}
		if b[1] == '@' {
			return Command{Op: OpInit}, 2, nil
		}
		op, ok := map[byte]Op{'E': OpBold, 'a': OpAlign, 'd': OpFeed, 't': OpTable}[b[1]]
		if !ok {
			return unknown(2)
		}
		if err := need(3); err != nil {
			return Command{}, 0, err
		}
		return Command{Op: op, Arg: b[2]}, 3, nil
	case GS:
		if err := need(2); err != nil {
			return Command{}, 0, err
		}
		switch b[1] {
		case '!', 'a':
			if err := need(3); err != nil {
				return Command{}, 0, err
			}
			op := OpSize
			if b[1] == 'a' {
				op = OpAutoStatus
			}
			return Command{Op: op, Arg: b[2]}, 3, nil
		case 'V':
			if err := need(3); err != nil {
				return Command{}, 0, err
			}
			switch b[2] {
			case 0, 1, '0', '1':
				return Command{Op: OpCut, Arg: b[2]}, 3, nil
			case 'A', 'B':
				if err := need(4); err != nil {
					return Command{}, 0, err
				}
				return Command{Op: OpCut, Arg: b[2]}, 4, nil
			}
			return unknown(3)
		case '(':
			return scanQR(b)
		case 'v':
			if err := need(8); err != nil {
				return Command{}, 0, err
			}
			if b[2] != '0' || b[3] > 3 {
				return unknown(4)
			}
			xb := int(b[4]) | int(b[5])<<8
			h := int(b[6]) | int(b[7])<<8
			if xb == 0 || h == 0 || xb*h > maxRaster {
				return unknown(8)
			}
			if err := need(8 + xb*h); err != nil {
				return Command{}, 0, err
			}
			return Command{Op: OpRaster, Arg: b[3], W: xb * 8, H: h, Data: b[8 : 8+xb*h]}, 8 + xb*h, nil
		}
		return unknown(2)
	}
	return unknown(1)
}

// scanQR scans GS ( k pL pH cn fn ... for cn 49 (QR code).
func scanQR(b []byte) (Command, int, error) {
	if len(b) < 7 {
		return Command{}, 0, ErrIncomplete
	}
	if b[2] != 'k' {
		return Command{}, 0, &UnknownError{Bytes: b[:3], Skip: 3}
	}
	n := int(b[3]) | int(b[4])<<8
	if n < 2 || b[5] != 49 {
		return Command{}, 0, &UnknownError{Bytes: b[:6], Skip: 5}
	}
	if len(b) < 5+n {
		return Command{}, 0, ErrIncomplete
	}
	p := b[7 : 5+n]
	fn := b[6]
	bad := &UnknownError{Bytes: b[:7], Skip: 5 + n}
	switch fn {
	case 65:
		if len(p) != 2 {
			return Command{}, 0, bad
		}
		return Command{Op: OpQRModel, Arg: p[0]}, 5 + n, nil
	case 67, 69:
		if len(p) != 1 {
			return Command{}, 0, bad
		}
		op := OpQRSize
		if fn == 69 {
			op = OpQRLevel
		}
		return Command{Op: op, Arg: p[0]}, 5 + n, nil
	case 80:
		if len(p) < 1 || p[0] != 48 {
			return Command{}, 0, bad
		}
		return Command{Op: OpQRStore, Data: p[1:]}, 5 + n, nil
	case 81:
		if len(p) != 1 || p[0] != 48 {
			return Command{}, 0, bad
		}
		return Command{Op: OpQRPrint}, 5 + n, nil
	}
	return Command{}, 0, bad
}

// Scan splits a whole byte string into commands; it fails at the first
// unknown or incomplete one.
func Scan(b []byte) ([]Command, error) {
	var out []Command
	for off := 0; off < len(b); {
		c, n, err := Next(b[off:])
		if err != nil {
			return out, fmt.Errorf("at byte %d: %w", off, err)
		}
		out = append(out, c)
		off += n
	}
	return out, nil
}
