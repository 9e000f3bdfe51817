package maint

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/ui"
)

var (
	t0      = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	errDown = errors.New("printer offline")
)

// effect kinds and calls in a short form: "call:load:7" (RunCall, its call
// and seq), "logout:tech-7:logout", "exit:idle_timeout", "render",
// "log:INFO:technician logged in".
func short(effs []Effect) []string {
	out := []string{}
	for _, e := range effs {
		switch e.Kind {
		case RunCall:
			s := "call:" + string(e.Call) + ":" + itoa(e.Seq)
			switch e.Call {
			case CallLoad:
				s += ":" + string(e.Screen)
			case CallLogin:
				s += ":" + e.PIN
			case CallRetry, CallReprint:
				s += ":" + e.Who + ":" + e.Arg
			case CallReaderTest:
				s += ":" + e.Who + ":" + string(e.Slot)
			case CallTestPrint:
				s += ":" + e.Who
			}
			out = append(out, s)
		case Logout:
			out = append(out, "logout:"+e.Who+":"+e.Why)
		case Exit:
			out = append(out, "exit:"+e.Why)
		case Render:
			out = append(out, "render")
		case Log:
			out = append(out, "log:"+e.Level.String()+":"+e.Msg)
		default:
			out = append(out, "?")
		}
	}
	return out
}

func itoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// in is the logged-in menu on screen sc, no call in flight, at seq 5.
func in(sc Screen) State { return State{Screen: sc, Who: "tech-7", Seq: 5} }

