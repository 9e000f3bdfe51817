package flow

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/kiosk/op"
)

// Test subjects (made up; the ID numbers carry a correct check character).
const (
	holderID   = "110101199003071233"
	holderName = "张三"
	agentID    = "110101195001010017"
	agentName  = "李四"
)

var (
	errIO     = errors.New("device gone")
	errNoCard = fmt.Errorf("connect: %w", hwbridge.ErrNoCard)
	holder    = Person{IDNumber: holderID, Name: holderName, BirthDate: "19900307"}
	agent     = Person{IDNumber: agentID, Name: agentName}
	ss        = SSCard{CardNumber: "A12345678", SSN: holderID, Name: holderName}
)

func start(k Kind) Intent           { return Intent{Kind: Start, Flow: k} }
func in(field, value string) Intent { return Intent{Kind: Input, Field: field, Value: value} }
func ev(k IntentKind) Intent        { return Intent{Kind: k} }
func card(k IntentKind, s hwbridge.Slot) Intent {
	return Intent{Kind: k, Slot: s}
}

// seqAuto marks a result whose Seq walk fills in from the state.
const seqAuto = ^uint64(0)

func res(k IntentKind, f func(*Intent)) Intent {
	i := Intent{Kind: k, Seq: seqAuto}
	if f != nil {
		f(&i)
	}
	return i
}

func fill(s State, i Intent) Intent {
	if i.Seq == seqAuto {
		i.Seq = s.Seq
	}
	return i
}

// walk applies intents that must all be accepted.
func walk(t *testing.T, p Policy, path []Intent) State {
	t.Helper()
	s := New(p)
	for n, i := range path {
		var err error
		s, _, err = Next(s, fill(s, i))
		if err != nil {
			t.Fatalf("setup step %d (%s %s=%s) at %s: %v", n, i.Kind, i.Field, i.Value, s.Step, err)
		}
	}
	return s
}

// Paths to every step of every flow.
var (
	pMenu      = []Intent{ev(Confirm)}
	pMode      = cat(pMenu, start(ReportLoss))
	pDoc       = cat(pMode, in(FieldMode, "self"))
	pBirth     = cat(pDoc, in(FieldDocNumber, "012345678"))
	pExpiry    = cat(pBirth, in(FieldBirthDate, "900307"))
	pPlaceID   = cat(pExpiry, in(FieldExpiryDate, "300101"))
	pReadingID = cat(pPlaceID, card(CardInserted, hwbridge.SlotID))
	pFetch     = cat(pReadingID, res(IDRead, func(i *Intent) { i.Person = holder }))
	cards      = []Card{{Number: "OLD000001", State: "lost"}, {Number: "A12345678", State: "active"}}
	pConfirm   = cat(pFetch, res(CardsFetched, func(i *Intent) { i.Cards = cards }))
	pOffline   = cat(pFetch, res(CardsFetched, func(i *Intent) { i.Err = errIO }))
	pCommit    = cat(pConfirm, ev(Confirm))
	pDone      = cat(pCommit, res(Committed, func(i *Intent) { i.Receipt = Receipt{Voucher: "V1234567", Key: "k1"} }))

	pPDoc     = cat(pMode, in(FieldMode, "proxy"))
	pPReading = cat(pPDoc, in(FieldDocNumber, "C0000001"), in(FieldBirthDate, "500101"), in(FieldExpiryDate, "350101"),
		card(CardInserted, hwbridge.SlotID))
	pPSubject = cat(pPReading, res(IDRead, func(i *Intent) { i.Person = agent }))
	pPRel     = cat(pPSubject, in(FieldSubjectID, holderID))
	pPFetch   = cat(pPRel, in(FieldRelationship, "child"))
	pPConfirm = cat(pPFetch, res(CardsFetched, func(i *Intent) { i.Cards = cards }))

	pSSPlace   = cat(pMenu, start(SuspendSettlement))
	pSSReading = cat(pSSPlace, card(CardInserted, hwbridge.SlotSS))
	pPIN       = cat(pSSReading, res(SSRead, func(i *Intent) { i.SS = ss }))
	pPINVerify = cat(pPIN, in(FieldPIN, "924681"))
	pSSConfirm = cat(pPINVerify, res(PINChecked, func(i *Intent) { i.PIN = PINResult{OK: true} }))

	pVoucher   = cat(pMenu, start(Lookup))
	pLookingUp = cat(pVoucher, in(FieldVoucher, "V1234567"))
	pLookupRes = cat(pLookingUp, res(LookedUp, func(i *Intent) { i.Lookup = LookupResult{Found: true, State: "pending"} }))
	pMaint     = cat(pMenu, start(Maintenance))
	pError     = cat(pReadingID, res(IDRead, func(i *Intent) { i.Err = errIO }))
)

