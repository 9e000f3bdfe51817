package escpos

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/unicode/norm"
)

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"张三", "张三"},
		{"a\x1b@b", "a@b"},
		{"a\x1dV\x00b", "aVb"},
		{"\x10\x04\x01x", "\x01x"[1:]},
		{"tab\there\nnext", "tab here next"},
		{"del\x7f c1\u0085\u009b.", "del c1."},
		{"bad\xffutf8\ufffd", "badutf8"},
		{"rtl\u202eoverride", "rtloverride"},
		{"Nguyễn", "Nguyễn"},
	}
	for _, tt := range tests {
		if got := Clean(tt.in); got != tt.want {
			t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// texts returns the printable lines of out, decoded the way the printer
// would: GB18030 inside FS & ... FS ., CP1258 after ESC t 52, ASCII else.
func texts(t *testing.T, out []byte) []string {
	t.Helper()
	cmds, err := Scan(out)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	var lines []string
	var cur strings.Builder
	kanji, table := false, byte(0)
	for _, c := range cmds {
		switch c.Op {
		case OpKanjiOn:
			kanji = true
		case OpKanjiOff:
			kanji = false
		case OpTable:
			table = c.Arg
		case OpLF:
			lines = append(lines, cur.String())
			cur.Reset()
		case OpText:
			switch {
			case kanji:
				s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(c.Data)
				if err != nil {
					t.Fatalf("GB18030: %v", err)
				}
				cur.Write(s)
			case table == DefaultCP1258Table:
				s, _ := charmap.Windows1258.NewDecoder().Bytes(c.Data)
				cur.WriteString(norm.NFC.String(string(s)))
			default:
				cur.Write(c.Data)
			}
		}
	}
	return lines
}

func TestEncodeLanguages(t *testing.T) {
	doc := Doc{Width: Paper80, Blocks: []Block{
		Text{S: "临时挂失 凭证", Bold: true, Size: 2, Align: Center},
		Text{S: "Báo mất thẻ tạm thời: Nguyễn Thị Ánh, Đặng Hồng Ngọc, ưởng"},
		Text{S: "Voucher 01234-000042-7"},
		Rule{},
		QR{Data: "https://x.example/v/01234-000042-7"},
		Feed(3),
		Cut{},
	}}
	out, err := Encode(doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte{0x1B, 0x40}) {
		t.Errorf("output does not start with ESC @")
	}
	// The feed before the cut rides on it: GS V 66 n feeds n dots first.
	if !bytes.HasSuffix(out, []byte{'\n', 0x1D, 'V', 'B', 3 * 34}) {
		t.Errorf("output does not end with feed and cut: % X", out[len(out)-8:])
	}
	got := texts(t, out)
	// The Vietnamese line is longer than 48 columns: wrapped between words.
	want := []string{"临时挂失 凭证", "Báo mất thẻ tạm thời: Nguyễn Thị Ánh, Đặng Hồng", "Ngọc, ưởng", "Voucher 01234-000042-7", strings.Repeat("-", 24), "", ""}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines:\n got %q\nwant %q", got, want)
	}
	if !bytes.Contains(out, []byte{0x1B, 't', 52}) {
		t.Errorf("no ESC t 52 before Vietnamese text")
	}
	// Tone marks are sent as CP1258 combining characters: ễ = ê (0xEA) + tilde (0xDE).
	if !bytes.Contains(out, []byte{'N', 'g', 'u', 'y', 0xEA, 0xDE, 'n'}) {
		t.Errorf("Nguyễn not sent as decomposed CP1258")
	}
	if !bytes.Contains(out, append([]byte{0x1D, '(', 'k', 37, 0, 49, 80, 48}, "https://x.example/v/01234-000042-7"...)) {
		t.Errorf("no GS ( k store of the QR data")
	}
}

func TestEncodeCodepageAndPaper(t *testing.T) {
	doc := Doc{Width: Paper80, Lang: "vi", Blocks: []Block{Text{S: "Số phiếu"}, Rule{}}}
	out, err := Encode(doc, Options{Paper: Paper58, Codepage: 30})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte{0x1B, 't', 30}) {
		t.Errorf("configured code table 30 not selected")
	}
	if !bytes.Contains(out, []byte(strings.Repeat("-", 16)+"\n")) || bytes.Contains(out, []byte(strings.Repeat("-", 17))) {
		t.Errorf("rule is not 16 columns (half the paper) on 58 mm paper")
	}
}

