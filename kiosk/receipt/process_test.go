package receipt_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/hwbridge/serialprinter"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter/vprintertest"
	"github.com/kioskd/kioskd/kiosk/receipt"
	scriptsrig "github.com/kioskd/kioskd/scripts/rig"
	"github.com/kioskd/kioskd/store/voucher"
)

// vprinterProcess is `kioskd vprinter` running as a child process.
type vprinterProcess struct {
	link, out, control string
}

func startVprinter(t *testing.T) *vprinterProcess {
	t.Helper()
	dir := t.TempDir()
	v := &vprinterProcess{link: filepath.Join(dir, "ttyPRN"), out: filepath.Join(dir, "out")}
	cmd := exec.Command(scriptsrig.Kioskd(t), "vprinter", "--link", v.link, "--out", v.out, "--control", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("kioskd vprinter exited: %v", err)
		}
		if _, err := os.Lstat(v.link); err == nil {
			t.Errorf("kioskd vprinter left its link behind")
		}
	})
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`control listening on (http://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case v.control = <-found:
	case <-time.After(60 * time.Second):
		t.Fatal("kioskd vprinter did not report its control address")
	}
	return v
}

func (v *vprinterProcess) post(t *testing.T, path string) {
	t.Helper()
	resp, err := http.Post(v.control+path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST %s: %s", path, resp.Status)
	}
}

type rendered struct {
	Seq      int      `json:"seq"`
	Text     string   `json:"text"`
	Complete bool     `json:"complete"`
	PNGPath  string   `json:"png_path"`
	QRBoxes  [][4]int `json:"qr_boxes"`
}

func (v *vprinterProcess) receipts(t *testing.T) []rendered {
	t.Helper()
	resp, err := http.Get(v.control + "/receipts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Receipts []rendered `json:"receipts"`
		Unknown  []string   `json:"unknown_commands"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Unknown) > 0 {
		t.Errorf("kioskd vprinter rejected commands: %v", got.Unknown)
	}
	return got.Receipts
}

// TestKioskdVprinterProcess drives `kioskd vprinter` as a separate process
// through its pty: receipts in the three languages come out in its out dir
// (text and PNG with a decodable QR), and the control API's cover open,
// unplug and plug end in a reprint marked as a copy.
func TestKioskdVprinterProcess(t *testing.T) {
	v := startVprinter(t)
	p := serialprinter.New(serialprinter.Config{Device: v.link, Baud: 115200, Flow: serialprinter.FlowXonXoff,
		PollInterval: 100 * time.Millisecond, StatusTimeout: 5 * time.Second}, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	vprintertest.WaitEvent(t, p, func(e serialprinter.Event) bool { return e.Connected && e.Status.Ready() })

	j := receipt.NewMemoryJournal()
	promise := map[string]string{"zh-CN": "1小时内停止", "vi": "trong vòng 1 giờ", "en": "within 1 hour"}
	for i, lang := range []string{"zh-CN", "vi", "en"} {
		d := data(lang)
		d.Voucher = voucher.Format(voucher.New(1234, uint64(200+i)))
		if err := receipt.PrintAndJournal(context.Background(), p, j, receipt.JournalEntry{Voucher: d.Voucher, Lang: d.Lang, Body: encode(t, d, escpos.Options{})}); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		rs := v.receipts(t)
		if len(rs) != i+1 {
			t.Fatalf("%s: %d receipts rendered, want %d", lang, len(rs), i+1)
		}
		text, err := os.ReadFile(filepath.Join(v.out, fmt.Sprintf("receipt-%04d.txt", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(text), d.Voucher) || !strings.Contains(string(text), promise[lang]) {
			t.Errorf("%s: receipt text:\n%s", lang, text)
		}
		pngData, err := os.ReadFile(rs[i].PNGPath)
		if err != nil {
			t.Fatal(err)
		}
		var boxes []image.Rectangle
		for _, b := range rs[i].QRBoxes {
			boxes = append(boxes, image.Rect(b[0], b[1], b[2], b[3]))
		}
		if qr, want := decodeQR(t, vprinter.Rendered{PNG: pngData, QRBoxes: boxes}), "https://si.example.gov/lookup?v="+d.Voucher; qr != want {
			t.Errorf("%s: QR decodes to %q, want %q", lang, qr, want)
		}
	}

	d := data("en")
	d.Voucher = voucher.Format(voucher.New(1234, 300))
	body := encode(t, d, escpos.Options{})
	v.post(t, "/state/cover_open")
	err := receipt.PrintAndJournal(context.Background(), p, j, receipt.JournalEntry{Voucher: d.Voucher, Lang: d.Lang, Body: body})
	var np *serialprinter.NotPrintedError
	if !errors.As(err, &np) || !np.Reason.CoverOpen {
		t.Fatalf("print with the cover open: %v", err)
	}
	v.post(t, "/state/ok")
	v.post(t, "/unplug")
	vprintertest.WaitEvent(t, p, func(e serialprinter.Event) bool { return !e.Connected })
	v.post(t, "/plug")
	vprintertest.WaitEvent(t, p, func(e serialprinter.Event) bool { return e.Connected && e.Status.Ready() })
	if un, _ := j.UnprintedReceipts(); len(un) != 1 || !strings.Contains(un[0].LastError, "cover open") {
		t.Fatalf("unprinted: %+v", un)
	}
	err = receipt.Reprint(context.Background(), p, j, d.Voucher, copyOf(t, d))
	if err != nil {
		t.Fatalf("reprint: %v", err)
	}
	rs := v.receipts(t)
	if last := rs[len(rs)-1]; !last.Complete || !strings.Contains(last.Text, "*** COPY ***") || !strings.Contains(last.Text, d.Voucher) {
		t.Errorf("reprint rendered:\n%s", last.Text)
	}
}
