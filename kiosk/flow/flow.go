package flow

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/kiosk/op"
)

// Step names where a flow stands; each step shows exactly one Screen.
type Step string

const (
	StepIdle         Step = "idle"
	StepMenu         Step = "menu"
	StepMode         Step = "report.mode"        // menu: self or proxy
	StepDocNumber    Step = "bac.doc_number"     // keypad
	StepBirthDate    Step = "bac.birth_date"     // keypad
	StepExpiryDate   Step = "bac.expiry_date"    // keypad
	StepPlaceID      Step = "id.place"           // identify: put the ID card on the reader
	StepReadingID    Step = "id.reading"         // working
	StepSubjectID    Step = "proxy.subject_id"   // keypad
	StepRelationship Step = "proxy.relationship" // menu
	StepFetchCards   Step = "central.cards"      // working
	StepOTPRequest   Step = "otp.request"        // working
	StepOTP          Step = "otp.code"           // keypad
	StepOTPVerify    Step = "otp.verify"         // working
	StepPlaceSS      Step = "ss.place"           // identify: insert the SS card
	StepReadingSS    Step = "ss.reading"         // working
	StepPIN          Step = "ss.pin"             // keypad
	StepPINVerify    Step = "ss.pin_verify"      // working
	StepConfirm      Step = "confirm"            // confirm
	StepCommitting   Step = "committing"         // working
	StepDone         Step = "done"               // done (printing runs on it)
	StepError        Step = "error"              // error
	StepVoucher      Step = "lookup.voucher"     // keypad
	StepLookingUp    Step = "lookup.working"     // working
	StepLookupResult Step = "lookup.result"      // lookup_result
	StepMaintenance  Step = "maintenance"        // the technician's menu: kiosk/maint.Next drives its screens
)

var stepScreens = map[Step]Screen{
	StepIdle: ScreenIdle, StepMenu: ScreenMenu, StepMode: ScreenMenu,
	StepDocNumber: ScreenKeypad, StepBirthDate: ScreenKeypad, StepExpiryDate: ScreenKeypad,
	StepPlaceID: ScreenIdentify, StepReadingID: ScreenWorking,
	StepSubjectID: ScreenKeypad, StepRelationship: ScreenMenu,
	StepFetchCards: ScreenWorking, StepOTPRequest: ScreenWorking, StepOTP: ScreenKeypad, StepOTPVerify: ScreenWorking,
	StepPlaceSS: ScreenIdentify, StepReadingSS: ScreenWorking, StepPIN: ScreenKeypad, StepPINVerify: ScreenWorking,
	StepConfirm: ScreenConfirm, StepCommitting: ScreenWorking, StepDone: ScreenDone, StepError: ScreenError,
	StepVoucher: ScreenKeypad, StepLookingUp: ScreenWorking, StepLookupResult: ScreenLookupResult,
	StepMaintenance: ScreenMaintenanceLocked,
}

// Screen is the screen this step shows.
func (s Step) Screen() Screen { return stepScreens[s] }

// Error codes shown on the error screen and sent in `error` frames. The page
// translates them; they carry no personal data.
const (
	CodeIDReadFailed   = "id_read_failed"
	CodeSSReadFailed   = "ss_read_failed"
	CodePINBlocked     = "pin_blocked"
	CodePINFailed      = "pin_check_failed"
	CodeOTPFailed      = "otp_failed"
	CodeCentralOffline = "central_unreachable"
	CodeCommitFailed   = "commit_failed"
	CodeLookupFailed   = "lookup_failed"
	CodeWrongCard      = "wrong_card"
	// A card this terminal cannot read, however often it is tried: the
	// citizen is sent to a counter.
	CodeIDUnreadable = "id_unreadable"
	CodeSSUnreadable = "ss_unreadable"
)

// ErrCardUnreadable is wrapped by a card read's error when trying again
// cannot help (the chip has no EF.SOD where passive authentication is
// required, a field fails validation, the card answers nonsense): the
// flow sends the citizen to a counter at once instead of offering a retry.
var ErrCardUnreadable = errors.New("card cannot be read at this terminal")

// maxReadFailures is how many failed reads of a card a flow offers to
// retry after: the next failure sends the citizen to a counter.
const maxReadFailures = 1

