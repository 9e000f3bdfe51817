package receipt_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/hwbridge/serialprinter"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter/vprintertest"
	"github.com/kioskd/kioskd/kiosk/receipt"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/store/voucher"
)

var quiet = vprintertest.Quiet

type rig = vprintertest.Rig

// newRig starts serialprinter -> pty -> vprinter; poll is the status poll
// interval (0: 100 ms).
func newRig(t testing.TB, baud int, poll time.Duration) *rig {
	t.Helper()
	return vprintertest.New(t, vprintertest.Options{Baud: baud, Poll: poll, Printer: vprinter.Options{OutDir: t.TempDir()}})
}

func decodeQR(t testing.TB, r vprinter.Rendered) string {
	t.Helper()
	s, err := vprintertest.DecodeQR(r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var testVoucher = voucher.Format(voucher.New(1234, 42))

func encode(t testing.TB, d receipt.Data, opt escpos.Options) []byte {
	t.Helper()
	b, err := escpos.Encode(receipt.Build(d, cfg), opt)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// copyOf rebuilds d as a reprint does: marked as a copy, in the language
// the journal kept.
func copyOf(t testing.TB, d receipt.Data) func(receipt.JournalEntry) ([]byte, error) {
	return func(e receipt.JournalEntry) ([]byte, error) {
		d.Copy, d.Lang = true, e.Lang
		return encode(t, d, escpos.Options{}), nil
	}
}

func TestPrintReportLossAllLanguages(t *testing.T) {
	r := newRig(t, 0, 0)
	j := receipt.NewMemoryJournal()
	wording := map[string][]string{
		"zh-CN": {"社会保障卡临时挂失凭证", "挂失受理后，社保卡结算功能将在1小时内停止。", "姓名: 张**", "10元；5个工作日后"},
		"vi":    {"BIÊN NHẬN BÁO MẤT THẺ TẠM THỜI", "Thẻ bị dừng thanh toán trong vòng 1 giờ.", "Số CCCD: 110***********1234"},
		"en":    {"Temporary loss report", "Settlement stops within 1 hour.", "ID number: 110***********1234"},
	}
	for i, lang := range []string{"zh-CN", "vi", "en"} {
		d := data(lang)
		d.Voucher = voucher.Format(voucher.New(1234, uint64(100+i)))
		if err := receipt.PrintAndJournal(context.Background(), r.P, j, receipt.JournalEntry{Voucher: d.Voucher, Lang: d.Lang, Body: encode(t, d, escpos.Options{})}); err != nil {
			t.Fatalf("%s: PrintAndJournal: %v", lang, err)
		}
		got := r.Receipt(t, i+1)
		if !got.Complete {
			t.Errorf("%s: receipt incomplete", lang)
		}
		for _, w := range append(wording[lang], d.Voucher+"\n") {
			if !strings.Contains(got.Text, w) {
				t.Errorf("%s: rendered text has no %q:\n%s", lang, w, got.Text)
			}
		}
		want := "https://si.example.gov/lookup?v=" + d.Voucher
		if qr := decodeQR(t, got); qr != want {
			t.Errorf("%s: QR decodes to %q, want %q", lang, qr, want)
		}
		e, err := j.Receipt(d.Voucher)
		if err != nil || !e.Printed || e.Attempts != 1 {
			t.Errorf("%s: journal %+v, %v", lang, e, err)
		}
	}
	if u := r.VP.Unknown(); len(u) != 0 {
		t.Errorf("printer rejected commands: %v", u)
	}
}

func TestControlBytesInNameNeverReachThePrinter(t *testing.T) {
	r := newRig(t, 0, time.Hour) // no polls: every DLE EOT counted is from Print
	clean := data("en")
	clean.Voucher, clean.Name, clean.IDNumber = testVoucher, "Zhang San", "110101199003071234"
	dirty := clean
	dirty.Name = "\x1b@Zhang\x1bE\x01\x1dV\x00 San\x10\x04\x01\x1c&\x1dV\x42\x00"
	dirty.IDNumber = "1101011990\x1b@03071234"
	count := func(d receipt.Data, n int) map[escpos.Op]int {
		before := r.VP.Counts()
		if err := r.P.Print(context.Background(), encode(t, d, escpos.Options{})); err != nil {
			t.Fatal(err)
		}
		r.Receipt(t, n)
		after := r.VP.Counts()
		for op := range after {
			after[op] -= before[op]
		}
		return after
	}
	want := count(clean, 1)
	got := count(dirty, 2)
	for _, op := range []escpos.Op{escpos.OpInit, escpos.OpCut, escpos.OpStatus, escpos.OpKanjiOn, escpos.OpBold, escpos.OpSize, escpos.OpFeed, escpos.OpLF, escpos.OpQRStore} {
		if got[op] != want[op] {
			t.Errorf("%v: %d from the receipt with control bytes in the name, %d from the clean one", op, got[op], want[op])
		}
	}
	if u := r.VP.Unknown(); len(u) != 0 {
		t.Errorf("unknown commands reached the printer: %v", u)
	}
	text := r.VP.Receipts()[1].Text
	if !strings.Contains(text, "Name: @") || !strings.Contains(text, "ID number: 110") {
		t.Errorf("masked name and number not printed:\n%s", text)
	}
}

func journals(t *testing.T) map[string]func() receipt.Journal {
	return map[string]func() receipt.Journal{
		"memory": func() receipt.Journal { return receipt.NewMemoryJournal() },
		"store": func() receipt.Journal {
			s, err := store.Open(filepath.Join(t.TempDir(), "kioskd.db"), store.Options{Key: bytes.Repeat([]byte{7}, 32), KioskID: "k1", TerminalNo: 1234})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return receipt.StoreJournal{Store: s}
		},
	}
}

// TestFailureJournaledAndReprintedAsCopy: paper out mid-receipt, cover open,
// printer unplugged. Each time the receipt is journaled as not printed with
// the reason, an event says why, and after recovery the reprint comes out
// marked as a copy.
func TestFailureJournaledAndReprintedAsCopy(t *testing.T) {
	cases := []struct {
		name    string
		fail    func(r *rig)
		event   func(serialprinter.Event) bool
		reason  string
		recover func(t *testing.T, r *rig)
	}{
		{"paper out mid-receipt",
			func(r *rig) { r.VP.RunOutAfter(200) },
			func(e serialprinter.Event) bool { return e.Status.PaperOut },
			"paper out",
			func(t *testing.T, r *rig) { r.VP.SetState(vprinter.StateOK) }},
		{"cover open",
			func(r *rig) { r.VP.SetState(vprinter.StateCoverOpen) },
			func(e serialprinter.Event) bool { return e.Status.CoverOpen },
			"cover open",
			func(t *testing.T, r *rig) { r.VP.SetState(vprinter.StateOK) }},
		{"unplugged",
			func(r *rig) { r.VP.Unplug() },
			func(e serialprinter.Event) bool { return !e.Connected },
			"not connected",
			func(t *testing.T, r *rig) {
				if err := r.VP.Plug(); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for jname, mk := range journals(t) {
		for _, tc := range cases {
			t.Run(jname+"/"+tc.name, func(t *testing.T) {
				r := newRig(t, 0, 0)
				j := mk()
				d := data("zh-CN")
				d.Voucher = testVoucher
				tc.fail(r)
				if tc.name == "unplugged" {
					r.WaitEvent(t, tc.event)
				}
				err := receipt.PrintAndJournal(context.Background(), r.P, j, receipt.JournalEntry{Voucher: d.Voucher, Lang: d.Lang, Body: encode(t, d, escpos.Options{})})
				var np *serialprinter.NotPrintedError
				if !errors.As(err, &np) {
					t.Fatalf("PrintAndJournal: %v, want a NotPrintedError", err)
				}
				if tc.name != "unplugged" {
					r.WaitEvent(t, tc.event)
				}
				un, err := j.UnprintedReceipts()
				if err != nil || len(un) != 1 || voucher.Format(un[0].Voucher) != d.Voucher || un[0].Printed ||
					!strings.Contains(un[0].LastError, tc.reason) || len(un[0].Body) == 0 {
					t.Fatalf("unprinted receipts %+v, %v: want this voucher, with %q", un, err, tc.reason)
				}
				tc.recover(t, r)
				r.WaitEvent(t, func(e serialprinter.Event) bool { return e.Connected && e.Status.Ready() })
				if err := receipt.Reprint(context.Background(), r.P, j, d.Voucher, copyOf(t, d)); err != nil {
					t.Fatalf("Reprint after recovery: %v", err)
				}
				rs := r.VP.Receipts()
				got := rs[len(rs)-1]
				if !got.Complete || !strings.Contains(got.Text, "*** 副本 ***") || !strings.Contains(got.Text, d.Voucher) {
					t.Errorf("reprint:\n%s", got.Text)
				}
				e, err := j.Receipt(d.Voucher)
				if err != nil || !e.Printed || e.Copies != 1 || e.Attempts != 2 {
					t.Errorf("journal after reprint: %+v, %v", e, err)
				}
				if un, _ := j.UnprintedReceipts(); len(un) != 0 {
					t.Errorf("still unprinted after reprint: %d", len(un))
				}
			})
		}
	}
}

// receiptBytes is the size on the wire of the pre-loss receipt in lang,
// unsigned, with the embedded default's configuration (80 mm, native QR).
func receiptBytes(tb testing.TB, lang string, qr escpos.QRMode) int {
	d := data(lang)
	d.Voucher = testVoucher
	b, err := escpos.Encode(receipt.Build(d, defaults()), escpos.Options{Paper: escpos.Paper80, QR: qr})
	if err != nil {
		tb.Fatal(err)
	}
	return len(b)
}

// TestReceiptBytes: the pre-loss receipt, with all its content, fits in
// 630 bytes in English and 600 in Chinese: a mode is sent only when it
// changes, rules are half the paper's width. Issue 13 asked for 520 in
// English, for the content it had then (a public ESC/POS encoder built it
// in 518); the facts the same issue asked for (the new card collected 5
// working days after applying, with the ID card and the collection
// certificate, the temporary medical certificate until then) added 107
// bytes of English text and no control byte: 519 bytes became 626.
func TestReceiptBytes(t *testing.T) {
	for lang, limit := range map[string]int{"en": 630, "zh-CN": 600} {
		if n := receiptBytes(t, lang, escpos.QRNative); n > limit {
			t.Errorf("%s pre-loss receipt: %d bytes, want at most %d", lang, n, limit)
		}
	}
}

func BenchmarkReceiptBytes(b *testing.B) {
	var en, zh, raster int
	for range b.N {
		en = receiptBytes(b, "en", escpos.QRNative)
		zh = receiptBytes(b, "zh-CN", escpos.QRNative)
		raster = receiptBytes(b, "zh-CN", escpos.QRRaster)
	}
	b.ReportMetric(float64(en), "receipt_bytes_en:bytes")
	b.ReportMetric(float64(zh), "receipt_bytes_zh:bytes")
	b.ReportMetric(float64(raster), "receipt_bytes_raster_qr:bytes")
}

func BenchmarkReceiptSeconds9600(b *testing.B) {
	r := newRig(b, 9600, time.Hour)
	d := data("zh-CN")
	d.Voucher = testVoucher
	body := encode(b, d, escpos.Options{Paper: escpos.Paper80, QR: escpos.QRNative})
	var secs float64
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := r.P.Print(context.Background(), body); err != nil {
			b.Fatal(err)
		}
		secs = time.Since(start).Seconds()
	}
	b.ReportMetric(secs, "receipt_seconds_9600:s")
}

// TestPrintRasterFallbacks: a printer with neither native QR nor a CP1258
// table gets the QR code and the Vietnamese lines as bitmaps.
func TestPrintRasterFallbacks(t *testing.T) {
	r := newRig(t, 0, 0)
	d := data("vi")
	d.Voucher = testVoucher
	if err := r.P.Print(context.Background(), encode(t, d, escpos.Options{QR: escpos.QRRaster, Viet: escpos.VietRaster})); err != nil {
		t.Fatal(err)
	}
	got := r.Receipt(t, 1)
	c := r.VP.Counts()
	if c[escpos.OpQRStore] != 0 || c[escpos.OpTable] != 0 || c[escpos.OpRaster] < 5 {
		t.Errorf("commands %v: want raster images, no native QR, no code table", c)
	}
	if !strings.Contains(got.Text, d.Voucher+"\n") || strings.Contains(got.Text, "Mã hồ sơ") {
		t.Errorf("rendered text:\n%s", got.Text)
	}
	if qr, want := decodeQR(t, got), "https://si.example.gov/lookup?v="+d.Voucher; qr != want {
		t.Errorf("raster QR decodes to %q, want %q", qr, want)
	}
}

// TestPrint58mm: the same receipt on a 58 mm printer.
func TestPrint58mm(t *testing.T) {
	r := vprintertest.New(t, vprintertest.Options{Printer: vprinter.Options{Paper: escpos.Paper58}})
	c := cfg
	c.Paper = escpos.Paper58
	d := data("zh-CN")
	d.Voucher = testVoucher
	body, err := escpos.Encode(receipt.Build(d, c), escpos.Options{Paper: escpos.Paper58})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.P.Print(context.Background(), body); err != nil {
		t.Fatal(err)
	}
	got := r.Receipt(t, 1)
	if !strings.Contains(got.Text, d.Voucher+"\n") || !strings.Contains(got.Text, strings.Repeat("-", 16)+"\n") || strings.Contains(got.Text, strings.Repeat("-", 17)) {
		t.Errorf("58 mm receipt:\n%s", got.Text)
	}
	if qr, want := decodeQR(t, got), "https://si.example.gov/lookup?v="+d.Voucher; qr != want {
		t.Errorf("QR decodes to %q, want %q", qr, want)
	}
}
