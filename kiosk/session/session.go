// Package session runs one citizen session at a time: it feeds the page's
// intents, card events and I/O results to the flow state machines (package
// flow), runs the effects they ask for against the interfaces below with a
// deadline each, times out an idle citizen (with a countdown on screen), and
// renders each step as a ui.Screen with personal data masked once the
// citizen has confirmed. When a session ends, by cancel, timeout or a card
// taken away, every personal field is zeroed and the screen goes idle.
//
// The interfaces are defined here in the session's own terms; the daemon
// adapts the store, the card drivers, the central client and the printer to
// them. The package does not talk to devices, disks or networks itself.
package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/kiosk/flow"
	"github.com/kioskd/kioskd/kiosk/maint"
	"github.com/kioskd/kioskd/kiosk/op"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui"
)

// Domain types, shared with the flows.
type (
	Person       = flow.Person
	SSCard       = flow.SSCard
	Card         = flow.Card
	PINResult    = flow.PINResult
	BACKey       = flow.BACKey
	Operation    = flow.Operation
	Receipt      = flow.Receipt
	LookupResult = flow.LookupResult
)

// ErrNotFound is what Outbox.Lookup and Central.Lookup return (wrapped or
// not) for a voucher they do not know.
var ErrNotFound = errors.New("voucher not found")

// Outbox stores operations durably. Commit returns only once the operation
// is on disk (fsync): the citizen is told "accepted" after it returns.
type Outbox interface {
	Commit(ctx context.Context, op Operation) (Receipt, error)
	Lookup(ctx context.Context, voucher string) (LookupResult, error)
}

// Identity reads the citizen's cards: the national ID card chip (BAC with the
// typed key) in the ID reader, the social security card in the SS reader,
// and verifies the SS card's PIN on the card.
type Identity interface {
	ReadID(ctx context.Context, key BACKey) (Person, error)
	ReadSS(ctx context.Context) (SSCard, error)
	VerifyPIN(ctx context.Context, pin string) (PINResult, error)
}

// CentralState is a voucher's operation as the central system knows it.
type CentralState struct {
	State  op.OpState
	Ref    string
	Reason string
}

// Central is the central system; any call may fail when it is unreachable,
// and the flows carry on offline where the procedure allows.
type Central interface {
	PersonCards(ctx context.Context, idNumber string) ([]Card, error)
	RequestOTP(ctx context.Context, idNumber string) error
	VerifyOTP(ctx context.Context, idNumber, code string) (bool, error)
	Lookup(ctx context.Context, voucher string) (CentralState, error)
}

// ReceiptData is what the printer prints. Personal fields are already
// masked (kiosk/mask is idempotent, so kiosk/receipt masking them again
// changes nothing).
type ReceiptData struct {
	Kind          op.Kind
	Voucher       string // as printed: grouped when it is a store voucher
	Key           string
	Time          time.Time
	KioskID       string
	Lang          string
	Name          string // masked
	IDNumber      string // masked
	CardNumber    string // masked; empty when filed against the ID number
	Proxy         bool
	AgentName     string // masked
	AgentIDNumber string // masked
	Relationship  string
	Offline       bool
}

// Printer prints a receipt. printed is false when no paper came out (paper
// out, cover open …); preview is the receipt as text for the done screen.
type Printer interface {
	PrintReceipt(ctx context.Context, r ReceiptData) (printed bool, preview string, err error)
}

// DeviceEvent is a card or reader change (Kind from hwbridge, Slot set), or
// a printer state change (Kind PrinterChanged, Printer set: "ok",
// "paper_out", "paper_near_end", "cover_open", "offline").
type DeviceEvent struct {
	Kind    hwbridge.EventKind
	Slot    hwbridge.Slot
	Printer string
}

// PrinterChanged is the DeviceEvent kind of a printer state change.
const PrinterChanged hwbridge.EventKind = "printer_changed"

// Devices delivers device events; the channel stays open while the daemon
// runs.
type Devices interface {
	Events() <-chan DeviceEvent
}

// Display shows screens and device status; *ui.Server is one.
type Display interface {
	Show(ui.Screen)
	Device(ui.Device)
}