var (
	// ErrRefused: the intent is not allowed at the current step (a skipped
	// step, a stale result, a button that is not on the screen).
	ErrRefused = errors.New("not allowed at this step")
	// ErrBusy: the operation is being committed; it cannot be left now.
	ErrBusy = errors.New("operation is being saved, please wait")
)

// RefusedError says which intent was refused at which step. It wraps
// ErrRefused or ErrBusy.
type RefusedError struct {
	Step   Step
	Intent IntentKind
	Err    error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s at step %s: %v", e.Intent, e.Step, e.Err)
}
func (e *RefusedError) Unwrap() error { return e.Err }

// InputError says a typed value is not acceptable. Code names the problem
// for the page (e.g. "invalid_date"); no value is echoed.
type InputError struct {
	Field string
	Code  string
}

func (e *InputError) Error() string { return fmt.Sprintf("field %s: %s", e.Field, e.Code) }

// State is everything a flow knows. It holds personal data; Wipe it when the
// session ends. The zero value is the idle screen.
type State struct {
	Flow   Kind
	Step   Step
	Policy Policy

	// Card presence is kept across sessions: it is not personal.
	IDPresent bool
	SSPresent bool

	// Seq numbers effects; Awaiting is the effect whose result is expected.
	Seq      uint64
	Awaiting EffectKind

	Proxy        bool
	BAC          BACKey
	Person       Person // read from the ID card: the holder, or the agent when Proxy
	HavePerson   bool
	SubjectID    string // proxy: the cardholder's ID number
	Relationship string
	Cards        []Card
	CardIndex    int
	Offline      bool
	OTPVerified  bool
	OTPTries     int
	SS           SSCard
	HaveSS       bool
	TriesLeft    int // after a wrong PIN or OTP; 0 = not shown
	Voucher      string
	Receipt      Receipt
	Printing     bool
	PrintedOK    bool
	Preview      string
	PrintProblem string
	Lookup       LookupResult
	ErrCode      string // error screen
	Retry        Step   // error screen: where confirm goes
	InputErr     string // keypad: why the last value was refused, shown by the page
	// DocTyped is the document number as the citizen typed it, kept for
	// correction after a failed read; DocDerived says BAC.DocNumber was
	// derived from it (the last 9 digits of a 12-digit CCCD number).
	DocTyped   string
	DocDerived bool
	// ReadFailures counts failed reads of the flow's card: the second
	// sends the citizen to a counter instead of another retry.
	ReadFailures int
}

// New returns the idle state under policy.
func New(p Policy) State { return State{Step: StepIdle, Policy: p} }

// Wipe zeroes every personal field, keeping only the policy and card
// presence, and leaves the state idle.
func (s *State) Wipe() {
	keep := State{Step: StepIdle, Policy: s.Policy, IDPresent: s.IDPresent, SSPresent: s.SSPresent, Seq: s.Seq}
	for i := range s.Cards {
		s.Cards[i] = Card{}
	}
	*s = keep
}

// Operation is what the flow commits when confirmed.
func (s *State) Operation() Operation {
	switch s.Flow {
	case SuspendSettlement, ResumeSettlement:
		return Operation{
			Kind:       op.Kind(s.Flow),
			Subject:    Person{IDNumber: s.SS.SSN, Name: s.SS.Name},
			CardNumber: s.SS.CardNumber,
			Evidence:   Evidence{Method: "ss_card_pin"},
		}
	}
	o := Operation{Kind: op.ReportLoss, Evidence: Evidence{Method: "id_chip", OTP: s.OTPVerified, Offline: s.Offline}}
	if s.Proxy {
		o.Subject = Person{IDNumber: s.SubjectID}
		o.Agent = &Agent{IDNumber: s.Person.IDNumber, Name: s.Person.Name, Relationship: s.Relationship}
	} else {
		o.Subject = s.Person
	}
	if s.CardIndex >= 0 && s.CardIndex < len(s.Cards) {
		o.CardNumber = s.Cards[s.CardIndex].Number
	}
	return o
}

// SubjectIDNumber is the ID number of the cardholder the flow is about.
func (s *State) SubjectIDNumber() string {
	if s.Proxy {
		return s.SubjectID
	}
	return s.Person.IDNumber
}

// Next applies one intent. On error the returned state is s unchanged and no
// effect is returned.
func Next(s State, in Intent) (State, []Effect, error) {
	n := s
	effs, err := n.apply(in)
	if err != nil {
		return s, nil, err
	}
	return n, effs, nil
}

