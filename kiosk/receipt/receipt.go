// Package receipt decides what a citizen's paper receipt says for each
// operation (report_loss, suspend_settlement, resume_settlement, with the
// proxy variant) in zh-CN, vi and en, and prints it so that the outcome is
// always journaled: a receipt is written to the journal as not printed
// before it is sent, and marked printed only when the printer answered ready
// after it; one that did not come out is offered for reprint, marked as a
// copy.
//
// It owns the receipt's content and the print-and-journal sequence. It does
// not own bytes on the wire (package hwbridge/escpos), the printer
// (hwbridge/serialprinter, through the Printer interface) or storage (the
// Journal interface: StoreJournal keeps it in package store, MemoryJournal
// in memory).
// Personal data is masked here (package kiosk/mask) before it reaches the
// document; callers pass the values as read.
package receipt

import (
	"fmt"
	"strings"
	"time"

	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/kiosk/mask"
	"github.com/kioskd/kioskd/kiosk/op"
)

// Data is one receipt's content. Names and numbers are given unmasked and
// masked by Build.
type Data struct {
	Kind op.Kind
	Lang string // "zh-CN", "vi" or "en"; anything else prints in English
	// Voucher is printed as given: the caller formats it ("01234-000042-7").
	Voucher    string
	Name       string // cardholder
	IDNumber   string // cardholder's ID number
	CardNumber string // social security card number, if known
	// Proxy is set when an agent files for the cardholder.
	Proxy         bool
	AgentName     string
	AgentIDNumber string
	Time          time.Time // when the operation was accepted
	Copy          bool      // a reprint: marked COPY / 副本 / BẢN SAO
	// Token is the signed voucher token (package kiosk/vouchertoken) added
	// to the QR's lookup URL as its "token" query parameter; empty: none.
	Token string
}

// Masked returns the subject's name, ID number and card number exactly as
// Build prints them, for a signed token that must carry the same.
func Masked(r Data) (name, idNumber, cardNumber string) {
	return maskedName(r.Name), maskedNumber(r.IDNumber), maskedNumber(r.CardNumber)
}

// Config is the terminal's part of every receipt.
type Config struct {
	// Texts are the terminal's words in each receipt language ("zh-CN",
	// "vi", "en"): who issues the receipt, where the terminal stands and
	// the replacement fee as that language writes it. A language without
	// its texts prints the English ones.
	Texts map[string]Texts
	// LookupURL is the case lookup address printed as a QR code;
	// "{voucher}" is replaced by the voucher.
	LookupURL string
	// ReplacementDays is the working days after applying for a new card
	// until it can be collected; 0 = 5.
	ReplacementDays int
	// Hotline takes pre-loss reports by phone, 24 h (96102 in the
	// source documents); empty: not printed.
	Hotline  string
	Paper    escpos.Paper   // 58 or 80; 0 = 80
	TimeZone *time.Location // time zone of the printed time; nil = as given
}

// Texts are one language's configured words on the receipt.
type Texts struct {
	Agency   string // issuing agency, printed at the top
	Location string // where the terminal stands
	Fee      string // the replacement fee as this language writes it: "10 元", "10 yuan", "10 nhân dân tệ"
}

// texts is cfg's texts for language code, English when it has none.
func (cfg Config) texts(code string) Texts {
	if t, ok := cfg.Texts[code]; ok {
		return t
	}
	return cfg.Texts["en"]
}

// words is one language's wording. The facts are those of the source
// documents (shared/seeds): settlement stops within an hour of the
// confirmed pre-loss report; the formal loss report and the replacement
// are made at a social security card service outlet with the ID card, for
// the fee; the new card is collected a number of working days after
// applying, with the ID card and the card-collection certificate, which
// serves as a temporary medical certificate meanwhile; a proxy shows their
// own ID card and the cardholder's (original and photocopy).
type words struct {
	title                                              map[op.Kind]string
	proxy, voucher, name, id, card, agent, agentID, at string
	promise                                            map[op.Kind]string
	// next is what the citizen does after a pre-loss report: the formal
	// report and replacement at an outlet (fee), collecting the new card
	// (days later); proxyNext what a proxy brings; hotline the phone line.
	next       func(fee string, days int) string
	proxyNext  string
	hotline    func(number string) string
	after      map[op.Kind]string // what a suspend or resume receipt adds
	scan, copy string
	timeFormat string
}