func cat(parts ...any) []Intent {
	var out []Intent
	for _, p := range parts {
		switch v := p.(type) {
		case []Intent:
			out = append(out, v...)
		case Intent:
			out = append(out, v)
		}
	}
	return out
}

var otp = Policy{RequireOTP: true}

func TestTransitions(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		path    []Intent
		intent  Intent
		want    Step
		effects []EffectKind
		check   func(t *testing.T, s State, effs []Effect)
	}{
		// idle and menu
		{name: "idle touch opens menu", intent: ev(Confirm), want: StepMenu},
		{name: "idle start without flow opens menu", intent: start(""), want: StepMenu},
		{name: "idle start report directly", intent: start(ReportLoss), want: StepMode},
		{name: "menu back ends session", path: pMenu, intent: ev(Back), want: StepIdle, effects: []EffectKind{EndSession}},
		{name: "menu cancel ends session", path: pMenu, intent: ev(Cancel), want: StepIdle, effects: []EffectKind{EndSession}},
		{name: "menu timeout ends session", path: pMenu, intent: ev(Timeout), want: StepIdle, effects: []EffectKind{EndSession}},
		{name: "menu start suspend", path: pMenu, intent: start(SuspendSettlement), want: StepPlaceSS},
		{name: "menu start resume", path: pMenu, intent: start(ResumeSettlement), want: StepPlaceSS},
		{name: "menu start lookup", path: pMenu, intent: start(Lookup), want: StepVoucher},
		{name: "menu start maintenance", path: pMenu, intent: start(Maintenance), want: StepMaintenance},
		{name: "maintenance back", path: pMaint, intent: ev(Back), want: StepMenu},

		// report_loss, self
		{name: "mode self", path: pMode, intent: in(FieldMode, "self"), want: StepDocNumber,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.Proxy {
					t.Error("proxy set")
				}
			}},
		{name: "mode proxy", path: pMode, intent: in(FieldMode, "proxy"), want: StepDocNumber,
			check: func(t *testing.T, s State, _ []Effect) {
				if !s.Proxy {
					t.Error("proxy not set")
				}
			}},
		{name: "mode back", path: pMode, intent: ev(Back), want: StepMenu},
		{name: "doc number", path: pDoc, intent: in(FieldDocNumber, "c01234567<<"), want: StepBirthDate,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.BAC.DocNumber != "C01234567" {
					t.Errorf("doc number %q", s.BAC.DocNumber)
				}
			}},
		{name: "doc back", path: pDoc, intent: ev(Back), want: StepMode},
		{name: "birth date", path: pBirth, intent: in(FieldBirthDate, "000229"), want: StepExpiryDate},
		{name: "birth back", path: pBirth, intent: ev(Back), want: StepDocNumber},
		{name: "expiry without card waits", path: pExpiry, intent: in(FieldExpiryDate, "300101"), want: StepPlaceID},
		{name: "expiry with card present reads", path: cat(card(CardInserted, hwbridge.SlotID), pExpiry),
			intent: in(FieldExpiryDate, "300101"), want: StepReadingID, effects: []EffectKind{ReadID},
			check: func(t *testing.T, s State, effs []Effect) {
				if want := (BACKey{"012345678", "900307", "300101"}); effs[0].BAC != want {
					t.Errorf("BAC %+v, want %+v", effs[0].BAC, want)
				}
			}},
		{name: "expiry back", path: pExpiry, intent: ev(Back), want: StepBirthDate},
		{name: "card placed reads", path: pPlaceID, intent: card(CardInserted, hwbridge.SlotID), want: StepReadingID, effects: []EffectKind{ReadID}},
		{name: "ss card at ID step ignored", path: pPlaceID, intent: card(CardInserted, hwbridge.SlotSS), want: StepPlaceID},
		{name: "place back", path: pPlaceID, intent: ev(Back), want: StepExpiryDate},
		{name: "id read fetches cards", path: pReadingID, intent: res(IDRead, func(i *Intent) { i.Person = holder }),
			want: StepFetchCards, effects: []EffectKind{FetchCards},
			check: func(t *testing.T, s State, effs []Effect) {
				if effs[0].IDNumber != holderID {
					t.Errorf("fetch for %q", effs[0].IDNumber)
				}
			}},
		{name: "id gone before the read asks for it", path: pReadingID, intent: res(IDRead, func(i *Intent) { i.Err = errNoCard }), want: StepPlaceID,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.IDPresent || s.BAC.DocNumber == "" {
					t.Errorf("card present %v, access key %+v; want the card absent and the key kept", s.IDPresent, s.BAC)
				}
			}},
		{name: "id read failed", path: pReadingID, intent: res(IDRead, func(i *Intent) { i.Err = errIO }), want: StepError,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.ErrCode != CodeIDReadFailed || s.Retry != StepDocNumber {
					t.Errorf("code %q retry %q", s.ErrCode, s.Retry)
				}
			}},
		{name: "error retry", path: pError, intent: ev(Confirm), want: StepDocNumber},
		{name: "error back", path: pError, intent: ev(Back), want: StepMenu},
		{name: "error cancel", path: pError, intent: ev(Cancel), want: StepIdle, effects: []EffectKind{EndSession}},
		{name: "reading back", path: pReadingID, intent: ev(Back), want: StepExpiryDate},
		{name: "id removed while reading ends", path: pReadingID, intent: card(CardRemoved, hwbridge.SlotID), want: StepIdle, effects: []EffectKind{EndSession}},
		{name: "cards fetched, active one chosen", path: pFetch, intent: res(CardsFetched, func(i *Intent) { i.Cards = cards }), want: StepConfirm,
			check: func(t *testing.T, s State, _ []Effect) {
				if op := s.Operation(); op.CardNumber != "A12345678" || op.Subject != holder || op.Agent != nil || op.Evidence.Offline {
					t.Errorf("operation %+v", op)
				}
			}},
		{name: "central offline files against ID", path: pFetch, intent: res(CardsFetched, func(i *Intent) { i.Err = errIO }), want: StepConfirm,
			check: func(t *testing.T, s State, _ []Effect) {
				if op := s.Operation(); op.CardNumber != "" || !op.Evidence.Offline || op.Subject.IDNumber != holderID {
					t.Errorf("operation %+v", op)
				}
			}},
		{name: "fetch back", path: pFetch, intent: ev(Back), want: StepExpiryDate},
		{name: "card removed at confirm ends", path: pConfirm, intent: card(CardRemoved, hwbridge.SlotID), want: StepIdle, effects: []EffectKind{EndSession}},
		{name: "confirm choose card", path: pConfirm, intent: in(FieldCard, "0"), want: StepConfirm,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.Operation().CardNumber != "OLD000001" {
					t.Error("card not chosen")
				}
			}},
		{name: "confirm commits", path: pConfirm, intent: ev(Confirm), want: StepCommitting, effects: []EffectKind{Commit},
			check: func(t *testing.T, s State, effs []Effect) {
				if effs[0].Operation.Kind != op.ReportLoss || effs[0].Operation.Subject != holder {
					t.Errorf("commit %+v", effs[0].Operation)
				}
			}},
		{name: "confirm back", path: pConfirm, intent: ev(Back), want: StepExpiryDate,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.HavePerson || s.Person != (Person{}) {
					t.Error("person kept after back")
				}
			}},
		{name: "committed prints", path: pCommit, intent: res(Committed, func(i *Intent) { i.Receipt = Receipt{Voucher: "V1"} }),
			want: StepDone, effects: []EffectKind{Print},
			check: func(t *testing.T, s State, effs []Effect) {
				if s.Voucher != "V1" || effs[0].Receipt.Voucher != "V1" || !s.Printing {
					t.Errorf("voucher %q printing %v", s.Voucher, s.Printing)
				}
			}},
		{name: "commit failed", path: pCommit, intent: res(Committed, func(i *Intent) { i.Err = errIO }), want: StepError,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.ErrCode != CodeCommitFailed || s.Retry != StepConfirm || s.Voucher != "" {
					t.Errorf("code %q retry %q voucher %q", s.ErrCode, s.Retry, s.Voucher)
				}
			}},
		{name: "card removed while committing kept", path: pCommit, intent: card(CardRemoved, hwbridge.SlotID), want: StepCommitting},
		{name: "printed", path: pDone, intent: res(Printed, func(i *Intent) { i.PrintedOK = true; i.Preview = "RECEIPT" }), want: StepDone,
			check: func(t *testing.T, s State, _ []Effect) {
				if !s.PrintedOK || s.Printing || s.Preview != "RECEIPT" {
					t.Errorf("printed %v printing %v", s.PrintedOK, s.Printing)
				}
			}},
		{name: "paper out", path: pDone, intent: res(Printed, func(i *Intent) { i.PrinterProblem = "paper_out" }), want: StepDone,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.PrintedOK || s.PrintProblem != "paper_out" || s.Voucher == "" {
					t.Errorf("printed %v problem %q", s.PrintedOK, s.PrintProblem)
				}
			}},
		{name: "print error", path: pDone, intent: res(Printed, func(i *Intent) { i.Err = errIO }), want: StepDone,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.PrintedOK || s.PrintProblem != "printer_error" {
					t.Errorf("printed %v problem %q", s.PrintedOK, s.PrintProblem)
				}
			}},
		{name: "card removed on done kept", path: pDone, intent: card(CardRemoved, hwbridge.SlotID), want: StepDone},
		{name: "done finish", path: pDone, intent: ev(Confirm), want: StepIdle, effects: []EffectKind{EndSession}},
		{name: "done back to menu", path: pDone, intent: ev(Back), want: StepMenu},
		{name: "done timeout", path: pDone, intent: ev(Timeout), want: StepIdle, effects: []EffectKind{EndSession}},

		// OTP policy
		{name: "otp requested", policy: otp, path: pFetch, intent: res(CardsFetched, func(i *Intent) { i.Cards = cards }),
			want: StepOTPRequest, effects: []EffectKind{RequestOTP}},
		{name: "otp skipped offline", policy: otp, path: pFetch, intent: res(CardsFetched, func(i *Intent) { i.Err = errIO }), want: StepConfirm},
		{name: "otp sent", policy: otp, path: cat(pConfirm[:len(pConfirm)-1], res(CardsFetched, nil)),
			intent: res(OTPRequested, nil), want: StepOTP},
		{name: "otp request failed goes offline", policy: otp, path: cat(pConfirm[:len(pConfirm)-1], res(CardsFetched, nil)),
			intent: res(OTPRequested, func(i *Intent) { i.Err = errIO }), want: StepConfirm,
			check: func(t *testing.T, s State, _ []Effect) {
				if !s.Offline {
					t.Error("not offline")
				}
			}},
		{name: "otp typed", policy: otp, path: pOTP(), intent: in(FieldOTP, "123456"), want: StepOTPVerify, effects: []EffectKind{VerifyOTP}},
		{name: "otp back", policy: otp, path: pOTP(), intent: ev(Back), want: StepExpiryDate},
		{name: "otp ok", policy: otp, path: cat(pOTP(), in(FieldOTP, "123456")), intent: res(OTPChecked, func(i *Intent) { i.OTPOK = true }),
			want: StepConfirm, check: func(t *testing.T, s State, _ []Effect) {
				if !s.Operation().Evidence.OTP {
					t.Error("otp not in evidence")
				}
			}},
		{name: "otp wrong", policy: otp, path: cat(pOTP(), in(FieldOTP, "123456")), intent: res(OTPChecked, nil), want: StepOTP,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.InputErr != "wrong_otp" || s.TriesLeft != 2 {
					t.Errorf("input err %q, tries left %d, want wrong_otp and 2 of 3", s.InputErr, s.TriesLeft)
				}
			}},
		{name: "otp third wrong fails", policy: otp,
			path:   cat(pOTP(), in(FieldOTP, "1111"), res(OTPChecked, nil), in(FieldOTP, "2222"), res(OTPChecked, nil), in(FieldOTP, "3333")),
			intent: res(OTPChecked, nil), want: StepError,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.ErrCode != CodeOTPFailed {
					t.Errorf("code %q", s.ErrCode)
				}
			}},
		{name: "otp verify offline", policy: otp, path: cat(pOTP(), in(FieldOTP, "123456")), intent: res(OTPChecked, func(i *Intent) { i.Err = errIO }),
			want: StepError},
		{name: "confirm back after otp", policy: otp, path: cat(pOTP(), in(FieldOTP, "123456"), res(OTPChecked, func(i *Intent) { i.OTPOK = true })),
			intent: ev(Back), want: StepOTP},

		// proxy
		{name: "proxy agent read asks subject", path: pPReading, intent: res(IDRead, func(i *Intent) { i.Person = agent }), want: StepSubjectID},
		{name: "proxy subject", path: pPSubject, intent: in(FieldSubjectID, "110101199003071233"), want: StepRelationship},
		{name: "proxy subject vn", path: pPSubject, intent: in(FieldSubjectID, "001090012345"), want: StepRelationship},
		{name: "proxy subject back", path: pPSubject, intent: ev(Back), want: StepExpiryDate},
		{name: "proxy relationship fetches subject's cards", path: pPRel, intent: in(FieldRelationship, "child"),
			want: StepFetchCards, effects: []EffectKind{FetchCards},
			check: func(t *testing.T, s State, effs []Effect) {
				if effs[0].IDNumber != holderID {
					t.Errorf("fetch for %q", effs[0].IDNumber)
				}
			}},
		{name: "proxy relationship back", path: pPRel, intent: ev(Back), want: StepSubjectID},
		{name: "proxy fetch back", path: pPFetch, intent: ev(Back), want: StepRelationship},
		{name: "proxy confirm back", path: pPConfirm, intent: ev(Back), want: StepRelationship},
		{name: "proxy commit", path: pPConfirm, intent: ev(Confirm), want: StepCommitting, effects: []EffectKind{Commit},
			check: func(t *testing.T, s State, effs []Effect) {
				op := effs[0].Operation
				if op.Subject.IDNumber != holderID || op.Agent == nil || op.Agent.IDNumber != agentID || op.Agent.Relationship != "child" || op.CardNumber != "A12345678" {
					t.Errorf("operation %+v agent %+v", op, op.Agent)
				}
			}},

		// suspend / resume
		{name: "ss inserted reads", path: pSSPlace, intent: card(CardInserted, hwbridge.SlotSS), want: StepReadingSS, effects: []EffectKind{ReadSS}},
		{name: "ss already in reads at start", path: cat(card(CardInserted, hwbridge.SlotSS), pMenu), intent: start(ResumeSettlement),
			want: StepReadingSS, effects: []EffectKind{ReadSS}},
		{name: "ss place back", path: pSSPlace, intent: ev(Back), want: StepMenu},
		{name: "ss read asks pin", path: pSSReading, intent: res(SSRead, func(i *Intent) { i.SS = ss }), want: StepPIN},
		{name: "ss read failed", path: pSSReading, intent: res(SSRead, func(i *Intent) { i.Err = errIO }), want: StepError},
		// The card was taken out before its removal reached the flow.
		{name: "ss gone before the read asks for it", path: pSSReading, intent: res(SSRead, func(i *Intent) { i.Err = errNoCard }), want: StepPlaceSS,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.SSPresent || s.ErrCode != "" {
					t.Errorf("card present %v, error %q; want the card absent and no error", s.SSPresent, s.ErrCode)
				}
			}},
		{name: "ss removed while reading ends", path: pSSReading, intent: card(CardRemoved, hwbridge.SlotSS), want: StepIdle, effects: []EffectKind{EndSession}},
		{name: "pin typed verifies", path: pPIN, intent: in(FieldPIN, "924681"), want: StepPINVerify, effects: []EffectKind{VerifyPIN},
			check: func(t *testing.T, s State, effs []Effect) {
				if effs[0].PIN != "924681" {
					t.Error("pin not passed")
				}
				if strings.Contains(fmt.Sprintf("%+v", s), "924681") {
					t.Error("pin kept in state")
				}
			}},
		{name: "pin back", path: pPIN, intent: ev(Back), want: StepMenu},
		{name: "ss removed at pin ends", path: pPIN, intent: card(CardRemoved, hwbridge.SlotSS), want: StepIdle, effects: []EffectKind{EndSession}},
		{name: "pin right", path: pPINVerify, intent: res(PINChecked, func(i *Intent) { i.PIN = PINResult{OK: true} }), want: StepConfirm},
		{name: "pin wrong", path: pPINVerify, intent: res(PINChecked, func(i *Intent) { i.PIN = PINResult{TriesLeft: 2} }), want: StepPIN,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.TriesLeft != 2 || s.InputErr != "wrong_pin" {
					t.Errorf("tries %d err %q", s.TriesLeft, s.InputErr)
				}
			}},
		{name: "pin blocked", path: pPINVerify, intent: res(PINChecked, func(i *Intent) { i.PIN = PINResult{Blocked: true} }), want: StepError,
			check: func(t *testing.T, s State, _ []Effect) {
				if s.ErrCode != CodePINBlocked || s.Retry != "" {
					t.Errorf("code %q retry %q", s.ErrCode, s.Retry)
				}
			}},
		{name: "pin check failed", path: pPINVerify, intent: res(PINChecked, func(i *Intent) { i.Err = errIO }), want: StepError},
		{name: "ss confirm commits", path: pSSConfirm, intent: ev(Confirm), want: StepCommitting, effects: []EffectKind{Commit},
			check: func(t *testing.T, s State, effs []Effect) {
				o := effs[0].Operation
				if o.Kind != op.SuspendSettlement || o.CardNumber != ss.CardNumber || o.Subject.IDNumber != holderID || o.Evidence.Method != "ss_card_pin" {
					t.Errorf("operation %+v", o)
				}
			}},
		{name: "ss confirm back", path: pSSConfirm, intent: ev(Back), want: StepReadingSS, effects: []EffectKind{ReadSS}},

		// lookup
		{name: "voucher typed", path: pVoucher, intent: in(FieldVoucher, "V1234567"), want: StepLookingUp, effects: []EffectKind{LookupVoucher}},
		{name: "voucher back", path: pVoucher, intent: ev(Back), want: StepMenu},
		{name: "looked up", path: pLookingUp, intent: res(LookedUp, func(i *Intent) { i.Lookup = LookupResult{Found: true} }), want: StepLookupResult},
		{name: "lookup failed", path: pLookingUp, intent: res(LookedUp, func(i *Intent) { i.Err = errIO }), want: StepError},
		{name: "lookup working back", path: pLookingUp, intent: ev(Back), want: StepVoucher},
		{name: "lookup result back", path: pLookupRes, intent: ev(Back), want: StepVoucher},
		{name: "lookup result done", path: pLookupRes, intent: ev(Confirm), want: StepIdle, effects: []EffectKind{EndSession}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := walk(t, tt.policy, tt.path)
			n, effs, err := Next(s, fill(s, tt.intent))
			if err != nil {
				t.Fatalf("at %s: %v", s.Step, err)
			}
			if n.Step != tt.want {
				t.Errorf("step %s, want %s", n.Step, tt.want)
			}
			var kinds []EffectKind
			for _, e := range effs {
				kinds = append(kinds, e.Kind)
			}
			if !slices.Equal(kinds, tt.effects) {
				t.Errorf("effects %v, want %v", kinds, tt.effects)
			}
			if n.Step.Screen() == "" {
				t.Errorf("step %s has no screen", n.Step)
			}
			if tt.check != nil {
				tt.check(t, n, effs)
			}
		})
	}
}

