package mgmt

import (
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/kiosk/central"
)

// Metrics are kioskd's Prometheus series; scripts/deploy/OPERATIONS.md
// documents each one and the alerts built on them. Labels never carry
// personal data: only kinds, results, slots, states and build facts. The
// daemon counts events through the methods; the outbox and the disk are
// read at scrape time from a MetricsSource.
type Metrics struct {
	registry   *prometheus.Registry
	enqueued   *prometheus.CounterVec
	results    *prometheus.CounterVec
	foreign    *prometheus.CounterVec
	latency    prometheus.Histogram
	readerUp   *prometheus.GaugeVec
	cardReads  *prometheus.CounterVec
	printer    *prometheus.GaugeVec
	prints     *prometheus.CounterVec
	heartbeats *prometheus.CounterVec
	pages      atomic.Int64 // touch pages connected over the WebSocket
	page       pageState    // whether one is, and since when (page.go)
}

// MetricsConfig is the terminal and build the metrics name.
type MetricsConfig struct {
	KioskID, Site   string
	Version, Commit string
	// DataDir is the data directory, whose file system's free space is
	// reported.
	DataDir string
}

// OutboxView is the outbox as /v1/status and the metrics show it.
type OutboxView struct {
	Pending, Rejected, Acknowledged int
	Damaged                         int
	OldestAge                       time.Duration
	LastAckAt                       time.Time
	// SLABreached counts pending operations past their SLA (the promise
	// on the receipt), up to a bound.
	SLABreached int
}

// DamagedOp names an operation set aside as damaged: never what it holds.
type DamagedOp struct{ Voucher, Kind string }

// MetricsSource is what the scrape-time series read.
type MetricsSource interface {
	// Outbox is the outbox's figures; an error leaves the kioskd_outbox_*
	// series out of the scrape and sets kioskd_store_up to 0.
	Outbox() (OutboxView, error)
	// Damaged lists at most limit damaged operations.
	Damaged(limit int) ([]DamagedOp, error)
	// CommitFailures counts commits to the store that failed.
	CommitFailures() int64
}

var printerStates = []string{"ok", "paper_near_end", "paper_out", "cover_open", "offline"}

// NewMetrics registers kioskd's series in reg.
func NewMetrics(reg *prometheus.Registry, cfg MetricsConfig, src MetricsSource) *Metrics {
	m := &Metrics{
		registry: reg,
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kioskd_operations_enqueued_total", Help: "Operations committed to the outbox, by kind.",
		}, []string{"kind"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kioskd_delivery_results_total", Help: "Delivery attempts to central by result: acknowledged, rejected, retry.",
		}, []string{"result"}),
		foreign: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kioskd_delivery_foreign_answers_total",
			Help: "Delivery attempts answered with a 4xx that is not central's own refusal (no {code, message} body: a proxy or gateway in the way), by status; the operations stay pending.",
		}, []string{"status"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kioskd_delivery_latency_seconds", Help: "Round trip of an acknowledged delivery to central.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		readerUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kioskd_reader_up", Help: "1 when the slot's card reader is attached.",
		}, []string{"slot"}),
		cardReads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kioskd_card_reads_total", Help: "Card reads by card type (id, ss, pin) and result (ok, error).",
		}, []string{"type", "result"}),
		printer: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kioskd_printer_state", Help: "1 for the printer's current state: ok, paper_near_end, paper_out, cover_open, offline.",
		}, []string{"state"}),
		prints: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kioskd_receipts_total", Help: "Receipts by result: printed, not_printed.",
		}, []string{"result"}),
		heartbeats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kioskd_heartbeats_total", Help: "Heartbeats to central by result: ok, error.",
		}, []string{"result"}),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kioskd_build_info", Help: "Always 1; the labels say which kioskd build runs.",
		ConstLabels: prometheus.Labels{"version": cfg.Version, "commit": cfg.Commit, "go_version": runtime.Version()},
	})
	buildInfo.Set(1)
	terminalInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kioskd_terminal_info", Help: "Always 1; the labels name the terminal (kiosk_id) and its hospital or outlet (site, config key site).",
		ConstLabels: prometheus.Labels{"kiosk_id": cfg.KioskID, "site": cfg.Site},
	})
	terminalInfo.Set(1)
	pages := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kioskd_ws_pages", Help: "Touch pages connected over the WebSocket.",
	}, func() float64 { return float64(m.pages.Load()) })
	pageConnected := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kioskd_page_connected", Help: "1 while a touch page is connected over its WebSocket; 0 when the screen shows nothing of kioskd.",
	}, func() float64 {
		if m.pages.Load() > 0 {
			return 1
		}
		return 0
	})
	clock := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kioskd_clock_seconds", Help: "The terminal's clock (Unix time) when scraped; against the scrape's timestamp it shows clock skew.",
	}, func() float64 { return float64(time.Now().UnixNano()) / 1e9 })
	commitFailures := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "kioskd_commit_failures_total", Help: "Operations whose commit to the store failed (full disk, I/O error): the citizen was told it was not stored.",
	}, func() float64 { return float64(src.CommitFailures()) })
	reg.MustRegister(commitFailures)
	reg.MustRegister(m.enqueued, m.results, m.foreign, m.latency, m.readerUp, m.cardReads, m.printer, m.prints, m.heartbeats,
		pages, buildInfo, terminalInfo, clock, pageConnected, outboxCollector{src}, diskCollector{cfg.DataDir}, pageCollector{&m.page})
	for _, s := range []hwbridge.Slot{hwbridge.SlotID, hwbridge.SlotSS} {
		m.readerUp.WithLabelValues(string(s))
	}
	for _, s := range []string{"printed", "not_printed"} {
		m.prints.WithLabelValues(s)
	}
	return m
}

