package escpos

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/skip2/go-qrcode"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/unicode/norm"
)

// Command prefixes and single-byte controls (DOMAIN.md, ESC/POS).
const (
	LF  byte = 0x0A
	ESC byte = 0x1B
	GS  byte = 0x1D
	FS  byte = 0x1C
	DLE byte = 0x10
	EOT byte = 0x04
	XON byte = 0x11 // DC1: the printer can take data again
	// XOFF (DC3) asks the host to stop sending: the printer's buffer is full.
	XOFF byte = 0x13
)

// MaxQRData is the longest QR payload Encode accepts: a receipt QR holds a
// lookup URL, and a longer payload would not scan from thermal paper.
const MaxQRData = 512

// ErrQRTooLong is returned by Encode for a QR block over MaxQRData bytes.
var ErrQRTooLong = errors.New("escpos: QR data longer than 512 bytes")

// Clean removes every control character (C0 including ESC, GS, FS and DLE,
// DEL and C1), invalid UTF-8, U+FFFD, zero-width and bidirectional
// controls from s, turning tabs and line breaks into
// spaces. Encode applies it to every text and QR payload.
func Clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError:
			// invalid byte (or U+FFFD standing for one): dropped
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r < 0x20 || (r >= 0x7F && r <= 0x9F):
			// C0, DEL, C1
		case r == 0x2028 || r == 0x2029 || r == 0xFEFF || (r >= 0x200B && r <= 0x200F) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069):
			// line/paragraph separators, zero-width and bidi controls
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Encode turns doc into ESC/POS bytes for a printer described by opt.
func Encode(doc Doc, opt Options) ([]byte, error) {
	e := encoder{opt: opt, lang: doc.Lang, table: -1}
	e.paper = opt.Paper
	if e.paper == 0 {
		e.paper = doc.Width
	}
	if e.paper != Paper58 && e.paper != Paper80 {
		if e.paper != 0 {
			return nil, fmt.Errorf("escpos: paper width %d mm: want 58 or 80", e.paper)
		}
		e.paper = Paper80
	}
	// ESC @ leaves the printer left-aligned, not bold, at size 1, out of
	// double-byte mode: nothing of that is sent again until it changes.
	e.b.Write([]byte{ESC, '@'}) // ESC @: initialise
	e.align, e.bold, e.size = Left, false, 1
	for i, bl := range doc.Blocks {
		var err error
		switch v := bl.(type) {
		case Text:
			err = e.text(v)
		case Rule:
			// Half the paper's width, centred: it separates as well as a
			// full line of dashes, in half the bytes.
			e.style(Center, false, 1)
			e.kanjiFor(scriptASCII)
			e.b.WriteString(strings.Repeat("-", e.paper.Columns()/2))
			e.b.WriteByte(LF)
		case QR:
			err = e.qr(v)
		case Feed:
			if v < 0 || v > 255 {
				err = fmt.Errorf("feed of %d lines: want 0..255", int(v))
				break
			}
			if i+1 < len(doc.Blocks) {
				if _, cut := doc.Blocks[i+1].(Cut); cut && int(v)*lineDots <= 255 {
					// GS V 66 n feeds n motion units (1/203 in) then cuts:
					// the feed rides on the cut command.
					e.cutFeed = int(v) * lineDots
					continue
				}
			}
			e.b.Write([]byte{ESC, 'd', byte(v)}) // ESC d n: feed n lines
		case Cut:
			e.b.Write([]byte{GS, 'V', 'B', byte(e.cutFeed)}) // GS V 66 n: feed n dots to the cutter and cut
			e.cutFeed = 0
		case nil:
			err = errors.New("nil block")
		default:
			err = fmt.Errorf("unknown block type %T", bl)
		}
		if err != nil {
			return nil, fmt.Errorf("escpos: block %d: %w", i, err)
		}
	}
	return e.b.Bytes(), nil
}

// lineDots is one text line's feed at the default line spacing (ESC 2:
// 1/6 inch at 203 dpi), for a Feed merged into the cut.
const lineDots = 34

