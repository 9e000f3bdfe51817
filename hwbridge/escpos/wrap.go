package escpos

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printers cut a line that is longer than the paper wherever the last
// column falls, mid-word ("A S/ERVICE OUTLET"). Encode wraps every Text
// block itself, at word boundaries, before it is sent.

// RuneWidth is how many Font A columns r takes: two for CJK ideographs,
// CJK punctuation, kana, Hangul and fullwidth forms (GB18030 double-byte
// characters print double width), none for a combining mark, one
// otherwise.
func RuneWidth(r rune) int {
	switch {
	case unicode.Is(unicode.Mn, r):
		return 0
	case wide(r):
		return 2
	}
	return 1
}

func wide(r rune) bool {
	return r >= 0x1100 && r <= 0x115F || // Hangul Jamo
		r >= 0x2E80 && r <= 0x303E || // CJK radicals, punctuation
		r >= 0x3041 && r <= 0x33FF || // kana, CJK compatibility
		r >= 0x3400 && r <= 0x4DBF || // CJK extension A
		r >= 0x4E00 && r <= 0x9FFF || // CJK unified ideographs
		r >= 0xA960 && r <= 0xA97F ||
		r >= 0xAC00 && r <= 0xD7A3 || // Hangul syllables
		r >= 0xF900 && r <= 0xFAFF || // CJK compatibility ideographs
		r >= 0xFE30 && r <= 0xFE4F ||
		r >= 0xFF00 && r <= 0xFF60 || // fullwidth forms
		r >= 0xFFE0 && r <= 0xFFE6 ||
		r >= 0x20000 && r <= 0x3FFFD
}

// Width is how many Font A columns s takes at size 1.
func Width(s string) int {
	n := 0
	for _, r := range s {
		n += RuneWidth(r)
	}
	return n
}

// noLineStart are characters a line must not begin with (closing
// punctuation, Chinese line-breaking rules); noLineEnd must not end one.
const (
	noLineStart = "，。、；：？！）》」』】〕〉”’%)]}.,;:?!…·～"
	noLineEnd   = "（《「『【〔〈“‘([{"
)

// Wrap breaks s into lines of at most cols columns. Latin and Vietnamese
// text breaks at spaces only, so a word is never split, unless the word
// alone is longer than a line (a URL); CJK text breaks between any two
// characters, except before closing or after opening punctuation. Spaces
// at a break are dropped. An empty s is one empty line.
func Wrap(s string, cols int) []string {
	if cols < 2 {
		cols = 2
	}
	if Width(s) <= cols {
		return []string{s}
	}
	var lines []string
	var line strings.Builder
	w := 0 // columns in line
	flush := func() {
		lines = append(lines, strings.TrimRight(line.String(), " "))
		line.Reset()
		w = 0
	}
	for _, tok := range tokens(s) {
		tw := Width(tok)
		if tok == " " {
			if w > 0 && w < cols {
				line.WriteByte(' ')
				w++
			}
			continue
		}
		if w+tw > cols && w > 0 {
			// A closing mark that does not fit goes up to the end of the
			// line anyway (one column over is better than a line that
			// starts with "，"): real printers would wrap it, so instead
			// the last character before it comes down with it.
			if first, _ := utf8.DecodeRuneInString(tok); strings.ContainsRune(noLineStart, first) {
				if last := lastRune(line.String()); last != 0 && RuneWidth(last) == 2 {
					rest := strings.TrimSuffix(line.String(), string(last))
					line.Reset()
					line.WriteString(rest)
					flush()
					line.WriteRune(last)
					w = RuneWidth(last)
					line.WriteString(tok)
					w += tw
					continue
				}
			}
			flush()
		}
		for tw > cols {
			// A word longer than a line: cut it where the line ends.
			head, rest := cutWidth(tok, cols-w)
			line.WriteString(head)
			flush()
			tok, tw = rest, Width(rest)
		}
		line.WriteString(tok)
		w += tw
		if last := lastRune(tok); strings.ContainsRune(noLineEnd, last) && w >= cols {
			flush()
		}
	}
	if line.Len() > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}

// tokens splits s into spaces, runs of non-CJK non-space characters (words,
// with their combining marks) and single CJK characters; an opening
// bracket sticks to what follows it.
func tokens(s string) []string {
	var out []string
	var cur strings.Builder
	end := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == ' ':
			end()
			out = append(out, " ")
		case RuneWidth(r) == 2:
			open := strings.ContainsRune(noLineEnd, lastRune(cur.String())) && cur.Len() > 0 && Width(cur.String()) <= 2
			if !open {
				end()
			}
			cur.WriteRune(r)
			if !strings.ContainsRune(noLineEnd, r) {
				end()
			}
		default:
			if cur.Len() > 0 && RuneWidth(lastRune(cur.String())) == 2 && RuneWidth(r) != 0 && !strings.ContainsRune(noLineEnd, lastRune(cur.String())) {
				end()
			}
			cur.WriteRune(r)
		}
	}
	end()
	return out
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	if r == utf8.RuneError {
		return 0
	}
	return r
}

// cutWidth splits s after at most n columns (at least one character, so
// that a wrap always advances).
func cutWidth(s string, n int) (string, string) {
	w := 0
	for i, r := range s {
		rw := RuneWidth(r)
		if w+rw > n && i > 0 {
			return s[:i], s[i:]
		}
		w += rw
	}
	return s, ""
}

// QRLine stands for a QR code in PlainText.
const QRLine = "[QR]"

// PlainText is doc as it comes out of a printer with paper (0: the doc's
// width), one line of text per printed line: Text blocks wrapped as Encode
// wraps them, centred and right-aligned lines padded with spaces (in
// single-width columns), a rule as its dashes, a QR code as QRLine. For a
// preview of the receipt on screen in a monospaced font.
func PlainText(doc Doc, paper Paper) string {
	if paper == 0 {
		paper = doc.Width
	}
	if paper != Paper58 {
		paper = Paper80
	}
	cols := paper.Columns()
	var b strings.Builder
	put := func(s string, a Align) {
		if pad := cols - Width(s); pad > 0 && a == Center {
			s = strings.Repeat(" ", pad/2) + s
		} else if pad > 0 && a == Right {
			s = strings.Repeat(" ", pad) + s
		}
		b.WriteString(strings.TrimRight(s, " "))
		b.WriteByte('\n')
	}
	for _, bl := range doc.Blocks {
		switch v := bl.(type) {
		case Text:
			size := min(max(v.Size, 1), 3)
			for _, l := range Wrap(Clean(v.S), cols/size) {
				put(l, v.Align)
			}
		case Rule:
			put(strings.Repeat("-", cols/2), Center)
		case QR:
			put(QRLine, Center)
		}
	}
	return b.String()
}
