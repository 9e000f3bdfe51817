package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// recorder is an in-process Driver: it records intents and answers confirm
// by showing the next screen, like a session would.
type recorder struct {
	srv *Server
	mu  sync.Mutex
	got []Intent
	err error
}

func (r *recorder) Intent(_ context.Context, in Intent) error {
	r.mu.Lock()
	r.got = append(r.got, in)
	err := r.err
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if in.Type == TypeConfirm {
		r.srv.Show(Screen{Name: "menu", Data: map[string]any{"n": len(r.intents())}})
	}
	return nil
}

func (r *recorder) intents() []Intent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Intent(nil), r.got...)
}

func newTestServer(t *testing.T, cfg Config) (*Server, *recorder, *httptest.Server) {
	t.Helper()
	srv := NewServer(cfg)
	rec := &recorder{srv: srv}
	srv.SetDriver(rec)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return srv, rec, hs
}

func wsURL(hs *httptest.Server) string { return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws" }

func dial(t *testing.T, hs *httptest.Server, origin string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	c, resp, err := websocket.DefaultDialer.Dial(wsURL(hs), h)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

// page connects with the page's own origin and reads the greeting.
func page(t *testing.T, hs *httptest.Server) *websocket.Conn {
	t.Helper()
	c, _, err := dial(t, hs, hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	if f := read(t, c); f["type"] != TypeHello {
		t.Fatalf("first frame %v, want hello", f)
	}
	return c
}

func read(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %q: %v", b, err)
	}
	return f
}

// readUntil skips frames until one of type typ arrives.
func readUntil(t *testing.T, c *websocket.Conn, typ string) map[string]any {
	t.Helper()
	for range 1000 {
		if f := read(t, c); f["type"] == typ {
			return f
		}
	}
	t.Fatalf("no %s frame", typ)
	return nil
}

func write(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func TestOriginChecked(t *testing.T) {
	_, _, hs := newTestServer(t, Config{AllowedOrigins: []string{"http://kiosk.local:8080", "https://kiosk.example"}})
	port := hs.Listener.Addr().(*net.TCPAddr).Port
	refused := []struct{ origin, host string }{
		{"http://evil.example", ""},
		{"http://127.0.0.1:1", ""},
		{"null", ""},
		{"file://", ""},
		{"", ""},
		// DNS rebinding: evil.example resolves to 127.0.0.1, and the
		// browser sends its own name in both Origin and Host.
		{fmt.Sprintf("http://evil.example:%d", port), fmt.Sprintf("evil.example:%d", port)},
		{fmt.Sprintf("http://evil.example:%d", port), ""},
		// The listener speaks plain HTTP: an https page is not ours.
		{fmt.Sprintf("https://127.0.0.1:%d", port), ""},
		{fmt.Sprintf("https://localhost:%d", port), ""},
		{"http://kiosk.example", ""},
		{"https://kiosk.local:8080", ""},
		{fmt.Sprintf("http://127.0.0.1:%d/path", port), ""},
	}
	for _, c := range refused {
		h := http.Header{}
		if c.origin != "" {
			h.Set("Origin", c.origin)
		}
		if c.host != "" {
			h.Set("Host", c.host)
		}
		conn, resp, err := websocket.DefaultDialer.Dial(wsURL(hs), h)
		if err == nil {
			conn.Close()
			t.Errorf("origin %q (Host %q) accepted", c.origin, c.host)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: %v, want 403", c.origin, err)
		}
	}
	for _, o := range []string{hs.URL, fmt.Sprintf("http://localhost:%d", port), fmt.Sprintf("http://[::1]:%d", port),
		"http://kiosk.local:8080", "HTTP://Kiosk.Local:8080", "https://kiosk.example:443"} {
		if _, _, err := dial(t, hs, o); err != nil {
			t.Errorf("origin %q refused: %v", o, err)
		}
	}
}

// TestOriginOffLoopback: a connection that came in on an address that is
// not loopback (the UI listening on 0.0.0.0) gets no own origin, not even
// that address's: only the configured origins connect.
func TestOriginOffLoopback(t *testing.T) {
	srv := NewServer(Config{AllowedOrigins: []string{"http://kiosk.local:8080"}})
	for _, c := range []struct {
		origin string
		want   bool
	}{
		{"http://192.0.2.10:8080", false},
		{"http://127.0.0.1:8080", false},
		{"http://localhost:8080", false},
		{"http://kiosk.local:8080", true},
	} {
		r := httptest.NewRequest("GET", "http://192.0.2.10:8080/ws", nil)
		r.Header.Set("Origin", c.origin)
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 8080}))
		if got := srv.originAllowed(r); got != c.want {
			t.Errorf("origin %s on 192.0.2.10:8080: allowed %v, want %v", c.origin, got, c.want)
		}
	}
}