// Clock is time, injectable for tests.
type Clock interface {
	Now() time.Time
	// Ticker ticks every d until stop is called.
	Ticker(d time.Duration) (ticks <-chan time.Time, stop func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Ticker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// Config configures a Session; zero fields get the defaults.
type Config struct {
	KioskID     string
	IdleTimeout time.Duration // default 60 s
	Countdown   time.Duration // shown for the last 10 s by default
	// In speech mode (the page's `speech` intent) a session times out after
	// SpeechIdleTimeout (default 3 min) and the countdown, which the page
	// speaks as a warning, starts SpeechWarning before (default 30 s).
	SpeechIdleTimeout time.Duration
	SpeechWarning     time.Duration
	// CallTimeout bounds each device or central call (default 15 s);
	// CommitTimeout bounds Outbox.Commit (default 10 s).
	CallTimeout   time.Duration
	CommitTimeout time.Duration
	Policy        flow.Policy // CheckVoucher defaults to store/voucher.Normalize
	Languages     []string    // default ui.DefaultLanguages; the first is the default
	Clock         Clock
	Logger        *slog.Logger
}

// Deps are the parts a Session drives. Central and Printer may be nil (no
// central link: offline; no printer: nothing printed); a nil Identity or
// Outbox makes the flows that need them end on their error screen.
type Deps struct {
	Outbox   Outbox
	Identity Identity
	Central  Central
	Printer  Printer
	Devices  Devices
	Display  Display
	// Maintenance is the technician's menu (maint.Audited over the
	// daemon's maint.Backend); nil shows its locked placeholder.
	Maintenance maint.Actions
	// Receipts checks scanned receipts' signed tokens; nil: a scanned
	// receipt is reported as unreadable.
	Receipts Receipts
}

// Receipts checks what a QR scanner read off a receipt: the lookup URL with
// its signed voucher token, against the keys of the fleet this terminal
// holds (no network needed).
type Receipts interface {
	CheckReceipt(ctx context.Context, scanned string) flow.SignedVoucher
}

// Session is the one citizen session of the terminal. It implements
// ui.Driver. Construct with New, then Run.
type Session struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	clock Clock

	page    chan pageMsg
	results chan flow.Intent
	alive   chan func()   // run by the loop between two events (Alive)
	running chan struct{} // closed when Run returns
	runOnce sync.Once

	// Owned by the Run goroutine.
	state        flow.State
	id           string
	lang         string
	lastActivity time.Time
	shownCount   int  // countdown shown on screen, 0 = none
	speech       bool // speech mode, until the session ends
	large        bool // large-text mode, until the session ends
	readers      map[hwbridge.Slot]ui.Reader
	printer      string
	menu         maint.State       // the maintenance menu (maintenance.go)
	menuAnswers  chan maint.Answer // its calls' answers
}

type pageMsg struct {
	in    ui.Intent
	reply chan error
}

// New returns a Session; it starts nothing until Run.
func New(cfg Config, deps Deps) *Session {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.Countdown <= 0 {
		cfg.Countdown = 10 * time.Second
	}
	if cfg.SpeechIdleTimeout <= 0 {
		cfg.SpeechIdleTimeout = 3 * time.Minute
	}
	if cfg.SpeechWarning <= 0 {
		cfg.SpeechWarning = 30 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 15 * time.Second
	}
	if cfg.CommitTimeout <= 0 {
		cfg.CommitTimeout = 10 * time.Second
	}
	if cfg.Policy.CheckVoucher == nil {
		cfg.Policy.CheckVoucher = voucher.Normalize
	}
	if len(cfg.Languages) == 0 {
		cfg.Languages = ui.DefaultLanguages
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Session{
		cfg:     cfg,
		deps:    deps,
		log:     log,
		clock:   cfg.Clock,
		page:    make(chan pageMsg),
		results: make(chan flow.Intent),
		alive:   make(chan func()),
		running: make(chan struct{}),

		menuAnswers: make(chan maint.Answer),
		state:       flow.New(cfg.Policy),
		lang:        cfg.Languages[0],
		// No reader is shown as there until it is reported: both the PC/SC
		// supervisor and the simulated readers announce the readers
		// attached at start, and a slot without one stays missing.
		readers: map[hwbridge.Slot]ui.Reader{
			hwbridge.SlotID: {Slot: string(hwbridge.SlotID)},
			hwbridge.SlotSS: {Slot: string(hwbridge.SlotSS)},
		},
		printer: "unknown",
	}
}

// Run drives sessions until ctx is done, then returns nil after every effect
// it started has returned; personal data is wiped and the idle screen shown
// on the way out. Call it once.
func (s *Session) Run(ctx context.Context) error {
	defer s.runOnce.Do(func() { close(s.running) })
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		s.endSession()
		s.render() // nothing of the citizen stays on the page server
	}()
	ticks, stop := s.clock.Ticker(time.Second)
	defer stop()
	var devices <-chan DeviceEvent
	if s.deps.Devices != nil {
		devices = s.deps.Devices.Events()
	}
	s.lastActivity = s.clock.Now()
	s.showDevice()
	s.render()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-s.page:
			m.reply <- s.onPage(ctx, &wg, m.in)
		case ev, ok := <-devices:
			if !ok {
				devices = nil
				continue
			}
			s.onDevice(ctx, &wg, ev)
		case r := <-s.results:
			s.lastActivity = s.clock.Now()
			s.step(ctx, &wg, r)
		case now := <-ticks:
			s.onTick(ctx, &wg, now)
		case a := <-s.menuAnswers:
			s.onMenuAnswer(ctx, &wg, a)
		case f := <-s.alive:
			f()
		}
	}
}

