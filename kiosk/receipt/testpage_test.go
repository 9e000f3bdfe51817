package receipt_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/kiosk/receipt"
)

func TestTestPage(t *testing.T) {
	doc := receipt.TestPage{
		KioskID: "KIOSK-7", Version: "v1.2.3", Commit: "abc1234",
		Time:   time.Date(2026, 12, 2, 10, 4, 5, 0, time.FixedZone("ICT", 7*3600)),
		Device: "/dev/ttyUSB0", Baud: 19200, Paper: escpos.Paper58,
	}.Doc()
	var texts []string
	var qr string
	for _, b := range doc.Blocks {
		switch v := b.(type) {
		case escpos.Text:
			texts = append(texts, v.S)
		case escpos.QR:
			qr = v.Data
		}
	}
	for _, want := range []string{"kioskd test page", "Terminal KIOSK-7", "Version v1.2.3 (abc1234)", "Time 2026-12-02 03:04:05Z",
		"Printer /dev/ttyUSB0, 19200 baud, 58 mm", "Tiếng Việt: Bảo hiểm xã hội", "中文：社会保障卡"} {
		if !slices.Contains(texts, want) {
			t.Errorf("test page lacks %q: %q", want, texts)
		}
	}
	if qr != "kioskd test KIOSK-7" || doc.Width != escpos.Paper58 {
		t.Errorf("QR %q width %d", qr, doc.Width)
	}
	if _, err := escpos.Encode(doc, escpos.Options{Paper: escpos.Paper58}); err != nil {
		t.Errorf("encode: %v", err)
	}
}
