package daemon

import (
	"context"
	"encoding/json"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/scripts/rig"
	"github.com/kioskd/kioskd/store"
)

// BenchmarkDrain100k drains a 100,000-operation backlog from a real bbolt
// outbox to `kioskd central-sim` in its own process on loopback (so the
// simulator's memory is not counted), reporting throughput and the peak
// heap of this process while draining.
func BenchmarkDrain100k(b *testing.B) {
	const backlog = 100_000
	simURL, stopSim := startCentralSim(b)
	defer stopSim()
	key := make([]byte, 32)
	s, err := store.Open(b.TempDir()+"/kioskd.db", store.Options{Key: key, KioskID: "KIOSK-BENCH", TerminalNo: 1, Retention: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	// Build the backlog through Enqueue, 64 callers at a time.
	personal, _ := json.Marshal(Personal{
		Subject: json.RawMessage(`{"name":"BENCH SUBJECT","id_number":"110101199003071234"}`),
		Card:    json.RawMessage(`{"card_number":"A12345678"}`),
	})
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= backlog {
				if _, err := s.Enqueue(context.Background(), store.NewOperation{Kind: "report_loss", Personal: personal}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()

	client, err := central.NewClient(central.ClientConfig{BaseURL: simURL, Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	d := central.NewDrainer(outbox{s, "KIOSK-BENCH"}, client, central.DrainConfig{PageSize: 256})
	runtime.GC()
	var peak atomic.Uint64
	ctx, cancel := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for ctx.Err() == nil {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	b.ResetTimer()
	begin := time.Now()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	for {
		st, err := s.Stats()
		if err != nil {
			b.Fatal(err)
		}
		if st.Pending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(begin)
	cancel()
	<-done
	<-sampled
	b.ReportMetric(backlog/elapsed.Seconds(), "drain_ops_per_s:ops/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "drain_100k_peak_heap_mb:MB")
}

// startCentralSim runs `kioskd central-sim` on a free loopback port.
func startCentralSim(b *testing.B) (url string, stop func()) {
	p, err := rig.Start(rig.Kioskd(b), regexp.MustCompile(`central-sim listening on (https?://\S+)`), "central-sim", "--listen", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return p.URL, p.Kill
}
