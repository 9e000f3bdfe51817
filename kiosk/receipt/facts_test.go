package receipt_test

import (
	"strings"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/op"
	"github.com/kioskd/kioskd/kiosk/receipt"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/unicode/norm"
)

// The facts of the source documents (shared/seeds/002, 003), as each
// language's receipt must tell them. Each row is one fact: every one of
// its words must be on the receipt.
var facts = map[string]map[string][]string{
	"zh-CN": {
		"the formal report and the replacement at an outlet, with the ID card": {"身份证", "社保卡服务网点", "正式挂失", "补卡"},
		"the fee": {"补卡费10 元"},
		"collected 5 working days after applying, with the ID card and the certificate": {"5个工作日后", "凭身份证和领卡证明", "领新卡"},
		"the certificate is the temporary medical certificate meanwhile":                {"其间领卡证明作临时就医凭证"},
		"settlement stops within 1 hour":                                                {"1小时内停止"},
		"the hotline, 24 h":                                                             {"24小时", "96102"},
	},
	"vi": {
		"the formal report and the replacement at an outlet, with the ID card": {"CCCD", "điểm giao dịch", "báo mất chính thức", "làm lại thẻ"},
		"the fee": {"phí 10 nhân dân tệ"},
		"collected 5 working days after applying, with the ID card and the certificate": {"Sau 5 ngày làm việc kể từ khi nộp đơn", "nhận thẻ mới", "với CCCD và giấy hẹn"},
		"the certificate is the temporary medical certificate meanwhile":                {"giấy hẹn (dùng khám bệnh tạm thời)"},
		"settlement stops within 1 hour":                                                {"dừng thanh toán trong vòng 1 giờ"},
		"the hotline, 24 h":                                                             {"24 giờ", "96102"},
	},
	"en": {
		"the formal report and the replacement at an outlet, with the ID card": {"formal report", "new card", "service outlet", "ID card"},
		"the fee": {"fee 10 yuan"},
		"collected 5 working days after applying, with the ID card and the certificate": {"Collect it 5 working days after applying", "with your ID card and the collection certificate"},
		"the certificate is the temporary medical certificate meanwhile":                {"collection certificate (your temporary medical certificate until then)"},
		"settlement stops within 1 hour":                                                {"stops within 1 hour"},
		"the hotline, 24 h":                                                             {"Hotline 96102", "24 h"},
	},
}

// defaults is the receipt configuration of the embedded default.
func defaults() receipt.Config { return config.Default().ReceiptConfig() }

// TestReportLossFacts: a pre-loss receipt tells the next steps in the
// documents' order and with their facts, in each language, from the
// configuration's per-language texts; nothing says the formal report is
// due within the days (they count from the application to collecting the
// new card).
func TestReportLossFacts(t *testing.T) {
	for lang, want := range facts {
		got := texts(receipt.Build(data(lang), defaults()))
		for fact, words := range want {
			for _, w := range words {
				if !strings.Contains(got, w) {
					t.Errorf("%s: %s: no %q in\n%s", lang, fact, w, got)
				}
			}
		}
		for _, wrong := range []string{"个工作日内", "Within 5 working days", "Trong vòng 5 ngày", "CNY", "(24小时)"} {
			if strings.Contains(got, wrong) {
				t.Errorf("%s: receipt says %q:\n%s", lang, wrong, got)
			}
		}
	}
}

// TestReceiptHeaderInEachLanguage: the agency, location and fee are the
// configured words of the receipt's language, not the English ones.
func TestReceiptHeaderInEachLanguage(t *testing.T) {
	c := config.Default()
	for _, lang := range []string{"zh-CN", "vi", "en"} {
		tx := c.Receipt.Text(lang)
		doc := receipt.Build(data(lang), defaults())
		got := texts(doc)
		lines := strings.Split(got, "\n")
		if lines[0] != tx.Agency || lines[1] != tx.Location {
			t.Errorf("%s: receipt starts %q, %q: want the %s agency %q and location %q", lang, lines[0], lines[1], lang, tx.Agency, tx.Location)
		}
		if !strings.Contains(got, tx.Fee) {
			t.Errorf("%s: no fee %q", lang, tx.Fee)
		}
		if lang != "en" && (strings.Contains(got, "Social Security Card Service") || strings.Contains(got, "Terminal 1") || strings.Contains(got, "yuan")) {
			t.Errorf("%s receipt has English words:\n%s", lang, got)
		}
	}
	for lang, fee := range map[string]string{"zh-CN": "10 元", "vi": "10 nhân dân tệ", "en": "10 yuan"} {
		if got := c.Receipt.Text(lang).Fee; got != fee {
			t.Errorf("%s default fee %q, want %q", lang, got, fee)
		}
	}
}

