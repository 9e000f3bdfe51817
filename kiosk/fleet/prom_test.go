package fleet

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The fleet test (make fleet-test): KIOSKD_FLEET_N terminals in one
// `kioskd fleet-sim` process against a `kioskd central-sim` process,
// scraped by a real Prometheus evaluating the shipped rules with their
// durations and outbox thresholds divided by ruleScale. It is skipped
// unless KIOSKD_FLEET_N is set: a thousand terminals do not belong in
// every `go test ./...`.

// ruleScale divides the shipped rules' `for` durations and outbox age
// thresholds for the test: 5m becomes 10 s, 15 min becomes 30 s.
const ruleScale = 30

// scrapeEvery is Prometheus' scrape and evaluation interval in the test.
const scrapeEvery = 10 * time.Second

// maxHerdRatio bounds central's peak request rate in the minute after an
// outage over its steady rate. Measured 0.87-1.27 at 200 and 400 terminals
// on a loaded machine (OPERATIONS.md): a heartbeat is three requests (beat, key, fleet keys)
// every 5 s, so the steady rate is ≈ 0.6 N/s, and heartbeats still backed
// off after the outage keep the peak under it. A fleet returning in step
// would put its whole backlog (≈ 2 operations a terminal) into a second or
// two: 2N-ish over 0.6N, over 3. The bound sits between.
const maxHerdRatio = 2.5

// fleetResults are the figures `make bench` prints.
type fleetResults struct {
	Terminals        int
	RecoveryS        float64 // central's return to the last acknowledgement
	HerdRatio        float64 // peak 1 s request count in the minute after recovery / mean steady rate
	SteadyRate       float64 // central's mean requests per second before the outage
	PeakRate         float64
	RSSMBPerTerminal float64
	CPUPercent       float64 // fleet-sim's CPU over the steady window, % of one core
	ScrapeP99MS      float64
	SamplesPerScrape float64
	PromRSSMB        float64
	PromHeadSeries   float64
	PromSamplesPerS  float64
	Operations       int
}

func TestFleetWithPrometheus(t *testing.T) {
	n := fleetN(t)
	r := runFleet(t, n)
	t.Logf("FLEET %+v", r)
}

func BenchmarkFleet(b *testing.B) {
	n := fleetN(b)
	for range b.N {
		r := runFleet(b, n)
		b.ReportMetric(float64(r.Terminals), "fleet_terminals:terminals")
		b.ReportMetric(r.RecoveryS, "fleet_recovery_s:s")
		b.ReportMetric(r.HerdRatio, "fleet_herd_ratio:ratio")
		b.ReportMetric(r.RSSMBPerTerminal, "fleet_rss_mb_per_terminal:MB")
		b.ReportMetric(r.ScrapeP99MS, "prometheus_scrape_p99_ms:ms")
		b.ReportMetric(r.CPUPercent, "fleet_sim_cpu_percent:%")
	}
}

func fleetN(tb testing.TB) int {
	s := os.Getenv("KIOSKD_FLEET_N")
	if s == "" {
		tb.Skip("KIOSKD_FLEET_N is not set: the fleet test runs under `make fleet-test` (and `make bench`)")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 20 {
		tb.Fatalf("KIOSKD_FLEET_N=%q: want a number of terminals, at least 20", s)
	}
	return n
}

// proc is a child process whose stderr is kept.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	errb bytes.Buffer
	line chan string
}

