package session

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/kiosk/flow"
	"github.com/kioskd/kioskd/kiosk/maint"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui"
)

// The technician's maintenance menu. `start {flow:"maintenance"}` (the
// page's hidden gesture) puts the flow on flow.StepMaintenance; while it is
// there the session drives the menu below instead of the citizen flows: PIN
// entry, then screens the daemon fills through maint.Actions.
// The lockout lives behind that interface (maint.Guard, in the daemon), so
// leaving the menu does not reset the count of wrong PINs, and every action
// is audited there (maint.Audited).

// Maintenance screens (ui.Screen names are "maintenance_" + these).
const (
	mPIN        = "pin"
	mLocked     = "locked"
	mHome       = "home"
	mDevices    = "devices"
	mQueue      = "queue"
	mTestPrint  = "test_print"
	mReaderTest = "reader_test"
	mLog        = "log"
	mConfig     = "config"
	mAbout      = "about"
)

// MaintScreens are the menu's entries, in display order.
var MaintScreens = []string{mDevices, mQueue, mTestPrint, mReaderTest, mLog, mConfig, mAbout}

// Fields the maintenance screens send with `input {field, value}`.
const (
	FieldTechPIN    = "tech_pin"    // maintenance_pin: the technician's PIN
	FieldMaintGo    = "screen"      // maintenance_home: which screen to open
	FieldRetry      = "retry"       // maintenance_queue: the key of the operation to retry
	FieldReprint    = "reprint"     // maintenance_queue: the voucher of the receipt to reprint
	FieldReaderTest = "reader_test" // maintenance_reader_test: the slot to test now
)

// maintState is the menu's state, owned by the Run goroutine.
type maintState struct {
	active    bool
	screen    string
	who       string // the technician's label once logged in
	until     time.Time
	pinErr    string
	triesLeft int
	seq       uint64 // numbers calls; only the latest call's answer is applied
	busy      string // the call in flight, "" when none
	noTech    bool   // no technician configured: the entry says how to add one
	result    string // catalogue key: how the last action went
	detail    string // a device's error text for result (no personal data)
	data      map[string]any
	tests     map[string]maint.ReaderTest
	toTest    []hwbridge.Slot // cards put in during a call, tested after it
}

type maintResult struct {
	seq   uint64
	apply func()
}

func (s *Session) maintOn() bool {
	return s.deps.Maintenance != nil && s.state.Step == flow.StepMaintenance
}

// maintEnter starts the menu: PIN entry, or the lock screen while locked.
func (s *Session) maintEnter() {
	// seq carries on, so no answer to a call of an earlier visit applies.
	s.m = maintState{active: true, screen: mPIN, seq: s.m.seq + 1}
	if s.deps.Maintenance.Technicians() == 0 {
		s.m.screen, s.m.noTech = mLocked, true
		return
	}
	if u := s.deps.Maintenance.LockedUntil(); !u.IsZero() {
		s.m.screen, s.m.until = mLocked, u
	}
}

// maintExit leaves the menu for the idle screen, logging the technician
// out (why: "logout", "idle_timeout").
func (s *Session) maintExit(ctx context.Context, wg *sync.WaitGroup, why string) {
	if s.m.who != "" {
		who, m := s.m.who, s.deps.Maintenance
		s.goMaint(ctx, wg, func(ctx context.Context) {
			if err := m.Logout(ctx, who, why); err != nil {
				s.log.Error("maintenance logout not audited", "err", err)
			}
		})
	}
	s.m = maintState{seq: s.m.seq + 1} // drop answers still in flight
	if err := s.step(ctx, wg, flow.Intent{Kind: flow.Cancel}); err != nil {
		s.log.Error("leaving maintenance", "err", err)
	}
	s.log.Info("maintenance menu closed", "why", why)
}

var (
	errMaintRefused = &ui.Error{Code: "refused", Message: "not on this screen"}
	errMaintBusy    = &ui.Error{Code: "busy", Message: "please wait for the last action to finish"}
)

