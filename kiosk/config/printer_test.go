package config

import (
	"strings"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/escpos"
)

func TestPrinterEscpos(t *testing.T) {
	p := Default().Printer
	p.QR, p.Vietnamese, p.CodeTable, p.Paper = "raster", "cp1258", 30, 58
	got, err := p.Escpos()
	if err != nil {
		t.Fatal(err)
	}
	if want := (escpos.Options{Paper: escpos.Paper58, QR: escpos.QRRaster, Viet: escpos.VietCP1258, Codepage: 30}); got != want {
		t.Errorf("Escpos() = %+v, want %+v", got, want)
	}
	// A value the encoder does not know is an error naming its key, not
	// the zero mode.
	for _, tt := range []struct {
		key string
		mod func(*Printer)
	}{
		{"printer.qr", func(p *Printer) { p.QR = "bitmap" }},
		{"printer.vietnamese", func(p *Printer) { p.Vietnamese = "" }},
		{"printer.code_table", func(p *Printer) { p.CodeTable = 256 }},
		{"printer.paper", func(p *Printer) { p.Paper = 76 }},
	} {
		p := Default().Printer
		tt.mod(&p)
		if _, err := p.Escpos(); err == nil || !strings.Contains(err.Error(), tt.key) {
			t.Errorf("%s: Escpos() error %v, want one naming %s", tt.key, err, tt.key)
		}
		c := Default()
		c.Printer = p
		if ps := c.Validate(); len(ps) != 1 || ps[0].Key != tt.key {
			t.Errorf("%s: Validate() = %v, want one problem at %s", tt.key, ps, tt.key)
		}
	}
}
