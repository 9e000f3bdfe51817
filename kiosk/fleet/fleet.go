// Package fleet runs many kioskd terminals in one process for fleet tests
// and capacity figures (`kioskd fleet-sim`): each terminal is a real
// daemon core (its own data directory and bbolt outbox, central link,
// heartbeats, management listener on its own loopback port, simulated
// readers and printer behind a real pty). It adds a citizen load (Poisson
// arrivals per terminal, a mix of the three operations), a Prometheus
// file_sd target file, faults (stop terminals, printer states) and a small
// control API. It holds no rule of its own: the daemon does the work.
package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/daemon"
	"github.com/kioskd/kioskd/kiosk/op"
	"github.com/kioskd/kioskd/kiosk/speech"
	"github.com/kioskd/kioskd/ui"
)

// Config says what fleet to run.
type Config struct {
	N       int    // terminals
	Sites   int    // hospitals/outlets the terminals are spread over (round robin)
	Dir     string // each terminal's data directory is Dir/<kiosk id>
	Central string // central API URL
	// Rate is the citizen arrivals per terminal per second (Poisson);
	// 0 means no load.
	Rate              float64
	HeartbeatInterval time.Duration
	MinBackoff        time.Duration
	MaxBackoff        time.Duration
	Seed              uint64
	Log               *slog.Logger
}

// Terminal is one simulated terminal.
type Terminal struct {
	Index   int    `json:"index"`
	KioskID string `json:"kiosk_id"`
	Site    string `json:"site"`
	Mgmt    string `json:"mgmt"` // host:port of its management API
	Running bool   `json:"running"`

	d      *daemon.Daemon
	cancel context.CancelFunc
	done   chan error
}

// Committed is an operation a terminal accepted (on disk).
type Committed struct {
	KioskID string `json:"kiosk_id"`
	Key     string `json:"idempotency_key"`
	Kind    string `json:"kind"`
}

// Fleet is a running fleet.
type Fleet struct {
	cfg   Config
	terms []*Terminal

	mu        sync.Mutex
	committed []Committed
	failed    int // commits refused (the citizen was told to try again)
	load      bool
}

// KioskID is the id of the i-th terminal (from 0).
func KioskID(i int) string { return fmt.Sprintf("FLEET-%05d", i+1) }

// SiteOf is the site of the i-th terminal.
func SiteOf(i, sites int) string { return fmt.Sprintf("SITE-%03d", i%sites+1) }

// Start opens and runs every terminal; it returns once all are serving,
// or the first error (after stopping those already started).
func Start(ctx context.Context, cfg Config) (*Fleet, error) {
	if cfg.N <= 0 {
		return nil, fmt.Errorf("fleet: %d terminals", cfg.N)
	}
	if cfg.Sites <= 0 {
		cfg.Sites = 1
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	f := &Fleet{cfg: cfg, load: cfg.Rate > 0}
	if err := buildSpeechCache(ctx, f.speechDir()); err != nil {
		return nil, err
	}
	// Open in a few goroutines: each open syncs a new bbolt file.
	f.terms = make([]*Terminal, cfg.N)
	errs := make([]error, cfg.N)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f.terms[i], errs[i] = f.open(i)
			}
		}()
	}
	for i := range cfg.N {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, t := range f.terms {
			if t != nil {
				t.d.Close()
			}
		}
		return nil, err
	}
	// Terminals come up spread over one heartbeat interval, as a real
	// fleet boots at different times: started in the same instant they
	// would beat in step for ever.
	for i, t := range f.terms {
		if i > 0 {
			time.Sleep(cfg.HeartbeatInterval / time.Duration(cfg.N))
		}
		f.run(ctx, t)
	}
	for i, t := range f.terms {
		go f.citizens(ctx, t, cfg.Seed+uint64(i))
	}
	return f, nil
}

