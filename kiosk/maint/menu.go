package maint

import (
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/ui"
)

// The menu as a pure state machine, as kiosk/flow is for the citizen's
// operations: Next takes the menu's State and one Intent (a touch, a device
// event, a second passing, the answer of a call) and returns the next State
// and the Effects the session performs: run a call off its loop (Do) and
// feed the Answer back, audit a logout, leave the menu, show the screen,
// write a log line. Next does no I/O and keeps no PIN.

// Screen is one of the menu's screens; the page's screen is
// "maintenance_" + it.
type Screen string

// The menu's screens.
const (
	ScreenPIN        Screen = "pin"
	ScreenLocked     Screen = "locked"
	ScreenHome       Screen = "home"
	ScreenDevices    Screen = "devices"
	ScreenQueue      Screen = "queue"
	ScreenTestPrint  Screen = "test_print"
	ScreenReaderTest Screen = "reader_test"
	ScreenLog        Screen = "log"
	ScreenConfig     Screen = "config"
	ScreenAbout      Screen = "about"
)

// Entries are the menu's entries on the home screen, in display order.
var Entries = []Screen{ScreenDevices, ScreenQueue, ScreenTestPrint, ScreenReaderTest, ScreenLog, ScreenConfig, ScreenAbout}

// Fields the maintenance screens send with `input {field, value}`.
const (
	FieldTechPIN    = "tech_pin"    // maintenance_pin: the technician's PIN
	FieldScreen     = "screen"      // maintenance_home: which screen to open
	FieldRetry      = "retry"       // maintenance_queue: the key of the operation to retry
	FieldReprint    = "reprint"     // maintenance_queue: the voucher of the receipt to reprint
	FieldReaderTest = "reader_test" // maintenance_reader_test: the slot to test now
)

// Call is one call to Actions, run off the session's loop; its name is
// what the screen shows as busy.
type Call string

// The calls.
const (
	CallLogin      Call = "login"
	CallLoad       Call = "load" // what a screen shows
	CallRetry      Call = "retry"
	CallReprint    Call = "reprint"
	CallTestPrint  Call = "test_print"
	CallReaderTest Call = "reader_test"
)

// State is the menu's state while it is open. The zero State is a closed
// menu.
type State struct {
	Screen       Screen
	Who          string    // the technician's label once logged in
	LockedUntil  time.Time // ScreenLocked: the end of the lockout
	NoTechnician bool      // no technician configured: the entry says how to add one
	PINError     string    // catalogue key: why the last PIN was not taken
	TriesLeft    int       // wrong PINs left before the lock
	// Seq numbers the calls; only the latest call's answer is applied. It
	// carries on across visits, so no answer of an earlier visit applies.
	Seq    uint64
	Busy   Call           // the call in flight, "" when none
	Result string         // catalogue key: how the last action went
	Detail string         // a device's error text for Result (no personal data)
	Data   map[string]any // what the screen's load brought; never changed, only replaced
	// Tests are the reader test's answers by slot; ToTest the cards put in
	// during a call, tested after it. Both are copied on change.
	Tests  map[string]ReaderTest
	ToTest []hwbridge.Slot
}

// IntentKind is what happened.
type IntentKind int

// The intents.
const (
	Enter         IntentKind = iota + 1 // the menu opens; NoTechnician and LockedUntil say how
	Back                                // the page's back
	Cancel                              // the page's cancel: log out
	Confirm                             // the page's confirm: the screen's action, or refresh
	Input                               // the page's input: Field, Value
	Start                               // the page's start: refused while open
	Unknown                             // any other page message
	CardInserted                        // a card came into Slot
	DeviceChanged                       // any other device event
	Answered                            // a call's Answer
	Tick                                // a second passed (Now)
	IdleTimeout                         // no touch for the idle timeout: log out
)

// Intent is one thing that happened, at Now (the session's clock).
type Intent struct {
	Kind         IntentKind
	Now          time.Time
	Field, Value string        // Input
	Slot         hwbridge.Slot // CardInserted
	NoTechnician bool          // Enter
	LockedUntil  time.Time     // Enter
	Answer       Answer        // Answered
}