// Registry is where the series are registered, for New's /metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Descriptions of the series read from the store and the disk at scrape
// time. A series whose source failed is left out of the scrape (never a
// made-up 0): kioskd_store_up says why the outbox series are missing.
var (
	storeUpDesc = prometheus.NewDesc("kioskd_store_up",
		"1 when the outbox store answered this scrape; 0 when it failed, and the kioskd_outbox_* series are absent.", nil, nil)
	outboxOpsDesc = prometheus.NewDesc("kioskd_outbox_operations",
		"Operations in the outbox by state: pending (waiting for central), rejected (central refused them), acknowledged_retained (acknowledged, kept until retention ends).",
		[]string{"state"}, nil)
	damagedOpDesc = prometheus.NewDesc("kioskd_outbox_damaged_operation",
		"1 for each operation set aside as damaged (its record or encrypted fields cannot be read back), by voucher and kind; at most 50.",
		[]string{"voucher", "kind"}, nil)
	oldestPendingDesc = prometheus.NewDesc("kioskd_outbox_oldest_pending_age_seconds",
		"Age of the oldest operation waiting for central; 0 when none waits.", nil, nil)
	lastAckDesc = prometheus.NewDesc("kioskd_last_ack_timestamp_seconds",
		"Unix time central last acknowledged an operation; absent before the first acknowledgement.", nil, nil)
	slaBreachedDesc = prometheus.NewDesc("kioskd_sla_breached_operations",
		"Pending operations older than the SLA (the promise on the receipt); counted up to 1024.", nil, nil)
	diskFreeDesc = prometheus.NewDesc("kioskd_disk_free_bytes",
		"Bytes available to kioskd on the data directory's file system.", nil, nil)
	diskSizeDesc = prometheus.NewDesc("kioskd_disk_size_bytes",
		"Size in bytes of the data directory's file system.", nil, nil)
)

// maxDamagedSeries bounds kioskd_outbox_damaged_operation.
const maxDamagedSeries = 50

// outboxCollector reads the outbox once per scrape.
type outboxCollector struct{ src MetricsSource }