var lang = map[string]words{
	"zh-CN": {
		title: map[op.Kind]string{
			op.ReportLoss:        "社会保障卡临时挂失凭证",
			op.SuspendSettlement: "社会保障卡暂停结算凭证",
			op.ResumeSettlement:  "社会保障卡恢复结算凭证",
		},
		proxy: "（代办）", voucher: "凭证号", name: "姓名", id: "身份证号", card: "社保卡号",
		agent: "代办人", agentID: "代办人证件号", at: "办理时间",
		promise: map[op.Kind]string{
			op.ReportLoss:        "挂失受理后，社保卡结算功能将在1小时内停止。",
			op.SuspendSettlement: "受理后，社保卡结算功能将在1小时内停止。",
			op.ResumeSettlement:  "受理后，社保卡结算功能将在1小时内恢复。",
		},
		next: func(fee string, days int) string {
			return fmt.Sprintf("请持身份证到社保卡服务网点办理正式挂失和补卡，补卡费%s；%d个工作日后凭身份证和领卡证明领新卡，其间领卡证明作临时就医凭证。", fee, days)
		},
		proxyNext: "代办正式挂失须带代办人身份证及持卡人身份证原件和复印件。",
		hotline:   func(n string) string { return "24小时挂失热线" + n + "。" },
		after: map[op.Kind]string{
			op.SuspendSettlement: "恢复结算：在任一自助终端插入本卡并输入密码。",
			op.ResumeSettlement:  "本卡的挂失或暂停已解除，可在定点医院和药店正常结算。",
		},
		scan: "扫码查询办理进度", copy: "副本", timeFormat: "2006-01-02 15:04",
	},
	"vi": {
		title: map[op.Kind]string{
			op.ReportLoss:        "BIÊN NHẬN BÁO MẤT THẺ TẠM THỜI",
			op.SuspendSettlement: "BIÊN NHẬN TẠM DỪNG THANH TOÁN THẺ",
			op.ResumeSettlement:  "BIÊN NHẬN KHÔI PHỤC THANH TOÁN THẺ",
		},
		proxy: "(báo thay)", voucher: "Mã hồ sơ", name: "Họ tên", id: "Số CCCD", card: "Số thẻ",
		agent: "Người báo thay", agentID: "Số CCCD người báo thay", at: "Thời gian",
		promise: map[op.Kind]string{
			op.ReportLoss:        "Thẻ bị dừng thanh toán trong vòng 1 giờ.",
			op.SuspendSettlement: "Thẻ bị dừng thanh toán trong vòng 1 giờ.",
			op.ResumeSettlement:  "Thẻ được thanh toán lại trong vòng 1 giờ.",
		},
		next: func(fee string, days int) string {
			return fmt.Sprintf("Mang CCCD đến điểm giao dịch thẻ BHXH để báo mất chính thức và làm lại thẻ, phí %s. Sau %d ngày làm việc kể từ khi nộp đơn, nhận thẻ mới với CCCD và giấy hẹn (dùng khám bệnh tạm thời).", fee, days)
		},
		proxyNext: "Người báo thay mang CCCD của mình và CCCD của chủ thẻ (bản gốc và bản sao).",
		hotline:   func(n string) string { return "Đường dây nóng 24 giờ: " + n + "." },
		after: map[op.Kind]string{
			op.SuspendSettlement: "Để mở lại: cắm thẻ vào máy tự phục vụ bất kỳ và nhập mã PIN.",
			op.ResumeSettlement:  "Báo mất hoặc tạm dừng đã được gỡ: thẻ dùng lại được ở bệnh viện, nhà thuốc.",
		},
		scan: "Quét mã để tra cứu hồ sơ", copy: "BẢN SAO", timeFormat: "02/01/2006 15:04",
	},
	"en": {
		title: map[op.Kind]string{
			op.ReportLoss:        "Temporary loss report",
			op.SuspendSettlement: "Card settlement suspended",
			op.ResumeSettlement:  "Card settlement resumed",
		},
		proxy: "(filed by proxy)", voucher: "Voucher", name: "Name", id: "ID number", card: "Card number",
		agent: "Proxy", agentID: "Proxy ID number", at: "Time",
		promise: map[op.Kind]string{
			op.ReportLoss:        "Settlement stops within 1 hour.",
			op.SuspendSettlement: "Settlement stops within 1 hour.",
			op.ResumeSettlement:  "Settlement resumes within 1 hour.",
		},
		next: func(fee string, days int) string {
			return fmt.Sprintf("Next: formal report and new card at a service outlet with your ID card, fee %s. Collect it %d working days after applying, with your ID card and the collection certificate (your temporary medical certificate until then).", fee, days)
		},
		proxyNext: "The proxy brings their own ID card and the cardholder's (original and photocopy).",
		hotline:   func(n string) string { return "Hotline " + n + " (24 h)." },
		after: map[op.Kind]string{
			op.SuspendSettlement: "To resume: insert the card at any terminal and enter its PIN.",
			op.ResumeSettlement:  "The loss report or suspension is lifted: the card pays again.",
		},
		scan: "Scan to follow your case", copy: "COPY", timeFormat: "2006-01-02 15:04",
	},
}