// Answer is what a call (Do) brought back.
type Answer struct {
	Seq        uint64
	Call       Call
	Screen     Screen        // CallLoad: the screen loaded
	Slot       hwbridge.Slot // CallReaderTest: the slot tested
	Login      Login
	Data       map[string]any // CallLoad
	ReaderTest ReaderTest
	Err        error
	Panicked   bool // the call panicked: the action failed
}

// EffectKind is what the session does for the menu.
type EffectKind int

// The effects.
const (
	RunCall EffectKind = iota + 1 // Do(e) off the loop, then Next(Answered) with its Answer
	Logout                        // audit Who's logout (Why) off the loop
	Exit                          // leave the menu for the idle screen (Why)
	Render                        // send the screen
	Log                           // write Msg with Args at Level
)

// Effect is one thing to do.
type Effect struct {
	Kind   EffectKind
	Call   Call
	Seq    uint64
	Who    string
	Screen Screen        // CallLoad
	Now    time.Time     // CallLoad: the queue's ages count from then
	PIN    string        // CallLogin
	Arg    string        // CallRetry: the operation's key; CallReprint: the voucher
	Slot   hwbridge.Slot // CallReaderTest
	Why    string        // Logout, Exit: "logout" or "idle_timeout"
	Level  slog.Level    // Log
	Msg    string        // Log
	Args   []any         // Log
}

// Refusal is a page intent the menu does not take; the page is told Code.
type Refusal struct{ Code, Message string }

func (r *Refusal) Error() string { return r.Message }

// The refusals.
var (
	ErrRefused       = &Refusal{Code: "refused", Message: "not on this screen"}
	ErrBusy          = &Refusal{Code: "busy", Message: "please wait for the last action to finish"}
	ErrUnknownScreen = &Refusal{Code: "unknown_screen", Message: "no such maintenance screen"}
	ErrUnknownSlot   = &Refusal{Code: "unknown_slot", Message: "no such reader"}
	ErrUnknownIntent = &Refusal{Code: ui.CodeUnknownType, Message: "unknown message type"}
)

// Next applies one intent. A page intent the menu does not take returns a
// *Refusal and st unchanged.
func Next(st State, in Intent) (State, []Effect, error) {
	m := menu{State: st, now: in.Now}
	switch in.Kind {
	case Enter:
		m.State = State{Screen: ScreenPIN, Seq: st.Seq + 1}
		switch {
		case in.NoTechnician:
			m.Screen, m.NoTechnician = ScreenLocked, true
		case !in.LockedUntil.IsZero():
			m.Screen, m.LockedUntil = ScreenLocked, in.LockedUntil
		}
		return m.State, nil, nil
	case Cancel:
		m.exit("logout")
		return m.done()
	case Back:
		switch m.Screen {
		case ScreenPIN, ScreenLocked, ScreenHome:
			m.exit("logout")
			return m.done()
		}
		m.Busy = ""
		m.Seq++ // the answer of an action left behind is not applied
		m.show(ScreenHome)
		return m.render()
	case Start:
		return st, nil, ErrRefused
	case IdleTimeout:
		m.log(slog.LevelInfo, "maintenance menu idle")
		m.exit("idle_timeout")
		return m.done()
	case Tick:
		if m.Screen == ScreenLocked && !m.NoTechnician && !in.Now.Before(m.LockedUntil) {
			m.Screen, m.PINError, m.TriesLeft = ScreenPIN, "", 0
			return m.render()
		}
		return st, nil, nil
	case CardInserted, DeviceChanged:
		return m.device(in)
	case Answered:
		return m.answer(in.Answer)
	}
	if m.Busy != "" && m.Busy != CallLoad { // a screen still loading may be left
		return st, nil, ErrBusy
	}
	switch in.Kind {
	case Confirm:
		switch m.Screen {
		case ScreenTestPrint:
			m.Result, m.Detail = "", ""
			m.call(Effect{Call: CallTestPrint})
		case ScreenHome, ScreenPIN, ScreenLocked:
			return st, nil, ErrRefused
		default: // refresh
			m.show(m.Screen)
		}
		return m.render()
	case Input:
	default:
		return st, nil, ErrUnknownIntent
	}
	switch {
	case in.Field == FieldTechPIN && (m.Screen == ScreenPIN || m.Screen == ScreenLocked) && !m.NoTechnician:
		m.PINError = ""
		m.call(Effect{Call: CallLogin, PIN: in.Value})
	case in.Field == FieldScreen && m.Screen == ScreenHome:
		if !slices.Contains(Entries, Screen(in.Value)) {
			return st, nil, ErrUnknownScreen
		}
		m.show(Screen(in.Value))
	case in.Field == FieldRetry && m.Screen == ScreenQueue:
		m.call(Effect{Call: CallRetry, Arg: in.Value})
	case in.Field == FieldReprint && m.Screen == ScreenQueue:
		m.call(Effect{Call: CallReprint, Arg: in.Value})
	case in.Field == FieldReaderTest && m.Screen == ScreenReaderTest:
		if in.Value != string(hwbridge.SlotID) && in.Value != string(hwbridge.SlotSS) {
			return st, nil, ErrUnknownSlot
		}
		m.call(Effect{Call: CallReaderTest, Slot: hwbridge.Slot(in.Value)})
	default:
		return st, nil, ErrRefused
	}
	return m.render()
}