// maintIntent applies one page intent while the menu is open.
func (s *Session) maintIntent(ctx context.Context, wg *sync.WaitGroup, in ui.Intent) error {
	m := &s.m
	switch in.Type {
	case ui.TypeCancel:
		s.maintExit(ctx, wg, "logout")
		return nil
	case ui.TypeBack:
		switch m.screen {
		case mPIN, mLocked, mHome:
			s.maintExit(ctx, wg, "logout")
		default:
			m.busy = ""
			m.seq++ // the answer of an action left behind is not applied
			s.maintShow(ctx, wg, mHome)
			s.render()
		}
		return nil
	case ui.TypeStart:
		return errMaintRefused
	}
	if m.busy != "" && m.busy != "load" { // a screen still loading may be left
		return errMaintBusy
	}
	switch in.Type {
	case ui.TypeConfirm:
		switch m.screen {
		case mTestPrint:
			s.maintTestPrint(ctx, wg)
		case mHome, mPIN, mLocked:
			return errMaintRefused
		default: // refresh
			s.maintShow(ctx, wg, m.screen)
		}
		s.render()
		return nil
	case ui.TypeInput:
	default:
		return &ui.Error{Code: ui.CodeUnknownType, Message: "unknown message type"}
	}
	switch {
	case in.Field == FieldTechPIN && (m.screen == mPIN || m.screen == mLocked) && !m.noTech:
		s.maintLogin(ctx, wg, in.Value)
	case in.Field == FieldMaintGo && m.screen == mHome:
		if !slices.Contains(MaintScreens, in.Value) {
			return &ui.Error{Code: "unknown_screen", Message: "no such maintenance screen"}
		}
		s.maintShow(ctx, wg, in.Value)
	case in.Field == FieldRetry && m.screen == mQueue:
		s.maintRetry(ctx, wg, in.Value)
	case in.Field == FieldReprint && m.screen == mQueue:
		s.maintReprint(ctx, wg, in.Value)
	case in.Field == FieldReaderTest && m.screen == mReaderTest:
		if in.Value != string(hwbridge.SlotID) && in.Value != string(hwbridge.SlotSS) {
			return &ui.Error{Code: "unknown_slot", Message: "no such reader"}
		}
		s.maintReaderTest(ctx, wg, hwbridge.Slot(in.Value))
	default:
		return errMaintRefused
	}
	s.render()
	return nil
}

// goMaint runs f on its own goroutine with the call deadline; f touches no
// session field.
func (s *Session) goMaint(ctx context.Context, wg *sync.WaitGroup, f func(context.Context)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("maintenance call panicked", "panic", fmt.Sprintf("%T", p))
			}
		}()
		f(ctx)
	}()
}

// maintCall runs f (busy names it) off the Run goroutine; the func it
// returns is applied on the Run goroutine, unless another call or a screen
// change came since.
func (s *Session) maintCall(ctx context.Context, wg *sync.WaitGroup, busy string, f func(ctx context.Context) func()) {
	s.m.seq++
	seq := s.m.seq
	s.m.busy = busy
	wg.Add(1)
	go func() {
		defer wg.Done()
		cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
		defer cancel()
		apply := func() { s.m.result = "maint.result.failed" }
		func() {
			defer func() {
				if p := recover(); p != nil {
					s.log.Error("maintenance call panicked", "call", busy, "panic", fmt.Sprintf("%T", p))
				}
			}()
			apply = f(cctx)
		}()
		select {
		case s.maintDone <- maintResult{seq: seq, apply: apply}:
		case <-ctx.Done():
		}
	}()
}

func (s *Session) onMaintDone(ctx context.Context, wg *sync.WaitGroup, r maintResult) {
	if !s.maintOn() || r.seq != s.m.seq {
		return
	}
	s.m.busy = ""
	r.apply()
	if m := &s.m; m.busy == "" && m.screen == mReaderTest && len(m.toTest) > 0 {
		slot := m.toTest[0]
		m.toTest = m.toTest[1:]
		s.maintReaderTest(ctx, wg, slot)
	}
	s.render()
}

func (s *Session) maintLogin(ctx context.Context, wg *sync.WaitGroup, pin string) {
	mt := s.deps.Maintenance
	s.m.pinErr = ""
	s.maintCall(ctx, wg, "login", func(cctx context.Context) func() {
		res, err := mt.Login(cctx, pin)
		return func() {
			m := &s.m
			switch {
			case err != nil:
				s.log.Error("maintenance login", "err", err)
				m.screen, m.pinErr = mPIN, "maint_failed"
			case res.OK:
				s.log.Info("technician logged in", "who", res.Label)
				m.who, m.until, m.triesLeft = res.Label, time.Time{}, 0
				s.maintShow(ctx, wg, mHome)
			case !res.LockedUntil.IsZero():
				m.screen, m.until = mLocked, res.LockedUntil
			default:
				m.screen, m.pinErr, m.triesLeft = mPIN, "wrong_tech_pin", res.TriesLeft
			}
		}
	})
}

