package flow

import (
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/kiosk/op"
)

// Kind names a flow as the page's `start {flow}` message does
// (ui/PROTOCOL.md): one per operation kind (package kiosk/op), and lookup
// and maintenance, which file nothing.
type Kind string

const (
	ReportLoss             = Kind(op.ReportLoss)
	SuspendSettlement      = Kind(op.SuspendSettlement)
	ResumeSettlement       = Kind(op.ResumeSettlement)
	Lookup            Kind = "lookup"
	Maintenance       Kind = "maintenance"
)

// Screen is the name of a screen the page renders (ui/PROTOCOL.md).
type Screen string

const (
	ScreenIdle              Screen = "idle"
	ScreenMenu              Screen = "menu"
	ScreenIdentify          Screen = "identify"
	ScreenKeypad            Screen = "keypad"
	ScreenConfirm           Screen = "confirm"
	ScreenWorking           Screen = "working"
	ScreenDone              Screen = "done"
	ScreenError             Screen = "error"
	ScreenLookupResult      Screen = "lookup_result"
	ScreenMaintenanceLocked Screen = "maintenance_locked"
)

// Fields the page sends with `input {field, value}`.
const (
	FieldMode         = "mode"         // report_loss: "self" or "proxy"
	FieldDocNumber    = "doc_number"   // ID card document number (BAC)
	FieldMRZ          = "mrz"          // scanned MRZ instead of the three BAC fields
	FieldBirthDate    = "birth_date"   // YYMMDD (BAC)
	FieldExpiryDate   = "expiry_date"  // YYMMDD (BAC)
	FieldSubjectID    = "subject_id"   // proxy: the cardholder's ID number
	FieldRelationship = "relationship" // proxy: agent's relation to the cardholder
	FieldOTP          = "otp"          // code texted to the registered phone
	FieldPIN          = "pin"          // social security card PIN
	FieldCard         = "card"         // which of the person's cards to report: its index
	FieldVoucher      = "voucher"      // lookup
	FieldReceipt      = "receipt"      // lookup: a scanned receipt (its QR's text) instead of the typed voucher
)

// MaxScan bounds a scanned receipt's text (a lookup URL and its token).
const MaxScan = 1024

// Report modes and the relationships a proxy may declare.
var (
	Modes         = []string{"self", "proxy"}
	Relationships = []string{"spouse", "parent", "child", "sibling", "relative", "other"}
	// Flows is the main menu, in display order.
	Flows = []Kind{ReportLoss, SuspendSettlement, ResumeSettlement, Lookup}
)

// BACKey is what Basic Access Control needs from the printed ID card: the
// document number and the birth and expiry dates as YYMMDD.
type BACKey struct {
	DocNumber  string
	BirthDate  string
	ExpiryDate string
}

// Person is what the national ID card chip says about its holder.
type Person struct {
	IDNumber  string
	Name      string
	BirthDate string // YYYYMMDD
}

// SSCard is what the social security card says about itself and its holder.
type SSCard struct {
	CardNumber string
	SSN        string // the holder's resident ID number
	Name       string
}

// Card is one of a person's cards as the central system knows it.
type Card struct {
	Number string
	State  op.CardState
}

// PINResult is the card's answer to a PIN: right, wrong with TriesLeft, or
// blocked.
type PINResult struct {
	OK        bool
	TriesLeft int
	Blocked   bool
}

// Agent is the person filing a proxy report on the cardholder's behalf.
type Agent struct {
	IDNumber     string
	Name         string
	Relationship string
}

// Evidence says how the citizen proved who they are.
type Evidence struct {
	Method  string // "id_chip" or "ss_card_pin"
	OTP     bool   // an OTP sent to the registered phone was verified
	Offline bool   // central was not reachable while identifying
}

// Operation is what a flow asks to commit to the outbox.
type Operation struct {
	Kind       op.Kind
	Subject    Person // the cardholder (IDNumber, Name)
	CardNumber string // empty when the report is filed against the ID number
	Agent      *Agent // set for a proxy report
	Evidence   Evidence
}

// Receipt is what the outbox answers once the operation is durably stored.
type Receipt struct {
	Voucher string
	Key     string // idempotency key
}