func pOTP() []Intent {
	return cat(pFetch, res(CardsFetched, func(i *Intent) { i.Cards = cards }), res(OTPRequested, nil))
}

func TestCancelEverywhere(t *testing.T) {
	paths := map[string][]Intent{
		"menu": pMenu, "mode": pMode, "doc": pDoc, "birth": pBirth, "expiry": pExpiry, "place_id": pPlaceID,
		"reading_id": pReadingID, "fetch": pFetch, "confirm": pConfirm, "offline_confirm": pOffline, "done": pDone,
		"proxy_subject": pPSubject, "proxy_rel": pPRel, "proxy_confirm": pPConfirm, "ss_place": pSSPlace,
		"ss_reading": pSSReading, "pin": pPIN, "ss_confirm": pSSConfirm, "voucher": pVoucher,
		"looking_up": pLookingUp, "lookup_result": pLookupRes, "maintenance": pMaint, "error": pError,
	}
	for name, p := range paths {
		t.Run(name, func(t *testing.T) {
			s := walk(t, Policy{}, p)
			n, effs, err := Next(s, ev(Cancel))
			if err != nil {
				t.Fatal(err)
			}
			if n.Step != StepIdle || len(effs) != 1 || effs[0].Kind != EndSession {
				t.Fatalf("step %s effects %v", n.Step, effs)
			}
			assertWiped(t, n)
		})
	}
	for name, p := range map[string][]Intent{"committing": pCommit, "pin_verify": pPINVerify} {
		t.Run(name+"_busy", func(t *testing.T) {
			s := walk(t, Policy{}, p)
			if _, _, err := Next(s, ev(Cancel)); name == "committing" && !errors.Is(err, ErrBusy) {
				t.Fatalf("cancel while committing: %v, want ErrBusy", err)
			}
			if _, _, err := Next(s, ev(Back)); !errors.Is(err, ErrBusy) {
				t.Fatalf("back: %v, want ErrBusy", err)
			}
		})
	}
}