func (s *State) refuse(in Intent) error {
	return &RefusedError{Step: s.Step, Intent: in.Kind, Err: ErrRefused}
}

func (s *State) effect(e Effect) []Effect {
	s.Seq++
	e.Seq = s.Seq
	s.Awaiting = e.Kind
	return []Effect{e}
}

// goTo enters step and runs what entering it implies.
func (s *State) goTo(st Step) []Effect {
	s.Step = st
	s.Awaiting = ""
	s.InputErr = ""
	switch st {
	case StepPlaceID:
		if s.IDPresent {
			s.Step = StepReadingID
			return s.effect(Effect{Kind: ReadID, BAC: s.BAC})
		}
	case StepPlaceSS:
		if s.SSPresent {
			s.Step = StepReadingSS
			return s.effect(Effect{Kind: ReadSS})
		}
	}
	return nil
}

func (s *State) end() []Effect {
	s.Wipe()
	return []Effect{{Kind: EndSession}}
}

func (s *State) fail(code string, retry Step) []Effect {
	s.Step = StepError
	s.Awaiting = ""
	s.ErrCode = code
	s.Retry = retry
	return nil
}

// clearFlow forgets everything the current flow collected (going back to the
// menu within the same session).
func (s *State) clearFlow() {
	w := *s
	w.Wipe()
	w.Step = StepMenu
	*s = w
}

func (s *State) apply(in Intent) ([]Effect, error) {
	switch in.Kind {
	case CardInserted, CardRemoved:
		return s.cardEvent(in)
	case Timeout:
		if s.Step == StepIdle || s.Step == StepCommitting {
			return nil, s.refuse(in)
		}
		return s.end(), nil
	case Cancel:
		switch s.Step {
		case StepIdle:
			return nil, s.refuse(in)
		case StepCommitting:
			return nil, &RefusedError{Step: s.Step, Intent: in.Kind, Err: ErrBusy}
		}
		return s.end(), nil
	case Start:
		if s.Step != StepIdle && s.Step != StepMenu {
			return nil, s.refuse(in)
		}
		return s.start(in)
	case Back:
		return s.back(in)
	case Confirm:
		return s.confirm(in)
	case Input:
		return s.input(in)
	}
	return s.result(in)
}

func (s *State) start(in Intent) ([]Effect, error) {
	s.clearFlow()
	s.Flow = in.Flow
	switch in.Flow {
	case ReportLoss:
		return s.goTo(StepMode), nil
	case SuspendSettlement, ResumeSettlement:
		return s.goTo(StepPlaceSS), nil
	case Lookup:
		return s.goTo(StepVoucher), nil
	case Maintenance:
		return s.goTo(StepMaintenance), nil
	case "":
		// `start` without a flow opens the menu (the idle screen's button).
		s.Flow = ""
		return s.goTo(StepMenu), nil
	}
	return nil, &InputError{Field: "flow", Code: "unknown_flow"}
}

func (s *State) cardEvent(in Intent) ([]Effect, error) {
	present := in.Kind == CardInserted
	var inUse bool
	switch in.Slot {
	case hwbridge.SlotID:
		s.IDPresent = present
		inUse = s.Flow == ReportLoss && (s.HavePerson || s.Step == StepReadingID)
	case hwbridge.SlotSS:
		s.SSPresent = present
		inUse = (s.Flow == SuspendSettlement || s.Flow == ResumeSettlement) && (s.HaveSS || s.Step == StepReadingSS)
	default:
		return nil, &InputError{Field: "slot", Code: "unknown_slot"}
	}
	if present {
		switch {
		case s.Step == StepPlaceID && in.Slot == hwbridge.SlotID:
			return s.goTo(StepPlaceID), nil
		case s.Step == StepPlaceSS && in.Slot == hwbridge.SlotSS:
			return s.goTo(StepPlaceSS), nil
		}
		return nil, nil
	}
	// A card taken away mid-flow ends the session; the commit in flight and
	// the done screen (voucher still to be read) are left alone.
	if inUse && s.Step != StepCommitting && s.Step != StepDone {
		return s.end(), nil
	}
	return nil, nil
}

