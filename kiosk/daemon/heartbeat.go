package daemon

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/kioskd/kioskd/kiosk/central"
)

// heartbeatLoop posts the terminal's status to central every heartbeat
// interval; while central is down it backs off exponentially up to ten
// intervals, with jitter so a fleet coming back does not beat in step.
func (d *Daemon) heartbeatLoop(ctx context.Context) error {
	every := d.cfg.Central.HeartbeatInterval.Duration
	failures := 0
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		cctx, cancel := context.WithTimeout(ctx, d.cfg.Central.Timeout.Duration)
		err := d.client.HeartbeatWith(cctx, d.cfg.KioskID, d.beat(cctx))
		if err == nil {
			if kerr := d.publishKeys(cctx); kerr != nil {
				d.log.Warn("signing keys: publishing ours or fetching the fleet's from central failed", "err", kerr)
			}
		}
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			d.metrics.Heartbeat(err)
			b := central.Backoff(failures+1, every, 10*every)
			wait = b/2 + time.Duration(rand.Float64()*float64(b/2))
			d.log.Warn("heartbeat to central failed", "attempt", failures, "next_in", wait.Round(time.Millisecond), "err", err)
			continue
		}
		failures = 0
		d.metrics.Heartbeat(nil)
		wait = every
	}
}

// heartbeatStatus is what central hears: the non-personal status summary.
func (d *Daemon) heartbeatStatus(ctx context.Context) any {
	st, err := d.Status(ctx)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	return st
}
