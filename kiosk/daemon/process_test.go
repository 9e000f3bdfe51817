package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/scripts/rig"
)

// start runs `kioskd args...` until the test ends, once it announced ready.
func start(t *testing.T, ready *regexp.Regexp, args ...string) *rig.Proc {
	t.Helper()
	p, err := rig.Start(kioskdBin, ready, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

var (
	kioskdBin   string
	simReady    = regexp.MustCompile(`central-sim listening on (https?://\S+)`)
	daemonReady = regexp.MustCompile(`kioskd ready.* mgmt=(http\S+)`)
)

func bin(t *testing.T) {
	t.Helper()
	if kioskdBin == "" {
		kioskdBin = rig.Kioskd(t)
	}
}

// writeConfig writes a config for a test daemon talking to centralURL.
func writeConfig(t *testing.T, dir, centralURL string, extra string) string {
	t.Helper()
	path := filepath.Join(dir, "kioskd.toml")
	cfg := fmt.Sprintf(`kiosk_id = "KIOSK-TEST-1"
terminal_no = 4242
data_dir = %q
[speech]
enabled = false
[ui]
listen = "127.0.0.1:0"
[mgmt]
listen = "127.0.0.1:0"
[central]
url = %q
timeout = "2s"
min_backoff = "20ms"
max_backoff = "300ms"
%s
`, filepath.Join(dir, "data"), centralURL, extra)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func getJSON(ctx context.Context, url string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s %s", url, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func postJSON(ctx context.Context, url string, body any, v any) (int, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode < 300 {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(v)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// TestCorruptStoreRefusesToStart: a damaged bbolt file stops kioskd with a
// message naming the file; it never starts empty in its place.
func TestCorruptStoreRefusesToStart(t *testing.T) {
	bin(t)
	for name, damage := range map[string]func(path string) error{
		"garbage": func(path string) error {
			return os.WriteFile(path, bytes.Repeat([]byte("not a bolt file "), 4096), 0o600)
		},
		"truncated": func(path string) error { return os.Truncate(path, 100) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeConfig(t, dir, "http://127.0.0.1:1", "")
			// A first run creates a healthy store with one operation in it.
			p := start(t, daemonReady, "run", "--config", cfg)
			var got map[string]string
			if code, err := postJSON(context.Background(), p.URL+"/v1/sim/operations",
				map[string]any{"kind": "report_loss", "subject": map[string]string{"id_number": "110101199003071234"}}, &got); err != nil || code != 201 {
				t.Fatalf("enqueue: %d %v", code, err)
			}
			p.Kill()
			db := filepath.Join(dir, "data", "kioskd.db")
			if err := damage(db); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(db)
			out, err := exec.Command(kioskdBin, "run", "--config", cfg).CombinedOutput()
			if err == nil {
				t.Fatalf("kioskd started on a damaged store:\n%s", out)
			}
			if !strings.Contains(string(out), db) {
				t.Errorf("the message does not name the file %s:\n%s", db, out)
			}
			after, _ := os.ReadFile(db)
			if !bytes.Equal(before, after) {
				t.Error("kioskd changed the damaged file")
			}
		})
	}
}

// TestEmbeddedDefault is `make run` on a fresh machine: no config, no
// flags; the UI answers on 127.0.0.1:8080, the management API on
// 127.0.0.1:9100, and the data (store and its key) lands in ./var.
func TestEmbeddedDefault(t *testing.T) {
	bin(t)
	dir := t.TempDir()
	cmd := exec.Command(kioskdBin, "run")
	cmd.Dir = dir
	p, err := rig.StartCmd(cmd, daemonReady)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	for _, url := range []string{"http://127.0.0.1:8080/", "http://127.0.0.1:9100/healthz", "http://127.0.0.1:9100/readyz"} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", url, resp.Status)
		}
	}
	for _, f := range []string{"var/kioskd.db", "var/kioskd.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("embedded default did not create %s: %v", f, err)
		}
	}
	if err := p.Stop(); err != nil {
		t.Errorf("kioskd did not stop cleanly on SIGTERM: %v\n%s", err, p.Stderr())
	}
}
