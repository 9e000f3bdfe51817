package receipt_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/kiosk/op"
	"github.com/kioskd/kioskd/kiosk/receipt"
)

var cfg = receipt.Config{
	Texts: map[string]receipt.Texts{
		"zh-CN": {Agency: "XX市社会保险事业管理中心", Location: "第一人民医院 门诊大厅 2号机", Fee: "10元"},
		"vi":    {Agency: "Trung tâm BHXH thành phố XX", Location: "Bệnh viện Nhân dân số 1, sảnh khám, máy 2", Fee: "10 nhân dân tệ"},
		"en":    {Agency: "XX City Social Insurance Centre", Location: "First People's Hospital, outpatient hall, no. 2", Fee: "10 yuan"},
	},
	LookupURL:       "https://si.example.gov/lookup?v={voucher}",
	ReplacementDays: 5,
	Hotline:         "96102",
	Paper:           escpos.Paper80,
}

func data(lang string) receipt.Data {
	return receipt.Data{
		Kind: op.ReportLoss, Lang: lang, Voucher: "01234-000042-7",
		Name: "张三丰", IDNumber: "110101199003071234", CardNumber: "A12345678",
		Time: time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC),
	}
}

// texts is the receipt's text blocks, one a line (as composed, before
// the encoder wraps them to the paper).
func texts(doc escpos.Doc) string {
	var b strings.Builder
	for _, bl := range doc.Blocks {
		switch v := bl.(type) {
		case escpos.Text:
			b.WriteString(v.S + "\n")
		case escpos.QR:
			b.WriteString("[QR " + v.Data + "]\n")
		}
	}
	return b.String()
}

func TestBuildWording(t *testing.T) {
	tests := []struct {
		lang string
		op   op.Kind
		want []string
	}{
		{"zh-CN", op.ReportLoss, []string{"社会保障卡临时挂失凭证", "凭证号", "01234-000042-7", "姓名: 张**", "身份证号: 110***********1234",
			"社保卡号: A1*****78", "办理时间: 2026-11-23 09:30", "1小时内停止", "5个工作日后", "补卡费10元", "扫码查询"}},
		{"vi", op.ReportLoss, []string{"BIÊN NHẬN BÁO MẤT THẺ TẠM THỜI", "Mã hồ sơ", "Họ tên: 张**", "Số CCCD: 110***********1234",
			"23/11/2026 09:30", "dừng thanh toán trong vòng 1 giờ", "Sau 5 ngày làm việc", "phí 10 nhân dân tệ"}},
		{"en", op.ReportLoss, []string{"Temporary loss report", "Voucher", "Name: 张**", "stops within 1 hour",
			"5 working days after applying", "fee 10 yuan", "Scan to follow"}},
		{"zh-CN", op.SuspendSettlement, []string{"暂停结算", "1小时内停止"}},
		{"en", op.ResumeSettlement, []string{"settlement resumed", "resumes within 1 hour"}},
		{"vi", op.ResumeSettlement, []string{"KHÔI PHỤC", "thanh toán lại"}},
	}
	for _, tt := range tests {
		d := data(tt.lang)
		d.Kind = tt.op
		doc := receipt.Build(d, cfg)
		got := texts(doc)
		for _, w := range tt.want {
			if !strings.Contains(strings.ToLower(got), strings.ToLower(w)) {
				t.Errorf("%s %s: no %q in\n%s", tt.lang, tt.op, w, got)
			}
		}
		for _, secret := range []string{"张三丰", "110101199003071234", "A12345678"} {
			if strings.Contains(got, secret) {
				t.Errorf("%s %s: unmasked %q on the receipt", tt.lang, tt.op, secret)
			}
		}
		if !strings.Contains(got, "[QR https://si.example.gov/lookup?v=01234-000042-7]") {
			t.Errorf("%s: no lookup QR with the voucher", tt.lang)
		}
		if tt.op != op.ReportLoss && (strings.Contains(got, "10元") || strings.Contains(got, "10 yuan") || strings.Contains(got, "10 nhân")) {
			t.Errorf("%s %s: replacement fee on a receipt that is no loss report", tt.lang, tt.op)
		}
	}
}

func TestBuildProxyAndCopy(t *testing.T) {
	d := data("zh-CN")
	d.Proxy, d.AgentName, d.AgentIDNumber, d.Copy = true, "李四", "110101198001011235", true
	got := texts(receipt.Build(d, cfg))
	for _, w := range []string{"（代办）", "代办人: 李*", "代办人证件号: 110***********1235", "*** 副本 ***"} {
		if !strings.Contains(got, w) {
			t.Errorf("no %q in\n%s", w, got)
		}
	}
	for lang, mark := range map[string]string{"vi": "BẢN SAO", "en": "COPY"} {
		d := data(lang)
		d.Copy = true
		if got := texts(receipt.Build(d, cfg)); !strings.Contains(got, mark) {
			t.Errorf("%s copy without %q", lang, mark)
		}
	}
	if got := texts(receipt.Build(data("en"), cfg)); strings.Contains(got, "COPY") {
		t.Errorf("original marked as a copy")
	}
}

func TestBuildEncodes58mm(t *testing.T) {
	c := cfg
	c.Paper = escpos.Paper58
	for _, lang := range []string{"zh-CN", "vi", "en"} {
		if _, err := escpos.Encode(receipt.Build(data(lang), c), escpos.Options{}); err != nil {
			t.Errorf("%s: %v", lang, err)
		}
	}
}