type encoder struct {
	b     bytes.Buffer
	opt   Options
	paper Paper
	lang  string
	// current printer state, so that a command is only sent on change
	align   Align
	bold    bool
	size    int
	table   int  // ESC t table in force, -1 = not sent yet
	kanji   bool // FS & in force
	cutFeed int  // dots the next cut feeds first
}

func (e *encoder) style(a Align, bold bool, size int) {
	if a != e.align {
		e.b.Write([]byte{ESC, 'a', byte(a)}) // ESC a n: justification
	}
	if bold != e.bold {
		n := byte(0)
		if bold {
			n = 1
		}
		e.b.Write([]byte{ESC, 'E', n}) // ESC E n: emphasis
	}
	if size != e.size {
		m := byte(size - 1)
		e.b.Write([]byte{GS, '!', m<<4 | m}) // GS ! n: width and height magnification
	}
	e.align, e.bold, e.size = a, bold, size
}

// kanjiFor enters or leaves double-byte mode for a line of script sc. In
// double-byte (GB18030) mode ASCII bytes still print as themselves, so the
// mode stays on across ASCII lines; only a single-byte code table line
// (CP1258) needs it off.
func (e *encoder) kanjiFor(sc script) {
	switch {
	case sc == scriptCJK && !e.kanji:
		e.b.Write([]byte{FS, '&'}) // FS &: double-byte (GB18030) mode on
		e.kanji = true
	case sc == scriptViet && e.kanji:
		e.b.Write([]byte{FS, '.'}) // FS .: double-byte mode off
		e.kanji = false
	}
}

func (e *encoder) selectTable(t byte) {
	if e.table != int(t) {
		e.b.Write([]byte{ESC, 't', t}) // ESC t n: character code table
		e.table = int(t)
	}
}

// script classifies a cleaned line: which encoding carries it.
type script int

const (
	scriptASCII script = iota
	scriptViet
	scriptCJK
)

func classify(s, lang string) script {
	ascii := true
	for _, r := range s {
		if r >= 0x80 {
			ascii = false
			if unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF) {
				return scriptCJK
			}
		}
	}
	if ascii {
		return scriptASCII
	}
	if _, ok := toCP1258(s); ok {
		return scriptViet
	}
	if strings.HasPrefix(lang, "vi") {
		return scriptViet // unencodable characters become '?'
	}
	return scriptCJK // GB18030 carries every Unicode character
}

func (e *encoder) text(t Text) error {
	size := t.Size
	if size == 0 {
		size = 1
	}
	if size < 1 || size > 3 {
		return fmt.Errorf("text size %d: want 1..3", t.Size)
	}
	if t.Align > Right {
		return fmt.Errorf("text alignment %d: want 0..2", t.Align)
	}
	s := Clean(t.S)
	sc := classify(s, e.lang)
	for _, line := range Wrap(s, e.paper.Columns()/size) {
		if err := e.line(line, sc, t, size); err != nil {
			return err
		}
	}
	return nil
}

// line sends one wrapped line of a Text block.
func (e *encoder) line(s string, sc script, t Text, size int) error {
	if sc == scriptViet && e.opt.Viet == VietRaster {
		e.style(t.Align, t.Bold, 1)
		return e.rasterText(s, size, t.Bold)
	}
	e.style(t.Align, t.Bold, size)
	e.kanjiFor(sc)
	switch sc {
	case scriptASCII:
		e.b.WriteString(s)
	case scriptViet:
		enc, _ := toCP1258(s)
		e.selectTable(e.opt.cp1258())
		e.b.Write(enc)
	case scriptCJK:
		enc, err := simplifiedchinese.GB18030.NewEncoder().String(s)
		if err != nil {
			return fmt.Errorf("encode text as GB18030: %w", err)
		}
		e.b.WriteString(enc)
	}
	e.b.WriteByte(LF)
	return nil
}