// speechDir is the fleet's one speech cache. Every terminal speaks the
// same catalogue texts with the same voice and rate, so their caches would
// hold the same files: a terminal builds its own at first start (hundreds
// of espeak-ng runs), and a fleet of them building theirs at once spends
// every core of the machine on it for many minutes (measured: 200
// terminals, 400 espeak-ng processes at a time, the management listeners
// too starved to answer a scrape within 9 s). The fleet builds it once
// before the terminals start; each terminal's own build then finds every
// prompt cached, and speech mode works on every terminal as on a real one.
func (f *Fleet) speechDir() string { return filepath.Join(f.cfg.Dir, "speech") }

// buildSpeechCache synthesises the catalogue's prompts into dir with the
// terminals' default speech settings. Without espeak-ng there is nothing
// to build: the terminals run silent, as a real one would.
func buildSpeechCache(ctx context.Context, dir string) error {
	c := config.Default()
	if !c.Speech.Enabled {
		return nil
	}
	s, err := speech.New(speech.Config{
		Binary: c.Speech.Binary, Dir: dir, Rate: c.Speech.Rate, Timeout: c.Speech.SynthTimeout.Duration,
		Languages: c.UI.Languages,
	}, ui.StaticFS())
	if err != nil {
		return fmt.Errorf("speech cache: %w", err)
	}
	if !s.Available() {
		return nil
	}
	if _, err := s.BuildCache(ctx); err != nil {
		return fmt.Errorf("speech cache: %w", err)
	}
	return nil
}

func (f *Fleet) open(i int) (*Terminal, error) {
	c := config.Default()
	c.KioskID = KioskID(i)
	c.Site = SiteOf(i, f.cfg.Sites)
	c.TerminalNo = i + 1
	c.DataDir = filepath.Join(f.cfg.Dir, c.KioskID)
	c.UI.Listen = "127.0.0.1:0"
	c.Mgmt.Listen = "127.0.0.1:0"
	c.Central.URL = f.cfg.Central
	c.Printer.PollerPort = true // a thousand ptys: descriptors past 1024
	c.SharedProcess = true      // no go_*/process_* series of the fleet's process
	c.Speech.CacheDir = f.speechDir()
	c.Central.HeartbeatInterval.Duration = f.cfg.HeartbeatInterval
	if f.cfg.MinBackoff > 0 {
		c.Central.MinBackoff.Duration = f.cfg.MinBackoff
	}
	if f.cfg.MaxBackoff > 0 {
		c.Central.MaxBackoff.Duration = f.cfg.MaxBackoff
	}
	if ps := c.Validate(); len(ps) > 0 {
		return nil, &config.Problems{File: "fleet-sim terminal " + c.KioskID, List: ps}
	}
	d, err := daemon.Open(c, f.cfg.Log.With("kiosk_id", c.KioskID))
	if err != nil {
		return nil, fmt.Errorf("terminal %s: %w", c.KioskID, err)
	}
	return &Terminal{Index: i, KioskID: c.KioskID, Site: c.Site, Mgmt: strings.TrimPrefix(d.Addrs().Mgmt, "http://"), d: d}, nil
}

func (f *Fleet) run(ctx context.Context, t *Terminal) {
	tctx, cancel := context.WithCancel(ctx)
	t.cancel, t.done, t.Running = cancel, make(chan error, 1), true
	go func() { t.done <- t.d.Run(tctx) }()
}

// kinds is the citizen mix: mostly loss reports.
var kinds = []op.Kind{op.ReportLoss, op.ReportLoss, op.SuspendSettlement, op.ResumeSettlement}

// citizens commits operations on t at Poisson arrivals while the fleet's
// load is on and t runs.
func (f *Fleet) citizens(ctx context.Context, t *Terminal, seed uint64) {
	if f.cfg.Rate <= 0 {
		return
	}
	rng := rand.New(rand.NewPCG(seed, 0x666c656574))
	for {
		wait := time.Duration(rng.ExpFloat64() / f.cfg.Rate * float64(time.Second))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		f.mu.Lock()
		on := f.load && t.Running
		f.mu.Unlock()
		if on {
			f.Citizen(ctx, t.Index, string(kinds[rng.IntN(len(kinds))]))
		}
	}
}