// Alive returns nil once the run loop has come round between two events:
// the liveness probe of the systemd watchdog. A loop stuck in one event
// keeps it waiting until ctx is done.
func (s *Session) Alive(ctx context.Context) error {
	select {
	case s.alive <- func() {}:
		return nil
	case <-s.running:
		return errStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errStopped = &ui.Error{Code: ui.CodeInternal, Message: "the terminal is restarting"}

// Intent delivers one page intent and returns once it is applied; an error
// is a *ui.Error for the page.
func (s *Session) Intent(ctx context.Context, in ui.Intent) error {
	m := pageMsg{in: in, reply: make(chan error, 1)}
	select {
	case s.page <- m:
	case <-s.running:
		return errStopped
	case <-ctx.Done():
		return &ui.Error{Code: ui.CodeInternal, Message: "the terminal is busy, please try again"}
	}
	return <-m.reply
}

func (s *Session) onPage(ctx context.Context, wg *sync.WaitGroup, in ui.Intent) error {
	s.lastActivity = s.clock.Now()
	if s.inMaintenance() && in.Type != ui.TypePing && in.Type != ui.TypeLang && in.Type != ui.TypeSpeech && in.Type != ui.TypeLargeText {
		return s.menuPage(ctx, wg, in)
	}
	var fi flow.Intent
	switch in.Type {
	case ui.TypePing:
		// A touch: the citizen is still there. Hide the countdown.
		if s.shownCount != 0 {
			s.render()
		}
		return nil
	case ui.TypeSpeech:
		s.speech = in.Value == "on"
		if s.speech && s.state.Step == flow.StepIdle {
			// A key of the keypad or the speaker button on the idle screen
			// starts the session, as a touch would.
			return pageError(s.step(ctx, wg, flow.Intent{Kind: flow.Confirm}))
		}
		s.render()
		return nil
	case ui.TypeLargeText:
		// Kept until the session ends; on the idle screen, for the session
		// the next touch starts (or until the idle screen is left alone).
		s.large = in.Value == "on"
		s.render()
		return nil
	case ui.TypeLang:
		if !slices.Contains(s.cfg.Languages, in.Code) {
			return &ui.Error{Code: "unknown_language", Message: "language not offered"}
		}
		s.lang = in.Code
		s.render()
		return nil
	case ui.TypeStart:
		fi = flow.Intent{Kind: flow.Start, Flow: flow.Kind(in.Flow)}
	case ui.TypeInput:
		fi = flow.Intent{Kind: flow.Input, Field: in.Field, Value: in.Value}
	case ui.TypeConfirm:
		fi = flow.Intent{Kind: flow.Confirm}
	case ui.TypeBack:
		fi = flow.Intent{Kind: flow.Back}
	case ui.TypeCancel:
		fi = flow.Intent{Kind: flow.Cancel}
	default:
		return &ui.Error{Code: ui.CodeUnknownType, Message: "unknown message type"}
	}
	return pageError(s.step(ctx, wg, fi))
}

// pageError turns a flow error into what the page is told.
func pageError(err error) error {
	if err == nil {
		return nil
	}
	var ie *flow.InputError
	if errors.As(err, &ie) {
		return &ui.Error{Code: ie.Code, Message: ie.Error()}
	}
	if errors.Is(err, flow.ErrBusy) {
		return &ui.Error{Code: "busy", Message: flow.ErrBusy.Error()}
	}
	var re *flow.RefusedError
	if errors.As(err, &re) {
		return &ui.Error{Code: "refused", Message: re.Error()}
	}
	return &ui.Error{Code: ui.CodeInternal, Message: "something went wrong"}
}

func (s *Session) onDevice(ctx context.Context, wg *sync.WaitGroup, ev DeviceEvent) {
	if s.inMaintenance() {
		defer s.menuDevice(ctx, wg, ev)
	}
	switch ev.Kind {
	case PrinterChanged:
		s.printer = ev.Printer
		s.showDevice()
		return
	case hwbridge.ReaderAdded, hwbridge.ReaderRemoved:
		if r, ok := s.readers[ev.Slot]; ok {
			r.Present = ev.Kind == hwbridge.ReaderAdded
			if !r.Present {
				r.Card = false
			}
			s.readers[ev.Slot] = r
			s.showDevice()
		}
		if ev.Kind == hwbridge.ReaderRemoved {
			// A reader gone takes its card with it.
			ev.Kind = hwbridge.CardRemoved
		} else {
			return
		}
	}
	var k flow.IntentKind
	switch ev.Kind {
	case hwbridge.CardInserted:
		k = flow.CardInserted
	case hwbridge.CardRemoved:
		k = flow.CardRemoved
	default:
		return
	}
	if r, ok := s.readers[ev.Slot]; ok {
		r.Card = k == flow.CardInserted
		s.readers[ev.Slot] = r
		s.showDevice()
	}
	s.lastActivity = s.clock.Now()
	if err := s.step(ctx, wg, flow.Intent{Kind: k, Slot: ev.Slot}); err != nil {
		s.log.Debug("device event not applied", "slot", ev.Slot, "err", err)
	}
}

func (s *Session) onTick(ctx context.Context, wg *sync.WaitGroup, now time.Time) {
	if s.inMaintenance() {
		s.menuTick(ctx, wg, now)
		return
	}
	if s.state.Step == flow.StepIdle && (s.lang != s.cfg.Languages[0] || s.large) && now.Sub(s.lastActivity) >= s.cfg.IdleTimeout {
		// A language or large text chosen on the idle screen by someone who
		// then walked away: the next citizen gets the default.
		s.lang, s.large = s.cfg.Languages[0], false
		s.render()
		return
	}
	if s.state.Step == flow.StepIdle || s.state.Step == flow.StepCommitting {
		return
	}
	left := s.idleTimeout() - now.Sub(s.lastActivity)
	if left <= 0 {
		s.log.Info("session timed out", "session", s.id)
		if err := s.step(ctx, wg, flow.Intent{Kind: flow.Timeout}); err != nil {
			s.log.Debug("timeout not applied", "err", err)
		}
		return
	}
	if n := s.countdown(now); n != s.shownCount {
		s.render()
	}
}

// countdown is the number of seconds to show, or 0 outside the last
// Countdown of the idle timeout.
func (s *Session) countdown(now time.Time) int {
	if s.state.Step == flow.StepIdle || s.state.Step == flow.StepCommitting {
		return 0
	}
	timeout, window := s.idleTimeout(), s.cfg.Countdown
	if s.inMaintenance() {
		timeout = s.deps.Maintenance.IdleTimeout()
	} else if s.speech {
		window = s.cfg.SpeechWarning
	}
	left := timeout - now.Sub(s.lastActivity)
	if left > window || left <= 0 {
		return 0
	}
	return int(math.Ceil(left.Seconds()))
}

// idleTimeout is how long a citizen session waits for the citizen.
func (s *Session) idleTimeout() time.Duration {
	if s.speech {
		return s.cfg.SpeechIdleTimeout
	}
	return s.cfg.IdleTimeout
}

// step applies one intent, runs the effects and renders. Results of effects
// come back through s.results.
func (s *Session) step(ctx context.Context, wg *sync.WaitGroup, in flow.Intent) error {
	next, effs, err := flow.Next(s.state, in)
	if err != nil {
		return err
	}
	wasIdle := s.state.Step == flow.StepIdle
	wasMaint := s.inMaintenance()
	s.state = next
	if !wasMaint && s.inMaintenance() {
		s.menuEnter(ctx, wg)
	}
	if wasIdle && s.state.Step != flow.StepIdle {
		s.id = newID()
		s.log.Info("session started", "session", s.id)
	}
	for _, e := range effs {
		if e.Kind == flow.EndSession {
			s.endSession()
			continue
		}
		s.run(ctx, wg, e)
	}
	s.render()
	return nil
}

// endSession forgets the citizen: the flow state is zeroed (flow.Wipe) and
// the language goes back to the default.
func (s *Session) endSession() {
	if s.id != "" {
		s.log.Info("session ended", "session", s.id)
	}
	s.state.Wipe()
	s.id = ""
	s.lang = s.cfg.Languages[0]
	s.shownCount = 0
	s.speech = false
	s.large = false
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// run starts one effect; its result goes back to the Run loop.
func (s *Session) run(ctx context.Context, wg *sync.WaitGroup, e flow.Effect) {
	timeout := s.cfg.CallTimeout
	if e.Kind == flow.Commit {
		timeout = s.cfg.CommitTimeout
	}
	var rd ReceiptData
	if e.Kind == flow.Print {
		rd = s.receiptData(e)
	}
	printerState := s.printer
	wg.Add(1)
	go func() {
		defer wg.Done()
		ectx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		r := s.doSafe(ectx, e, rd, printerState)
		r.Seq = e.Seq
		select {
		case s.results <- r:
		case <-ctx.Done():
		}
	}()
}

var (
	errOffline = errors.New("central link not configured")
	errMissing = errors.New("device or outbox not configured")
)

var resultOf = map[flow.EffectKind]flow.IntentKind{
	flow.ReadID: flow.IDRead, flow.ReadSS: flow.SSRead, flow.VerifyPIN: flow.PINChecked,
	flow.Commit: flow.Committed, flow.LookupVoucher: flow.LookedUp,
	flow.FetchCards: flow.CardsFetched, flow.RequestOTP: flow.OTPRequested, flow.VerifyOTP: flow.OTPChecked,
	flow.Print: flow.Printed,
}

var errPanicked = errors.New("internal error")

func resultKind(k flow.EffectKind) flow.IntentKind { return resultOf[k] }

// doSafe runs do and turns a panic in an adapter into a failed result, so a
// bug below the session shows an error screen instead of ending the daemon.
func (s *Session) doSafe(ctx context.Context, e flow.Effect, rd ReceiptData, printerState string) (r flow.Intent) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("effect panicked", "effect", e.Kind, "panic", fmt.Sprintf("%T", p))
			r = flow.Intent{Kind: resultKind(e.Kind), Err: errPanicked}
		}
	}()
	return s.do(ctx, e, rd, printerState)
}