func TestEncodeRasterModes(t *testing.T) {
	doc := Doc{Width: Paper80, Lang: "vi", Blocks: []Block{Text{S: "Số phiếu"}, QR{Data: "https://x.example/v/1"}, Cut{}}}
	out, err := Encode(doc, Options{QR: QRRaster, Viet: VietRaster})
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := Scan(out)
	if err != nil {
		t.Fatal(err)
	}
	var rasters int
	for _, c := range cmds {
		switch c.Op {
		case OpRaster:
			rasters++
			if c.W > Paper80.Dots()+7 {
				t.Errorf("raster %d dots wide on 576-dot paper", c.W)
			}
		case OpQRStore, OpTable:
			t.Errorf("raster mode sent %v", c.Op)
		case OpText:
			t.Errorf("raster mode sent text %q", c.Data)
		}
	}
	if rasters != 2 {
		t.Errorf("%d raster images, want 2 (text line and QR)", rasters)
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  Doc
		opt  Options
	}{
		{"size", Doc{Blocks: []Block{Text{S: "x", Size: 4}}}, Options{}},
		{"align", Doc{Blocks: []Block{Text{S: "x", Align: 7}}}, Options{}},
		{"paper", Doc{Blocks: []Block{Text{S: "x"}}}, Options{Paper: 110}},
		{"feed", Doc{Blocks: []Block{Feed(300)}}, Options{}},
		{"nil", Doc{Blocks: []Block{nil}}, Options{}},
		{"empty qr", Doc{Blocks: []Block{QR{Data: "\x1b"}}}, Options{}},
		{"long qr", Doc{Blocks: []Block{QR{Data: strings.Repeat("a", 600)}}}, Options{}},
	}
	for _, tt := range tests {
		if _, err := Encode(tt.doc, tt.opt); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	_, err := Encode(Doc{Blocks: []Block{QR{Data: strings.Repeat("a", 600)}}}, Options{})
	if !errors.Is(err, ErrQRTooLong) {
		t.Errorf("long QR: %v, want ErrQRTooLong", err)
	}
}

func TestDecodeStatus(t *testing.T) {
	tests := []struct {
		n    int
		b    byte
		want Status
	}{
		{1, 0x12, Status{Online: true, Known: 1}},
		{1, 0x1A, Status{Known: 1}},
		{2, 0x32, Status{PaperEndStop: true, PaperOut: true, Known: 2}},
		{2, 0x16, Status{CoverOpen: true, Known: 2}},
		{3, 0x1A, Status{CutterError: true, Known: 4}},
		{3, 0x32, Status{Unrecoverable: true, Known: 4}},
		{4, 0x7E, Status{PaperNearEnd: true, PaperOut: true, Known: 8}},
		{4, 0x1E, Status{PaperNearEnd: true, Known: 8}},
		{4, 0x12, Status{Known: 8}},
	}
	for _, tt := range tests {
		got, err := DecodeStatus(tt.n, tt.b)
		if err != nil || got != tt.want {
			t.Errorf("DecodeStatus(%d, %#x) = %+v, %v; want %+v", tt.n, tt.b, got, err, tt.want)
		}
		if back := StatusByte(tt.n, got); back != tt.b && !(tt.n == 2 && tt.b == 0x32) {
			t.Errorf("StatusByte(%d, %+v) = %#x, want %#x", tt.n, got, back, tt.b)
		}
	}
	for _, bad := range []struct {
		n int
		b byte
	}{{0, 0x12}, {5, 0x12}, {1, 0x11}, {1, 0x13}, {2, 0x00}, {3, 0x92}, {4, 0xFF}} {
		if _, err := DecodeStatus(bad.n, bad.b); err == nil {
			t.Errorf("DecodeStatus(%d, %#x): no error", bad.n, bad.b)
		}
	}
}

func TestStatusString(t *testing.T) {
	decodeAll := func(b1, b2, b3, b4 byte) Status {
		var s Status
		for n, b := range []byte{b1, b2, b3, b4} {
			d, err := DecodeStatus(n+1, b)
			if err != nil {
				t.Fatal(err)
			}
			s = s.Merge(d)
		}
		return s
	}
	tests := []struct {
		s     Status
		want  string
		ready bool
	}{
		{decodeAll(0x12, 0x12, 0x12, 0x12), "ready", true},
		{decodeAll(0x12, 0x12, 0x12, 0x1E), "ready, paper near end", true},
		// Out of paper, a printer answers offline, paper end and near end:
		// only the paper being out is the case.
		{decodeAll(0x1A, 0x32, 0x12, 0x7E), "not ready: paper out", false},
		{decodeAll(0x1A, 0x16, 0x12, 0x12), "not ready: cover open", false},
		{decodeAll(0x1A, 0x12, 0x12, 0x12), "not ready: offline", false},
		{decodeAll(0x12, 0x52, 0x1A, 0x12), "not ready: cutter error", false},
		{Status{Online: true, Known: 1}, "not ready: status incomplete", false},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		if tt.s.Ready() != tt.ready {
			t.Errorf("%q: Ready() = %v", tt.want, !tt.ready)
		}
	}
}

// TestEncodeWrapsAtWords: a text longer than the paper is broken into
// lines of at most its columns (48 at 80 mm, 32 at 58 mm; a CJK character
// is two) between words, never inside one: a printer left to wrap it cuts
// wherever the last column falls ("A S/ERVICE OUTLET", "P/HÍ").
func TestEncodeWrapsAtWords(t *testing.T) {
	texts80 := []string{
		"Next: at a social security card service outlet, with your ID card, report the loss formally and apply for a replacement card.",
		"Tiếp theo: mang CCCD đến điểm giao dịch thẻ bảo hiểm xã hội để báo mất chính thức và làm lại thẻ. PHÍ: 10 nhân dân tệ.",
		"请持本人身份证到社会保障卡服务网点办理正式挂失和补卡，补卡费10元；申请5个工作日后凭身份证和领卡证明领取新卡。",
	}
	for _, paper := range []Paper{Paper80, Paper58} {
		for _, s := range texts80 {
			for _, size := range []int{1, 2} {
				out, err := Encode(Doc{Width: paper, Blocks: []Block{Text{S: s, Size: size}}}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				lines := texts(t, out)
				cols := paper.Columns() / size
				for _, l := range lines {
					if w := Width(l); w > cols {
						t.Errorf("%d mm size %d: line %q is %d columns, over %d", paper, size, l, w, cols)
					}
				}
				joined := strings.Join(lines, " ")
				if cjk := strings.ContainsRune(s, '请'); cjk {
					joined = strings.Join(lines, "")
				}
				if joined != s {
					t.Errorf("%d mm size %d: lines %q do not join back to the text (a word was split)", paper, size, lines)
				}
				if len(lines) < 2 {
					t.Errorf("%d mm size %d: %q not wrapped", paper, size, s)
				}
			}
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		s    string
		cols int
		want []string
	}{
		{"short", 10, []string{"short"}},
		{"", 10, []string{""}},
		{"one two three four", 9, []string{"one two", "three", "four"}},
		{"Phí cấp lại: 10 nhân dân tệ", 12, []string{"Phí cấp lại:", "10 nhân dân", "tệ"}},
		// Combining marks take no column.
		{"Nguye\u0302\u0303n Va\u0306n", 8, []string{"Nguye\u0302\u0303n", "Va\u0306n"}},
		// CJK breaks between characters, two columns each; no line starts
		// with a closing mark: the character before it comes along.
		{"补卡费十元，五个工作日", 10, []string{"补卡费十", "元，五个工", "作日"}},
		{"凭证号：01234", 8, []string{"凭证号：", "01234"}},
		// A word longer than a line is cut (nothing else fits).
		{"https://example.invalid/v/01234", 12, []string{"https://exam", "ple.invalid/", "v/01234"}},
		// Spaces at a break are dropped.
		{"aaa   bbb", 4, []string{"aaa", "bbb"}},
	}
	for _, tt := range tests {
		got := Wrap(tt.s, tt.cols)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Wrap(%q, %d) = %q, want %q", tt.s, tt.cols, got, tt.want)
		}
		for _, l := range got {
			if Width(l) > tt.cols {
				t.Errorf("Wrap(%q, %d): %q is %d columns", tt.s, tt.cols, l, Width(l))
			}
		}
	}
}

// TestEncodeSendsNoRedundantCommands: a mode is switched only when it
// changes: not to the state ESC @ leaves, double-byte mode once for a
// whole Chinese receipt (ASCII prints as itself in it) and left only for a
// CP1258 line; the feed before the cut rides on the cut.
func TestEncodeSendsNoRedundantCommands(t *testing.T) {
	doc := Doc{Width: Paper80, Lang: "zh-CN", Blocks: []Block{
		Text{S: "凭证号"}, Text{S: "01234-000042-7"}, Text{S: "姓名: 张**"}, Text{S: "办理时间: 2026-11-23 09:30"},
		Text{S: "Nguyễn"}, Text{S: "张"}, Rule{}, Feed(2), Cut{},
	}}
	out, err := Encode(doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := Scan(out)
	if err != nil {
		t.Fatal(err)
	}
	n := map[Op]int{}
	for i, c := range cmds {
		n[c.Op]++
		if i == 1 && c.Op != OpKanjiOn {
			t.Errorf("after ESC @ comes %v: the state it leaves is sent again", c.Op)
		}
	}
	if n[OpKanjiOn] != 2 || n[OpKanjiOff] != 1 {
		t.Errorf("FS & %d times, FS . %d times: want on once, off for the Vietnamese line, on again", n[OpKanjiOn], n[OpKanjiOff])
	}
	if n[OpFeed] != 0 || n[OpCut] != 1 {
		t.Errorf("%d feeds, %d cuts: want the feed inside the cut", n[OpFeed], n[OpCut])
	}
	if got := strings.Join(texts(t, out), "|"); got != "凭证号|01234-000042-7|姓名: 张**|办理时间: 2026-11-23 09:30|Nguyễn|张|------------------------" {
		t.Errorf("lines %q", got)
	}
}

func TestPlainText(t *testing.T) {
	doc := Doc{Width: Paper58, Blocks: []Block{
		Text{S: "Số phiếu", Align: Center},
		Text{S: "01234-000042-7", Size: 2, Bold: true, Align: Center},
		Rule{},
		Text{S: "Mang CCCD đến điểm giao dịch để báo mất chính thức và làm lại thẻ."},
		QR{Data: "https://x.example/v/1"},
		Feed(2), Cut{},
	}}
	want := "            Số phiếu\n" +
		"         01234-000042-7\n" +
		"        ----------------\n" +
		"Mang CCCD đến điểm giao dịch để\n" +
		"báo mất chính thức và làm lại\n" +
		"thẻ.\n" +
		"              [QR]\n"
	if got := PlainText(doc, 0); got != want {
		t.Errorf("PlainText:\n%s\nwant:\n%s", got, want)
	}
}

// TestStatusCodes: a status's words as codes a screen translates, read
// from a Status or from the text a journal kept; only what is the case.
func TestStatusCodes(t *testing.T) {
	out := Status{Known: AllKnown, PaperOut: true, PaperNearEnd: true, PaperEndStop: true}
	if got := strings.Join(out.Codes(), " "); got != "paper_out" {
		t.Errorf("paper out: %q", got)
	}
	for text, want := range map[string]string{
		"receipt not printed: printer not ready: paper out":   "paper_out",
		"receipt not printed: printer not ready: cover open":  "cover_open",
		"ready, paper near end":                               "ready paper_near_end",
		"not ready: offline, cutter error, status incomplete": "offline cutter_error incomplete",
		"receipt not printed: printer not connected":          "",
	} {
		if got := strings.Join(StatusCodes(text), " "); got != want {
			t.Errorf("StatusCodes(%q) = %q, want %q", text, got, want)
		}
	}
}
