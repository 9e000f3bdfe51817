package central

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkDrain delivers a 5,000-operation backlog through the Drainer
// and a real Client to the simulator on loopback from an in-memory outbox,
// and reports the link's own ceiling as drain_link_ops_per_s. The
// store-backed figure, drain_ops_per_s, is kiosk/daemon's BenchmarkDrain100k.
func BenchmarkDrain(b *testing.B) {
	const n = 5000
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sim, c, _ := startSim(b, SimConfig{})
		o := newMemOutbox()
		for j := 1; j <= n; j++ {
			o.Enqueue(testOp(j))
		}
		var acked atomic.Int64
		done := make(chan struct{})
		d := NewDrainer(o, c, DrainConfig{OnResult: func(r Result) {
			if r.Outcome == Acknowledged && acked.Add(1) == n {
				close(done)
			}
		}})
		ctx, cancel := context.WithCancel(context.Background())
		exited := make(chan struct{})
		b.StartTimer()
		start := time.Now()
		go func() { d.Run(ctx); close(exited) }()
		select {
		case <-done:
		case <-time.After(5 * time.Minute):
			b.Fatalf("drained %d of %d in 5 minutes", acked.Load(), n)
		}
		total += time.Since(start)
		b.StopTimer()
		cancel()
		<-exited
		if got := len(sim.Applied()); got != n {
			b.Fatalf("sim applied %d, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "drain_link_ops_per_s:ops/s")
}