// Vietnamese letters in CP1258: the base letters with circumflex, breve and
// horn are precomposed in the table, the five tone marks are combining
// characters (U+0300 grave, U+0301 acute, U+0303 tilde, U+0309 hook above,
// U+0323 dot below). So: decompose (NFD), recompose each base letter with its
// non-tone marks where the table has the result, keep tone marks combining.
func isTone(r rune) bool {
	switch r {
	case 0x0300, 0x0301, 0x0303, 0x0309, 0x0323:
		return true
	}
	return false
}

// toCP1258 encodes s in Windows-1258. ok is false when some character has no
// CP1258 form; it is then sent as '?'.
func toCP1258(s string) (out []byte, ok bool) {
	ok = true
	enc := charmap.Windows1258
	runes := []rune(norm.NFD.String(s))
	for i := 0; i < len(runes); {
		base := runes[i]
		i++
		var marks, tones []rune
		for i < len(runes) && unicode.Is(unicode.Mn, runes[i]) {
			if isTone(runes[i]) {
				tones = append(tones, runes[i])
			} else {
				marks = append(marks, runes[i])
			}
			i++
		}
		if len(marks) > 0 {
			c := []rune(norm.NFC.String(string(base) + string(marks)))
			if len(c) == 1 {
				base, marks = c[0], nil
			}
		}
		for _, r := range append(append([]rune{base}, marks...), tones...) {
			if b, found := enc.EncodeRune(r); found && b >= 0x20 && b != 0x7F {
				out = append(out, b)
			} else {
				out = append(out, '?')
				ok = false
			}
		}
	}
	return out, ok
}

// qr sends a QR code natively (GS ( k, model 2) or as a raster image.
func (e *encoder) qr(q QR) error {
	data := Clean(q.Data)
	if data == "" {
		return errors.New("empty QR data")
	}
	if len(data) > MaxQRData {
		return ErrQRTooLong
	}
	e.style(Center, false, 1)
	// one blank line above: the quiet zone a scanner needs (the LF after
	// the code gives the one below); every block ends its line, so a bare
	// LF is that blank line
	e.b.WriteByte(LF)
	module := byte(6)
	if e.paper == Paper58 {
		module = 4
	}
	if e.opt.QR == QRRaster {
		code, err := qrcode.New(data, qrcode.Medium)
		if err != nil {
			return fmt.Errorf("QR code: %w", err)
		}
		code.DisableBorder = true
		bm := code.Bitmap()
		e.raster(bm, int(module))
		return nil
	}
	// GS ( k pL pH cn fn ...: cn = 49 (QR). fn 65: model 2; fn 67: module
	// size; fn 69: error correction M (49); fn 80: store; fn 81: print.
	e.b.Write([]byte{GS, '(', 'k', 4, 0, 49, 65, 50, 0})
	e.b.Write([]byte{GS, '(', 'k', 3, 0, 49, 67, module})
	e.b.Write([]byte{GS, '(', 'k', 3, 0, 49, 69, 49})
	n := len(data) + 3
	e.b.Write([]byte{GS, '(', 'k', byte(n), byte(n >> 8), 49, 80, 48})
	e.b.WriteString(data)
	e.b.Write([]byte{GS, '(', 'k', 3, 0, 49, 81, 48})
	e.b.WriteByte(LF)
	return nil
}

// raster sends a bitmap (true = black) scaled by scale with GS v 0 m xL xH
// yL yH d1...dk: x is the width in bytes, y the height in dots.
func (e *encoder) raster(bm [][]bool, scale int) {
	if len(bm) == 0 {
		return
	}
	w := len(bm[0]) * scale
	if max := e.paper.Dots(); w > max {
		scale = max / len(bm[0])
		w = len(bm[0]) * scale
	}
	h := len(bm) * scale
	xb := (w + 7) / 8
	e.b.Write([]byte{GS, 'v', '0', 0, byte(xb), byte(xb >> 8), byte(h), byte(h >> 8)})
	row := make([]byte, xb)
	for y := 0; y < h; y++ {
		clear(row)
		src := bm[y/scale]
		for x := 0; x < w; x++ {
			if src[x/scale] {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
		e.b.Write(row)
	}
	e.b.WriteByte(LF)
}