// assertWiped checks no personal datum of the test subjects survives.
func assertWiped(t *testing.T, s State) {
	t.Helper()
	dump := fmt.Sprintf("%#v", s)
	for _, secret := range []string{holderID, holderName, agentID, agentName, "012345678", "900307", ss.CardNumber, "V1234567"} {
		if strings.Contains(dump, secret) {
			t.Errorf("state still holds %q: %s", secret, dump)
		}
	}
	want := State{Step: StepIdle, Policy: s.Policy, IDPresent: s.IDPresent, SSPresent: s.SSPresent, Seq: s.Seq}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("state not zeroed: %#v", s)
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name   string
		path   []Intent
		intent Intent
		want   error // ErrRefused, ErrBusy or nil for an *InputError
	}{
		{"confirm on menu", pMenu, ev(Confirm), ErrRefused},
		{"back on idle", nil, ev(Back), ErrRefused},
		{"cancel on idle", nil, ev(Cancel), ErrRefused},
		{"timeout on idle", nil, ev(Timeout), ErrRefused},
		{"input on idle", nil, in(FieldPIN, "123456"), ErrRefused},
		{"unknown flow", pMenu, start("transfer_money"), nil},
		{"start mid-flow", pPIN, start(Lookup), ErrRefused},
		{"skip to confirm from doc", pDoc, ev(Confirm), ErrRefused},
		{"skip to pin in report", pDoc, in(FieldPIN, "123456"), ErrRefused},
		{"wrong field", pDoc, in(FieldBirthDate, "900307"), ErrRefused},
		{"bad mode", pMode, in(FieldMode, "admin"), nil},
		{"bad doc", pDoc, in(FieldDocNumber, "12-34"), nil},
		{"empty doc", pDoc, in(FieldDocNumber, ""), nil},
		{"bad date", pBirth, in(FieldBirthDate, "901332"), nil},
		{"feb 30", pBirth, in(FieldBirthDate, "900230"), nil},
		{"short date", pExpiry, in(FieldExpiryDate, "3001"), nil},
		{"confirm while placing id", pPlaceID, ev(Confirm), ErrRefused},
		{"identity result not asked for", pPlaceID, res(IDRead, func(i *Intent) { i.Person = holder }), ErrRefused},
		{"stale id result", pReadingID, Intent{Kind: IDRead, Seq: 99, Person: holder}, ErrRefused},
		{"wrong result kind", pReadingID, res(SSRead, func(i *Intent) { i.SS = ss }), ErrRefused},
		{"commit result before confirm", pConfirm, res(Committed, func(i *Intent) { i.Receipt = Receipt{Voucher: "X"} }), ErrRefused},
		{"confirm twice", pCommit, ev(Confirm), ErrRefused},
		{"cancel committing", pCommit, ev(Cancel), ErrBusy},
		{"back committing", pCommit, ev(Back), ErrBusy},
		{"timeout committing", pCommit, ev(Timeout), ErrRefused},
		{"subject id bad check", pPSubject, in(FieldSubjectID, "110101199003071234"), nil},
		{"subject id garbage", pPSubject, in(FieldSubjectID, "11010119900307123Y"), nil},
		{"subject is agent", pPSubject, in(FieldSubjectID, agentID), nil},
		{"bad relationship", pPRel, in(FieldRelationship, "boss"), nil},
		{"unknown card", pConfirm, in(FieldCard, "2"), nil},
		{"card not an index", pConfirm, in(FieldCard, "A12345678"), nil},
		{"card index padded", pConfirm, in(FieldCard, "01"), nil},
		{"pin letters", pPIN, in(FieldPIN, "12ab56"), nil},
		{"pin too short", pPIN, in(FieldPIN, "12"), nil},
		{"confirm before pin verified", pPIN, ev(Confirm), ErrRefused},
		{"pin result before pin typed", pPIN, res(PINChecked, func(i *Intent) { i.PIN = PINResult{OK: true} }), ErrRefused},
		{"back while verifying pin", pPINVerify, ev(Back), ErrBusy},
		{"second pin while verifying", pPINVerify, in(FieldPIN, "000000"), ErrRefused},
		{"bad voucher", pVoucher, in(FieldVoucher, "v-1"), nil},
		{"print result twice", cat(pDone, res(Printed, nil)), res(Printed, nil), ErrRefused},
		{"unknown slot", pPlaceID, Intent{Kind: CardInserted, Slot: "nfc2"}, nil},
		{"unknown intent", pMenu, Intent{Kind: "teleport"}, ErrRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := walk(t, otpOff(), tt.path)
			n, effs, err := Next(s, fill(s, tt.intent))
			if err == nil {
				t.Fatalf("accepted at %s: now %s", s.Step, n.Step)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			var ie *InputError
			if tt.want == nil && !errors.As(err, &ie) {
				t.Errorf("error %v, want an InputError", err)
			}
			if effs != nil || !reflect.DeepEqual(n, s) {
				t.Errorf("refused intent changed the state or asked for I/O")
			}
			for _, secret := range []string{holderID, holderName, "123456"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks %q", err, secret)
				}
			}
		})
	}
}