// LookupResult is a voucher's operation as the outbox and central know it.
type LookupResult struct {
	Found      bool
	Kind       op.Kind
	State      op.OpState // in the outbox
	CreatedAt  time.Time
	CentralRef string
	Reason     string // central's rejection reason
	// Central is the state at central; empty when central was not reachable.
	Central op.OpState
	// Signed is set when the lookup started from a scanned receipt: what
	// its signed token says and whether the signature holds.
	Signed *SignedVoucher
}

// SignedVoucher is the outcome of checking a scanned receipt's signed token
// (package kiosk/vouchertoken): the facts it carries, masked as printed,
// and whether they are proven.
type SignedVoucher struct {
	Valid bool
	// Problem names why not, for the page: "malformed", "unknown_key",
	// "wrong_kiosk", "bad_signature", "other_voucher".
	Problem    string
	KioskID    string
	KeyID      string
	Voucher    string // digits; empty when the token could not be read
	Kind       op.Kind
	Created    time.Time
	Name       string
	IDNumber   string
	CardNumber string
}

// Policy is the part of the configuration the flows obey.
type Policy struct {
	// RequireOTP asks for an OTP to the registered phone in report_loss when
	// central is reachable.
	RequireOTP bool
	// CheckVoucher validates a typed voucher (check character) and returns
	// it normalised; nil accepts 4 to 26 characters of 0-9 and A-Z, spaces
	// and dashes dropped. store/voucher.Normalize fits.
	CheckVoucher func(string) (string, error)
	// MaxOTPTries is how many wrong OTPs end the flow; 0 means 3.
	MaxOTPTries int
}

// IntentKind says what happened: something the page sent, a device event, or
// the result of an Effect.
type IntentKind string

const (
	// From the page.
	Start   IntentKind = "start"
	Input   IntentKind = "input"
	Confirm IntentKind = "confirm"
	Back    IntentKind = "back"
	Cancel  IntentKind = "cancel"
	// From devices and the session.
	CardInserted IntentKind = "card_inserted"
	CardRemoved  IntentKind = "card_removed"
	Timeout      IntentKind = "timeout"
	// Results of effects; each carries the Seq of its Effect.
	IDRead       IntentKind = "id_read"
	SSRead       IntentKind = "ss_read"
	PINChecked   IntentKind = "pin_checked"
	CardsFetched IntentKind = "cards_fetched"
	OTPRequested IntentKind = "otp_requested"
	OTPChecked   IntentKind = "otp_checked"
	Committed    IntentKind = "committed"
	Printed      IntentKind = "printed"
	LookedUp     IntentKind = "looked_up"
)

// Intent is one input to Step. Only the fields of its Kind are read.
type Intent struct {
	Kind  IntentKind
	Flow  Kind          // Start
	Field string        // Input
	Value string        // Input
	Slot  hwbridge.Slot // CardInserted, CardRemoved

	Seq     uint64 // results: the Seq of the Effect answered
	Err     error  // results: the I/O failed (Person, Cards … unset)
	Person  Person
	SS      SSCard
	PIN     PINResult
	Cards   []Card
	OTPOK   bool
	Receipt Receipt
	// Printed: whether paper came out, a text preview, and the printer's
	// problem ("paper_out", …) when it did not.
	PrintedOK      bool
	Preview        string
	PrinterProblem string
	Lookup         LookupResult
}

// EffectKind names the I/O an Effect asks for.
type EffectKind string

const (
	ReadID        EffectKind = "read_id"     // BAC
	ReadSS        EffectKind = "read_ss"     //
	VerifyPIN     EffectKind = "verify_pin"  // PIN
	FetchCards    EffectKind = "fetch_cards" // IDNumber
	RequestOTP    EffectKind = "request_otp" // IDNumber
	VerifyOTP     EffectKind = "verify_otp"  // IDNumber, Code
	Commit        EffectKind = "commit"      // Operation
	Print         EffectKind = "print"       // Operation, Receipt
	LookupVoucher EffectKind = "lookup"      // Voucher
	EndSession    EffectKind = "end_session" // wipe personal data, session over
)

// Effect is I/O the caller must run; its result comes back as an Intent with
// the same Seq. EndSession has no result.
type Effect struct {
	Kind      EffectKind
	Seq       uint64
	BAC       BACKey
	PIN       string
	IDNumber  string
	Code      string
	Operation Operation
	Receipt   Receipt
	Voucher   string
	Scan      string // LookupVoucher from a scanned receipt: what the scanner typed
}
