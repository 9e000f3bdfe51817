package daemon

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kioskd/kioskd/kiosk/central"
)

// metrics are kioskd's Prometheus series. Labels never carry personal data:
// only kinds, results and device names.
type metrics struct {
	registry *prometheus.Registry
	enqueued *prometheus.CounterVec
	results  *prometheus.CounterVec
	latency  prometheus.Histogram
}

func newMetrics(reg *prometheus.Registry, d *Daemon) *metrics {
	m := &metrics{
		registry: reg,
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kioskd_operations_enqueued_total", Help: "Operations committed to the outbox, by kind.",
		}, []string{"kind"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kioskd_delivery_results_total", Help: "Delivery attempts to central by result (acknowledged, rejected, retry).",
		}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kioskd_delivery_latency_seconds", Help: "Round trip of an acknowledged delivery to central.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
	}
	stat := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	reg.MustRegister(m.enqueued, m.results, m.latency,
		stat("kioskd_queue_pending", "Operations waiting for central.", func() float64 {
			s, _ := d.store.Stats()
			return float64(s.Pending)
		}),
		stat("kioskd_queue_rejected", "Operations central rejected.", func() float64 {
			s, _ := d.store.Stats()
			return float64(s.Rejected)
		}),
		stat("kioskd_queue_oldest_pending_age_seconds", "Age of the oldest operation waiting for central.", func() float64 {
			s, _ := d.store.Stats()
			if s.OldestPending.IsZero() {
				return 0
			}
			return time.Since(s.OldestPending).Seconds()
		}),
	)
	return m
}

// delivered counts one delivery result from the drainer.
func (m *metrics) delivered(r central.Result) {
	m.results.WithLabelValues(string(r.Outcome)).Inc()
	if r.Outcome == central.Acknowledged {
		m.latency.Observe(r.Latency.Seconds())
	}
}