// TestProxySuspendResumeSay: a proxy report's receipt says what the proxy
// brings; a suspend receipt how to resume; a resume receipt what it means.
func TestProxySuspendResumeSay(t *testing.T) {
	want := map[string]map[op.Kind][]string{
		"zh-CN": {op.ReportLoss: {"代办人身份证", "持卡人身份证原件和复印件"}, op.SuspendSettlement: {"恢复结算", "插入本卡", "密码"}, op.ResumeSettlement: {"已解除", "正常结算"}},
		"vi":    {op.ReportLoss: {"CCCD của mình", "CCCD của chủ thẻ", "bản gốc và bản sao"}, op.SuspendSettlement: {"Để mở lại", "mã PIN"}, op.ResumeSettlement: {"đã được gỡ", "dùng lại"}},
		"en":    {op.ReportLoss: {"their own ID card", "cardholder's", "original and photocopy"}, op.SuspendSettlement: {"To resume", "any terminal", "PIN"}, op.ResumeSettlement: {"lifted", "pays again"}},
	}
	for lang, ops := range want {
		for k, words := range ops {
			d := data(lang)
			d.Kind = k
			if k == op.ReportLoss {
				d.Proxy, d.AgentName, d.AgentIDNumber = true, "李四", "110101198001011235"
			}
			got := texts(receipt.Build(d, defaults()))
			for _, w := range words {
				if !strings.Contains(got, w) {
					t.Errorf("%s %s: no %q in\n%s", lang, k, w, got)
				}
			}
		}
		self := texts(receipt.Build(data(lang), defaults()))
		if p := ops[op.ReportLoss][0]; strings.Contains(self, p) {
			t.Errorf("%s: a report for oneself tells what a proxy brings", lang)
		}
	}
}

// TestReceiptLinesFitThePaper: every printed line of every receipt fits
// the paper (48 columns at 80 mm, 32 at 58 mm; a CJK character is two),
// and each word of the receipt's texts is printed whole on one line.
func TestReceiptLinesFitThePaper(t *testing.T) {
	for _, paper := range []escpos.Paper{escpos.Paper80, escpos.Paper58} {
		c := defaults()
		c.Paper = paper
		for _, lang := range []string{"zh-CN", "vi", "en"} {
			for _, k := range []op.Kind{op.ReportLoss, op.SuspendSettlement, op.ResumeSettlement} {
				d := data(lang)
				d.Kind, d.Proxy, d.AgentName, d.AgentIDNumber = k, k == op.ReportLoss, "李四", "110101198001011235"
				doc := receipt.Build(d, c)
				out, err := escpos.Encode(doc, escpos.Options{Paper: paper})
				if err != nil {
					t.Fatal(err)
				}
				lines := printedLines(t, out)
				for _, l := range lines {
					if escpos.Width(l.text)*l.size > paper.Columns() {
						t.Errorf("%d mm %s %s: %q takes %d columns", paper, lang, k, l.text, escpos.Width(l.text)*l.size)
					}
				}
				var all []string
				for _, l := range lines {
					all = append(all, strings.Fields(l.text)...)
				}
				for _, bl := range doc.Blocks {
					tx, ok := bl.(escpos.Text)
					if !ok || lang == "zh-CN" {
						continue
					}
					for _, w := range strings.Fields(tx.S) {
						if !contains(all, w) {
							t.Errorf("%d mm %s %s: the word %q is split across lines", paper, lang, k, w)
						}
					}
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type printed struct {
	text string
	size int
}

// printedLines decodes ESC/POS bytes the way the printer does: GB18030 in
// double-byte mode, CP1258 after its table, ASCII else; one entry a line.
func printedLines(t *testing.T, out []byte) []printed {
	t.Helper()
	cmds, err := escpos.Scan(out)
	if err != nil {
		t.Fatal(err)
	}
	var lines []printed
	var cur strings.Builder
	kanji, table, size := false, byte(0), 1
	for _, c := range cmds {
		switch c.Op {
		case escpos.OpKanjiOn:
			kanji = true
		case escpos.OpKanjiOff:
			kanji = false
		case escpos.OpTable:
			table = c.Arg
		case escpos.OpSize:
			size = int(c.Arg&0x0F) + 1
		case escpos.OpLF:
			lines = append(lines, printed{cur.String(), size})
			cur.Reset()
		case escpos.OpText:
			switch {
			case kanji:
				s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(c.Data)
				if err != nil {
					t.Fatal(err)
				}
				cur.Write(s)
			case table == escpos.DefaultCP1258Table:
				s, _ := charmap.Windows1258.NewDecoder().Bytes(c.Data)
				cur.WriteString(norm.NFC.String(string(s)))
			default:
				cur.Write(c.Data)
			}
		}
	}
	return lines
}
