// Package escpos turns a small receipt document model (text lines with
// emphasis, size and alignment, rules, QR codes, feeds and cuts) into the
// ESC/POS bytes a thermal receipt printer understands, scans such bytes back
// into commands, and decodes the printer's real-time status replies.
//
// It owns the byte-level protocol only: it opens no port, keeps no printer
// state and knows nothing of what a receipt says (package kiosk/receipt
// decides that). User text can never become a command: every control
// character is removed from text before it is encoded, and the encodings
// used (ASCII, GB18030, CP1258) never produce a byte below 0x20 from the
// printable characters that remain.
//
// Byte sequences follow Epson's ESC/POS command reference; the comment on
// each names its command (ESC @, GS V, GS ( k, DLE EOT, ...).
package escpos

// Paper is the paper roll width in millimetres.
type Paper int

const (
	Paper58 Paper = 58
	Paper80 Paper = 80
)

// Columns is how many single-width (Font A) characters fit on one line.
func (p Paper) Columns() int {
	if p == Paper58 {
		return 32
	}
	return 48
}

// Dots is the printable width in dots at 203 dpi.
func (p Paper) Dots() int {
	if p == Paper58 {
		return 384
	}
	return 576
}

// Align is the horizontal alignment of a block (ESC a n).
type Align byte

const (
	Left   Align = 0
	Center Align = 1
	Right  Align = 2
)

// Block is one element of a Doc: Text, Rule, QR, Feed or Cut.
type Block interface{ block() }

// Text is one line (the printer wraps it when it is longer than the paper).
// Size is the character magnification 1..3 (0 means 1). Control characters
// in S are removed; tabs and line breaks become spaces.
type Text struct {
	S     string
	Bold  bool
	Size  int
	Align Align
}

// Rule is a full-width horizontal line of dashes.
type Rule struct{}

// QR is a QR code of Data, centred.
type QR struct{ Data string }

// Feed advances the paper by n lines.
type Feed int

// Cut feeds the paper to the cutter and cuts it: the end of a receipt.
type Cut struct{}

func (Text) block() {}
func (Rule) block() {}
func (QR) block()   {}
func (Feed) block() {}
func (Cut) block()  {}

// Doc is a receipt. Lang is the BCP 47 tag of its main language ("zh-CN",
// "vi", "en"); it selects how non-ASCII text is sent when a line could go
// either way. Width is the paper the layout was made for; Options.Paper,
// when set, wins (it is what the printer really has).
type Doc struct {
	Width  Paper
	Lang   string
	Blocks []Block
}

// QRMode says how QR codes are sent.
type QRMode int

const (
	// QRNative uses the printer's own QR generator (GS ( k): a few bytes.
	QRNative QRMode = iota
	// QRRaster sends the QR as a bitmap (GS v 0), for printers without it.
	QRRaster
)

// VietMode says how Vietnamese text is sent.
type VietMode int

const (
	// VietCP1258 selects the printer's CP1258 code table (ESC t Codepage)
	// and sends letters with decomposed tone marks.
	VietCP1258 VietMode = iota
	// VietRaster draws Vietnamese lines as bitmaps (GS v 0), for printers
	// with no CP1258 table.
	VietRaster
)

// DefaultCP1258Table is the Epson code table number of CP1258 (ESC t 52).
// Chinese-made printers often use another number: it is configuration.
const DefaultCP1258Table byte = 52

// Options describe the printer the bytes are for.
type Options struct {
	Paper Paper
	QR    QRMode
	Viet  VietMode
	// Codepage is the printer's code table number for CP1258; 0 means
	// DefaultCP1258Table (table 0 is PC437, which has no Vietnamese).
	Codepage byte
}

func (o Options) cp1258() byte {
	if o.Codepage == 0 {
		return DefaultCP1258Table
	}
	return o.Codepage
}