func (s *State) back(in Intent) ([]Effect, error) {
	switch s.Step {
	case StepIdle:
		return nil, s.refuse(in)
	case StepCommitting, StepPINVerify:
		return nil, &RefusedError{Step: s.Step, Intent: in.Kind, Err: ErrBusy}
	case StepMenu:
		return s.end(), nil
	case StepMode, StepPlaceSS, StepReadingSS, StepPIN, StepVoucher, StepMaintenance, StepDone, StepError:
		s.clearFlow()
		return nil, nil
	case StepDocNumber:
		return s.goTo(StepMode), nil
	case StepBirthDate:
		return s.goTo(StepDocNumber), nil
	case StepExpiryDate:
		return s.goTo(StepBirthDate), nil
	case StepPlaceID, StepReadingID:
		return s.goTo(StepExpiryDate), nil
	case StepSubjectID:
		s.forgetPerson()
		return s.goTo(StepExpiryDate), nil
	case StepRelationship:
		return s.goTo(StepSubjectID), nil
	case StepFetchCards, StepOTPRequest, StepOTP, StepOTPVerify:
		return s.goTo(s.beforeCentral()), nil
	case StepConfirm:
		switch s.Flow {
		case SuspendSettlement, ResumeSettlement:
			s.HaveSS, s.SS, s.TriesLeft = false, SSCard{}, 0
			return s.goTo(StepPlaceSS), nil
		}
		if s.OTPVerified {
			s.OTPVerified = false
			return s.goTo(StepOTP), nil
		}
		return s.goTo(s.beforeCentral()), nil
	case StepLookingUp, StepLookupResult:
		return s.goTo(StepVoucher), nil
	}
	return nil, s.refuse(in)
}

// beforeCentral is the last step the citizen typed something in before the
// central enrichment of report_loss.
func (s *State) beforeCentral() Step {
	s.Cards, s.CardIndex, s.Offline, s.OTPVerified, s.OTPTries, s.TriesLeft = nil, 0, false, false, 0, 0
	if s.Proxy {
		return StepRelationship
	}
	s.forgetPerson()
	return StepExpiryDate
}

func (s *State) forgetPerson() {
	s.Person, s.HavePerson = Person{}, false
}

func (s *State) confirm(in Intent) ([]Effect, error) {
	switch s.Step {
	case StepIdle:
		s.Step = StepMenu
		return nil, nil
	case StepConfirm:
		s.Step = StepCommitting
		return s.effect(Effect{Kind: Commit, Operation: s.Operation()}), nil
	case StepDone:
		return s.end(), nil
	case StepError:
		if s.Retry == "" {
			s.clearFlow()
			return nil, nil
		}
		r := s.Retry
		s.ErrCode, s.Retry = "", ""
		return s.goTo(r), nil
	case StepLookupResult:
		return s.end(), nil
	}
	return nil, s.refuse(in)
}

