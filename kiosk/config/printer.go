package config

import (
	"fmt"

	"github.com/kioskd/kioskd/hwbridge/escpos"
)

// The printer's settings in hwbridge/escpos's terms: one table each, read
// by Validate and by Escpos, so a value is accepted exactly when it means
// something to the encoder.
var (
	qrModes   = map[string]escpos.QRMode{"native": escpos.QRNative, "raster": escpos.QRRaster}
	vietModes = map[string]escpos.VietMode{"cp1258": escpos.VietCP1258, "raster": escpos.VietRaster}
)

// escposProblems are the printer settings Escpos cannot turn into options.
func (p Printer) escposProblems() []Problem {
	var ps []Problem
	if p.Paper != 58 && p.Paper != 80 {
		ps = append(ps, Problem{Key: "printer.paper", Msg: fmt.Sprintf("must be 58 or 80 (mm), got %d", p.Paper)})
	}
	if _, ok := qrModes[p.QR]; !ok {
		ps = append(ps, Problem{Key: "printer.qr", Msg: fmt.Sprintf("must be native or raster, got %q", p.QR)})
	}
	if _, ok := vietModes[p.Vietnamese]; !ok {
		ps = append(ps, Problem{Key: "printer.vietnamese", Msg: fmt.Sprintf("must be cp1258 or raster, got %q", p.Vietnamese)})
	}
	if p.CodeTable < 0 || p.CodeTable > 255 {
		ps = append(ps, Problem{Key: "printer.code_table", Msg: fmt.Sprintf("must be 0..255, got %d", p.CodeTable)})
	}
	return ps
}

// Escpos is how receipts and the test page are encoded for this printer.
// A setting the encoder does not know is an error naming its key, never a
// silent default.
func (p Printer) Escpos() (escpos.Options, error) {
	if ps := p.escposProblems(); len(ps) > 0 {
		return escpos.Options{}, &Problems{File: "config", List: ps}
	}
	return escpos.Options{
		Paper:    escpos.Paper(p.Paper),
		QR:       qrModes[p.QR],
		Viet:     vietModes[p.Vietnamese],
		Codepage: byte(p.CodeTable),
	}, nil
}