func start(tb testing.TB, name string, args ...string) *proc {
	tb.Helper()
	p := &proc{cmd: exec.Command(name, args...), line: make(chan string, 64)}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	p.cmd.Stdout = io.Discard
	// A test killed by its timeout takes its children along.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			if p.errb.Len() < 1<<20 {
				p.errb.WriteString(sc.Text() + "\n")
			}
			p.mu.Unlock()
			select {
			case p.line <- sc.Text():
			default:
			}
		}
	}()
	tb.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
		if tb.Failed() {
			p.mu.Lock()
			tb.Logf("%s stderr (tail):\n%s", filepath.Base(name), tail(p.errb.String(), 3000))
			p.mu.Unlock()
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// await returns the first match of re in the process's stderr.
func (p *proc) await(tb testing.TB, re *regexp.Regexp, limit time.Duration) string {
	tb.Helper()
	deadline := time.After(limit)
	for {
		select {
		case l := <-p.line:
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		case <-deadline:
			p.mu.Lock()
			defer p.mu.Unlock()
			tb.Fatalf("%s did not say %s within %s; stderr:\n%s", p.cmd.Path, re, limit, tail(p.errb.String(), 3000))
		}
	}
}

func kioskdBin(tb testing.TB) string {
	if b := os.Getenv("KIOSKD_BIN"); b != "" {
		if _, err := os.Stat(b); err == nil {
			return b
		}
	}
	bin := filepath.Join(tb.TempDir(), "kioskd")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/kioskd/kioskd/kiosk/cmd/kioskd").CombinedOutput()
	if err != nil {
		tb.Fatalf("build kioskd: %v\n%s", err, out)
	}
	return bin
}

// scaledRules is the shipped rules file with every `for: Nm` and the
// outbox age thresholds divided by ruleScale; it fails when the file no
// longer has the shape the scaling expects.
func scaledRules(tb testing.TB) string {
	b, err := os.ReadFile("../../scripts/deploy/prometheus/kioskd.rules.yml")
	if err != nil {
		tb.Fatal(err)
	}
	s := string(b)
	fors := regexp.MustCompile(`(?m)^(\s+for: )(\d+)m$`)
	if len(fors.FindAllString(s, -1)) < 10 {
		tb.Fatalf("the rules have fewer `for: Nm` lines than expected: the scaling below is out of date")
	}
	s = fors.ReplaceAllStringFunc(s, func(m string) string {
		p := fors.FindStringSubmatch(m)
		min, _ := strconv.Atoi(p[2])
		return fmt.Sprintf("%s%ds", p[1], min*60/ruleScale)
	})
	age := regexp.MustCompile(`(kioskd_outbox_oldest_pending_age_seconds > )(\d+)`)
	if len(age.FindAllString(s, -1)) != 2 {
		tb.Fatalf("want the two outbox age alerts (15 and 45 min) in the rules")
	}
	s = age.ReplaceAllStringFunc(s, func(m string) string {
		p := age.FindStringSubmatch(m)
		v, _ := strconv.Atoi(p[2])
		return fmt.Sprintf("%s%d", p[1], v/ruleScale)
	})
	return s
}

func freePort(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// promClient reads Prometheus' HTTP API.
type promClient struct {
	tb   testing.TB
	base string
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
	Values [][2]any          `json:"values"`
}

func (s promSample) value() float64 {
	v, _ := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
	return v
}

func (p promClient) query(q string) []promSample {
	p.tb.Helper()
	resp, err := http.Get(p.base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		p.tb.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []promSample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		p.tb.Fatalf("query %s: %v %s", q, err, body.Error)
	}
	return body.Data.Result
}

// scalar is the value of a query with one result (0 with none).
func (p promClient) scalar(q string) float64 {
	r := p.query(q)
	if len(r) == 0 {
		return 0
	}
	return r[0].value()
}

// firing is the sorted kiosk_ids of the firing alerts named alert.
func (p promClient) firing(alert string) []string {
	var ids []string
	for _, s := range p.query(`ALERTS{alertname="` + alert + `",alertstate="firing"}`) {
		ids = append(ids, s.Metric["kiosk_id"])
	}
	sort.Strings(ids)
	return ids
}

// waitFor polls cond every second until it holds, for at most limit. cond
// also says what it saw; that goes to the log every 30 s and into the
// failure, so a timeout tells how far the fleet got. It returns how long
// the wait took, which it also logs.
func waitFor(tb testing.TB, limit time.Duration, what string, cond func() (bool, string)) time.Duration {
	tb.Helper()
	start, logged := time.Now(), time.Now()
	for {
		ok, seen := cond()
		if ok {
			took := time.Since(start)
			tb.Logf("%s: after %s", what, took.Round(100*time.Millisecond))
			return took
		}
		if time.Since(start) > limit {
			tb.Fatalf("%s: not within %s; last seen: %s", what, limit, seen)
		}
		if time.Since(logged) >= 30*time.Second {
			logged = time.Now()
			tb.Logf("%s: waiting %s; %s", what, time.Since(start).Round(time.Second), seen)
		}
		time.Sleep(time.Second)
	}
}

func httpJSON(tb testing.TB, method, u, body string, v any) {
	tb.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		tb.Fatalf("%s %s: %s %s", method, u, resp.Status, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			tb.Fatalf("%s %s: %v", method, u, err)
		}
	}
}

func runFleet(tb testing.TB, n int) fleetResults {
	bin := kioskdBin(tb)
	dir := tb.TempDir()
	res := fleetResults{Terminals: n}
	b := budgetsFor(n)
	began := time.Now()
	defer func() { tb.Logf("fleet test with %d terminals: %s", n, time.Since(began).Round(time.Second)) }()

	cs := start(tb, bin, "central-sim", "--listen", "127.0.0.1:0")
	centralURL := cs.await(tb, regexp.MustCompile(`listening on (\S+)`), 20*time.Second)

	targets := filepath.Join(dir, "targets.json")
	fs := start(tb, bin, "fleet-sim", "--n", strconv.Itoa(n), "--sites", "25", "--central", centralURL,
		"--dir", filepath.Join(dir, "fleet"), "--targets", targets, "--rate", "0.02",
		"--heartbeat", "5s", "--min-backoff", "1s", "--max-backoff", "10s")
	fsStart := time.Now()
	ctl := fs.await(tb, regexp.MustCompile(`control (http://\S+)`), b.ready)
	tb.Logf("fleet-sim ready: after %s", time.Since(fsStart).Round(100*time.Millisecond))

	rules := filepath.Join(dir, "kioskd.rules.yml")
	if err := os.WriteFile(rules, []byte(scaledRules(tb)), 0o644); err != nil {
		tb.Fatal(err)
	}
	promAddr := freePort(tb)
	promCfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: 9s
  evaluation_interval: %[1]s
rule_files: [%[2]q]
scrape_configs:
  - job_name: kioskd
    file_sd_configs:
      - files: [%[3]q]
        refresh_interval: 5s
  - job_name: prometheus
    static_configs:
      - targets: [%[4]q]
`, scrapeEvery, rules, targets, promAddr)
	promYML := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(promYML, []byte(promCfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		tb.Fatal("prometheus not found: install Debian's prometheus package (scripts/install-test-deps.sh does)")
	}
	start(tb, promBin, "--config.file="+promYML, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	prom := promClient{tb: tb, base: "http://" + promAddr}
	waitFor(tb, time.Minute, "Prometheus ready", func() (bool, string) {
		resp, err := http.Get(prom.base + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	// Every terminal scraped and up: the file_sd file is read, each target
	// scraped once, and every scrape answered within the timeout.
	waitFor(tb, b.up, fmt.Sprintf("all %d terminals up in Prometheus", n), func() (bool, string) {
		up := prom.scalar(`count(up{job="kioskd"} == 1)`)
		return up == float64(n), fmt.Sprintf("%v of %d up, scrape p99 %.0f ms; %s", up, n, scrapeP99(prom)*1000, prom.downTargets(3))
	})

	// Steady state: heartbeats and the citizen load, central healthy.
	steadyFrom, cpuFrom := time.Now(), cpuTime(fs.cmd.Process.Pid)
	time.Sleep(30 * time.Second)
	steadyTo := time.Now()
	res.CPUPercent = 100 * (cpuTime(fs.cmd.Process.Pid) - cpuFrom).Seconds() / steadyTo.Sub(steadyFrom).Seconds()
	if got := prom.firing("KioskdOutboxNotDraining"); len(got) != 0 {
		tb.Fatalf("outbox alerts fire while central is healthy: %v", got)
	}
	var stats struct {
		RSS int64 `json:"rss_bytes"`
	}
	httpJSON(tb, "GET", ctl+"/fleet/stats", "", &stats)
	res.RSSMBPerTerminal = float64(stats.RSS) / float64(n) / (1 << 20)
	res.ScrapeP99MS = scrapeP99(prom) * 1000
	res.SamplesPerScrape = prom.scalar(`avg(scrape_samples_scraped{job="kioskd"})`)
	res.PromRSSMB = prom.scalar(`process_resident_memory_bytes{job="prometheus"}`) / (1 << 20)
	res.PromHeadSeries = prom.scalar(`prometheus_tsdb_head_series`)
	res.PromSamplesPerS = prom.scalar(`rate(prometheus_tsdb_head_samples_appended_total[30s])`)
	tb.Logf("steady state: fleet-sim %.0f%% of a core, RSS %.2f MB per terminal; scrape p99 %.0f ms, %.0f samples per scrape; Prometheus %.0f MB, %.0f head series, %.0f samples/s",
		res.CPUPercent, res.RSSMBPerTerminal, res.ScrapeP99MS, res.SamplesPerScrape, res.PromRSSMB, res.PromHeadSeries, res.PromSamplesPerS)

	// Central outage: every terminal takes a citizen's operation (and the
	// load goes on), so the backlog grows everywhere.
	httpJSON(tb, "PUT", centralURL+"/_sim/faults", `{"outage":true}`, nil)
	outageAt := time.Now()
	everyTerminal(tb, n, func(i int) {
		httpJSON(tb, "POST", fmt.Sprintf("%s/fleet/terminals/%d/citizen/report_loss", ctl, i), "", nil)
	})
	waitFor(tb, b.scrape, "a pending operation on every terminal in Prometheus", func() (bool, string) {
		got := prom.scalar(`count(kioskd_outbox_operations{state="pending"} > 0)`)
		return got == float64(n), fmt.Sprintf("%v of %d terminals with one pending", got, n)
	})
	// The alert needs the oldest pending operation past its scaled age
	// (30 s) and then its scaled `for` (10 s), seen by evaluations.
	waitFor(tb, b.alert, "KioskdOutboxNotDraining firing for every terminal", func() (bool, string) {
		got := len(prom.firing("KioskdOutboxNotDraining"))
		return got == n, fmt.Sprintf("firing for %d of %d", got, n)
	})
	tb.Logf("outbox alert fired for all %d terminals %s after the outage began", n, time.Since(outageAt).Round(time.Second))

	// Central returns; the load stops so the backlog can be seen to drain.
	httpJSON(tb, "PUT", ctl+"/fleet/load/off", "", nil)
	httpJSON(tb, "PUT", centralURL+"/_sim/faults", `{"outage":false}`, nil)
	back := time.Now()
	var bl Backlog
	waitFor(tb, b.drain, "every terminal's backlog acknowledged", func() (bool, string) {
		httpJSON(tb, "GET", ctl+"/fleet/backlog", "", &bl)
		return bl.Pending == 0, fmt.Sprintf("%d operations pending in the fleet", bl.Pending)
	})
	res.RecoveryS = bl.LastAckAt.Sub(back).Seconds()

	// Exactly once: every accepted operation is applied once at central,
	// and central applied nothing else.
	var ops struct {
		Committed []Committed `json:"committed"`
		Failed    int         `json:"failed"`
	}
	httpJSON(tb, "GET", ctl+"/fleet/operations", "", &ops)
	var applied []struct {
		Key   string `json:"idempotency_key"`
		Count int    `json:"count"`
	}
	httpJSON(tb, "GET", centralURL+"/_sim/operations", "", &applied)
	res.Operations = len(ops.Committed)
	byKey := map[string]int{}
	for _, a := range applied {
		byKey[a.Key] = a.Count
	}
	bad := 0
	for _, c := range ops.Committed {
		if byKey[c.Key] != 1 {
			bad++
			if bad <= 5 {
				tb.Errorf("operation %s of %s applied %d times at central, want exactly 1", c.Key, c.KioskID, byKey[c.Key])
			}
		}
	}
	if len(applied) != len(ops.Committed) || bad > 0 || ops.Failed > 0 {
		tb.Fatalf("central applied %d operations, the fleet accepted %d (%d refused); %d not applied exactly once", len(applied), len(ops.Committed), ops.Failed, bad)
	}
	waitFor(tb, b.alert, "KioskdOutboxNotDraining resolved", func() (bool, string) {
		got := len(prom.firing("KioskdOutboxNotDraining"))
		return got == 0, fmt.Sprintf("still firing for %d terminals", got)
	})

	// The reconnection herd, from central-sim's per-second request count.
	var fv struct {
		PerSec []struct {
			T int64 `json:"t"`
			N int   `json:"n"`
		} `json:"requests_per_second"`
	}
	httpJSON(tb, "GET", centralURL+"/_sim/fleet", "", &fv)
	var steadySum, steadyN int
	for _, s := range fv.PerSec {
		switch {
		case s.T >= steadyFrom.Unix()+1 && s.T < steadyTo.Unix():
			steadySum += s.N
			steadyN++
		case s.T >= back.Unix() && s.T < back.Unix()+60:
			res.PeakRate = math.Max(res.PeakRate, float64(s.N))
		}
	}
	if steadyN == 0 || steadySum == 0 {
		tb.Fatalf("no steady requests counted at central: %d s, %d requests", steadyN, steadySum)
	}
	res.SteadyRate = float64(steadySum) / float64(steadyN)
	res.HerdRatio = res.PeakRate / res.SteadyRate
	// Full jitter spreads the returning fleet over max_backoff (see
	// maxHerdRatio).
	if res.HerdRatio > maxHerdRatio {
		tb.Errorf("herd ratio %.1f (peak %v req/s after recovery, steady %.1f req/s) is over %v: the fleet reconnects in step", res.HerdRatio, res.PeakRate, res.SteadyRate, maxHerdRatio)
	}

	// Stop 10 terminals and run 5 printers out of paper: exactly those
	// alerts fire.
	var down, paper []string
	for i := range 10 {
		httpJSON(tb, "POST", fmt.Sprintf("%s/fleet/terminals/%d/stop", ctl, i), "", nil)
		down = append(down, KioskID(i))
	}
	for i := 10; i < 15; i++ {
		httpJSON(tb, "POST", fmt.Sprintf("%s/fleet/terminals/%d/printer/paper_out", ctl, i), "", nil)
		paper = append(paper, KioskID(i))
	}
	waitFor(tb, b.alert, "KioskdTerminalDown for the 10 stopped terminals", func() (bool, string) {
		got := prom.firing("KioskdTerminalDown")
		return slices.Equal(got, down), fmt.Sprintf("firing for %v", got)
	})
	waitFor(tb, b.alert, "KioskdPrinterPaperOut for the 5 printers", func() (bool, string) {
		got := prom.firing("KioskdPrinterPaperOut")
		return slices.Equal(got, paper), fmt.Sprintf("firing for %v", got)
	})
	// Two more evaluations: still exactly those.
	time.Sleep(2 * scrapeEvery)
	if got := prom.firing("KioskdTerminalDown"); !slices.Equal(got, down) {
		tb.Errorf("KioskdTerminalDown fires for %v, want %v", got, down)
	}
	if got := prom.firing("KioskdPrinterPaperOut"); !slices.Equal(got, paper) {
		tb.Errorf("KioskdPrinterPaperOut fires for %v, want %v", got, paper)
	}
	if got := prom.scalar(`sum(site:kioskd_terminals_down:sum)`); got != 10 {
		tb.Errorf("site:kioskd_terminals_down:sum adds up to %v, want 10", got)
	}
	return res
}

// everyTerminal runs f for each terminal index, 16 at a time.
func everyTerminal(tb testing.TB, n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// scrapeP99 is the 99th percentile of every kioskd scrape's duration over
// the last 30 s, in seconds.
func scrapeP99(prom promClient) float64 {
	var all []float64
	for _, s := range prom.query(`scrape_duration_seconds{job="kioskd"}[30s]`) {
		for _, v := range s.Values {
			f, _ := strconv.ParseFloat(fmt.Sprint(v[1]), 64)
			all = append(all, f)
		}
	}
	if len(all) == 0 {
		return 0
	}
	sort.Float64s(all)
	return all[int(math.Ceil(0.99*float64(len(all))))-1]
}

// budgets are how long the fleet test waits for each step before it fails.
// They bound a failure, not the usual run: the usual durations are in the
// log (and in scripts/deploy/OPERATIONS.md), and they hold on a build
// machine whose load average is 30-40.
type budgets struct {
	ready  time.Duration // fleet-sim: the fleet's speech cache, then every terminal opened and serving
	up     time.Duration // Prometheus: every target scraped once and up
	scrape time.Duration // a change on every terminal seen by a scrape
	alert  time.Duration // an alert fires or resolves: its scaled age and `for`, a few evaluations
	drain  time.Duration // every backlog acknowledged after central returns
}

func budgetsFor(n int) budgets {
	per := func(base, each time.Duration) time.Duration { return base + time.Duration(n)*each }
	return budgets{
		// The speech cache alone took 136 s on the loaded machine, and 400
		// terminals were not ready within 5 min once while race tests ran
		// beside; each terminal syncs a new bbolt file and key files.
		ready:  per(6*time.Minute, 150*time.Millisecond),
		up:     per(time.Minute, 100*time.Millisecond),
		scrape: per(3*scrapeEvery, 30*time.Millisecond),
		alert:  per(2*time.Minute, 30*time.Millisecond),
		drain:  per(2*time.Minute, 60*time.Millisecond),
	}
}

// cpuTime is the CPU time (user and system) process pid has used, from
// /proc (0 where there is none).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: utime and stime are the 12th and 13th of them.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// downTargets names up to limit kioskd targets that are not up, with the
// error of their last scrape.
func (p promClient) downTargets(limit int) string {
	resp, err := http.Get(p.base + "/api/v1/targets?state=active")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			ActiveTargets []struct {
				Labels    map[string]string `json:"labels"`
				Health    string            `json:"health"`
				LastError string            `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "targets: " + err.Error()
	}
	var down []string
	total := 0
	for _, t := range body.Data.ActiveTargets {
		if t.Labels["job"] != "kioskd" || t.Health == "up" {
			continue
		}
		total++
		if len(down) < limit {
			down = append(down, fmt.Sprintf("%s %s %q", t.Labels["kiosk_id"], t.Health, t.LastError))
		}
	}
	if total == 0 {
		return "no target down"
	}
	return fmt.Sprintf("%d targets not up, e.g. %s", total, strings.Join(down, "; "))
}