func otpOff() Policy { return Policy{} }

func TestCheckIDNumber(t *testing.T) {
	for _, tt := range []struct{ in, want, code string }{
		{"110101199003071233", "110101199003071233", ""},
		{"11010519491231002x", "11010519491231002X", ""},
		{"110101199003071234", "", "id_check_failed"},
		{"001090012345", "001090012345", ""},
		{"00109001234", "", "invalid_id_number"},
		{"A10101199003071233", "", "invalid_id_number"},
		{"", "", "invalid_id_number"},
	} {
		got, code := CheckIDNumber(tt.in)
		if got != tt.want || code != tt.code {
			t.Errorf("CheckIDNumber(%q) = %q, %q; want %q, %q", tt.in, got, code, tt.want, tt.code)
		}
	}
}

func TestCheckYYMMDD(t *testing.T) {
	for in, ok := range map[string]bool{"900307": true, "000229": true, "010229": false, "991231": true, "990431": false, "9003O7": false, "9003071": false} {
		if got := CheckYYMMDD(in) == ""; got != ok {
			t.Errorf("CheckYYMMDD(%q) ok=%v, want %v", in, got, ok)
		}
	}
}

func FuzzNext(f *testing.F) {
	f.Add("input", "doc_number", "012345678", 3)
	f.Add("confirm", "", "", 0)
	f.Add("input", "subject_id", "11010119900307123X", 9)
	f.Add("start", "", "report_loss", 1)
	f.Fuzz(func(t *testing.T, kind, field, value string, depth int) {
		paths := [][]Intent{nil, pMenu, pMode, pDoc, pBirth, pExpiry, pPlaceID, pReadingID, pFetch, pConfirm, pPSubject, pPRel, pPIN, pVoucher, pDone}
		if depth < 0 {
			depth = -depth
		}
		s := walk(t, Policy{}, paths[depth%len(paths)])
		i := Intent{Kind: IntentKind(kind), Field: field, Value: value, Flow: Kind(value), Slot: hwbridge.Slot(value)}
		n, effs, err := Next(s, i)
		if err != nil && (effs != nil || !reflect.DeepEqual(n, s)) {
			t.Fatal("refused intent changed the state")
		}
		if n.Step.Screen() == "" {
			t.Fatalf("step %q has no screen", n.Step)
		}
	})
}