func (s *State) input(in Intent) ([]Effect, error) {
	want := map[Step]string{
		StepMode: FieldMode, StepDocNumber: FieldDocNumber, StepBirthDate: FieldBirthDate,
		StepExpiryDate: FieldExpiryDate, StepSubjectID: FieldSubjectID, StepRelationship: FieldRelationship,
		StepOTP: FieldOTP, StepPIN: FieldPIN, StepConfirm: FieldCard, StepVoucher: FieldVoucher,
	}[s.Step]
	if s.Step == StepDocNumber && in.Field == FieldMRZ {
		// A scanned MRZ gives the whole BAC key at once.
		key, err := ParseMRZ(in.Value)
		if err != nil {
			return nil, &InputError{Field: in.Field, Code: "invalid_mrz"}
		}
		s.BAC = key
		return s.goTo(StepPlaceID), nil
	}
	if s.Step == StepVoucher && in.Field == FieldReceipt {
		// A scanned receipt: the session checks its signed token and
		// looks up the voucher it carries.
		if in.Value == "" || len(in.Value) > MaxScan {
			return nil, &InputError{Field: in.Field, Code: "invalid_receipt"}
		}
		s.Voucher = ""
		s.Step = StepLookingUp
		return s.effect(Effect{Kind: LookupVoucher, Scan: in.Value}), nil
	}
	if want == "" || in.Field != want {
		return nil, s.refuse(in)
	}
	bad := func(code string) ([]Effect, error) { return nil, &InputError{Field: in.Field, Code: code} }
	v := in.Value
	switch s.Step {
	case StepMode:
		if !slices.Contains(Modes, v) {
			return bad("unknown_option")
		}
		s.Proxy = v == "proxy"
		return s.goTo(StepDocNumber), nil
	case StepDocNumber:
		d, derived, code := TypedDocNumber(v)
		if code != "" {
			return bad(code)
		}
		s.BAC.DocNumber, s.DocTyped, s.DocDerived = d, strings.ToUpper(strings.Join(strings.Fields(v), "")), derived
		return s.goTo(StepBirthDate), nil
	case StepBirthDate:
		if code := CheckYYMMDD(v); code != "" {
			return bad(code)
		}
		s.BAC.BirthDate = v
		return s.goTo(StepExpiryDate), nil
	case StepExpiryDate:
		if code := CheckYYMMDD(v); code != "" {
			return bad(code)
		}
		s.BAC.ExpiryDate = v
		return s.goTo(StepPlaceID), nil
	case StepSubjectID:
		id, code := CheckIDNumber(v)
		if code != "" {
			return bad(code)
		}
		if id == s.Person.IDNumber {
			return bad("subject_is_agent")
		}
		s.SubjectID = id
		return s.goTo(StepRelationship), nil
	case StepRelationship:
		if !slices.Contains(Relationships, v) {
			return bad("unknown_option")
		}
		s.Relationship = v
		return s.toCentral(), nil
	case StepOTP:
		if !isDigits(v, 4, 8) {
			return bad("invalid_otp")
		}
		s.Step = StepOTPVerify
		return s.effect(Effect{Kind: VerifyOTP, IDNumber: s.SubjectIDNumber(), Code: v}), nil
	case StepPIN:
		// 6 digits on MOHRSS cards; some issuers allow 4 to 8.
		if !isDigits(v, 4, 8) {
			return bad("invalid_pin")
		}
		s.Step = StepPINVerify
		return s.effect(Effect{Kind: VerifyPIN, PIN: v}), nil
	case StepConfirm:
		// The page shows masked numbers, so it answers with the card's index.
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 || i >= len(s.Cards) || strconv.Itoa(i) != v {
			return bad("unknown_card")
		}
		s.CardIndex = i
		return nil, nil
	case StepVoucher:
		check := s.Policy.CheckVoucher
		if check == nil {
			check = defaultVoucherCheck
		}
		norm, err := check(v)
		if err != nil {
			return bad("invalid_voucher")
		}
		s.Voucher = norm
		s.Step = StepLookingUp
		return s.effect(Effect{Kind: LookupVoucher, Voucher: norm}), nil
	}
	return nil, s.refuse(in)
}

func (s *State) toCentral() []Effect {
	s.Step = StepFetchCards
	return s.effect(Effect{Kind: FetchCards, IDNumber: s.SubjectIDNumber()})
}

// expects checks that a result answers the effect awaited now.
func (s *State) expects(in Intent, k EffectKind, steps ...Step) error {
	if s.Awaiting != k || in.Seq != s.Seq || !slices.Contains(steps, s.Step) {
		return s.refuse(in)
	}
	s.Awaiting = ""
	return nil
}