// menu is a State being changed by one intent, and the effects so far.
type menu struct {
	State
	now  time.Time
	effs []Effect
}

func (m *menu) done() (State, []Effect, error) { return m.State, m.effs, nil }

func (m *menu) render() (State, []Effect, error) {
	m.effs = append(m.effs, Effect{Kind: Render})
	return m.done()
}

func (m *menu) log(l slog.Level, msg string, args ...any) {
	m.effs = append(m.effs, Effect{Kind: Log, Level: l, Msg: msg, Args: args})
}

// exit leaves the menu, logging the technician out (why: "logout",
// "idle_timeout"); answers still in flight are dropped.
func (m *menu) exit(why string) {
	if m.Who != "" {
		m.effs = append(m.effs, Effect{Kind: Logout, Who: m.Who, Why: why})
	}
	m.State = State{Seq: m.Seq + 1}
	m.effs = append(m.effs, Effect{Kind: Exit, Why: why})
}

// call starts e: it is now the call whose answer applies.
func (m *menu) call(e Effect) {
	m.Seq++
	m.Busy = e.Call
	e.Kind, e.Seq, e.Who = RunCall, m.Seq, m.Who
	m.effs = append(m.effs, e)
}

// show opens a screen and loads what it shows.
func (m *menu) show(screen Screen) {
	if m.Screen != screen {
		m.Result, m.Detail = "", ""
	}
	if m.Busy == CallLoad { // the screen left behind no longer wants its data
		m.Busy = ""
		m.Seq++
	}
	m.Screen, m.Data, m.ToTest = screen, nil, nil
	switch screen {
	case ScreenHome, ScreenDevices, ScreenQueue, ScreenLog, ScreenConfig, ScreenAbout:
		m.call(Effect{Call: CallLoad, Screen: screen, Now: m.now})
	}
}

// device reacts to a device event once logged in: a card put in during the
// reader test is tested (after the call in flight, if any), the devices
// screen is reloaded.
func (m *menu) device(in Intent) (State, []Effect, error) {
	if m.Who == "" {
		return m.done()
	}
	switch {
	case m.Screen == ScreenReaderTest && in.Kind == CardInserted:
		if m.Busy != "" { // tested when the call in flight ends
			if !slices.Contains(m.ToTest, in.Slot) {
				m.ToTest = append(slices.Clone(m.ToTest), in.Slot)
			}
			return m.done()
		}
		m.call(Effect{Call: CallReaderTest, Slot: in.Slot})
	case m.Screen == ScreenDevices: // a load in flight may predate the event: it is dropped
		m.show(ScreenDevices)
	default:
		return m.done()
	}
	return m.render()
}

