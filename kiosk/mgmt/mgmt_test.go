package mgmt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type fakeSource struct{ readyErr error }

func (f fakeSource) Status(context.Context) (Status, error) {
	return Status{KioskID: "K-1", Queue: Queue{Pending: 3}}, nil
}
func (f fakeSource) Ready(context.Context) error { return f.readyErr }

func get(t *testing.T, h http.Handler, path, token string) (int, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNonLoopbackNeedsTheToken(t *testing.T) {
	s := New(fakeSource{}, prometheus.NewRegistry(), Options{Token: "s3cret", RequireAuth: true})
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{"/healthz", "", 200},
		{"/v1/status", "", 401},
		{"/v1/status", "wrong", 401},
		{"/metrics", "", 401},
		{"/readyz", "", 401},
		{"/v1/status", "s3cret", 200},
		{"/metrics", "s3cret", 200},
	} {
		if code, body := get(t, s, tc.path, tc.token); code != tc.want {
			t.Errorf("GET %s with token %q = %d %s, want %d", tc.path, tc.token, code, body, tc.want)
		}
	}
}

func TestLoopbackIsOpenAndReadyzSaysWhy(t *testing.T) {
	s := New(fakeSource{readyErr: errors.New("store not writable: read-only file system")}, prometheus.NewRegistry(), Options{})
	if code, body := get(t, s, "/v1/status", ""); code != 200 || !strings.Contains(body, `"pending":3`) {
		t.Errorf("status = %d %s", code, body)
	}
	if code, body := get(t, s, "/readyz", ""); code != 503 || !strings.Contains(body, "read-only") {
		t.Errorf("readyz = %d %s, want 503 naming the cause", code, body)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9100": true, "[::1]:9100": true, "localhost:9100": true,
		"0.0.0.0:9100": false, ":9100": false, "10.0.0.5:9100": false, "garbage": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

// TestBearerSchemeAnyCase: the auth scheme is case-insensitive (RFC 9110),
// the token is not.
func TestBearerSchemeAnyCase(t *testing.T) {
	s := New(fakeSource{}, prometheus.NewRegistry(), Options{Token: "s3cret", RequireAuth: true})
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"Bearer s3cret", 200}, {"bearer s3cret", 200}, {"BEARER s3cret", 200}, {"beArer  s3cret", 200},
		{"Bearer S3CRET", 401}, {"Basic s3cret", 401}, {"Bearers3cret", 401}, {"s3cret", 401},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/status", nil)
		req.Header.Set("Authorization", tc.auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.auth, resp.StatusCode, tc.want)
		}
	}
}

// TestConnectionClosedAfter401: a client refused for want of credentials
// does not keep its keep-alive connection; an authorised one does.
func TestConnectionClosedAfter401(t *testing.T) {
	s := New(fakeSource{}, prometheus.NewRegistry(), Options{Token: "s3cret", RequireAuth: true})
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, tc := range []struct {
		auth       string
		want       int
		wantClosed bool
	}{{"", 401, true}, {"Bearer wrong", 401, true}, {"Bearer s3cret", 200, false}} {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		req := "GET /v1/status HTTP/1.1\r\nHost: x\r\n"
		if tc.auth != "" {
			req += "Authorization: " + tc.auth + "\r\n"
		}
		fmt.Fprint(c, req+"\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.auth, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%q: %d, want %d", tc.auth, resp.StatusCode, tc.want)
		}
		// A closed connection reads EOF at once; an open one times out.
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err = br.ReadByte()
		var ne net.Error
		closed := err == io.EOF
		if !closed && !(errors.As(err, &ne) && ne.Timeout()) {
			t.Errorf("%q: read after the answer: %v", tc.auth, err)
		}
		if closed != tc.wantClosed {
			t.Errorf("%q: connection closed %v, want %v", tc.auth, closed, tc.wantClosed)
		}
		c.Close()
	}
}
