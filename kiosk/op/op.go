// Package op defines the domain's words once: the kinds of operation a
// citizen files (Kind), the states of a card (CardState) and of an
// operation (OpState) as the terminal shows them, and the single mapping
// from the central system's vocabulary into them.
//
// The words are those of the contracts: a Kind is the `kind` of
// POST /v1/operations, of the outbox and of the page's `start {flow}`; a
// CardState and an OpState are what the page turns into text
// (`card.state.*`, `state.*`). It holds no logic beyond naming and
// mapping; the flows are in kiosk/flow.
package op

// Kind is an operation a citizen files: the `kind` sent to central, kept in
// the outbox and printed on the receipt.
type Kind string

const (
	// ReportLoss is the pre-loss report: central suspends the card's
	// settlement until the formal report at an outlet.
	ReportLoss Kind = "report_loss"
	// SuspendSettlement freezes a card its holder still has.
	SuspendSettlement Kind = "suspend_settlement"
	// ResumeSettlement lifts a pre-loss report or a suspension.
	ResumeSettlement Kind = "resume_settlement"
)

// Kinds returns every operation kind, in the main menu's order.
func Kinds() []Kind { return []Kind{ReportLoss, SuspendSettlement, ResumeSettlement} }

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	switch k {
	case ReportLoss, SuspendSettlement, ResumeSettlement:
		return true
	}
	return false
}

// CardState is a card's settlement state as the citizen is shown it.
type CardState string

const (
	CardActive    CardState = "active"
	CardSuspended CardState = "suspended"
	CardLost      CardState = "lost"
	// CardUnknown is any word of central's that is none of the above.
	CardUnknown CardState = "unknown"
)

// Central's words for a card's state (POST /v1/persons/cards), as
// central-sim says them after an operation is applied to the card.
const (
	centralCardActive       = "active"
	centralCardSuspended    = "suspended"
	centralCardLossReported = "loss_reported"
	centralCardLost         = "lost"
)

// CardStateFromCentral reads central's word for a card's state. A card
// reported lost ("loss_reported", or "lost" once the formal report is
// done) is lost; a word it does not know is CardUnknown.
func CardStateFromCentral(word string) CardState {
	switch word {
	case centralCardActive:
		return CardActive
	case centralCardSuspended:
		return CardSuspended
	case centralCardLossReported, centralCardLost:
		return CardLost
	}
	return CardUnknown
}

// CentralCardState is central's word for a card's state once an operation
// of kind k is applied to it: what central-sim reports afterwards.
func (k Kind) CentralCardState() string {
	switch k {
	case ReportLoss:
		return centralCardLossReported
	case SuspendSettlement:
		return centralCardSuspended
	case ResumeSettlement:
		return centralCardActive
	}
	return ""
}

// OpState is an operation's state as the lookup screen shows it.
type OpState string

const (
	// Pending: stored on the terminal (or received by central), not yet
	// acknowledged.
	Pending OpState = "pending"
	// Acknowledged: central has taken the operation.
	Acknowledged OpState = "acknowledged"
	// Rejected: central refused it for good.
	Rejected OpState = "rejected"
	// StateUnknown is any other word (the outbox's "damaged", or a word
	// of central's this terminal does not know).
	StateUnknown OpState = "unknown"
)

// OpStateOf reads an operation's state in the outbox's words (store.State)
// or central's: central says "accepted" or "applied" for an operation it
// has taken, and "received" or "processing" for one it has not finished.
// An empty word stays empty: nobody said.
func OpStateOf(word string) OpState {
	switch word {
	case "":
		return ""
	case "accepted", "applied", "acknowledged":
		return Acknowledged
	case "received", "processing", "pending":
		return Pending
	case "rejected":
		return Rejected
	}
	return StateUnknown
}
