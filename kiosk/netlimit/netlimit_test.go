package netlimit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// short are limits a test can outwait.
var short = Limits{
	MaxHeaderBytes:    16 << 10,
	ReadHeaderTimeout: 300 * time.Millisecond,
	ReadTimeout:       300 * time.Millisecond,
	WriteTimeout:      300 * time.Millisecond,
	IdleTimeout:       300 * time.Millisecond,
	MaxConns:          2,
}

// serve runs h on 127.0.0.1 with lim until the test ends.
func serve(t *testing.T, lim Limits, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := lim.Server(h)
	go srv.Serve(lim.Listener(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reads c until it is closed (true) or d passes (false),
// discarding what the server sends.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprint(w, "ok")
})

// TestHugeHeaderRefused: an unterminated 1 MB header is answered 431 and
// the connection closed long before the megabyte is read.
func TestHugeHeaderRefused(t *testing.T) {
	for _, lim := range []Limits{Default, Simulator} {
		if lim.MaxHeaderBytes > 64<<10 {
			t.Errorf("MaxHeaderBytes %d, want at most 64 KiB", lim.MaxHeaderBytes)
		}
	}
	c := dial(t, serve(t, Default, ok))
	go func() {
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
		chunk := strings.Repeat("a", 64<<10)
		for range 16 { // 1 MiB, never terminated
			if _, err := io.WriteString(c, chunk); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		// A close without an answer is acceptable too, as long as it comes.
		if !closedWithin(c, 10*time.Second) {
			t.Fatalf("no answer and no close: %v", err)
		}
		return
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", resp.StatusCode)
	}
	if !closedWithin(c, 10*time.Second) {
		t.Error("connection still open after 431")
	}
}

// TestSlowBodyCut: a body that trickles in is cut at ReadTimeout, not
// waited for.
func TestSlowBodyCut(t *testing.T) {
	c := dial(t, serve(t, short, ok))
	fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	stop := make(chan struct{})
	defer close(stop)
	go func() { // one byte every 50 ms: 50 s for the whole body
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := c.Write([]byte("a")); err != nil {
					return
				}
			}
		}
	}()
	if !closedWithin(c, 10*time.Second) {
		t.Fatal("a trickling body kept its connection for 10 s with a 300 ms read timeout")
	}
}

// TestSlowHeaderCut: a header that never ends is cut at ReadHeaderTimeout.
func TestSlowHeaderCut(t *testing.T) {
	c := dial(t, serve(t, short, ok))
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	if !closedWithin(c, 10*time.Second) {
		t.Fatal("an unfinished header kept its connection for 10 s")
	}
}

// TestIdleKeepAliveClosed: a keep-alive connection with no next request
// is closed at IdleTimeout.
func TestIdleKeepAliveClosed(t *testing.T) {
	c := dial(t, serve(t, short, ok))
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.Close {
		t.Fatal("the server closed the first request's connection: nothing to test")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle keep-alive connection: %v, want closed (EOF)", err)
	}
}

// TestConnectionsBeyondTheLimitWait: with MaxConns connections open, the
// next one is not served until one of them closes.
func TestConnectionsBeyondTheLimitWait(t *testing.T) {
	lim := short
	lim.ReadHeaderTimeout, lim.ReadTimeout, lim.IdleTimeout = time.Minute, time.Minute, time.Minute
	addr := serve(t, lim, ok)
	var held []net.Conn
	for range lim.MaxConns {
		c := dial(t, addr)
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") // served, then kept alive
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		held = append(held, c)
	}
	extra := dial(t, addr)
	fmt.Fprint(extra, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(extra)
	extra.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := br.ReadByte(); err == nil {
		t.Fatalf("connection %d served while %d were open", lim.MaxConns+1, lim.MaxConns)
	}
	held[0].Close()
	extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after one closed, the waiting connection: %v", err)
	}
}

// TestWebSocketOutlivesTheTimeouts: a WebSocket, once upgraded, is not cut
// by the read, write or idle timeouts of the server it came through.
func TestWebSocketOutlivesTheTimeouts(t *testing.T) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	addr := serve(t, short, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			typ, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if err := ws.WriteMessage(typ, b); err != nil {
				return
			}
		}
	}))
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	for i := range 3 {
		time.Sleep(4 * short.ReadTimeout) // quiet for longer than every timeout
		if err := ws.WriteMessage(websocket.TextMessage, []byte{'a' + byte(i)}); err != nil {
			t.Fatalf("write after a quiet spell: %v", err)
		}
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, b, err := ws.ReadMessage(); err != nil || string(b) != string(rune('a'+i)) {
			t.Fatalf("echo after a quiet spell: %q %v", b, err)
		}
	}
}