// Nothing the page sends skips a step: at every step, only that step's own
// field is accepted as input, confirm only where there is something to
// confirm, and a new flow only from idle or the menu.
func TestOnlyTheStepsOwnIntents(t *testing.T) {
	fields := []string{FieldMode, FieldDocNumber, FieldMRZ, FieldBirthDate, FieldExpiryDate, FieldSubjectID,
		FieldRelationship, FieldOTP, FieldPIN, FieldCard, FieldVoucher, FieldReceipt}
	own := map[Step][]string{
		StepMode: {FieldMode}, StepDocNumber: {FieldDocNumber, FieldMRZ}, StepBirthDate: {FieldBirthDate},
		StepExpiryDate: {FieldExpiryDate}, StepSubjectID: {FieldSubjectID}, StepRelationship: {FieldRelationship},
		StepOTP: {FieldOTP}, StepPIN: {FieldPIN}, StepConfirm: {FieldCard}, StepVoucher: {FieldVoucher, FieldReceipt},
	}
	confirmable := []Step{StepIdle, StepConfirm, StepDone, StepError, StepLookupResult}
	paths := [][]Intent{nil, pMenu, pMode, pDoc, pBirth, pExpiry, pPlaceID, pReadingID, pFetch, pConfirm, pCommit, pDone,
		pPSubject, pPRel, pPFetch, pSSPlace, pSSReading, pPIN, pPINVerify, pSSConfirm, pVoucher, pLookingUp, pLookupRes,
		pMaint, pError}
	for _, p := range paths {
		s := walk(t, Policy{}, p)
		for _, f := range fields {
			_, _, err := Next(s, in(f, "x"))
			var re *RefusedError
			if isRefused := errors.As(err, &re); isRefused == slices.Contains(own[s.Step], f) {
				t.Errorf("step %s, input %s: %v", s.Step, f, err)
			}
		}
		if _, _, err := Next(s, ev(Confirm)); (err == nil) != slices.Contains(confirmable, s.Step) {
			t.Errorf("step %s, confirm: %v", s.Step, err)
		}
		if _, _, err := Next(s, start(Lookup)); (err == nil) != (s.Step == StepIdle || s.Step == StepMenu) {
			t.Errorf("step %s, start: %v", s.Step, err)
		}
	}
}