// Citizen commits one operation of kind on terminal i, as a finished flow
// does; it returns the idempotency key once it is on disk.
func (f *Fleet) Citizen(ctx context.Context, i int, kind string) (string, error) {
	t := f.terms[i]
	// A made-up person: the simulator's data, never a real one.
	subject, _ := json.Marshal(map[string]string{"id_number": fmt.Sprintf("0790%08d", rand.IntN(1e8)), "name": "FLEET CITIZEN"})
	stored, err := t.d.Commit(ctx, op.Kind(kind), daemon.Personal{Subject: subject})
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.failed++
		return "", err
	}
	f.committed = append(f.committed, Committed{KioskID: t.KioskID, Key: stored.Key, Kind: kind})
	return stored.Key, nil
}

// SetLoad turns the Poisson load on or off.
func (f *Fleet) SetLoad(on bool) {
	f.mu.Lock()
	f.load = on
	f.mu.Unlock()
}

// Committed returns every operation the fleet's terminals accepted.
func (f *Fleet) Committed() ([]Committed, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Committed(nil), f.committed...), f.failed
}

// Terminals lists the terminals.
func (f *Fleet) Terminals() []Terminal {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Terminal, len(f.terms))
	for i, t := range f.terms {
		out[i] = Terminal{Index: t.Index, KioskID: t.KioskID, Site: t.Site, Mgmt: t.Mgmt, Running: t.Running}
	}
	return out
}

// Stop stops terminal i (its listeners close: Prometheus sees it down).
func (f *Fleet) Stop(i int) error {
	if i < 0 || i >= len(f.terms) {
		return fmt.Errorf("no terminal %d (the fleet has %d)", i, len(f.terms))
	}
	t := f.terms[i]
	f.mu.Lock()
	running := t.Running
	t.Running = false
	f.mu.Unlock()
	if !running {
		return nil
	}
	t.cancel()
	return <-t.done
}

// Printer sets the simulated printer of terminal i to state.
func (f *Fleet) Printer(i int, state string) error {
	if i < 0 || i >= len(f.terms) {
		return fmt.Errorf("no terminal %d (the fleet has %d)", i, len(f.terms))
	}
	return f.terms[i].d.SetSimPrinter(state)
}

// Backlog is the fleet's pending operations and the latest acknowledgement
// any running terminal recorded.
type Backlog struct {
	Pending   int       `json:"pending"`
	LastAckAt time.Time `json:"last_ack_at"`
}

// Backlog sums the running terminals' outboxes.
func (f *Fleet) Backlog(ctx context.Context) (Backlog, error) {
	var b Backlog
	for _, t := range f.Terminals() {
		if !t.Running {
			continue
		}
		st, err := f.terms[t.Index].d.Status(ctx)
		if err != nil {
			return b, fmt.Errorf("%s: %w", t.KioskID, err)
		}
		b.Pending += st.Queue.Pending
		if st.Queue.LastAckAt != nil && st.Queue.LastAckAt.After(b.LastAckAt) {
			b.LastAckAt = *st.Queue.LastAckAt
		}
	}
	return b, nil
}

// WriteTargets writes the Prometheus file_sd target file: every terminal
// (stopped ones too, so they show as down) with its kiosk_id and site.
func (f *Fleet) WriteTargets(path string) error {
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	var gs []group
	for _, t := range f.Terminals() {
		gs = append(gs, group{Targets: []string{t.Mgmt}, Labels: map[string]string{"kiosk_id": t.KioskID, "site": t.Site}})
	}
	b, err := json.MarshalIndent(gs, "", " ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path) // Prometheus never reads half a file
}

// Wait stops every terminal (once ctx is done) and waits for them.
func (f *Fleet) Wait() error {
	var errs []error
	for _, t := range f.terms {
		t.cancel()
	}
	for _, t := range f.terms {
		f.mu.Lock()
		running := t.Running
		t.Running = false
		f.mu.Unlock()
		if running {
			if err := <-t.done; err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", t.KioskID, err))
			}
		}
	}
	return errors.Join(errs...)
}
