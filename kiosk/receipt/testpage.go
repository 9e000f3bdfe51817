package receipt

import (
	"fmt"
	"time"

	"github.com/kioskd/kioskd/hwbridge/escpos"
)

// TestPage is what the maintenance menu's test print says: which terminal
// and build printed it, when, on which printer, and a line of each script
// and a QR code, so a technician sees at a glance that bold, large text,
// Vietnamese, Chinese, the QR code and the cut all work.
type TestPage struct {
	KioskID         string
	Version, Commit string
	Time            time.Time // printed in UTC
	Device          string    // the printer's serial device
	Baud            int
	Paper           escpos.Paper
}

// Doc is the test page as a document for escpos.Encode.
func (p TestPage) Doc() escpos.Doc {
	return escpos.Doc{Width: p.Paper, Lang: "en", Blocks: []escpos.Block{
		escpos.Text{S: "kioskd test page", Bold: true, Size: 2, Align: escpos.Center},
		escpos.Rule{},
		escpos.Text{S: "Terminal " + p.KioskID},
		escpos.Text{S: "Version " + p.Version + " (" + p.Commit + ")"},
		escpos.Text{S: "Time " + p.Time.UTC().Format("2006-01-02 15:04:05Z")},
		escpos.Text{S: fmt.Sprintf("Printer %s, %d baud, %d mm", p.Device, p.Baud, p.Paper)},
		escpos.Rule{},
		escpos.Text{S: "ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789"},
		escpos.Text{S: "Tiếng Việt: Bảo hiểm xã hội"},
		escpos.Text{S: "中文：社会保障卡"},
		escpos.QR{Data: "kioskd test " + p.KioskID},
		escpos.Cut{},
	}}
}