func TestNext(t *testing.T) {
	loaded := map[string]any{"sla_breached": true}
	for _, tc := range []struct {
		name  string
		st    State
		in    Intent
		want  State
		effs  []string
		err   error
		equal bool // compare the whole State, not only Screen, Busy, Seq, Who
	}{
		// Opening the menu.
		{name: "enter: PIN", st: State{Seq: 3}, in: Intent{Kind: Enter},
			want: State{Screen: ScreenPIN, Seq: 4}, effs: []string{}, equal: true},
		{name: "enter while locked", st: State{Seq: 3}, in: Intent{Kind: Enter, LockedUntil: t0},
			want: State{Screen: ScreenLocked, LockedUntil: t0, Seq: 4}, effs: []string{}, equal: true},
		{name: "enter with no technician", st: State{}, in: Intent{Kind: Enter, NoTechnician: true, LockedUntil: t0},
			want: State{Screen: ScreenLocked, NoTechnician: true, Seq: 1}, effs: []string{}, equal: true},
		// The PIN.
		{name: "PIN sent", st: State{Screen: ScreenPIN, Seq: 1, PINError: "wrong_tech_pin"}, in: Intent{Kind: Input, Field: FieldTechPIN, Value: "135790"},
			want: State{Screen: ScreenPIN, Seq: 2, Busy: CallLogin}, effs: []string{"call:login:2:135790", "render"}, equal: true},
		{name: "PIN on the lock screen is checked (the guard refuses it)", st: State{Screen: ScreenLocked, LockedUntil: t0, Seq: 1}, in: Intent{Kind: Input, Field: FieldTechPIN, Value: "1"},
			want: State{Screen: ScreenLocked, LockedUntil: t0, Seq: 2, Busy: CallLogin}, effs: []string{"call:login:2:1", "render"}, equal: true},
		{name: "no PIN without technicians", st: State{Screen: ScreenLocked, NoTechnician: true, Seq: 1}, in: Intent{Kind: Input, Field: FieldTechPIN, Value: "1"},
			want: State{Screen: ScreenLocked, NoTechnician: true, Seq: 1}, err: ErrRefused, equal: true},
		{name: "PIN right: home loads", st: State{Screen: ScreenPIN, Seq: 2, Busy: CallLogin, TriesLeft: 3},
			in:   Intent{Kind: Answered, Answer: Answer{Seq: 2, Call: CallLogin, Login: Login{OK: true, Label: "tech-7"}}},
			want: State{Screen: ScreenHome, Who: "tech-7", Seq: 3, Busy: CallLoad},
			effs: []string{"log:INFO:technician logged in", "call:load:3:home", "render"}, equal: true},
		{name: "PIN wrong", st: State{Screen: ScreenPIN, Seq: 2, Busy: CallLogin},
			in:   Intent{Kind: Answered, Answer: Answer{Seq: 2, Call: CallLogin, Login: Login{TriesLeft: 2}}},
			want: State{Screen: ScreenPIN, Seq: 2, PINError: "wrong_tech_pin", TriesLeft: 2}, effs: []string{"render"}, equal: true},
		{name: "PIN that locks", st: State{Screen: ScreenPIN, Seq: 2, Busy: CallLogin},
			in:   Intent{Kind: Answered, Answer: Answer{Seq: 2, Call: CallLogin, Login: Login{LockedUntil: t0}}},
			want: State{Screen: ScreenLocked, Seq: 2, LockedUntil: t0}, effs: []string{"render"}, equal: true},
		{name: "login call failed", st: State{Screen: ScreenPIN, Seq: 2, Busy: CallLogin},
			in:   Intent{Kind: Answered, Answer: Answer{Seq: 2, Call: CallLogin, Err: errDown}},
			want: State{Screen: ScreenPIN, Seq: 2, PINError: "maint_failed"}, effs: []string{"log:ERROR:maintenance login", "render"}, equal: true},
		{name: "stale answer dropped", st: State{Screen: ScreenPIN, Seq: 3},
			in:   Intent{Kind: Answered, Answer: Answer{Seq: 2, Call: CallLogin, Login: Login{OK: true, Label: "tech-7"}}},
			want: State{Screen: ScreenPIN, Seq: 3}, effs: []string{}, equal: true},
		{name: "lock lifted on time", st: State{Screen: ScreenLocked, LockedUntil: t0, Seq: 1}, in: Intent{Kind: Tick, Now: t0},
			want: State{Screen: ScreenPIN, LockedUntil: t0, Seq: 1}, effs: []string{"render"}, equal: true},
		{name: "lock holds before its time", st: State{Screen: ScreenLocked, LockedUntil: t0, Seq: 1}, in: Intent{Kind: Tick, Now: t0.Add(-time.Second)},
			want: State{Screen: ScreenLocked, LockedUntil: t0, Seq: 1}, effs: []string{}, equal: true},
		// Leaving.
		{name: "cancel logs out", st: in(ScreenQueue), in: Intent{Kind: Cancel},
			want: State{Seq: 6}, effs: []string{"logout:tech-7:logout", "exit:logout"}, equal: true},
		{name: "back from the PIN leaves, no logout", st: State{Screen: ScreenPIN, Seq: 1}, in: Intent{Kind: Back},
			want: State{Seq: 2}, effs: []string{"exit:logout"}, equal: true},
		{name: "back from home leaves", st: in(ScreenHome), in: Intent{Kind: Back},
			want: State{Seq: 6}, effs: []string{"logout:tech-7:logout", "exit:logout"}, equal: true},
		{name: "idle", st: in(ScreenDevices), in: Intent{Kind: IdleTimeout},
			want: State{Seq: 6}, effs: []string{"log:INFO:maintenance menu idle", "logout:tech-7:idle_timeout", "exit:idle_timeout"}, equal: true},
		{name: "back from a screen: home, the action left behind dropped", st: State{Screen: ScreenQueue, Who: "tech-7", Seq: 5, Busy: CallRetry, Result: "maint.result.retried"},
			in:   Intent{Kind: Back},
			want: State{Screen: ScreenHome, Who: "tech-7", Seq: 7, Busy: CallLoad}, effs: []string{"call:load:7:home", "render"}, equal: true},
		// Home and its screens.
		{name: "open a screen", st: in(ScreenHome), in: Intent{Kind: Input, Field: FieldScreen, Value: "queue", Now: t0},
			want: State{Screen: ScreenQueue, Who: "tech-7", Seq: 6, Busy: CallLoad}, effs: []string{"call:load:6:queue", "render"}, equal: true},
		{name: "open while home loads: the load is dropped", st: State{Screen: ScreenHome, Who: "tech-7", Seq: 5, Busy: CallLoad},
			in:   Intent{Kind: Input, Field: FieldScreen, Value: "devices"},
			want: State{Screen: ScreenDevices, Who: "tech-7", Seq: 7, Busy: CallLoad}, effs: []string{"call:load:7:devices", "render"}},
		{name: "test print screen loads nothing", st: in(ScreenHome), in: Intent{Kind: Input, Field: FieldScreen, Value: "test_print"},
			want: State{Screen: ScreenTestPrint, Who: "tech-7", Seq: 5}, effs: []string{"render"}, equal: true},
		{name: "no such screen", st: in(ScreenHome), in: Intent{Kind: Input, Field: FieldScreen, Value: "shell"},
			want: in(ScreenHome), err: ErrUnknownScreen, equal: true},
		{name: "screen field off home", st: in(ScreenQueue), in: Intent{Kind: Input, Field: FieldScreen, Value: "log"},
			want: in(ScreenQueue), err: ErrRefused, equal: true},
		{name: "screen loaded", st: State{Screen: ScreenHome, Who: "tech-7", Seq: 6, Busy: CallLoad},
			in:   Intent{Kind: Answered, Answer: Answer{Seq: 6, Call: CallLoad, Screen: ScreenHome, Data: loaded}},
			want: State{Screen: ScreenHome, Who: "tech-7", Seq: 6, Data: loaded}, effs: []string{"render"}, equal: true},
		{name: "screen not loaded", st: State{Screen: ScreenLog, Who: "tech-7", Seq: 6, Busy: CallLoad},
			in:   Intent{Kind: Answered, Answer: Answer{Seq: 6, Call: CallLoad, Screen: ScreenLog, Err: errDown}},
			want: State{Screen: ScreenLog, Who: "tech-7", Seq: 6, Result: "maint.result.load_failed"}, effs: []string{"log:ERROR:maintenance screen not loaded", "render"}, equal: true},
		{name: "confirm refreshes", st: in(ScreenConfig), in: Intent{Kind: Confirm},
			want: State{Screen: ScreenConfig, Who: "tech-7", Seq: 6, Busy: CallLoad}, effs: []string{"call:load:6:config", "render"}, equal: true},
		{name: "confirm on home refused", st: in(ScreenHome), in: Intent{Kind: Confirm}, want: in(ScreenHome), err: ErrRefused, equal: true},
		{name: "start refused", st: in(ScreenHome), in: Intent{Kind: Start}, want: in(ScreenHome), err: ErrRefused, equal: true},
		{name: "unknown message", st: in(ScreenHome), in: Intent{Kind: Unknown}, want: in(ScreenHome), err: ErrUnknownIntent, equal: true},
		// Actions.
		{name: "retry", st: in(ScreenQueue), in: Intent{Kind: Input, Field: FieldRetry, Value: "K-1"},
			want: State{Screen: ScreenQueue, Who: "tech-7", Seq: 6, Busy: CallRetry}, effs: []string{"call:retry:6:tech-7:K-1", "render"}, equal: true},
		{name: "busy with an action", st: State{Screen: ScreenQueue, Who: "tech-7", Seq: 6, Busy: CallRetry}, in: Intent{Kind: Input, Field: FieldReprint, Value: "100000471"},
			want: State{Screen: ScreenQueue, Who: "tech-7", Seq: 6, Busy: CallRetry}, err: ErrBusy, equal: true},
		{name: "retried: the queue reloads", st: State{Screen: ScreenQueue, Who: "tech-7", Seq: 6, Busy: CallRetry},
			in:   Intent{Kind: Answered, Answer: Answer{Seq: 6, Call: CallRetry}},
			want: State{Screen: ScreenQueue, Who: "tech-7", Seq: 7, Busy: CallLoad, Result: "maint.result.retried"}, effs: []string{"call:load:7:queue", "render"}, equal: true},
		{name: "retry failed", st: State{Screen: ScreenQueue, Who: "tech-7", Seq: 6, Busy: CallRetry},
			in:   Intent{Kind: Answered, Answer: Answer{Seq: 6, Call: CallRetry, Err: errDown}},
			want: State{Screen: ScreenQueue, Who: "tech-7", Seq: 7, Busy: CallLoad, Result: "maint.result.retry_failed"},
			effs: []string{"call:load:7:queue", "log:WARN:maintenance retry failed", "render"}, equal: true},
		{name: "reprint", st: in(ScreenQueue), in: Intent{Kind: Input, Field: FieldReprint, Value: "100000471"},
			want: State{Screen: ScreenQueue, Who: "tech-7", Seq: 6, Busy: CallReprint}, effs: []string{"call:reprint:6:tech-7:100000471", "render"}, equal: true},
		{name: "reprint failed", st: State{Screen: ScreenQueue, Who: "tech-7", Seq: 6, Busy: CallReprint},
			in:   Intent{Kind: Answered, Answer: Answer{Seq: 6, Call: CallReprint, Err: errDown}},
			want: State{Screen: ScreenQueue, Who: "tech-7", Seq: 7, Busy: CallLoad, Result: "maint.result.reprint_failed"},
			effs: []string{"call:load:7:queue", "log:WARN:maintenance reprint failed", "render"}, equal: true},
		{name: "test print", st: State{Screen: ScreenTestPrint, Who: "tech-7", Seq: 5, Result: "maint.result.print_failed", Detail: "x"}, in: Intent{Kind: Confirm},
			want: State{Screen: ScreenTestPrint, Who: "tech-7", Seq: 6, Busy: CallTestPrint}, effs: []string{"call:test_print:6:tech-7", "render"}, equal: true},
		{name: "test print failed", st: State{Screen: ScreenTestPrint, Who: "tech-7", Seq: 6, Busy: CallTestPrint},
			in:   Intent{Kind: Answered, Answer: Answer{Seq: 6, Call: CallTestPrint, Err: errDown}},
			want: State{Screen: ScreenTestPrint, Who: "tech-7", Seq: 6, Result: "maint.result.print_failed", Detail: "printer offline"}, effs: []string{"render"}, equal: true},
		{name: "a call panicked", st: State{Screen: ScreenTestPrint, Who: "tech-7", Seq: 6, Busy: CallTestPrint},
			in:   Intent{Kind: Answered, Answer: Answer{Seq: 6, Call: CallTestPrint, Panicked: true}},
			want: State{Screen: ScreenTestPrint, Who: "tech-7", Seq: 6, Result: "maint.result.failed"}, effs: []string{"render"}, equal: true},
		// Reader test.
		{name: "reader test by touch", st: in(ScreenReaderTest), in: Intent{Kind: Input, Field: FieldReaderTest, Value: "ss"},
			want: State{Screen: ScreenReaderTest, Who: "tech-7", Seq: 6, Busy: CallReaderTest}, effs: []string{"call:reader_test:6:tech-7:ss", "render"}, equal: true},
		{name: "no such reader", st: in(ScreenReaderTest), in: Intent{Kind: Input, Field: FieldReaderTest, Value: "nfc"},
			want: in(ScreenReaderTest), err: ErrUnknownSlot, equal: true},
		{name: "card in: tested", st: in(ScreenReaderTest), in: Intent{Kind: CardInserted, Slot: hwbridge.SlotID},
			want: State{Screen: ScreenReaderTest, Who: "tech-7", Seq: 6, Busy: CallReaderTest}, effs: []string{"call:reader_test:6:tech-7:id", "render"}, equal: true},
		{name: "card in during a call: queued once", st: State{Screen: ScreenReaderTest, Who: "tech-7", Seq: 6, Busy: CallReaderTest, ToTest: []hwbridge.Slot{hwbridge.SlotSS}},
			in:   Intent{Kind: CardInserted, Slot: hwbridge.SlotSS},
			want: State{Screen: ScreenReaderTest, Who: "tech-7", Seq: 6, Busy: CallReaderTest, ToTest: []hwbridge.Slot{hwbridge.SlotSS}}, effs: []string{}, equal: true},
		{name: "tested: the queued card next", st: State{Screen: ScreenReaderTest, Who: "tech-7", Seq: 6, Busy: CallReaderTest, ToTest: []hwbridge.Slot{hwbridge.SlotSS}},
			in: Intent{Kind: Answered, Answer: Answer{Seq: 6, Call: CallReaderTest, Slot: hwbridge.SlotID, ReaderTest: ReaderTest{ATR: "3b", CardType: "emrtd"}}},
			want: State{Screen: ScreenReaderTest, Who: "tech-7", Seq: 7, Busy: CallReaderTest, ToTest: []hwbridge.Slot{},
				Tests: map[string]ReaderTest{"id": {Slot: "id", ATR: "3b", CardType: "emrtd"}}},
			effs: []string{"call:reader_test:7:tech-7:ss", "render"}, equal: true},
		{name: "reader test failed", st: State{Screen: ScreenReaderTest, Who: "tech-7", Seq: 6, Busy: CallReaderTest},
			in: Intent{Kind: Answered, Answer: Answer{Seq: 6, Call: CallReaderTest, Slot: hwbridge.SlotSS, Err: errDown}},
			want: State{Screen: ScreenReaderTest, Who: "tech-7", Seq: 6,
				Tests: map[string]ReaderTest{"ss": {Slot: "ss", Error: "printer offline"}}},
			effs: []string{"render"}, equal: true},
		{name: "card before login ignored", st: State{Screen: ScreenPIN, Seq: 1}, in: Intent{Kind: CardInserted, Slot: hwbridge.SlotID},
			want: State{Screen: ScreenPIN, Seq: 1}, effs: []string{}, equal: true},
		{name: "device change reloads the devices screen", st: in(ScreenDevices), in: Intent{Kind: DeviceChanged},
			want: State{Screen: ScreenDevices, Who: "tech-7", Seq: 6, Busy: CallLoad}, effs: []string{"call:load:6:devices", "render"}, equal: true},
		{name: "device change elsewhere ignored", st: in(ScreenQueue), in: Intent{Kind: DeviceChanged},
			want: in(ScreenQueue), effs: []string{}, equal: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, effs, err := Next(tc.st, tc.in)
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && !reflect.DeepEqual(short(effs), tc.effs) {
				t.Errorf("effects %q\nwant    %q", short(effs), tc.effs)
			}
			if !tc.equal {
				got = State{Screen: got.Screen, Busy: got.Busy, Seq: got.Seq, Who: got.Who}
				tc.want = State{Screen: tc.want.Screen, Busy: tc.want.Busy, Seq: tc.want.Seq, Who: tc.want.Who}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("state %+v\nwant  %+v", got, tc.want)
			}
		})
	}
}