// do runs one effect. It runs on its own goroutine and touches no session
// field.
func (s *Session) do(ctx context.Context, e flow.Effect, rd ReceiptData, printerState string) flow.Intent {
	d := s.deps
	switch {
	case d.Identity == nil && (e.Kind == flow.ReadID || e.Kind == flow.ReadSS || e.Kind == flow.VerifyPIN),
		d.Outbox == nil && (e.Kind == flow.Commit || e.Kind == flow.LookupVoucher):
		// A terminal without that part: the flow shows its error screen.
		return flow.Intent{Kind: resultOf[e.Kind], Err: errMissing}
	}
	switch e.Kind {
	case flow.ReadID:
		p, err := d.Identity.ReadID(ctx, e.BAC)
		s.logReadFailure(hwbridge.SlotID, err)
		return flow.Intent{Kind: flow.IDRead, Person: p, Err: err}
	case flow.ReadSS:
		c, err := d.Identity.ReadSS(ctx)
		s.logReadFailure(hwbridge.SlotSS, err)
		return flow.Intent{Kind: flow.SSRead, SS: c, Err: err}
	case flow.VerifyPIN:
		r, err := d.Identity.VerifyPIN(ctx, e.PIN)
		return flow.Intent{Kind: flow.PINChecked, PIN: r, Err: err}
	case flow.FetchCards:
		if d.Central == nil {
			return flow.Intent{Kind: flow.CardsFetched, Err: errOffline}
		}
		cards, err := d.Central.PersonCards(ctx, e.IDNumber)
		return flow.Intent{Kind: flow.CardsFetched, Cards: cards, Err: err}
	case flow.RequestOTP:
		if d.Central == nil {
			return flow.Intent{Kind: flow.OTPRequested, Err: errOffline}
		}
		return flow.Intent{Kind: flow.OTPRequested, Err: d.Central.RequestOTP(ctx, e.IDNumber)}
	case flow.VerifyOTP:
		if d.Central == nil {
			return flow.Intent{Kind: flow.OTPChecked, Err: errOffline}
		}
		ok, err := d.Central.VerifyOTP(ctx, e.IDNumber, e.Code)
		return flow.Intent{Kind: flow.OTPChecked, OTPOK: ok, Err: err}
	case flow.Commit:
		r, err := d.Outbox.Commit(ctx, e.Operation)
		if err != nil {
			s.log.Error("commit failed", "kind", e.Operation.Kind, "err", err)
		} else {
			s.log.Info("operation accepted", "kind", e.Operation.Kind, "voucher", r.Voucher)
		}
		return flow.Intent{Kind: flow.Committed, Receipt: r, Err: err}
	case flow.Print:
		if d.Printer == nil {
			return flow.Intent{Kind: flow.Printed, PrinterProblem: "offline"}
		}
		printed, preview, err := d.Printer.PrintReceipt(ctx, rd)
		r := flow.Intent{Kind: flow.Printed, PrintedOK: printed, Preview: preview, Err: err}
		if !printed || err != nil {
			if err != nil {
				s.log.Warn("receipt not printed", "voucher", rd.Voucher, "err", err)
			}
			r.PrinterProblem = "printer_error"
			if printerState != "ok" && printerState != "unknown" && printerState != "" {
				r.PrinterProblem = printerState
			}
		}
		return r
	case flow.LookupVoucher:
		if e.Scan != "" {
			return s.lookupScan(ctx, e.Scan)
		}
		return s.lookup(ctx, e.Voucher)
	}
	return flow.Intent{Kind: "unknown_effect", Err: errors.New("unknown effect")}
}