func TestGreetingResendsCurrentScreen(t *testing.T) {
	srv, _, hs := newTestServer(t, Config{KioskID: "K-1", Version: "v1"})
	srv.Show(Screen{Name: "keypad", Data: map[string]any{"field": "pin"}, Session: "s1"})
	srv.Device(Device{Readers: []Reader{{Slot: "ss", Present: true}}, Printer: "paper_out"})
	for range 2 { // connect, drop, reconnect: the same screen again
		c, _, err := dial(t, hs, hs.URL)
		if err != nil {
			t.Fatal(err)
		}
		h := read(t, c)
		if h["type"] != TypeHello || h["kiosk_id"] != "K-1" || h["version"] != "v1" || h["session"] != "s1" {
			t.Fatalf("hello %v", h)
		}
		if langs, _ := h["languages"].([]any); len(langs) != 3 {
			t.Fatalf("languages %v", h["languages"])
		}
		if d := read(t, c); d["type"] != TypeDevice || d["printer"] != "paper_out" {
			t.Fatalf("device %v", d)
		}
		s := read(t, c)
		if s["type"] != TypeScreen || s["name"] != "keypad" || s["data"].(map[string]any)["field"] != "pin" {
			t.Fatalf("screen %v", s)
		}
		c.Close()
	}
}

func TestBadFramesGetErrors(t *testing.T) {
	_, rec, hs := newTestServer(t, Config{})
	c := page(t, hs)
	readUntil(t, c, TypeScreen)
	for _, tt := range []struct{ frame, code string }{
		{`{"type":`, CodeMalformed},
		{`{"type":"screen","name":"done"}`, CodeUnknownType},
		{`{"type":"input"}`, CodeMalformed},
		{`"confirm"`, CodeMalformed},
	} {
		write(t, c, tt.frame)
		if f := readUntil(t, c, TypeError); f["code"] != tt.code {
			t.Errorf("%s: error %v, want %s", tt.frame, f, tt.code)
		}
	}
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if f := readUntil(t, c, TypeError); f["code"] != CodeMalformed {
		t.Errorf("binary: %v", f)
	}
	if n := len(rec.intents()); n != 0 {
		t.Errorf("driver got %d intents from bad frames", n)
	}
	// The connection still works.
	write(t, c, `{"type":"confirm"}`)
	if f := readUntil(t, c, TypeScreen); f["name"] != "menu" {
		t.Errorf("screen after confirm %v", f)
	}
}

func TestOversizeFrameCloses(t *testing.T) {
	_, rec, hs := newTestServer(t, Config{})
	c := page(t, hs)
	readUntil(t, c, TypeScreen)
	big := `{"type":"input","field":"pin","value":"` + strings.Repeat("1", MaxFrame) + `"}`
	write(t, c, big)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var err error
	for err == nil {
		_, _, err = c.ReadMessage()
	}
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Errorf("connection ended with %v, want close 1009", err)
	}
	if len(rec.intents()) != 0 {
		t.Error("oversize frame reached the driver")
	}
	c2 := page(t, hs)
	write(t, c2, `{"type":"confirm"}`)
	readUntil(t, c2, TypeScreen)
}

