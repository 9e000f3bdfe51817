package daemon

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kioskd/kioskd/kiosk/sdnotify"
)

// A live part is one the watchdog asks after: the session loop, the store
// and the device supervisors. last is when it last answered.
type livePart struct {
	name string
	last func() time.Time
}

// alive tells systemd (kiosk/sdnotify) that kioskd serves, and keeps
// pinging its watchdog only while every live part answered within the
// watchdog interval: a session loop that hangs, a store whose write never
// returns or a PC/SC call or serial exchange that hangs stops the pings,
// and systemd restarts kioskd. READY=1 is sent once the listeners serve and
// every part answered once. It runs only under systemd (NOTIFY_SOCKET),
// never in a shared fleet-sim process.
func (d *Daemon) alive(ctx context.Context, n *sdnotify.Notifier) error {
	window := n.Watchdog()
	if window == 0 {
		window = 30 * time.Second // no watchdog: the probes only decide READY
	}
	var parts []livePart
	var wg sync.WaitGroup
	// A probe that hangs is waited for on the way out: the stop then hangs
	// as the part does, and systemd's stop timeout ends it.
	defer wg.Wait()
	probe := func(name string, answer func(ctx context.Context) bool) {
		var last atomic.Int64
		parts = append(parts, livePart{name, func() time.Time { return unixNano(last.Load()) }})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if answer(ctx) {
					last.Store(time.Now().UnixNano())
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(window / 3):
				}
			}
		}()
	}
	// The session loop answers Alive between two events.
	probe("session loop", func(ctx context.Context) bool {
		ctx, cancel := context.WithTimeout(ctx, window)
		defer cancel()
		return d.session.Alive(ctx) == nil
	})
	// A write transaction: it waits behind a commit that hangs in fsync,
	// where a read would not. An error is an answer: a full disk is not a
	// hang, and a restart would not cure it.
	probe("store", func(context.Context) bool {
		_ = d.store.Writable()
		return true
	})
	type aliver interface{ Alive() time.Time }
	if r, ok := d.dev.readers.(aliver); ok {
		parts = append(parts, livePart{"card readers", r.Alive})
	}
	parts = append(parts, livePart{"printer", d.dev.printer.Alive})

	check := func() error {
		var stale []string
		now := time.Now()
		for _, p := range parts {
			if last := p.last(); last.IsZero() {
				stale = append(stale, p.name+" (never)")
			} else if age := now.Sub(last); age > window {
				stale = append(stale, fmt.Sprintf("%s (%s ago)", p.name, age.Round(time.Second)))
			}
		}
		if len(stale) > 0 {
			return fmt.Errorf("no answer within %s from %s", window, strings.Join(stale, ", "))
		}
		return nil
	}
	// READY=1 once every part answered once.
	for check() != nil {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(20 * time.Millisecond):
		}
	}
	n.Ready(d.statusLine())
	n.Watch(ctx, 5*time.Second, check, d.statusLine)
	return nil
}

func unixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// statusLine is kioskd's state for `systemctl status`: the outbox, the
// devices and the page. No personal data.
func (d *Daemon) statusLine() string {
	var b strings.Builder
	if v := d.statsView(); v.err != nil {
		b.WriteString("outbox unreadable")
	} else {
		fmt.Fprintf(&b, "%d pending, %d rejected", v.Pending, v.Rejected)
		if v.Damaged > 0 {
			fmt.Fprintf(&b, ", %d damaged", v.Damaged)
		}
	}
	var rs []string
	for _, r := range d.dev.readers.Readers() {
		if r.Slot == "" {
			continue
		}
		st := "missing"
		if r.Present {
			st = "present"
		}
		rs = append(rs, fmt.Sprintf("%s %s", r.Slot, st))
	}
	fmt.Fprintf(&b, "; readers %s; printer %s", strings.Join(rs, ", "), printerState(d.dev.printer.Last()))
	if connected, _ := d.metrics.Page(); connected {
		b.WriteString("; page connected")
	} else {
		b.WriteString("; no page")
	}
	return b.String()
}
