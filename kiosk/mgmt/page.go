package mgmt

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// pageState is whether a touch page is connected over its WebSocket, and
// since when (connected since, or missing since): what `kioskd screen`
// watches, and /v1/status and /metrics report.
type pageState struct {
	mu    sync.Mutex
	n     int
	since time.Time
}

func (p *pageState) add(delta int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.n > 0
	p.n += delta
	if now := p.n > 0; now != was {
		p.since = time.Now()
	}
}

// state is whether a page is connected and since when its connection state
// has been what it is (the daemon's start while no page ever came).
func (p *pageState) state() (connected bool, since time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n > 0, p.since
}

var pageSinceDesc = prometheus.NewDesc("kioskd_page_connected_since_timestamp_seconds",
	"Unix time the connected touch page connected; absent while no page is connected (kioskd_page_connected 0).", nil, nil)

// pageCollector reports pageSinceDesc.
type pageCollector struct{ p *pageState }

func (c pageCollector) Describe(ch chan<- *prometheus.Desc) { ch <- pageSinceDesc }

func (c pageCollector) Collect(ch chan<- prometheus.Metric) {
	if connected, since := c.p.state(); connected {
		ch <- prometheus.MustNewConstMetric(pageSinceDesc, prometheus.GaugeValue, float64(since.UnixNano())/1e9)
	}
}

// Page is whether a touch page is connected and since when its connection
// state has been what it is (zero while no page ever came).
func (m *Metrics) Page() (connected bool, since time.Time) { return m.page.state() }
