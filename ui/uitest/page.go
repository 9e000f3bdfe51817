package uitest

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kioskd/kioskd/ui"
)

// Page is a touch page on /ws: a gorilla WebSocket client that sends the
// citizen's intents and reads the frames the daemon sends. Every method
// fails the test it was dialled with on a broken connection or an
// unexpected frame.
type Page struct {
	// Conn is the WebSocket, for tests that send raw or oversized frames.
	Conn *websocket.Conn
	// ReadTimeout bounds the wait for one frame (default 10 s).
	ReadTimeout time.Duration

	t    testing.TB
	last map[string]any
	dev  map[string]any

	// shown is the last screen frame read, fresh says it was read after
	// before was taken; before is the last screen read when an input was
	// made, and sent says an input is waiting for its Expect (see Expect).
	shown, before map[string]any
	sent, fresh   bool
}

// Dial connects a page to the UI server at uiURL (http://host:port), with
// the page's own Origin as a browser would send it. It retries for about a
// second while the server starts, all within 10 s. The connection is
// closed when t ends.
func Dial(t testing.TB, uiURL string) *Page {
	t.Helper()
	h := http.Header{"Origin": {uiURL}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c *websocket.Conn
	var err error
	for range 50 { // the UI server may still be starting
		if c, _, err = websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(uiURL, "http")+"/ws", h); err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("connect the page: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &Page{Conn: c, ReadTimeout: 10 * time.Second, t: t}
}

// Send sends one frame, the JSON object of v.
func (p *Page) Send(v map[string]string) {
	p.t.Helper()
	b, _ := json.Marshal(v)
	p.Acted()
	if err := p.Conn.WriteMessage(websocket.TextMessage, b); err != nil {
		p.t.Fatalf("send %s: %v", v["type"], err)
	}
}

// Acted records an input the test made other than through the page (a
// card put on a reader, a printer state set): like a sent frame, it makes
// the next Expect wait for the answer to it.
func (p *Page) Acted() {
	if p != nil && (!p.sent || p.fresh) {
		p.before, p.sent, p.fresh = p.shown, true, false
	}
}

// Start sends the intent to start flow f.
func (p *Page) Start(f string) { p.t.Helper(); p.Send(map[string]string{"type": "start", "flow": f}) }

// Input sends the value of one field.
func (p *Page) Input(field, value string) {
	p.t.Helper()
	p.Send(map[string]string{"type": "input", "field": field, "value": value})
}

// Confirm sends the confirm intent.
func (p *Page) Confirm() { p.t.Helper(); p.Send(map[string]string{"type": "confirm"}) }

// Back sends the back intent.
func (p *Page) Back() { p.t.Helper(); p.Send(map[string]string{"type": "back"}) }

// Cancel sends the cancel intent.
func (p *Page) Cancel() { p.t.Helper(); p.Send(map[string]string{"type": "cancel"}) }

// Frame reads the next frame of any type.
func (p *Page) Frame() map[string]any {
	p.t.Helper()
	f, err := p.read()
	if err != nil {
		p.t.Fatal(err)
	}
	return f
}

func (p *Page) read() (map[string]any, error) {
	p.Conn.SetReadDeadline(time.Now().Add(p.ReadTimeout))
	_, b, err := p.Conn.ReadMessage()
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("frame %.200q: %w", b, err)
	}
	switch f["type"] {
	case "device":
		p.dev = f
	case "screen":
		p.shown, p.fresh = f, true
	}
	return f, nil
}

// Absent, as a value in Expect's kv, matches a key the screen's data does
// not have (e.g. "busy": no call in flight).
const Absent = "<nil>"

// Expect reads frames until a screen called name whose data has every
// key=value pair in kv (values compared as fmt.Sprint prints them; Absent
// for a missing key), and returns its data. An error frame on the way, or
// 50 other screens, fail the test.
//
// The first Expect after an input must wait for the answer to that input:
// a screen the one shown when the input was sent would already satisfy
// can be matched by a frame sent before the input was handled, and the
// test then runs ahead of the daemon. Such an Expect fails the test;
// expect what tells the answer apart (a changed field, "busy" Absent after
// the busy screen, ...).
func (p *Page) Expect(name string, kv ...string) map[string]any {
	p.t.Helper()
	if p.sent && p.before != nil && screenMatches(p.before, name, kv) {
		d, _ := p.before["data"].(map[string]any)
		p.t.Errorf("Expect(%s %v) after an input is satisfied by the screen already shown before it (%v): wait for the answer to the input", name, kv, d)
	}
	p.sent = false
	var seen []string
	for {
		f, err := p.read()
		if err != nil {
			p.t.Fatalf("waiting for screen %s %v (seen %v): %v", name, kv, seen, err)
		}
		switch f["type"] {
		case "error":
			p.t.Fatalf("error frame %v while waiting for %s (seen %v)", f, name, seen)
		case "screen":
			d, _ := f["data"].(map[string]any)
			seen = append(seen, fmt.Sprint(f["name"], d["field"], d["stage"], d["code"]))
			if screenMatches(f, name, kv) {
				p.last = d
				return d
			}
		}
		if len(seen) > 50 {
			p.t.Fatalf("no screen %s %v; seen %v", name, kv, seen)
		}
	}
}

// ExpectWhere is Expect for what kv cannot say: it reads frames until a
// screen called name whose data satisfies match, and returns its data.
// Like Expect, the first wait after an input must not be satisfied by the
// screen shown when the input was sent.
func (p *Page) ExpectWhere(name string, match func(d map[string]any) bool) map[string]any {
	p.t.Helper()
	ok := func(f map[string]any) bool {
		d, _ := f["data"].(map[string]any)
		return f["name"] == name && match(d)
	}
	if p.sent && p.before != nil && ok(p.before) {
		p.t.Errorf("ExpectWhere(%s) after an input is satisfied by the screen already shown before it: wait for the answer to the input", name)
	}
	p.sent = false
	var seen []string
	for len(seen) <= 50 {
		f, err := p.read()
		if err != nil {
			p.t.Fatalf("waiting for screen %s (seen %v): %v", name, seen, err)
		}
		switch f["type"] {
		case "error":
			p.t.Fatalf("error frame %v while waiting for %s (seen %v)", f, name, seen)
		case "screen":
			seen = append(seen, fmt.Sprint(f["name"]))
			if ok(f) {
				p.last, _ = f["data"].(map[string]any)
				return p.last
			}
		}
	}
	p.t.Fatalf("no screen %s as wanted; seen %v", name, seen)
	return nil
}

// screenMatches reports whether screen frame f is called name and has
// every key=value pair of kv.
func screenMatches(f map[string]any, name string, kv []string) bool {
	if f["name"] != name {
		return false
	}
	d, _ := f["data"].(map[string]any)
	for i := 0; i+1 < len(kv); i += 2 {
		if fmt.Sprint(d[kv[i]]) != kv[i+1] {
			return false
		}
	}
	return true
}

// Last is the data of the screen Expect returned last (nil before).
func (p *Page) Last() map[string]any { return p.last }

// ExpectError reads frames until an error frame and checks its code.
func (p *Page) ExpectError(code string) {
	p.t.Helper()
	for range 50 {
		f := p.Frame()
		if f["type"] == "error" {
			p.sent = false // the answer came
			if f["code"] != code {
				p.t.Fatalf("error %v, want code %s", f, code)
			}
			return
		}
	}
	p.t.Fatalf("no error frame %s", code)
}

// Device is the last device frame read (nil before any).
func (p *Page) Device() map[string]any { return p.dev }

// Catalogue is the page's message catalogue for lang (e.g. "zh-CN").
func Catalogue(tb testing.TB, lang string) map[string]string {
	tb.Helper()
	raw, err := fs.ReadFile(ui.StaticFS(), "i18n/"+lang+".json")
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		tb.Fatalf("catalogue %s: %v", lang, err)
	}
	return m
}

