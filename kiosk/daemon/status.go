package daemon

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/kiosk/mgmt"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/store/voucher"
)

// Status is the management API's /v1/status.
func (d *Daemon) Status(ctx context.Context) (mgmt.Status, error) {
	v := d.statsView()
	if v.err != nil {
		return mgmt.Status{}, fmt.Errorf("outbox stats: %w", v.err)
	}
	q := mgmt.Queue{Pending: v.Pending, Rejected: v.Rejected, OldestPendingAgeS: int64(v.OldestAge.Seconds())}
	if !v.LastAckAt.IsZero() {
		t := v.LastAckAt
		q.LastAckAt = &t
	}
	ds := d.drainer.Status()
	q.CentralOnline, q.CentralLastError = ds.Online, ds.LastError
	return mgmt.Status{
		KioskID:       d.cfg.KioskID,
		Version:       kiosk.Version,
		UptimeS:       int64(time.Since(d.started).Seconds()),
		Devices:       d.dev.describe(d.cfg),
		Queue:         q,
		SLABreached:   v.SLABreached,
		DiskFreeBytes: diskFree(d.cfg.DataDir),
		Page:          d.pageStatus(),
	}, nil
}

func (d *Daemon) pageStatus() mgmt.Page {
	connected, since := d.metrics.Page()
	if since.IsZero() {
		since = d.started
	}
	return mgmt.Page{Connected: connected, Since: since}
}

// readyMinFree is the free space on the data directory's file system under
// which the terminal is not ready: a commit may fail at any moment.
const readyMinFree = 8 << 20

// Ready is /readyz: the store takes writes (the last commit succeeded, or
// the disk has room again since it failed), the data directory has at
// least readyMinFree bytes free, no operation was set aside as damaged,
// and a card reader is there. A printer out of paper does not make the
// terminal unready: reports are still taken and their receipts can be
// reprinted.
func (d *Daemon) Ready(ctx context.Context) error {
	if err := d.store.Writable(); err != nil {
		return fmt.Errorf("store not writable: %w", err)
	}
	if free, _, err := mgmt.DiskSpace(d.cfg.DataDir); err == nil && free < readyMinFree {
		return fmt.Errorf("disk almost full: %d bytes free on the data directory %s, under %d: commits will fail soon", free, d.cfg.DataDir, readyMinFree)
	}
	if err := d.damaged(); err != nil {
		return err
	}
	present := 0
	for _, r := range d.dev.readers.Readers() {
		if r.Present {
			present++
		}
	}
	if present == 0 {
		return fmt.Errorf("no card reader attached (readers.mode %s)", d.cfg.Readers.Mode)
	}
	return nil
}

// damaged names the operations set aside as damaged, if any: they need a
// technician, so the terminal is not ready while they are there.
func (d *Daemon) damaged() error {
	st, err := d.store.Stats()
	if err != nil {
		return fmt.Errorf("outbox stats: %w", err)
	}
	if st.Damaged == 0 {
		return nil
	}
	ops, err := d.store.List(store.Damaged, 5)
	if err != nil {
		return fmt.Errorf("outbox: %d damaged operations: %w", st.Damaged, err)
	}
	vouchers := make([]string, len(ops))
	for i, op := range ops {
		vouchers[i] = voucher.Format(op.Voucher)
	}
	more := ""
	if st.Damaged > len(ops) {
		more = ", …"
	}
	return fmt.Errorf("outbox: %d damaged operations set aside (%s: voucher %s%s): the others are delivered; keep the data directory as it is for second-line support",
		st.Damaged, store.CodeDamaged, strings.Join(vouchers, ", "), more)
}

// slaScanLimit bounds how many breaching operations one status counts:
// beyond it the figure reads "at least".
const slaScanLimit = 1024

// statsCache keeps the last statsView for a moment: a Prometheus scrape
// reads several series from one view.
type statsCache struct {
	mu   sync.Mutex
	at   time.Time
	view statsView
}

// statsView is the outbox as status, the metrics and the maintenance menu
// show it, computed at most every half second.
type statsView struct {
	mgmt.OutboxView
	err error
}

// metricsSource gives the metrics the outbox at scrape time.
type metricsSource struct{ d *Daemon }

func (s metricsSource) Outbox() (mgmt.OutboxView, error) {
	v := s.d.statsView()
	return v.OutboxView, v.err
}

func (s metricsSource) Damaged(limit int) ([]mgmt.DamagedOp, error) {
	ops, err := s.d.store.List(store.Damaged, limit)
	out := make([]mgmt.DamagedOp, len(ops))
	for i, o := range ops {
		out[i] = mgmt.DamagedOp{Voucher: o.Voucher, Kind: o.Kind}
	}
	return out, err
}

func (s metricsSource) CommitFailures() int64 { return s.d.store.CommitFailures() }

func (d *Daemon) statsView() statsView {
	d.stats.mu.Lock()
	defer d.stats.mu.Unlock()
	if time.Since(d.stats.at) < 500*time.Millisecond {
		return d.stats.view
	}
	v := statsView{}
	st, err := d.store.Stats()
	if err != nil {
		v.err = err
		return v
	}
	now := time.Now()
	v.Pending, v.Rejected, v.Acknowledged, v.LastAckAt = st.Pending, st.Rejected, st.Acknowledged, st.LastAckAt
	v.Damaged = st.Damaged
	if !st.OldestPending.IsZero() {
		v.OldestAge = now.Sub(st.OldestPending)
	}
	if v.OldestAge > d.cfg.SLA.Duration {
		v.SLABreached = d.countBreaches(now.Add(-d.cfg.SLA.Duration))
	}
	d.stats.at, d.stats.view = now, v
	return v
}

// countBreaches counts pending operations created before deadline. They
// are delivered in order, so they are the oldest: it reads from the head
// and stops at the first one within its SLA.
func (d *Daemon) countBreaches(deadline time.Time) int {
	n := 0
	var after uint64
	for n < slaScanLimit {
		page, err := d.store.Pending(after, 256)
		if err != nil || len(page) == 0 {
			return n
		}
		for _, op := range page {
			if !op.CreatedAt.Before(deadline) {
				return n
			}
			n++
			after = op.Seq
		}
	}
	return n
}

func diskFree(dir string) uint64 {
	free, _, _ := mgmt.DiskSpace(dir)
	return free
}