func (s *State) result(in Intent) ([]Effect, error) {
	switch in.Kind {
	case IDRead:
		if err := s.expects(in, ReadID, StepReadingID); err != nil {
			return nil, err
		}
		if errors.Is(in.Err, hwbridge.ErrNoCard) {
			// Taken out before the read began: ask for it again.
			s.IDPresent = false
			return s.goTo(StepPlaceID), nil
		}
		if in.Err != nil {
			s.ReadFailures++
			if errors.Is(in.Err, ErrCardUnreadable) || s.ReadFailures > maxReadFailures {
				return s.fail(CodeIDUnreadable, ""), nil
			}
			// The typed key is kept (DocTyped, BAC) for correction.
			return s.fail(CodeIDReadFailed, StepDocNumber), nil
		}
		s.Person, s.HavePerson = in.Person, true
		if s.Proxy {
			return s.goTo(StepSubjectID), nil
		}
		return s.toCentral(), nil
	case CardsFetched:
		if err := s.expects(in, FetchCards, StepFetchCards); err != nil {
			return nil, err
		}
		s.Cards, s.CardIndex = nil, 0
		if in.Err != nil {
			// Offline: the report is filed against the ID number.
			s.Offline = true
			return s.goTo(StepConfirm), nil
		}
		s.Cards = slices.Clone(in.Cards)
		for i, c := range s.Cards {
			if c.State == op.CardActive {
				s.CardIndex = i
				break
			}
		}
		if s.Policy.RequireOTP {
			s.Step = StepOTPRequest
			return s.effect(Effect{Kind: RequestOTP, IDNumber: s.SubjectIDNumber()}), nil
		}
		return s.goTo(StepConfirm), nil
	case OTPRequested:
		if err := s.expects(in, RequestOTP, StepOTPRequest); err != nil {
			return nil, err
		}
		if in.Err != nil {
			// Central went away between the two calls: carry on offline.
			s.Offline = true
			return s.goTo(StepConfirm), nil
		}
		return s.goTo(StepOTP), nil
	case OTPChecked:
		if err := s.expects(in, VerifyOTP, StepOTPVerify); err != nil {
			return nil, err
		}
		if in.Err != nil {
			return s.fail(CodeCentralOffline, StepOTP), nil
		}
		if !in.OTPOK {
			s.OTPTries++
			max := s.Policy.MaxOTPTries
			if max <= 0 {
				max = 3
			}
			if s.OTPTries >= max {
				return s.fail(CodeOTPFailed, ""), nil
			}
			s.goTo(StepOTP)
			s.TriesLeft = max - s.OTPTries
			s.InputErr = "wrong_otp"
			return nil, nil
		}
		s.OTPVerified, s.TriesLeft = true, 0
		return s.goTo(StepConfirm), nil
	case SSRead:
		if err := s.expects(in, ReadSS, StepReadingSS); err != nil {
			return nil, err
		}
		if errors.Is(in.Err, hwbridge.ErrNoCard) {
			s.SSPresent = false
			return s.goTo(StepPlaceSS), nil
		}
		if in.Err != nil {
			s.ReadFailures++
			if errors.Is(in.Err, ErrCardUnreadable) || s.ReadFailures > maxReadFailures {
				return s.fail(CodeSSUnreadable, ""), nil
			}
			return s.fail(CodeSSReadFailed, StepPlaceSS), nil
		}
		s.SS, s.HaveSS = in.SS, true
		return s.goTo(StepPIN), nil
	case PINChecked:
		if err := s.expects(in, VerifyPIN, StepPINVerify); err != nil {
			return nil, err
		}
		switch {
		case in.Err != nil:
			return s.fail(CodePINFailed, StepPIN), nil
		case in.PIN.Blocked:
			return s.fail(CodePINBlocked, ""), nil
		case !in.PIN.OK:
			s.goTo(StepPIN)
			s.TriesLeft = in.PIN.TriesLeft
			s.InputErr = "wrong_pin"
			return nil, nil
		}
		s.TriesLeft = 0
		return s.goTo(StepConfirm), nil
	case Committed:
		if err := s.expects(in, Commit, StepCommitting); err != nil {
			return nil, err
		}
		if in.Err != nil {
			return s.fail(CodeCommitFailed, StepConfirm), nil
		}
		s.Receipt, s.Voucher = in.Receipt, in.Receipt.Voucher
		s.Step = StepDone
		s.Printing = true
		return s.effect(Effect{Kind: Print, Operation: s.Operation(), Receipt: s.Receipt}), nil
	case Printed:
		if err := s.expects(in, Print, StepDone); err != nil {
			return nil, err
		}
		s.Printing = false
		s.PrintedOK, s.Preview, s.PrintProblem = in.PrintedOK && in.Err == nil, in.Preview, in.PrinterProblem
		if !s.PrintedOK && s.PrintProblem == "" {
			s.PrintProblem = "printer_error"
		}
		return nil, nil
	case LookedUp:
		if err := s.expects(in, LookupVoucher, StepLookingUp); err != nil {
			return nil, err
		}
		if in.Err != nil {
			return s.fail(CodeLookupFailed, StepVoucher), nil
		}
		s.Lookup = in.Lookup
		if sv := in.Lookup.Signed; sv != nil && sv.Voucher != "" {
			s.Voucher = sv.Voucher
		}
		s.Step = StepLookupResult
		return nil, nil
	}
	return nil, s.refuse(in)
}