// Rows are the label → value pairs of a screen's "rows" (confirm, lookup
// and maintenance screens), values as fmt.Sprint prints them; entries
// that are not objects are left out.
func Rows(d map[string]any) map[string]string {
	out := map[string]string{}
	list, _ := d["rows"].([]any)
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			continue
		}
		out[fmt.Sprint(m["label"])] = fmt.Sprint(m["value"])
	}
	return out
}

// Reload connects a new page to the UI server at uiURL, as the terminal's
// browser does after a reload: it takes the screen over and is greeted
// with `hello`, which names the citizen session ("" when idle), and the
// current screen. It returns the page, the session's id and the screen's
// name and data: what a page can know of the session it joins.
func Reload(t testing.TB, uiURL string) (p *Page, session, screen string, data map[string]any) {
	t.Helper()
	p = Dial(t, uiURL)
	hello := false
	for range 10 {
		f := p.Frame()
		switch f["type"] {
		case "hello":
			hello = true
			session, _ = f["session"].(string)
		case "screen":
			if !hello {
				t.Fatalf("screen before hello: %v", f)
			}
			screen, _ = f["name"].(string)
			data, _ = f["data"].(map[string]any)
			p.last = data
			return p, session, screen, data
		}
	}
	t.Fatal("no hello and screen among the first 10 frames of a new page")
	return nil, "", "", nil
}