// answer applies the answer of the latest call; any other is dropped.
func (m *menu) answer(a Answer) (State, []Effect, error) {
	if a.Seq != m.Seq {
		return m.done()
	}
	m.Busy = ""
	switch {
	case a.Panicked:
		m.Result = "maint.result.failed"
	case a.Call == CallLogin:
		switch {
		case a.Err != nil:
			m.log(slog.LevelError, "maintenance login", "err", a.Err)
			m.Screen, m.PINError = ScreenPIN, "maint_failed"
		case a.Login.OK:
			m.log(slog.LevelInfo, "technician logged in", "who", a.Login.Label)
			m.Who, m.LockedUntil, m.TriesLeft = a.Login.Label, time.Time{}, 0
			m.show(ScreenHome)
		case !a.Login.LockedUntil.IsZero():
			m.Screen, m.LockedUntil = ScreenLocked, a.Login.LockedUntil
		default:
			m.Screen, m.PINError, m.TriesLeft = ScreenPIN, "wrong_tech_pin", a.Login.TriesLeft
		}
	case a.Call == CallLoad:
		if a.Err != nil {
			m.log(slog.LevelError, "maintenance screen not loaded", "screen", string(a.Screen), "err", a.Err)
			m.Result = "maint.result.load_failed"
			break
		}
		m.Data = a.Data
	case a.Call == CallRetry || a.Call == CallReprint: // the queue reloads, saying how it went
		m.show(ScreenQueue)
		done, failed := "maint.result.retried", "maint.result.retry_failed"
		if a.Call == CallReprint {
			done, failed = "maint.result.reprinted", "maint.result.reprint_failed"
		}
		m.Result = done
		if a.Err != nil {
			m.log(slog.LevelWarn, "maintenance "+string(a.Call)+" failed", "err", a.Err)
			m.Result = failed
		}
	case a.Call == CallTestPrint:
		m.Result, m.Detail = "maint.result.printed", ""
		if a.Err != nil {
			m.Result, m.Detail = "maint.result.print_failed", a.Err.Error()
		}
	case a.Call == CallReaderTest:
		r := a.ReaderTest
		r.Slot = string(a.Slot)
		if a.Err != nil {
			r.Error = a.Err.Error()
		}
		tests := make(map[string]ReaderTest, len(m.Tests)+1)
		for k, v := range m.Tests {
			tests[k] = v
		}
		tests[string(a.Slot)] = r
		m.Tests = tests
	}
	if m.Busy == "" && m.Screen == ScreenReaderTest && len(m.ToTest) > 0 {
		slot := m.ToTest[0]
		m.ToTest = slices.Clone(m.ToTest[1:])
		m.call(Effect{Call: CallReaderTest, Slot: slot})
	}
	return m.render()
}

// View puts the screen's data into d (which holds what every screen
// carries) and returns the page's screen name. now is the session's clock.
func (st State) View(d map[string]any, now time.Time) string {
	d["title"] = "maint.title." + string(st.Screen)
	if st.Who != "" {
		d["tech"] = st.Who
	}
	if st.Busy != "" {
		d["busy"] = string(st.Busy)
	}
	if st.Result != "" {
		d["result"] = st.Result
	}
	if st.Detail != "" {
		d["detail"] = st.Detail
	}
	for k, v := range st.Data {
		d[k] = v
	}
	switch st.Screen {
	case ScreenPIN:
		d["field"], d["keys"], d["max"], d["secret"] = FieldTechPIN, "digits", 12, true
		if st.PINError != "" {
			d["error"] = st.PINError
		}
		if st.TriesLeft > 0 {
			d["tries_left"] = st.TriesLeft
		}
	case ScreenLocked:
		if st.NoTechnician {
			d["no_technician"] = true
			break
		}
		left := st.LockedUntil.Sub(now)
		d["until"] = st.LockedUntil.Local().Format("15:04")
		d["minutes"] = int(math.Ceil(max(left, 0).Minutes()))
	case ScreenHome:
		var opts []ui.Option
		for _, sc := range Entries {
			opts = append(opts, ui.Option{Value: string(sc), Label: "maint.title." + string(sc)})
		}
		d["options"] = opts
	case ScreenTestPrint:
		d["action"] = "maint.test_print.go"
	case ScreenReaderTest:
		tests := []ReaderTest{}
		for _, slot := range []hwbridge.Slot{hwbridge.SlotID, hwbridge.SlotSS} {
			t, ok := st.Tests[string(slot)]
			if !ok {
				t = ReaderTest{Slot: string(slot)}
			}
			tests = append(tests, t)
		}
		d["tests"] = tests
	}
	return "maintenance_" + string(st.Screen)
}