func (c outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{storeUpDesc, outboxOpsDesc, damagedOpDesc, oldestPendingDesc, lastAckDesc, slaBreachedDesc} {
		ch <- d
	}
}

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	v, err := c.src.Outbox()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 1)
	for _, s := range []struct {
		state string
		n     int
	}{{"pending", v.Pending}, {"rejected", v.Rejected}, {"acknowledged_retained", v.Acknowledged}, {"damaged", v.Damaged}} {
		ch <- prometheus.MustNewConstMetric(outboxOpsDesc, prometheus.GaugeValue, float64(s.n), s.state)
	}
	if v.Damaged > 0 {
		// Rare, and each needs a look: one series per damaged operation,
		// named by its voucher and kind (never what it holds).
		ops, err := c.src.Damaged(maxDamagedSeries)
		if err == nil {
			for _, op := range ops {
				ch <- prometheus.MustNewConstMetric(damagedOpDesc, prometheus.GaugeValue, 1, op.Voucher, op.Kind)
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(oldestPendingDesc, prometheus.GaugeValue, v.OldestAge.Seconds())
	if !v.LastAckAt.IsZero() {
		ch <- prometheus.MustNewConstMetric(lastAckDesc, prometheus.GaugeValue, float64(v.LastAckAt.UnixNano())/1e9)
	}
	ch <- prometheus.MustNewConstMetric(slaBreachedDesc, prometheus.GaugeValue, float64(v.SLABreached))
}

// diskCollector reads the data directory's file system once per scrape;
// when statfs fails both series are absent.
type diskCollector struct{ dir string }

func (c diskCollector) Describe(ch chan<- *prometheus.Desc) { ch <- diskFreeDesc; ch <- diskSizeDesc }

func (c diskCollector) Collect(ch chan<- prometheus.Metric) {
	free, size, err := DiskSpace(c.dir)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(diskFreeDesc, prometheus.GaugeValue, float64(free))
	ch <- prometheus.MustNewConstMetric(diskSizeDesc, prometheus.GaugeValue, float64(size))
}

// DiskSpace is the bytes available to an unprivileged process and the
// size of dir's file system.
func DiskSpace(dir string) (free, size uint64, err error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return 0, 0, err
	}
	return fs.Bavail * uint64(fs.Bsize), fs.Blocks * uint64(fs.Bsize), nil
}

// Delivered counts one delivery result from the drainer.
func (m *Metrics) Delivered(r central.Result) {
	m.results.WithLabelValues(string(r.Outcome)).Inc()
	var se *central.ServerError
	if errors.As(r.Err, &se) && se.Foreign {
		m.foreign.WithLabelValues(strconv.Itoa(se.Status)).Inc()
	}
	if r.Outcome == central.Acknowledged {
		m.latency.Observe(r.Latency.Seconds())
	}
}

// ReaderEvent keeps kioskd_reader_up.
func (m *Metrics) ReaderEvent(e hwbridge.ReaderEvent) {
	if e.Slot == "" {
		return
	}
	switch e.Kind {
	case hwbridge.ReaderAdded, hwbridge.CardInserted, hwbridge.CardRemoved:
		m.readerUp.WithLabelValues(string(e.Slot)).Set(1)
	case hwbridge.ReaderRemoved:
		m.readerUp.WithLabelValues(string(e.Slot)).Set(0)
	}
}

// PrinterState sets kioskd_printer_state: 1 for state, 0 for the others.
func (m *Metrics) PrinterState(state string) {
	for _, s := range printerStates {
		v := 0.0
		if s == state {
			v = 1
		}
		m.printer.WithLabelValues(s).Set(v)
	}
}

// CardRead counts a card read of kind (id, ss, pin) by its outcome.
func (m *Metrics) CardRead(kind string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.cardReads.WithLabelValues(kind, result).Inc()
}

// Enqueued counts an operation committed to the outbox.
func (m *Metrics) Enqueued(kind string) { m.enqueued.WithLabelValues(kind).Inc() }

// Receipt counts a receipt by whether it came out.
func (m *Metrics) Receipt(printed bool) {
	result := "printed"
	if !printed {
		result = "not_printed"
	}
	m.prints.WithLabelValues(result).Inc()
}

// Heartbeat counts a heartbeat to central by whether it got through.
func (m *Metrics) Heartbeat(err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.heartbeats.WithLabelValues(result).Inc()
}

// CountPages counts connected touch pages: the page's WebSocket handler
// (at /ws) runs for as long as its connection.
func (m *Metrics) CountPages(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			m.pages.Add(1)
			m.page.add(1)
			defer func() {
				m.page.add(-1)
				m.pages.Add(-1)
			}()
		}
		h.ServeHTTP(w, r)
	})
}