// logReadFailure logs a failed card read, once, with its cause: the card
// drivers' errors name what failed (a file, a check, a status word), never
// the data read or the key typed.
func (s *Session) logReadFailure(slot hwbridge.Slot, err error) {
	if err == nil || errors.Is(err, hwbridge.ErrNoCard) {
		return
	}
	s.log.Warn("card read failed", "reader", string(slot), "permanent", errors.Is(err, flow.ErrCardUnreadable), "cause", err.Error())
}

func (s *Session) lookup(ctx context.Context, v string) flow.Intent {
	r, err := s.deps.Outbox.Lookup(ctx, v)
	switch {
	case errors.Is(err, ErrNotFound):
		r = LookupResult{}
	case err != nil:
		return flow.Intent{Kind: flow.LookedUp, Err: err}
	}
	if s.deps.Central != nil {
		c, cerr := s.deps.Central.Lookup(ctx, v)
		switch {
		case cerr == nil:
			r.Central = c.State
			if !r.Found {
				r.Found, r.State = true, ""
			}
			if r.CentralRef == "" {
				r.CentralRef = c.Ref
			}
			if r.Reason == "" {
				r.Reason = c.Reason
			}
		case errors.Is(cerr, ErrNotFound):
		default:
			s.log.Info("central lookup failed", "err", cerr)
		}
	}
	return flow.Intent{Kind: flow.LookedUp, Lookup: r}
}

