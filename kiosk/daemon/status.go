package daemon

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/kiosk/mgmt"
)

// Status is the management API's /v1/status.
func (d *Daemon) Status(ctx context.Context) (mgmt.Status, error) {
	st, err := d.store.Stats()
	if err != nil {
		return mgmt.Status{}, fmt.Errorf("outbox stats: %w", err)
	}
	now := time.Now()
	q := mgmt.Queue{Pending: st.Pending, Rejected: st.Rejected}
	if !st.OldestPending.IsZero() {
		q.OldestPendingAgeS = int64(now.Sub(st.OldestPending).Seconds())
	}
	if !st.LastAckAt.IsZero() {
		t := st.LastAckAt
		q.LastAckAt = &t
	}
	ds := d.drainer.Status()
	q.CentralOnline, q.CentralLastError = ds.Online, ds.LastError
	s := mgmt.Status{
		KioskID:       d.cfg.KioskID,
		Version:       kiosk.Version,
		UptimeS:       int64(now.Sub(d.started).Seconds()),
		Devices:       d.dev.describe(d.cfg),
		Queue:         q,
		DiskFreeBytes: diskFree(d.cfg.DataDir),
	}
	if !st.OldestPending.IsZero() && now.Sub(st.OldestPending) > d.cfg.SLA.Duration {
		// Pending is delivered in order, so the oldest pending operation is
		// the first to breach; counting all breaches would need a scan.
		s.SLABreached = 1
	}
	return s, nil
}

// Ready is /readyz: the store takes writes and devices are initialised.
func (d *Daemon) Ready(ctx context.Context) error {
	if err := d.store.Writable(); err != nil {
		return fmt.Errorf("store not writable: %w", err)
	}
	return nil
}

func diskFree(dir string) uint64 {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return 0
	}
	return fs.Bavail * uint64(fs.Bsize)
}