// maintShow opens a screen and loads what it shows.
func (s *Session) maintShow(ctx context.Context, wg *sync.WaitGroup, screen string) {
	m := &s.m
	if m.screen != screen {
		m.result, m.detail = "", ""
	}
	if m.busy == "load" { // the screen left behind no longer wants its data
		m.busy = ""
		m.seq++
	}
	m.screen, m.data, m.toTest = screen, nil, nil
	mt := s.deps.Maintenance
	var load func(ctx context.Context) (map[string]any, error)
	switch screen {
	case mHome: // the SLA alert (DESIGN.md) shows on the menu's first screen
		load = func(ctx context.Context) (map[string]any, error) {
			q, err := mt.Queue(ctx)
			return map[string]any{"sla_breached": q.SLABreached}, err
		}
	case mDevices:
		load = func(ctx context.Context) (map[string]any, error) {
			d, err := mt.Devices(ctx)
			return map[string]any{"readers": d.Readers, "printer": d.Printer}, err
		}
	case mQueue:
		now := s.clock.Now()
		load = func(ctx context.Context) (map[string]any, error) {
			q, err := mt.Queue(ctx)
			return queueData(q, now), err
		}
	case mLog:
		load = func(ctx context.Context) (map[string]any, error) {
			l, err := mt.Log(ctx)
			d := map[string]any{"lines": l}
			if err == nil {
				a, aerr := mt.AuditChain(ctx)
				if aerr != nil {
					return d, aerr
				}
				d["audit"] = map[string]any{"intact": a.Intact, "entries": a.Entries, "seq": a.BreakSeq, "reason": a.Reason}
			}
			return d, err
		}
	case mConfig:
		load = func(ctx context.Context) (map[string]any, error) {
			c, err := mt.Settings(ctx)
			return map[string]any{"settings": c}, err
		}
	case mAbout:
		load = func(ctx context.Context) (map[string]any, error) {
			a, err := mt.About(ctx)
			return map[string]any{"rows": []row{
				{Label: "maint.about.kiosk_id", Value: a.KioskID},
				{Label: "maint.about.version", Value: a.Version},
				{Label: "maint.about.commit", Value: a.Commit},
				{Label: "maint.about.go", Value: a.GoVersion},
				{Label: "maint.about.uptime", Value: a.Uptime.Truncate(time.Second).String()},
			}}, err
		}
	default:
		return
	}
	s.maintCall(ctx, wg, "load", func(cctx context.Context) func() {
		d, err := load(cctx)
		return func() {
			if err != nil {
				s.log.Error("maintenance screen not loaded", "screen", screen, "err", err)
				s.m.result = "maint.result.load_failed"
				return
			}
			s.m.data = d
		}
	})
}

func queueData(q maint.Queue, now time.Time) map[string]any {
	age := ""
	if !q.OldestPending.IsZero() {
		age = now.Sub(q.OldestPending).Truncate(time.Second).String()
	}
	sla := "maint.no"
	if q.SLABreached {
		sla = "maint.yes"
	}
	type op struct {
		Key      string `json:"key"`
		Voucher  string `json:"voucher"`
		Kind     string `json:"kind"`
		State    string `json:"state"`
		Reason   string `json:"reason"`
		Attempts int    `json:"attempts"`
		Next     string `json:"next,omitempty"`
	}
	ops := []op{}
	for _, o := range q.Ops {
		x := op{Key: o.Key, Voucher: voucher.Format(o.Voucher), Kind: "menu." + o.Kind, State: o.State, Reason: o.Reason, Attempts: o.Attempts}
		if !o.NextAttempt.IsZero() {
			x.Next = o.NextAttempt.Sub(now).Truncate(time.Second).String()
		}
		ops = append(ops, x)
	}
	type receipt struct {
		Voucher  string   `json:"voucher"`
		Error    string   `json:"error,omitempty"`
		Problem  []string `json:"problem,omitempty"`
		Attempts int      `json:"attempts"`
	}
	unprinted := []receipt{}
	for _, r := range q.Unprinted {
		unprinted = append(unprinted, receipt{Voucher: voucher.Format(r.Voucher), Error: r.LastError, Problem: r.Problems, Attempts: r.Attempts})
	}
	return map[string]any{
		"unprinted": unprinted,
		"rows": []row{
			{Label: "maint.queue.pending", Value: fmt.Sprint(q.Pending)},
			{Label: "maint.queue.oldest", Value: age},
			{Label: "maint.queue.rejected", Value: fmt.Sprint(q.Rejected)},
			{Label: "maint.queue.sla", Value: sla, T: true},
		},
		"sla_breached": q.SLABreached,
		"ops":          ops,
	}
}

func (s *Session) maintRetry(ctx context.Context, wg *sync.WaitGroup, key string) {
	mt, who := s.deps.Maintenance, s.m.who
	s.maintCall(ctx, wg, "retry", func(cctx context.Context) func() {
		err := mt.Retry(cctx, who, key)
		return func() {
			s.maintShow(ctx, wg, mQueue)
			s.m.result = "maint.result.retried"
			if err != nil {
				s.log.Warn("maintenance retry failed", "err", err)
				s.m.result = "maint.result.retry_failed"
			}
		}
	})
}

