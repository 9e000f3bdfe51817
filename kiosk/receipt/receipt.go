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
	Agency   string `toml:"agency"`   // issuing agency name, printed at the top
	Location string `toml:"location"` // where the terminal stands
	// LookupURL is the case lookup address printed as a QR code;
	// "{voucher}" is replaced by the voucher.
	LookupURL string `toml:"lookup_url"`
	// ReplacementFee is printed as configured ("10 元", "¥10", "20.000 đ").
	ReplacementFee string `toml:"replacement_fee"`
	// ReplacementDays is the working days within which the formal loss
	// report and replacement are to be done at an outlet; 0 = 5.
	ReplacementDays int            `toml:"replacement_days"`
	Paper           escpos.Paper   `toml:"paper"` // 58 or 80; 0 = 80
	TimeZone        *time.Location `toml:"-"`     // time zone of the printed time; nil = as given
}

// words is one language's wording.
type words struct {
	title                                              map[op.Kind]string
	proxy, voucher, name, id, card, agent, agentID, at string
	promise                                            map[op.Kind]string
	next                                               func(days int, fee string) string
	scan, copy, timeFormat                             string
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
		next: func(days int, fee string) string {
			return fmt.Sprintf("请在%d个工作日内持本人身份证到社保经办网点办理正式挂失和补卡，补卡费%s。", days, fee)
		},
		scan: "扫码查询办理进度", copy: "副本", timeFormat: "2006-01-02 15:04",
	},
	"vi": {
		title: map[op.Kind]string{
			op.ReportLoss:        "BIÊN NHẬN BÁO MẤT THẺ TẠM THỜI",
			op.SuspendSettlement: "BIÊN NHẬN TẠM DỪNG THANH TOÁN THẺ",
			op.ResumeSettlement:  "BIÊN NHẬN KHÔI PHỤC THANH TOÁN THẺ",
		},
		proxy: "(báo thay)", voucher: "Số phiếu", name: "Họ tên", id: "Số CCCD", card: "Số thẻ",
		agent: "Người báo thay", agentID: "Số CCCD người báo thay", at: "Thời gian",
		promise: map[op.Kind]string{
			op.ReportLoss:        "Thẻ sẽ bị dừng thanh toán trong vòng 1 giờ.",
			op.SuspendSettlement: "Thẻ sẽ bị dừng thanh toán trong vòng 1 giờ.",
			op.ResumeSettlement:  "Thẻ sẽ được thanh toán lại trong vòng 1 giờ.",
		},
		next: func(days int, fee string) string {
			return fmt.Sprintf("Trong vòng %d ngày làm việc, mang CCCD đến điểm giao dịch để báo mất chính thức và cấp lại thẻ. Phí cấp lại: %s.", days, fee)
		},
		scan: "Quét mã để tra cứu hồ sơ", copy: "BẢN SAO", timeFormat: "02/01/2006 15:04",
	},
	"en": {
		title: map[op.Kind]string{
			op.ReportLoss:        "Card loss report (temporary)",
			op.SuspendSettlement: "Card settlement suspended",
			op.ResumeSettlement:  "Card settlement resumed",
		},
		proxy: "(filed by proxy)", voucher: "Voucher", name: "Name", id: "ID number", card: "Card number",
		agent: "Proxy", agentID: "Proxy ID number", at: "Time",
		promise: map[op.Kind]string{
			op.ReportLoss:        "Settlement on the card stops within one hour.",
			op.SuspendSettlement: "Settlement on the card stops within one hour.",
			op.ResumeSettlement:  "Settlement on the card resumes within one hour.",
		},
		next: func(days int, fee string) string {
			return fmt.Sprintf("Within %d working days, bring your ID card to a service outlet for the formal loss report and a replacement card. Fee: %s.", days, fee)
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
	if cfg.Agency != "" {
		add(escpos.Text{S: cfg.Agency, Bold: true, Align: escpos.Center})
	}
	if cfg.Location != "" {
		add(escpos.Text{S: cfg.Location, Align: escpos.Center})
	}
	add(escpos.Rule{})
	title := w.title[r.Kind]
	if title == "" {
		title = string(r.Kind)
	}
	add(escpos.Text{S: title, Bold: true, Align: escpos.Center})
	if r.Proxy {
		add(escpos.Text{S: w.proxy, Align: escpos.Center})
	}
	add(escpos.Text{S: w.voucher, Align: escpos.Center})
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
	add(escpos.Rule{})
	add(escpos.Text{S: w.promise[r.Kind], Bold: true})
	if r.Kind == op.ReportLoss {
		days := cfg.ReplacementDays
		fee := cfg.ReplacementFee
		if fee == "" {
			fee = "-"
		}
		if days <= 0 {
			days = 5
		}
		add(escpos.Text{S: w.next(days, fee)})
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
