// Package screen runs a terminal's touch screen: cage (the Wayland kiosk
// compositor) with Chromium in kiosk mode on kioskd's page, started once
// kioskd's UI answers, and watched through kioskd's own view of the page.
// It tells systemd (kiosk/sdnotify) READY=1 once kioskd reports the page
// connected, and pings the watchdog only while it does: a crashed, hung or
// closed browser stops the pings and systemd restarts the screen. cage or
// Chromium exiting ends Run with an error. It knows nothing of screens or
// sessions: kioskd does.
package screen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/kioskd/kioskd/kiosk/sdnotify"
)

// Config says what to show and with what.
type Config struct {
	UI       string   // kioskd's page, e.g. http://127.0.0.1:8080/
	Mgmt     string   // kioskd's management API, e.g. http://127.0.0.1:9100
	Cage     string   // the cage binary
	Chromium string   // the Chromium binary
	Flags    []string // more Chromium flags
	// ProfileDir holds Chromium's throwaway profile: a fresh one each start,
	// so nothing a citizen typed survives a restart. Empty: $XDG_RUNTIME_DIR.
	ProfileDir string
	// Poll is how often kioskd is asked about the page when systemd asks
	// for no watchdog (else half its interval).
	Poll time.Duration
	Log  *slog.Logger
}

// ErrExited is returned when cage (and with it Chromium) exits on its own.
var ErrExited = errors.New("the screen exited")

// Run waits for kioskd's UI, starts cage with Chromium and supervises them
// until ctx is done (then it stops them and returns nil) or they exit
// (ErrExited, with how).
func Run(ctx context.Context, cfg Config, n *sdnotify.Notifier) error {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	n.Status("waiting for kioskd at " + cfg.UI)
	if err := waitUI(ctx, cfg); err != nil {
		return nil // ctx ended
	}
	dir := cfg.ProfileDir
	if dir == "" {
		dir = os.Getenv("XDG_RUNTIME_DIR")
	}
	profile, err := os.MkdirTemp(dir, "kioskd-screen-")
	if err != nil {
		return fmt.Errorf("chromium profile: %w", err)
	}
	defer os.RemoveAll(profile)

	args := append([]string{"--", cfg.Chromium}, chromiumFlags(cfg.UI, profile)...)
	cmd := exec.Command(cfg.Cage, append(args, cfg.Flags...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// Its own process group: stopping the screen stops Chromium's helpers
	// with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start cage: %w", err)
	}
	log.Info("cage started", "pid", cmd.Process.Pid, "ui", cfg.UI)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}

	every := cfg.Poll
	if wd := n.Watchdog(); wd > 0 {
		every = wd / 2
	}
	ready := false
	missing := false // logged once per loss
	tick := time.NewTicker(min(every, 250*time.Millisecond))
	defer tick.Stop()
	last := time.Time{}
	for {
		select {
		case <-ctx.Done():
			n.Stopping()
			stop()
			return nil
		case err := <-exited:
			// Chromium's helpers may outlive cage: end them too.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			if err == nil {
				err = errors.New("exit status 0")
			}
			return fmt.Errorf("%w: cage with Chromium: %v", ErrExited, err)
		case <-tick.C:
		}
		// Before READY kioskd is asked often, for a prompt start; then at
		// the watchdog's pace.
		if ready && time.Since(last) < every {
			continue
		}
		last = time.Now()
		pg, err := page(ctx, cfg.Mgmt)
		switch {
		case err != nil:
			if !missing {
				log.Error("kioskd does not answer about the page: watchdog pings stop", "err", err)
			}
			missing = true
			n.Status("kioskd does not answer: " + err.Error())
		case !pg.Connected:
			if !missing && ready {
				log.Error("kioskd reports no page connected: watchdog pings stop", "since", pg.Since)
			}
			missing = true
			n.Status("no page connected to kioskd since " + pg.Since.Format(time.RFC3339))
		default:
			if !ready {
				ready = true
				log.Info("screen ready: page connected", "took", time.Since(started).Round(time.Millisecond))
				n.Ready("page connected since " + pg.Since.Format(time.RFC3339))
			} else if missing {
				log.Info("page connected again: watchdog pings resume")
			}
			missing = false
			n.Status("page connected since " + pg.Since.Format(time.RFC3339))
			n.Ping()
		}
	}
}

// chromiumFlags open url as an app window, with nothing around it, in a
// fresh profile, on Wayland (cage's). cage shows it full screen and lets
// nothing else on the screen; Chromium's own --kiosk is left out: its
// fullscreen request made Chromium 1xx exit under cage's headless backend
// before the page ever loaded.
func chromiumFlags(url, profile string) []string {
	return []string{
		"--ozone-platform=wayland",
		"--app=" + url,
		"--user-data-dir=" + profile,
		"--incognito",
		"--noerrdialogs", "--disable-infobars", "--disable-session-crashed-bubble",
		"--no-first-run", "--no-default-browser-check",
		"--disable-translate", "--disable-features=Translate",
		"--disable-pinch", "--overscroll-history-navigation=0",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--check-for-update-interval=31536000",
		"--touch-events=enabled",
	}
}

// waitUI returns once kioskd's page and management API answer, so a
// citizen never sees a browser error page; an error only when ctx ends.
func waitUI(ctx context.Context, cfg Config) error {
	for {
		if get(ctx, cfg.UI) == nil && get(ctx, strings.TrimRight(cfg.Mgmt, "/")+"/healthz") == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

var client = &http.Client{Timeout: 2 * time.Second}

func get(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

type pageStatus struct {
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since"`
}

// page is kioskd's view of the page (/v1/status, page).
func page(ctx context.Context, mgmt string) (pageStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(mgmt, "/")+"/v1/status", nil)
	if err != nil {
		return pageStatus{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return pageStatus{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return pageStatus{}, fmt.Errorf("GET /v1/status: %s", resp.Status)
	}
	var st struct {
		Page *pageStatus `json:"page"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return pageStatus{}, fmt.Errorf("GET /v1/status: %w", err)
	}
	if st.Page == nil {
		return pageStatus{}, errors.New("kioskd's /v1/status has no page: a kioskd older than this screen")
	}
	return *st.Page, nil
}