func (s *Session) maintReprint(ctx context.Context, wg *sync.WaitGroup, v string) {
	mt, who := s.deps.Maintenance, s.m.who
	s.maintCall(ctx, wg, "reprint", func(cctx context.Context) func() {
		err := mt.Reprint(cctx, who, v)
		return func() {
			s.maintShow(ctx, wg, mQueue)
			s.m.result = "maint.result.reprinted"
			if err != nil {
				s.log.Warn("maintenance reprint failed", "err", err)
				s.m.result = "maint.result.reprint_failed"
			}
		}
	})
}

func (s *Session) maintTestPrint(ctx context.Context, wg *sync.WaitGroup) {
	mt, who := s.deps.Maintenance, s.m.who
	s.m.result, s.m.detail = "", ""
	s.maintCall(ctx, wg, "test_print", func(cctx context.Context) func() {
		err := mt.TestPrint(cctx, who)
		return func() {
			s.m.result, s.m.detail = "maint.result.printed", ""
			if err != nil {
				s.m.result, s.m.detail = "maint.result.print_failed", err.Error()
			}
		}
	})
}

func (s *Session) maintReaderTest(ctx context.Context, wg *sync.WaitGroup, slot hwbridge.Slot) {
	mt, who := s.deps.Maintenance, s.m.who
	s.maintCall(ctx, wg, "reader_test", func(cctx context.Context) func() {
		r, err := mt.ReaderTest(cctx, who, slot)
		return func() {
			r.Slot = string(slot)
			if err != nil {
				r.Error = err.Error()
			}
			if s.m.tests == nil {
				s.m.tests = map[string]maint.ReaderTest{}
			}
			s.m.tests[string(slot)] = r
		}
	})
}

// maintDevice reacts to a device event while the menu is open: a card put
// in during the reader test is tested (after the call in flight, if any),
// the devices screen is reloaded.
func (s *Session) maintDevice(ctx context.Context, wg *sync.WaitGroup, ev DeviceEvent) {
	m := &s.m
	if m.who == "" {
		return
	}
	switch {
	case m.screen == mReaderTest && ev.Kind == hwbridge.CardInserted:
		if m.busy != "" { // tested when the call in flight ends
			if !slices.Contains(m.toTest, ev.Slot) {
				m.toTest = append(m.toTest, ev.Slot)
			}
			return
		}
		s.maintReaderTest(ctx, wg, ev.Slot)
	case m.screen == mDevices: // a load in flight may predate ev: it is dropped
		s.maintShow(ctx, wg, mDevices)
	default:
		return
	}
	s.render()
}

// maintScreen is the screen of the menu.
func (s *Session) maintScreen(d map[string]any) ui.Screen {
	m := &s.m
	d["title"] = "maint.title." + m.screen
	if m.who != "" {
		d["tech"] = m.who
	}
	if m.busy != "" {
		d["busy"] = m.busy
	}
	if m.result != "" {
		d["result"] = m.result
	}
	if m.detail != "" {
		d["detail"] = m.detail
	}
	for k, v := range m.data {
		d[k] = v
	}
	switch m.screen {
	case mPIN:
		d["field"], d["keys"], d["max"], d["secret"] = FieldTechPIN, "digits", 12, true
		if m.pinErr != "" {
			d["error"] = m.pinErr
		}
		if m.triesLeft > 0 {
			d["tries_left"] = m.triesLeft
		}
	case mLocked:
		if m.noTech {
			d["no_technician"] = true
			break
		}
		left := m.until.Sub(s.clock.Now())
		d["until"] = m.until.Local().Format("15:04")
		d["minutes"] = int(math.Ceil(max(left, 0).Minutes()))
	case mHome:
		var opts []option
		for _, sc := range MaintScreens {
			opts = append(opts, option{Value: sc, Label: "maint.title." + sc})
		}
		d["options"] = opts
	case mTestPrint:
		d["action"] = "maint.test_print.go"
	case mReaderTest:
		tests := []maint.ReaderTest{}
		for _, slot := range []hwbridge.Slot{hwbridge.SlotID, hwbridge.SlotSS} {
			t, ok := m.tests[string(slot)]
			if !ok {
				t = maint.ReaderTest{Slot: string(slot)}
			}
			tests = append(tests, t)
		}
		d["tests"] = tests
	}
	return ui.Screen{Name: "maintenance_" + m.screen, Data: d, Session: s.id}
}

// maintTick logs an idle technician out and lifts an expired lock.
func (s *Session) maintTick(ctx context.Context, wg *sync.WaitGroup, now time.Time) {
	if now.Sub(s.lastActivity) >= s.deps.Maintenance.IdleTimeout() {
		s.log.Info("maintenance menu idle")
		s.maintExit(ctx, wg, "idle_timeout")
		return
	}
	if s.m.screen == mLocked && !s.m.noTech && !now.Before(s.m.until) {
		s.m.screen, s.m.pinErr, s.m.triesLeft = mPIN, "", 0
		s.render()
		return
	}
	if n := s.countdown(now); n != s.shownCount {
		s.render()
	}
}
