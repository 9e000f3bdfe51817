package daemon_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/daemon"
)

// runDaemon runs an in-process daemon on free loopback ports with the
// embedded default's simulated devices and central, changed by edit.
func runDaemon(t *testing.T, edit func(*config.Config)) (*daemon.Daemon, daemon.Addrs, *syncBuffer) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.UI.Listen, cfg.Mgmt.Listen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Central.MinBackoff.Duration, cfg.Central.MaxBackoff.Duration = 20*time.Millisecond, 200*time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	logs := &syncBuffer{}
	d, err := daemon.Open(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	return d, d.Addrs(), logs
}

// syncBuffer collects the daemon's log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// scrape reads /metrics with the Prometheus text parser.
func scrape(t *testing.T, mgmtURL string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(mgmtURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics are not Prometheus text: %v", err)
	}
	return fams
}

// value is the sum of a family's samples whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	sum := 0.0
	f := fams[name]
	if f == nil {
		return 0
	}
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for i := 0; i+1 < len(want); i += 2 {
			ok = ok && labels[want[i]] == want[i+1]
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// eventually polls cond for up to limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type status struct {
	Devices struct {
		Printer struct{ State string }
	}
	Queue struct {
		Pending, Rejected int
		LastAckAt         *time.Time `json:"last_ack_at"`
	}
	SLABreached int `json:"sla_breached"`
}

func TestMetricsMoveWithRealOperations(t *testing.T) {
	_, a, _ := runDaemon(t, nil)
	before := scrape(t, a.Mgmt)
	for i := 0; i < 3; i++ {
		if code, err := postJSON(context.Background(), a.Mgmt+"/v1/sim/operations",
			map[string]any{"kind": "suspend_settlement", "subject": map[string]string{"id_number": "110101199003071233"}}, nil); err != nil || code != 201 {
			t.Fatalf("enqueue: %d %v", code, err)
		}
	}
	eventually(t, 10*time.Second, "three acknowledgements", func() bool {
		m := scrape(t, a.Mgmt)
		return value(m, "kioskd_delivery_results_total", "result", "acknowledged") == 3 && value(m, "kioskd_queue_acknowledged") == 3
	})
	after := scrape(t, a.Mgmt)
	if got := value(after, "kioskd_operations_enqueued_total", "kind", "suspend_settlement") - value(before, "kioskd_operations_enqueued_total", "kind", "suspend_settlement"); got != 3 {
		t.Errorf("enqueued counter moved by %v, want 3", got)
	}
	if got := value(after, "kioskd_queue_acknowledged"); got != 3 {
		t.Errorf("kioskd_queue_acknowledged = %v", got)
	}
	if got := value(after, "kioskd_queue_pending"); got != 0 {
		t.Errorf("kioskd_queue_pending = %v", got)
	}
	if got := value(after, "kioskd_delivery_latency_seconds"); got != 3 {
		t.Errorf("delivery latency histogram has %v samples, want 3", got)
	}
	for _, name := range []string{"kioskd_reader_up", "kioskd_printer_state", "kioskd_receipts_total", "kioskd_sla_breached", "kioskd_ws_pages", "kioskd_heartbeats_total"} {
		if after[name] == nil {
			t.Errorf("metric %s missing", name)
		}
	}
}

func TestStatusShowsPaperOutWithinTwoSeconds(t *testing.T) {
	_, a, _ := runDaemon(t, nil)
	var st status
	eventually(t, 5*time.Second, "printer ok", func() bool {
		return getJSON(context.Background(), a.Mgmt+"/v1/status", &st) == nil && st.Devices.Printer.State == "ok"
	})
	if code, err := postJSON(context.Background(), a.Mgmt+"/v1/sim/printer/paper_out", nil, nil); err != nil || code != 204 {
		t.Fatalf("sim printer paper_out: %d %v", code, err)
	}
	eventually(t, 2*time.Second, "status says paper_out", func() bool {
		return getJSON(context.Background(), a.Mgmt+"/v1/status", &st) == nil && st.Devices.Printer.State == "paper_out"
	})
	if v := value(scrape(t, a.Mgmt), "kioskd_printer_state", "state", "paper_out"); v != 1 {
		t.Errorf("kioskd_printer_state{state=paper_out} = %v", v)
	}
}

func TestSLABreachIsRaised(t *testing.T) {
	_, a, _ := runDaemon(t, func(c *config.Config) {
		c.Central.URL = "http://127.0.0.1:1" // central unreachable
		c.SLA.Duration = 300 * time.Millisecond
	})
	for i := 0; i < 2; i++ {
		if code, err := postJSON(context.Background(), a.Mgmt+"/v1/sim/operations",
			map[string]any{"kind": "report_loss", "subject": map[string]string{"id_number": "110101199003071233"}}, nil); err != nil || code != 201 {
			t.Fatalf("enqueue: %d %v", code, err)
		}
	}
	var st status
	eventually(t, 5*time.Second, "sla_breached = 2", func() bool {
		return getJSON(context.Background(), a.Mgmt+"/v1/status", &st) == nil && st.SLABreached == 2
	})
	if v := value(scrape(t, a.Mgmt), "kioskd_sla_breached"); v != 2 {
		t.Errorf("kioskd_sla_breached = %v, want 2", v)
	}
}

func TestHeartbeatsReachCentral(t *testing.T) {
	_, a, _ := runDaemon(t, func(c *config.Config) { c.Central.HeartbeatInterval.Duration = time.Second })
	eventually(t, 5*time.Second, "two heartbeats at central-sim", func() bool {
		var hb []map[string]any
		return getJSON(context.Background(), a.Central+"/_sim/heartbeats", &hb) == nil && len(hb) >= 2
	})
}

func TestNonLoopbackManagementNeedsToken(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, a, _ := runDaemon(t, func(c *config.Config) {
		c.Mgmt.Listen = "0.0.0.0:0"
		c.Mgmt.TokenFile = token
	})
	url := strings.Replace(a.Mgmt, "0.0.0.0", "127.0.0.1", 1)
	for _, tc := range []struct {
		path, token string
		want        int
	}{{"/healthz", "", 200}, {"/v1/status", "", 401}, {"/metrics", "", 401}, {"/v1/status", "wrong", 401}, {"/v1/status", "t0ken", 200}} {
		req, _ := http.NewRequest(http.MethodGet, url+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s with token %q: %d, want %d", tc.path, tc.token, resp.StatusCode, tc.want)
		}
	}
}

func TestNonLoopbackManagementWithoutAuthRefusesToStart(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.UI.Listen, cfg.Mgmt.Listen = "127.0.0.1:0", "0.0.0.0:0"
	_, err := daemon.Open(cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "token_file") {
		t.Fatalf("open with an open non-loopback management API: %v", err)
	}
}
