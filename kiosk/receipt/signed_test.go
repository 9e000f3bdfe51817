package receipt_test

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/kiosk/receipt"
	"github.com/kioskd/kioskd/kiosk/vouchertoken"
)

// signed returns d with a token signed by kr over what the receipt prints.
func signed(t testing.TB, kr *vouchertoken.Keyring, d receipt.Data) receipt.Data {
	t.Helper()
	name, id, card := receipt.Masked(d)
	tok, err := kr.Sign(vouchertoken.Claims{Voucher: d.Voucher, Kind: d.Kind, Created: d.Time, Name: name, IDNumber: id, CardNumber: card})
	if err != nil {
		t.Fatal(err)
	}
	d.Token = tok
	return d
}

func keyring(t testing.TB, dir, kiosk string) *vouchertoken.Keyring {
	t.Helper()
	kr, err := vouchertoken.LoadKeyring(dir, kiosk)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// Sign → print → decode the QR from the printed image → verify.
func TestSignedReceiptVerifiesFromPaper(t *testing.T) {
	r := newRig(t, 0, 0)
	dir := filepath.Join(t.TempDir(), "signing")
	kr := keyring(t, dir, "KIOSK-DEV-0001")
	other := keyring(t, filepath.Join(t.TempDir(), "other"), "KIOSK-DEV-0002")
	d := signed(t, kr, data("en"))
	if err := r.P.Print(context.Background(), encode(t, d, escpos.Options{QR: escpos.QRNative})); err != nil {
		t.Fatal(err)
	}
	got := r.Receipt(t, 1)
	qr := decodeQR(t, got)
	if !strings.HasPrefix(qr, "https://si.example.gov/lookup?v="+d.Voucher+"&token=") {
		t.Fatalf("QR decodes to %q", qr)
	}
	if !strings.Contains(got.Text, d.Voucher+"\n") {
		t.Fatalf("the voucher digits are not printed as before:\n%s", got.Text)
	}
	c, err := vouchertoken.Verify(qr, kr.Public())
	if err != nil {
		t.Fatalf("verify the printed token: %v", err)
	}
	// The token says what the paper says.
	for _, line := range []string{"Name: " + c.Name, "ID number: " + c.IDNumber, "Card number: " + c.CardNumber} {
		if !strings.Contains(got.Text, line) {
			t.Errorf("printed text has no %q:\n%s", line, got.Text)
		}
	}
	if c.Voucher != "012340000427" || c.Kind != "report_loss" || !c.Created.Equal(d.Time) || c.KioskID != "KIOSK-DEV-0001" {
		t.Errorf("claims %+v", c)
	}
	// Any flipped bit of the printed token: invalid.
	tok := vouchertoken.FromText(qr)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range len(raw) * 8 {
		b := append([]byte(nil), raw...)
		b[i/8] ^= 1 << (i % 8)
		if _, err := vouchertoken.Verify(base64.RawURLEncoding.EncodeToString(b), kr.Public()); err == nil {
			t.Fatalf("bit %d flipped: still valid", i)
		}
	}
	// Another terminal's key: invalid.
	if _, err := vouchertoken.Verify(qr, other.Public()); err == nil {
		t.Fatal("verified with another terminal's key")
	}
	// After a rotation the old receipt stays valid with the terminal's keys.
	if _, err := vouchertoken.Rotate(dir, "KIOSK-DEV-0001", time.Now()); err != nil {
		t.Fatal(err)
	}
	kr = keyring(t, dir, "KIOSK-DEV-0001")
	if _, err := vouchertoken.Verify(qr, kr.Public()); err != nil {
		t.Fatalf("old receipt after rotation: %v", err)
	}
}

func BenchmarkSignedReceipt(b *testing.B) {
	kr := keyring(b, filepath.Join(b.TempDir(), "signing"), "KIOSK-DEV-0001")
	d := signed(b, kr, data("en"))
	var n int
	for range b.N {
		n = len(encode(b, d, escpos.Options{Paper: escpos.Paper80, QR: escpos.QRNative}))
	}
	b.ReportMetric(float64(len(d.Token)), "receipt_qr_token_bytes:bytes")
	b.ReportMetric(float64(n), "receipt_bytes_signed_en:bytes")
}