// lookupScan checks a scanned receipt's token and, when it names a
// voucher, looks that up as a typed one would be. A valid signature proves
// the report exists even when neither this terminal nor central knows it.
func (s *Session) lookupScan(ctx context.Context, scanned string) flow.Intent {
	sv := flow.SignedVoucher{Problem: "malformed"}
	if s.deps.Receipts != nil {
		sv = s.deps.Receipts.CheckReceipt(ctx, scanned)
	}
	s.log.Info("scanned receipt checked", "valid", sv.Valid, "problem", sv.Problem, "issuer", sv.KioskID, "voucher", sv.Voucher)
	r := LookupResult{}
	if sv.Voucher != "" {
		in := s.lookup(ctx, sv.Voucher)
		if in.Err == nil {
			r = in.Lookup
		}
	}
	if sv.Valid && !r.Found {
		r.Found, r.Kind, r.CreatedAt = true, sv.Kind, sv.Created
	}
	r.Signed = &sv
	return flow.Intent{Kind: flow.LookedUp, Lookup: r}
}

func (s *Session) showDevice() {
	if s.deps.Display == nil {
		return
	}
	d := ui.Device{Printer: s.printer}
	for _, slot := range []hwbridge.Slot{hwbridge.SlotID, hwbridge.SlotSS} {
		d.Readers = append(d.Readers, s.readers[slot])
	}
	s.deps.Display.Device(d)
}

func (s *Session) render() {
	if s.deps.Display == nil {
		return
	}
	sc := s.screen()
	s.shownCount = s.countdown(s.clock.Now())
	if s.shownCount > 0 {
		sc.Data["countdown"] = s.shownCount
	}
	if s.speech {
		sc.Data["speech"] = true
	}
	if s.large {
		sc.Data["large"] = true
	}
	s.deps.Display.Show(sc)
}
