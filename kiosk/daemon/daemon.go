// Package daemon turns a config.Config into the running terminal: it opens
// the store, starts the central link (or the embedded central simulator),
// the devices, the touch UI and the management API, and runs them under one
// context until it is cancelled. It is wiring: the rules live in the
// packages it wires (store, kiosk/central, kiosk/session, hwbridge/...).
package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kioskd/kioskd/hwbridge/card/emrtd"
	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/flow"
	"github.com/kioskd/kioskd/kiosk/maint"
	"github.com/kioskd/kioskd/kiosk/mgmt"
	"github.com/kioskd/kioskd/kiosk/netlimit"
	"github.com/kioskd/kioskd/kiosk/sdnotify"
	"github.com/kioskd/kioskd/kiosk/session"
	"github.com/kioskd/kioskd/kiosk/speech"
	"github.com/kioskd/kioskd/kiosk/vouchertoken"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui"
)

// Addrs are the base URLs the daemon listens on, known once it is ready.
type Addrs struct {
	UI, Mgmt, Central string
}

// Daemon is one running terminal.
type Daemon struct {
	cfg      config.Config
	log      *slog.Logger
	store    *store.Store
	client   *central.Client
	drainer  *central.Drainer
	metrics  *mgmt.Metrics
	started  time.Time
	dev      *devices
	page     *ui.Server
	receipts sessionPrinter
	session  *session.Session
	events   chan session.DeviceEvent
	stats    statsCache
	speech   *speech.Synth // nil when speech is off

	signer *vouchertoken.Keyring // signs receipts' voucher tokens
	fleet  *fleetKeys            // verifies scanned receipts

	ui, mgmt, central net.Listener
	sim               *central.Sim // embedded central simulator, or nil
	logRing           *logRing     // the last records, for the maintenance menu
}

