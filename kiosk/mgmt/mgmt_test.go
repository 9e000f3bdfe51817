package mgmt

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
