package daemon

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/kiosk/central"
)

// metrics are kioskd's Prometheus series. Labels never carry personal data:
// only kinds, results, slots and device states.
type metrics struct {
	registry   *prometheus.Registry
	enqueued   *prometheus.CounterVec
	results    *prometheus.CounterVec
	latency    prometheus.Histogram
	readerUp   *prometheus.GaugeVec
	cardReads  *prometheus.CounterVec
	printer    *prometheus.GaugeVec
	prints     *prometheus.CounterVec
	heartbeats *prometheus.CounterVec
	pages      prometheus.Gauge
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
		pages: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kioskd_ws_pages", Help: "Touch pages connected over the WebSocket.",
		}),
		heartbeats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kioskd_heartbeats_total", Help: "Heartbeats to central by result: ok, error.",
		}, []string{"result"}),
	}
	stats := func(name, help string, f func(s statsView) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			return f(d.statsView())
		})
	}
	reg.MustRegister(m.enqueued, m.results, m.latency, m.readerUp, m.cardReads, m.printer, m.prints, m.heartbeats,
		stats("kioskd_queue_pending", "Operations waiting for central.", func(s statsView) float64 { return float64(s.Pending) }),
		stats("kioskd_queue_rejected", "Operations central rejected.", func(s statsView) float64 { return float64(s.Rejected) }),
		stats("kioskd_queue_acknowledged", "Operations central acknowledged.", func(s statsView) float64 { return float64(s.Acknowledged) }),
		stats("kioskd_queue_oldest_pending_age_seconds", "Age of the oldest operation waiting for central.", func(s statsView) float64 {
			return s.OldestAge.Seconds()
		}),
		stats("kioskd_sla_breached", "Operations not acknowledged within the SLA (the promise on the receipt).", func(s statsView) float64 {
			return float64(s.SLABreached)
		}),
		m.pages,
	)
	for _, s := range []hwbridge.Slot{hwbridge.SlotID, hwbridge.SlotSS} {
		m.readerUp.WithLabelValues(string(s))
	}
	for _, s := range []string{"printed", "not_printed"} {
		m.prints.WithLabelValues(s)
	}
	return m
}

// delivered counts one delivery result from the drainer.
func (m *metrics) delivered(r central.Result) {
	m.results.WithLabelValues(string(r.Outcome)).Inc()
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
	OldestAge                       time.Duration
	LastAckAt                       time.Time
	SLABreached                     int
	err                             error
}