// Words returns the language Build uses for a tag: zh-CN for any "zh",
// vi for "vi", English otherwise.
func Words(tag string) string {
	switch {
	case strings.HasPrefix(tag, "zh"):
		return "zh-CN"
	case strings.HasPrefix(tag, "vi"):
		return "vi"
	}
	return "en"
}

// LookupURLFor is cfg.LookupURL with the voucher in place of {voucher}.
func (cfg Config) LookupURLFor(voucher string) string {
	return strings.ReplaceAll(cfg.LookupURL, "{voucher}", voucher)
}

// withToken adds the token to a lookup URL as its "token" query parameter
// (base64url needs no escaping).
func withToken(u, token string) string {
	if token == "" {
		return u
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "token=" + token
}

// Build lays out the receipt for r.
func Build(r Data, cfg Config) escpos.Doc {
	code := Words(r.Lang)
	w := lang[code]
	tx := cfg.texts(code)
	paper := cfg.Paper
	if paper == 0 {
		paper = escpos.Paper80
	}
	var b []escpos.Block
	add := func(bl ...escpos.Block) { b = append(b, bl...) }
	line := func(label, value string) {
		if value != "" {
			add(escpos.Text{S: label + ": " + value})
		}
	}
	if r.Copy {
		add(escpos.Text{S: "*** " + w.copy + " ***", Bold: true, Size: 2, Align: escpos.Center})
	}
	if tx.Agency != "" {
		add(escpos.Text{S: tx.Agency, Bold: true, Align: escpos.Center})
	}
	if tx.Location != "" {
		add(escpos.Text{S: tx.Location, Align: escpos.Center})
	}
	title := w.title[r.Kind]
	if title == "" {
		title = string(r.Kind)
	}
	add(escpos.Text{S: title, Bold: true, Align: escpos.Center})
	if r.Proxy {
		add(escpos.Text{S: w.proxy, Align: escpos.Center})
	}
	add(escpos.Text{S: w.voucher, Bold: true, Align: escpos.Center})
	add(escpos.Text{S: escpos.Clean(r.Voucher), Bold: true, Size: 2, Align: escpos.Center})
	add(escpos.Rule{})
	line(w.name, maskedName(r.Name))
	line(w.id, maskedNumber(r.IDNumber))
	line(w.card, maskedNumber(r.CardNumber))
	if r.Proxy {
		line(w.agent, maskedName(r.AgentName))
		line(w.agentID, maskedNumber(r.AgentIDNumber))
	}
	t := r.Time
	if cfg.TimeZone != nil {
		t = t.In(cfg.TimeZone)
	}
	if !t.IsZero() {
		line(w.at, t.Format(w.timeFormat))
	}
	add(escpos.Text{}) // a blank line: the facts below are the citizen's to act on
	add(escpos.Text{S: w.promise[r.Kind], Bold: true})
	switch r.Kind {
	case op.ReportLoss:
		days := cfg.ReplacementDays
		if days <= 0 {
			days = 5
		}
		fee := tx.Fee
		if fee == "" {
			fee = "-"
		}
		add(escpos.Text{S: w.next(fee, days)})
		if r.Proxy {
			add(escpos.Text{S: w.proxyNext})
		}
		if cfg.Hotline != "" {
			add(escpos.Text{S: w.hotline(cfg.Hotline)})
		}
	default:
		if a := w.after[r.Kind]; a != "" {
			add(escpos.Text{S: a})
		}
	}
	if cfg.LookupURL != "" && r.Voucher != "" {
		add(escpos.QR{Data: withToken(cfg.LookupURLFor(r.Voucher), r.Token)})
		add(escpos.Text{S: w.scan, Align: escpos.Center})
	}
	if r.Copy {
		add(escpos.Text{S: "*** " + w.copy + " ***", Bold: true, Align: escpos.Center})
	}
	add(escpos.Feed(2), escpos.Cut{})
	return escpos.Doc{Width: paper, Lang: code, Blocks: b}
}

// maskedName and maskedNumber clean before masking: a control character or
// a space must not be the one character of a name that stays visible.
func maskedName(s string) string { return mask.Name(strings.TrimSpace(escpos.Clean(s))) }

func maskedNumber(s string) string { return mask.Number(strings.TrimSpace(escpos.Clean(s))) }