// A page (or whatever got hold of its connection) sends 10,000 malformed
// frames: nothing reaches the flow, the server stays up, and the page then
// works normally.
func TestFloodOfMalformedFrames(t *testing.T) {
	_, rec, hs := newTestServer(t, Config{})
	c := page(t, hs)
	readUntil(t, c, TypeScreen)
	done := make(chan int)
	go func() { // drain answers so the server never blocks on us
		n := 0
		for {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, b, err := c.ReadMessage()
			if err != nil || strings.Contains(string(b), `"name":"menu"`) {
				done <- n
				return
			}
			n++
		}
	}()
	bad := []string{`{`, `{"type":"nope"}`, `[]`, `{"type":"start"}`, "\xff\xfe", `{"type":"input","field":""}`}
	for i := range 10000 {
		if err := c.WriteMessage(websocket.TextMessage, []byte(bad[i%len(bad)])); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if n := len(rec.intents()); n != 0 {
		t.Fatalf("driver got %d intents from the flood", n)
	}
	// Once the rate limit refills, the page's next touch goes through.
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.intents()) == 0 && time.Now().Before(deadline) {
		write(t, c, `{"type":"confirm"}`)
		time.Sleep(100 * time.Millisecond)
	}
	if n := <-done; n == 0 {
		t.Error("no error frame answered the flood")
	}
	if len(rec.intents()) == 0 || rec.intents()[0].Type != TypeConfirm {
		t.Fatalf("page's confirm not delivered after the flood: %v", rec.intents())
	}
	// And a new page can still connect.
	page(t, hs)
}

func TestRateLimit(t *testing.T) {
	_, rec, hs := newTestServer(t, Config{Rate: 1, Burst: 5})
	c := page(t, hs)
	readUntil(t, c, TypeScreen)
	for range 50 {
		write(t, c, `{"type":"ping"}`)
	}
	if f := readUntil(t, c, TypeError); f["code"] != CodeRateLimited {
		t.Fatalf("error %v, want rate_limited", f)
	}
	if n := len(rec.intents()); n > 6 {
		t.Errorf("driver got %d of 50 frames with burst 5", n)
	}
}

func TestSecondPageTakesOver(t *testing.T) {
	srv, rec, hs := newTestServer(t, Config{})
	a := page(t, hs)
	readUntil(t, a, TypeScreen)
	b := page(t, hs)
	readUntil(t, b, TypeScreen)
	if f := readUntil(t, a, TypeError); f["code"] != CodeTakenOver {
		t.Fatalf("first page got %v, want taken_over", f)
	}
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := a.ReadMessage(); err != nil {
			break // closed
		}
	}
	write(t, b, `{"type":"confirm"}`)
	if f := readUntil(t, b, TypeScreen); f["name"] != "menu" {
		t.Fatalf("second page: %v", f)
	}
	srv.Show(Screen{Name: "done"})
	if f := readUntil(t, b, TypeScreen); f["name"] != "done" {
		t.Fatalf("second page: %v", f)
	}
	if n := len(rec.intents()); n != 1 {
		t.Errorf("driver got %d intents, want 1", n)
	}
}

func TestDriverErrorsBecomeErrorFrames(t *testing.T) {
	_, rec, hs := newTestServer(t, Config{})
	c := page(t, hs)
	readUntil(t, c, TypeScreen)
	rec.err = &Error{Code: "refused", Message: "not allowed at this step"}
	write(t, c, `{"type":"back"}`)
	if f := readUntil(t, c, TypeError); f["code"] != "refused" || f["message"] != "not allowed at this step" {
		t.Errorf("error %v", f)
	}
	rec.mu.Lock()
	rec.err = errors.New("disk on fire at /var/lib/kioskd")
	rec.mu.Unlock()
	write(t, c, `{"type":"back"}`)
	if f := readUntil(t, c, TypeError); f["code"] != CodeInternal || strings.Contains(f["message"].(string), "/var") {
		t.Errorf("error %v", f)
	}
}

func TestStaticPage(t *testing.T) {
	_, _, hs := newTestServer(t, Config{})
	for path, want := range map[string]string{"/": `<main id="screen"`, "/app.js": "new WebSocket", "/i18n/vi.json": "Quay lại", "/style.css": "--target: 64px", "/pictures.js": "P.place_id"} {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
	resp, err := http.Post(hs.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", resp.StatusCode)
	}
}
