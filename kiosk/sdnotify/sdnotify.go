// Package sdnotify tells systemd how a kioskd process is doing, over the
// sd_notify protocol of a Type=notify unit: READY=1 once it serves,
// STATUS= in words for `systemctl status`, WATCHDOG=1 pings while it is
// alive, STOPPING=1 when it shuts down. The protocol itself is
// github.com/coreos/go-systemd/v22/daemon's. This package decides nothing:
// the caller says when it is ready and whether it is alive. Without
// NOTIFY_SOCKET (not started by systemd) every call does nothing.
package sdnotify

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends one process's notifications.
type Notifier struct {
	log      *slog.Logger
	enabled  bool
	watchdog time.Duration

	mu        sync.Mutex
	status    string
	failing   bool // a send failed; logged once until one succeeds
	unhealthy bool // the last Watch round skipped its ping; logged once
}

// New reads NOTIFY_SOCKET and WATCHDOG_USEC (WATCHDOG_PID, when set, must
// be this process). log may be nil.
func New(log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{log: log, enabled: os.Getenv("NOTIFY_SOCKET") != ""}
	if !n.enabled {
		return n
	}
	wd, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("WATCHDOG_USEC is not usable: no watchdog pings", "err", err)
	}
	n.watchdog = wd
	return n
}

// Enabled reports whether systemd listens (NOTIFY_SOCKET is set).
func (n *Notifier) Enabled() bool { return n.enabled }

// Watchdog is systemd's watchdog interval (WATCHDOG_USEC), or 0 when no
// watchdog is asked for.
func (n *Notifier) Watchdog() time.Duration { return n.watchdog }

// Ready says the process serves, with its status.
func (n *Notifier) Ready(status string) {
	n.mu.Lock()
	n.status = status
	n.mu.Unlock()
	n.send(daemon.SdNotifyReady + "\nSTATUS=" + status)
}

// Status sets the status line, when it changed.
func (n *Notifier) Status(status string) {
	n.mu.Lock()
	same := n.status == status
	n.status = status
	n.mu.Unlock()
	if !same {
		n.send("STATUS=" + status)
	}
}

// Ping is one watchdog ping, for a caller that decides itself when it is
// alive; nothing without a watchdog.
func (n *Notifier) Ping() {
	if n.watchdog > 0 {
		n.send(daemon.SdNotifyWatchdog)
	}
}

// Stopping says the process is shutting down.
func (n *Notifier) Stopping() { n.send(daemon.SdNotifyStopping + "\nSTATUS=stopping") }

// Watch pings the watchdog every half interval while alive returns nil,
// and sets the status to what status returns (when status is not nil). An
// alive error skips the ping and is logged once, until alive passes again:
// systemd restarts the process when no ping came for a whole interval. It
// returns when ctx is done; without a watchdog it only keeps the status
// current, every every.
func (n *Notifier) Watch(ctx context.Context, every time.Duration, alive func() error, status func() string) {
	if !n.enabled {
		return
	}
	if n.watchdog > 0 {
		every = n.watchdog / 2
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if status != nil {
			n.Status(status())
		}
		if n.watchdog == 0 {
			continue
		}
		err := alive()
		n.mu.Lock()
		was := n.unhealthy
		n.unhealthy = err != nil
		n.mu.Unlock()
		switch {
		case err != nil && !was:
			n.log.Error("not alive: watchdog pings stop, systemd will restart this process", "err", err)
		case err == nil && was:
			n.log.Info("alive again: watchdog pings resume")
		}
		if err == nil {
			n.send(daemon.SdNotifyWatchdog)
		}
	}
}

func (n *Notifier) send(state string) {
	if !n.enabled {
		return
	}
	_, err := daemon.SdNotify(false, state)
	n.mu.Lock()
	was := n.failing
	n.failing = err != nil
	n.mu.Unlock()
	if err != nil && !was {
		n.log.Warn("cannot notify systemd", "err", err)
	}
}
