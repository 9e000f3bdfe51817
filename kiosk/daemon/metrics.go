package daemon

import (
	"errors"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/store"
)

// metrics are kioskd's Prometheus series; scripts/deploy/OPERATIONS.md
// documents each one and the alerts built on them. Labels never carry
// personal data: only kinds, results, slots, states and build facts.
type metrics struct {
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

var printerStates = []string{"ok", "paper_near_end", "paper_out", "cover_open", "offline"}

func newMetrics(reg *prometheus.Registry, d *Daemon) *metrics {
	m := &metrics{
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
		ConstLabels: prometheus.Labels{"version": kiosk.Version, "commit": kiosk.Commit, "go_version": runtime.Version()},
	})
	buildInfo.Set(1)
	terminalInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kioskd_terminal_info", Help: "Always 1; the labels name the terminal (kiosk_id) and its hospital or outlet (site, config key site).",
		ConstLabels: prometheus.Labels{"kiosk_id": d.cfg.KioskID, "site": d.cfg.Site},
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
	}, func() float64 { return float64(d.store.CommitFailures()) })
	reg.MustRegister(commitFailures)
	reg.MustRegister(m.enqueued, m.results, m.foreign, m.latency, m.readerUp, m.cardReads, m.printer, m.prints, m.heartbeats,
		pages, buildInfo, terminalInfo, clock, pageConnected, outboxCollector{d}, diskCollector{d.cfg.DataDir}, pageCollector{&m.page})
	for _, s := range []hwbridge.Slot{hwbridge.SlotID, hwbridge.SlotSS} {
		m.readerUp.WithLabelValues(string(s))
	}
	for _, s := range []string{"printed", "not_printed"} {
		m.prints.WithLabelValues(s)
	}
	return m
}

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
type outboxCollector struct{ d *Daemon }

func (c outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{storeUpDesc, outboxOpsDesc, damagedOpDesc, oldestPendingDesc, lastAckDesc, slaBreachedDesc} {
		ch <- d
	}
}

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	v := c.d.statsView()
	if v.err != nil {
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
		ops, err := c.d.store.List(store.Damaged, maxDamagedSeries)
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
	free, size, err := diskSpace(c.dir)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(diskFreeDesc, prometheus.GaugeValue, float64(free))
	ch <- prometheus.MustNewConstMetric(diskSizeDesc, prometheus.GaugeValue, float64(size))
}

// diskSpace is the bytes available to an unprivileged process and the
// size of dir's file system.
func diskSpace(dir string) (free, size uint64, err error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return 0, 0, err
	}
	return fs.Bavail * uint64(fs.Bsize), fs.Blocks * uint64(fs.Bsize), nil
}

// delivered counts one delivery result from the drainer.
func (m *metrics) delivered(r central.Result) {
	m.results.WithLabelValues(string(r.Outcome)).Inc()
	var se *central.ServerError
	if errors.As(r.Err, &se) && se.Foreign {
		m.foreign.WithLabelValues(strconv.Itoa(se.Status)).Inc()
	}
	if r.Outcome == central.Acknowledged {
		m.latency.Observe(r.Latency.Seconds())
	}
}

func (m *metrics) readerEvent(e hwbridge.ReaderEvent) {
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

func (m *metrics) printerState(state string) {
	for _, s := range printerStates {
		v := 0.0
		if s == state {
			v = 1
		}
		m.printer.WithLabelValues(s).Set(v)
	}
}

func (m *metrics) cardRead(kind string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.cardReads.WithLabelValues(kind, result).Inc()
}

// statsView is the outbox as status and metrics show it, computed once per
// scrape or status request.
type statsView struct {
	Pending, Rejected, Acknowledged int
	Damaged                         int
	OldestAge                       time.Duration
	LastAckAt                       time.Time
	SLABreached                     int
	err                             error
}