// Open prepares a daemon: data directory, key, store and listeners. It fails
// with a clear error (naming the file) when the store cannot be opened; it
// never starts on an empty store in place of a damaged or lost one, and
// never creates a key beside an existing store.
func Open(cfg config.Config, log *slog.Logger) (*Daemon, error) {
	log, ring := withLogRing(log) // the maintenance menu shows the last records
	d := &Daemon{cfg: cfg, log: log, logRing: ring, started: time.Now()}
	if ps := append(cfg.ListenProblems(), cfg.CheckFiles()...); len(ps) > 0 {
		return nil, &config.Problems{File: "config", List: ps}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	// A key is created only on a first start; a key without its store, or
	// a store without its key, is refused with what to do.
	key, confirmKey, err := store.LoadKeyFor(cfg.KeyPath(), cfg.DBPath())
	if err != nil {
		return nil, err
	}
	d.store, err = store.Open(cfg.DBPath(), store.Options{
		Key:        key,
		KioskID:    cfg.KioskID,
		TerminalNo: cfg.TerminalNo,
		Retention:  cfg.Retention.Duration,
		OnDamaged: func(op store.Operation, err error) {
			// Voucher, kind and sequence only: never what was in it.
			log.Error("outbox: damaged operation set aside; the operations after it are delivered",
				"voucher", op.Voucher, "kind", op.Kind, "seq", op.Seq, "code", store.CodeDamaged, "reason", op.RejectReason)
		},
	})
	if err != nil {
		return nil, err
	}
	if confirmKey != nil {
		// A first start: the store now exists with the new key.
		if err := confirmKey(); err != nil {
			d.Close()
			return nil, err
		}
	}
	if d.signer, err = vouchertoken.LoadKeyring(cfg.SigningDir(), cfg.KioskID); err != nil {
		d.Close()
		return nil, err
	}
	d.fleet = loadFleetKeys(cfg.FleetKeysPath(), ownKeys(d.signer))
	if err := d.listen(); err != nil {
		d.Close()
		return nil, err
	}
	centralURL := cfg.Central.URL
	if d.central != nil {
		centralURL = "http://" + d.central.Addr().String()
	}
	d.client, err = central.NewClient(central.ClientConfig{
		BaseURL:  centralURL,
		CAFile:   cfg.Central.CAFile,
		CertFile: cfg.Central.CertFile,
		KeyFile:  cfg.Central.KeyFile,
		Timeout:  cfg.Central.Timeout.Duration,
	})
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("central: %w", err)
	}
	reg := prometheus.NewRegistry()
	if !cfg.SharedProcess {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	d.metrics = mgmt.NewMetrics(reg, mgmt.MetricsConfig{
		KioskID: cfg.KioskID, Site: cfg.Site, Version: kiosk.Version, Commit: kiosk.Commit, DataDir: cfg.DataDir,
	}, metricsSource{d})
	d.drainer = central.NewDrainer(outbox{d.store, cfg.KioskID}, d.client, central.DrainConfig{
		PageSize:   cfg.Central.PageSize,
		MinBackoff: cfg.Central.MinBackoff.Duration,
		MaxBackoff: cfg.Central.MaxBackoff.Duration,
		Log:        log,
		OnResult:   d.metrics.Delivered,
	})
	if d.dev, err = openDevices(cfg, log); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.openSession(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// openSession builds the citizen session and the touch page over the
// devices, the store and the central link.
func (d *Daemon) openSession() error {
	cfg := d.cfg
	var cscas []*x509.Certificate
	var err error
	switch {
	case cfg.Readers.CSCAFile != "":
		if cscas, err = emrtd.LoadCSCAs(cfg.Readers.CSCAFile); err != nil {
			return fmt.Errorf("readers.csca_file: %w", err)
		}
	case d.dev.sim != nil:
		// The simulated ID cards are signed by this process's test CSCA,
		// made at start (no key is built into the binary).
		cscas = []*x509.Certificate{cardsim.TestCSCA().Cert}
	}
	// Receipts and the maintenance menu's test page are encoded alike, so
	// the test page tests what citizens get.
	opt, err := cfg.Printer.Escpos()
	if err != nil {
		return err
	}
	d.receipts = sessionPrinter{d: d, lang: cfg.UI.DefaultLanguage, cfg: cfg.ReceiptConfig(), opt: opt}
	uiCfg := ui.Config{
		KioskID:        cfg.KioskID,
		Version:        kiosk.Version,
		Languages:      cfg.UI.Languages,
		AllowedOrigins: cfg.UI.AllowedOrigins,
		Logger:         d.log.With("part", "ui"),
		Facts:          cfg.Facts(),
	}
	if cfg.Speech.Enabled {
		d.speech, err = speech.New(speech.Config{
			Binary:     cfg.Speech.Binary,
			Dir:        cfg.SpeechDir(),
			Rate:       cfg.Speech.Rate,
			Timeout:    cfg.Speech.SynthTimeout.Duration,
			Languages:  cfg.UI.Languages,
			SpeakNames: cfg.Speech.SpeakNames,
			Logger:     d.log.With("part", "speech"),
		}, ui.PageFS(uiCfg.Facts))
		if err != nil {
			return err
		}
		uiCfg.Speech = d.speech.Handler(func() map[string]any { return d.page.Current() })
		uiCfg.Speak = d.speech.Available()
	}
	d.page = ui.NewServer(uiCfg)
	d.events = make(chan session.DeviceEvent, 16)
	d.session = session.New(session.Config{
		KioskID:     cfg.KioskID,
		IdleTimeout: cfg.UI.IdleTimeout.Duration,
		Languages:   cfg.UI.Languages,
		// Speech mode's longer timeouts apply whether or not espeak-ng is
		// there: a keypad user without sound still reads more slowly.
		SpeechIdleTimeout: cfg.Speech.IdleTimeout.Duration,
		SpeechWarning:     cfg.Speech.Warning.Duration,
		Policy:            flow.Policy{RequireOTP: cfg.Central.OTP == "when_online", CheckVoucher: voucher.Normalize},
		Logger:            d.log.With("part", "session"),
	}, session.Deps{
		Outbox:      sessionOutbox{d},
		Identity:    identity{readers: d.dev.readers, cscas: cscas, metrics: d.metrics},
		Central:     sessionCentral{d.client},
		Printer:     d.receipts,
		Devices:     deviceEvents(d.events),
		Display:     d.page,
		Maintenance: maint.Audited(newMenuBackend(d), d.store, d.log),
		Receipts:    receiptCheck{d.fleet},
	})
	d.page.SetDriver(d.session)
	return nil
}

// deviceEvents hands the session the daemon's merged device events.
type deviceEvents chan session.DeviceEvent

func (e deviceEvents) Events() <-chan session.DeviceEvent { return e }

// pumpEvents merges reader and printer events for the session and the
// metrics.
func (d *Daemon) pumpEvents(ctx context.Context) error {
	readerEvents, printerEvents := d.dev.readers.Events(), d.dev.printer.Events()
	for {
		var ev session.DeviceEvent
		select {
		case <-ctx.Done():
			return nil
		case re, ok := <-readerEvents:
			if !ok { // the readers stopped
				readerEvents = nil
				continue
			}
			ev = session.DeviceEvent{Kind: re.Kind, Slot: re.Slot}
			d.metrics.ReaderEvent(re)
		case pe, ok := <-printerEvents:
			if !ok {
				printerEvents = nil
				continue
			}
			d.metrics.PrinterState(printerState(pe))
			ev = session.DeviceEvent{Kind: session.PrinterChanged, Printer: printerState(pe)}
		}
		select {
		case d.events <- ev:
		case <-ctx.Done():
			return nil
		}
	}
}

func (d *Daemon) listen() error {
	var err error
	if d.ui, err = net.Listen("tcp", d.cfg.UI.Listen); err != nil {
		return fmt.Errorf("ui listener: %w", err)
	}
	d.ui = netlimit.Default.Listener(d.ui)
	m := d.cfg.Mgmt
	if !mgmt.IsLoopback(m.Listen) && m.TokenFile == "" && m.ClientCA == "" {
		return fmt.Errorf("mgmt.listen %s is not a loopback address: set mgmt.token_file or mgmt.client_ca, or nobody can use it", m.Listen)
	}
	if d.mgmt, err = net.Listen("tcp", m.Listen); err != nil {
		return fmt.Errorf("management listener: %w", err)
	}
	d.mgmt = netlimit.Default.Listener(d.mgmt)
	if m.TLSCert != "" {
		tc, err := mgmtTLS(m.TLSCert, m.TLSKey, m.ClientCA)
		if err != nil {
			return err
		}
		d.mgmt = tls.NewListener(d.mgmt, tc)
	}
	if d.cfg.EmbeddedCentral() {
		if d.central, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return fmt.Errorf("embedded central listener: %w", err)
		}
		d.central = netlimit.Simulator.Listener(d.central)
		d.sim = central.NewSim(central.SimConfig{})
	}
	return nil
}

// mgmtTLS is the management API's TLS: client certificates signed by
// clientCA are verified when given; a request without one needs the token.
func mgmtTLS(certFile, keyFile, clientCA string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("mgmt.tls_cert/tls_key: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, fmt.Errorf("mgmt.client_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mgmt.client_ca: %s holds no PEM certificate", clientCA)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

// Addrs are the URLs the daemon serves.
func (d *Daemon) Addrs() Addrs {
	scheme := "http://"
	if d.cfg.Mgmt.TLSCert != "" {
		scheme = "https://"
	}
	a := Addrs{UI: "http://" + d.ui.Addr().String(), Mgmt: scheme + d.mgmt.Addr().String(), Central: d.cfg.Central.URL}
	if d.central != nil {
		a.Central = "http://" + d.central.Addr().String()
	}
	return a
}

// Close releases what Open took; Run calls it on return.
func (d *Daemon) Close() error {
	for _, l := range []net.Listener{d.ui, d.mgmt, d.central} {
		if l != nil {
			l.Close()
		}
	}
	if d.store != nil {
		return d.store.Close()
	}
	return nil
}

// Run serves until ctx is done, then shuts every part down and returns once
// their goroutines have exited.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var g group
	mg := mgmt.New(d, d.metrics.Registry(), mgmt.Options{
		Token:       d.mgmtToken(),
		RequireAuth: !mgmt.IsLoopback(d.cfg.Mgmt.Listen),
	})
	d.mountSimControl(mg)
	d.mountTestHooks(ctx, mg) // only in a test build (testhooks_on.go)
	g.serve(ctx, cancel, "management API", d.mgmt, mg, netlimit.Default)
	g.serve(ctx, cancel, "page server", d.ui, d.metrics.CountPages(d.page), netlimit.Default)
	d.dev.run(ctx, &g, cancel)
	g.run(ctx, cancel, "device events", d.pumpEvents)
	g.run(ctx, cancel, "session", d.session.Run)
	if d.sim != nil {
		g.serve(ctx, cancel, "embedded central", d.central, d.sim, netlimit.Simulator)
	}
	g.run(ctx, cancel, "delivery to central", d.drainer.Run)
	g.run(ctx, cancel, "purge", d.purgeLoop)
	g.run(ctx, cancel, "heartbeat", d.heartbeatLoop)
	if d.speech != nil && d.speech.Available() {
		g.run(ctx, cancel, "speech cache", d.buildSpeechCache)
	}
	notify := sdnotify.New(d.log.With("part", "systemd"))
	if notify.Enabled() && !d.cfg.SharedProcess {
		g.run(ctx, cancel, "systemd readiness and watchdog", func(ctx context.Context) error { return d.alive(ctx, notify) })
	}
	d.log.Info("kioskd ready", "ui", d.Addrs().UI, "mgmt", d.Addrs().Mgmt, "central", d.Addrs().Central, "kiosk_id", d.cfg.KioskID, "version", kiosk.Version)
	<-ctx.Done()
	notify.Stopping()
	d.page.Close()
	return g.wait(d.log, stopGrace)
}

func (d *Daemon) mgmtToken() string {
	if d.cfg.Mgmt.TokenFile == "" {
		return ""
	}
	b, err := os.ReadFile(d.cfg.Mgmt.TokenFile)
	if err != nil {
		d.log.Error("management token file unreadable: only client certificates are accepted", "err", err)
		return ""
	}
	return string(trimSpace(b))
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// buildSpeechCache synthesises every prompt not cached yet, in the
// background: the page asks for a missing one on demand meanwhile. A
// failure is logged; the terminal works without sound.
func (d *Daemon) buildSpeechCache(ctx context.Context) error {
	st, err := d.speech.BuildCache(ctx)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		d.log.Error("speech cache incomplete", "err", err, "prompts", st.Prompts, "synthesised", st.Synthesised)
		return nil
	}
	d.log.Info("speech cache ready", "prompts", st.Prompts, "synthesised", st.Synthesised, "removed", st.Removed,
		"mb", float64(st.Bytes)/1e6, "took", st.Duration.Round(time.Millisecond))
	return nil
}

// purgeLoop purges personal data past its retention, at start and hourly.
func (d *Daemon) purgeLoop(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := d.store.Purge(); err != nil {
			d.log.Error("purge", "err", err)
		} else if n > 0 {
			d.log.Info("purged personal data past retention", "operations", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