// TestNextLeavesItsInputAlone: Next is pure: the state it was given, maps
// and slices included, is the same after.
func TestNextLeavesItsInputAlone(t *testing.T) {
	st := State{Screen: ScreenReaderTest, Who: "tech-7", Seq: 6, Busy: CallReaderTest,
		ToTest: []hwbridge.Slot{hwbridge.SlotSS}, Tests: map[string]ReaderTest{"ss": {Slot: "ss", CardType: "ss_card"}}}
	before := State{Screen: ScreenReaderTest, Who: "tech-7", Seq: 6, Busy: CallReaderTest,
		ToTest: []hwbridge.Slot{hwbridge.SlotSS}, Tests: map[string]ReaderTest{"ss": {Slot: "ss", CardType: "ss_card"}}}
	for _, in := range []Intent{
		{Kind: CardInserted, Slot: hwbridge.SlotID},
		{Kind: Answered, Answer: Answer{Seq: 6, Call: CallReaderTest, Slot: hwbridge.SlotID, ReaderTest: ReaderTest{CardType: "emrtd"}}},
		{Kind: Back},
	} {
		if _, _, err := Next(st, in); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(st, before) {
			t.Fatalf("after %v the given state is %+v", in.Kind, st)
		}
	}
}

// TestView: what each screen carries beside its Data.
func TestView(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.Local)
	for _, tc := range []struct {
		st   State
		name string
		want map[string]any
	}{
		{State{Screen: ScreenPIN, PINError: "wrong_tech_pin", TriesLeft: 2, Busy: CallLogin}, "maintenance_pin",
			map[string]any{"title": "maint.title.pin", "field": FieldTechPIN, "keys": "digits", "max": 12, "secret": true, "error": "wrong_tech_pin", "tries_left": 2, "busy": "login"}},
		{State{Screen: ScreenLocked, LockedUntil: now.Add(14*time.Minute + time.Second)}, "maintenance_locked",
			map[string]any{"title": "maint.title.locked", "until": "08:14", "minutes": 15}},
		{State{Screen: ScreenLocked, NoTechnician: true}, "maintenance_locked",
			map[string]any{"title": "maint.title.locked", "no_technician": true}},
		{State{Screen: ScreenTestPrint, Who: "tech-7", Result: "maint.result.print_failed", Detail: "paper out"}, "maintenance_test_print",
			map[string]any{"title": "maint.title.test_print", "tech": "tech-7", "result": "maint.result.print_failed", "detail": "paper out", "action": "maint.test_print.go"}},
		{State{Screen: ScreenReaderTest, Who: "tech-7", Tests: map[string]ReaderTest{"ss": {Slot: "ss", CardType: "ss_card"}}}, "maintenance_reader_test",
			map[string]any{"title": "maint.title.reader_test", "tech": "tech-7", "tests": []ReaderTest{{Slot: "id"}, {Slot: "ss", CardType: "ss_card"}}}},
		{State{Screen: ScreenQueue, Who: "tech-7", Data: map[string]any{"ops": 1}}, "maintenance_queue",
			map[string]any{"title": "maint.title.queue", "tech": "tech-7", "ops": 1}},
	} {
		d := map[string]any{}
		if name := tc.st.View(d, now); name != tc.name || !reflect.DeepEqual(d, tc.want) {
			t.Errorf("%s: %s %v\nwant %v", tc.st.Screen, name, d, tc.want)
		}
	}
	d := map[string]any{}
	State{Screen: ScreenHome}.View(d, now)
	if opts, ok := d["options"].([]ui.Option); !ok || len(opts) != len(Entries) || opts[0] != (ui.Option{Value: "devices", Label: "maint.title.devices"}) {
		t.Errorf("home options %v", d["options"])
	}
}
