package main

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
)

// assertHeaderLimit sends an unterminated 1 MiB header to the server at
// base (http://host:port) and fails the test unless it is answered 431 or
// closed.
func assertHeaderLimit(t *testing.T, base string) {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
		chunk := strings.Repeat("a", 64<<10)
		for range 16 {
			if _, err := io.WriteString(c, chunk); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Errorf("%s: no answer and no close 10 s into an unterminated 1 MB header", base)
	case err == nil && resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge:
		t.Errorf("%s: 1 MB header answered %d, want 431", base, resp.StatusCode)
	}
}
