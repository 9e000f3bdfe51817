package uitest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kioskd/kioskd/ui"
)

// echo is a Driver that answers every intent with a screen named after
// it, carrying the intent's fields; "fail" as a value answers an error.
type echo struct{ srv *ui.Server }

func (e echo) Intent(_ context.Context, in ui.Intent) error {
	if in.Type == "ping" {
		// The page pings on every touch; a daemon does not redraw for it
		// (redrawing would take the button from under the finger).
		return nil
	}
	if in.Value == "fail" {
		return &ui.Error{Code: "test_failed", Message: "asked to fail"}
	}
	e.srv.Show(ui.Screen{Name: in.Type, Data: map[string]any{"title": "menu.title", "flow": in.Flow, "field": in.Field, "value": in.Value}})
	return nil
}

// serve runs a real ui.Server, showing idle, on a real HTTP server.
func serve(t *testing.T) (*ui.Server, string) {
	t.Helper()
	srv := ui.NewServer(ui.Config{KioskID: "K-TEST", Version: "test"})
	srv.SetDriver(echo{srv})
	srv.Show(ui.Screen{Name: "idle", Data: map[string]any{}})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return srv, hs.URL
}

func TestPageSpeaksTheProtocol(t *testing.T) {
	srv, url := serve(t)
	p := Dial(t, url)
	p.Expect("idle")
	p.Start("report_loss")
	if d := p.Expect("start", "flow", "report_loss"); d["flow"] != "report_loss" {
		t.Errorf("start screen %v", d)
	}
	p.Input("pin", "1234")
	p.Expect("input", "field", "pin", "value", "1234")
	if p.Last()["value"] != "1234" {
		t.Errorf("Last %v", p.Last())
	}
	p.Confirm()
	p.Expect("confirm")
	p.Back()
	p.Expect("back")
	p.Cancel()
	p.Expect("cancel")
	p.Input("x", "fail")
	p.ExpectError("test_failed")

	if p.Device() != nil {
		t.Fatalf("device frame %v before any", p.Device())
	}
	srv.Device(ui.Device{Printer: "paper_out", Readers: []ui.Reader{{Slot: "id", Present: true}}})
	p.Confirm()
	p.Expect("confirm")
	if d := p.Device(); d == nil || d["printer"] != "paper_out" {
		t.Errorf("device frame %v", d)
	}
}

// recorder is a testing.TB that keeps its failures instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// fails runs f as a test that records its failures, and returns them.
func fails(t *testing.T, f func(tb testing.TB)) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.errors
}

// The page fails the test, saying why, when the server is not there or
// answers with an error instead of the screen expected.
func TestPageFailures(t *testing.T) {
	_, url := serve(t)
	if errs := fails(t, func(tb testing.TB) { Dial(tb, "http://127.0.0.1:1") }); len(errs) != 1 || !strings.Contains(errs[0], "connect the page") {
		t.Errorf("Dial to nothing: %q", errs)
	}
	errs := fails(t, func(tb testing.TB) {
		p := Dial(tb, url)
		p.Input("x", "fail")
		p.Expect("input")
	})
	if len(errs) != 1 || !strings.Contains(errs[0], "test_failed") || !strings.Contains(errs[0], "waiting for input") {
		t.Errorf("Expect across an error frame: %q", errs)
	}
	errs = fails(t, func(tb testing.TB) {
		p := Dial(tb, url)
		p.Input("x", "fail")
		p.ExpectError("other_code")
	})
	if len(errs) != 1 || !strings.Contains(errs[0], "want code other_code") {
		t.Errorf("ExpectError of another code: %q", errs)
	}
}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestAssertNone(t *testing.T) {
	personal := []string{"Nguyễn Văn An", "001090012345"}
	for _, tc := range []struct {
		name string
		v    any
		want int
	}{
		{"clean string", "voucher K-1-0001 printed", 0},
		{"name in a log line", `level=INFO msg=read name="Nguyễn Văn An"`, 1},
		{"both in a map", map[string]any{"id": "001090012345", "name": "Nguyễn Văn An"}, 2},
		{"in an unexported field", struct{ id string }{"x001090012345"}, 1},
		{"masked", map[string]string{"id": "********2345"}, 0},
	} {
		r := &recorder{TB: t}
		AssertNone(r, "thing", tc.v, personal)
		if len(r.errors) != tc.want {
			t.Errorf("%s: %d failures %q, want %d", tc.name, len(r.errors), r.errors, tc.want)
		}
		for _, e := range r.errors {
			if !strings.HasPrefix(e, "thing holds ") {
				t.Errorf("%s: failure %q does not name what holds it", tc.name, e)
			}
		}
	}
}

func TestLockedBuffer(t *testing.T) {
	var b LockedBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprintf(&b, "%d\n", i)
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 800 {
		t.Errorf("%d lines, want 800", n)
	}
}

func TestShotsDir(t *testing.T) {
	t.Setenv("KIOSKD_SCREENSHOTS", "/keep/here")
	if d := ShotsDir(t); d != "/keep/here" {
		t.Errorf("ShotsDir %q with $KIOSKD_SCREENSHOTS set", d)
	}
	t.Setenv("KIOSKD_SCREENSHOTS", "")
	if d := ShotsDir(t); d == "" || d == "/keep/here" {
		t.Errorf("ShotsDir %q without $KIOSKD_SCREENSHOTS", d)
	}
}

// The browser rig on the real page: the idle screen in Chromium, a touch
// that reaches the driver, a screenshot with the touch-size check.
func TestBrowser(t *testing.T) {
	_, url := serve(t)
	shots := t.TempDir()
	b := NewBrowser(t, url, shots)
	cat := Catalogue(t, "zh-CN")
	if h1 := b.Text(t, "#screen h1"); h1 != cat["idle.title"] {
		t.Errorf("idle title %q, want %q", h1, cat["idle.title"])
	}
	b.Shot(t, "idle")
	b.Run(t, Click(`#screen [data-value="report_loss"]`), Screen("start", ""))
	if n := Get(t, b, chromedp.Evaluate[int](`window.__renders.length`)); n < 2 {
		t.Errorf("%d renders, want idle and start", n)
	}
	if _, err := os.Stat(filepath.Join(shots, "TestBrowser-01-idle.png")); err != nil {
		t.Errorf("screenshot: %v", err)
	}
}

func TestRows(t *testing.T) {
	d := map[string]any{"rows": []any{
		map[string]any{"label": "row.name", "value": "Trần Thị Cúc"},
		map[string]any{"label": "maint.queue.pending", "value": 2.0},
		"not a row",
	}}
	r := Rows(d)
	if r["row.name"] != "Trần Thị Cúc" || r["maint.queue.pending"] != "2" || len(r) != 2 {
		t.Errorf("Rows %v", r)
	}
	if r := Rows(map[string]any{"title": "x"}); len(r) != 0 {
		t.Errorf("Rows of a screen without rows %v", r)
	}
}
