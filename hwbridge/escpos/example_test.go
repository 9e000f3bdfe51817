package escpos_test

import (
	"fmt"

	"github.com/kioskd/kioskd/hwbridge/escpos"
)

func ExampleEncode() {
	doc := escpos.Doc{Width: escpos.Paper80, Lang: "en", Blocks: []escpos.Block{
		escpos.Text{S: "Voucher", Align: escpos.Center},
		escpos.Text{S: "01234-000042-7", Bold: true, Size: 2, Align: escpos.Center},
		escpos.QR{Data: "https://lookup.example/v/01234-000042-7"},
		escpos.Cut{},
	}}
	out, err := escpos.Encode(doc, escpos.Options{QR: escpos.QRNative})
	if err != nil {
		fmt.Println(err)
		return
	}
	cmds, _ := escpos.Scan(out)
	for _, c := range cmds {
		switch c.Op {
		case escpos.OpText, escpos.OpQRStore:
			fmt.Printf("%v %q\n", c.Op, c.Data)
		default:
			fmt.Println(c.Op)
		}
	}
	// Output:
	// ESC @
	// ESC a
	// text "Voucher"
	// LF
	// ESC E
	// GS !
	// text "01234-000042-7"
	// LF
	// ESC E
	// GS !
	// LF
	// QR model
	// QR size
	// QR level
	// QR store "https://lookup.example/v/01234-000042-7"
	// QR print
	// LF
	// GS V
}

func ExampleDecodeStatus() {
	// A paper-out printer answers DLE EOT 1, 2, 4 with 1A, 32, 7E.
	var st escpos.Status
	for _, r := range []struct {
		n int
		b byte
	}{{1, 0x1A}, {2, 0x32}, {3, 0x12}, {4, 0x7E}} {
		s, err := escpos.DecodeStatus(r.n, r.b)
		if err != nil {
			fmt.Println(err)
			return
		}
		st = st.Merge(s)
	}
	fmt.Println(st)
	// Output: not ready: paper out
}
