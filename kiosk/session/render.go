package session

import (
	"slices"
	"strconv"

	"github.com/kioskd/kioskd/kiosk/flow"
	"github.com/kioskd/kioskd/kiosk/mask"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui"
)

// Screen data is the contract between this file and ui/static/app.js. Every
// text is a catalogue key (ui/static/i18n); values are data, masked where
// ui/PROTOCOL.md says. Nothing here decides what comes next: the flow does.

type cardChoice struct {
	Number   string `json:"number"` // masked
	State    string `json:"state"`
	Selected bool   `json:"selected"`
	Index    string `json:"index"`
}

// keypad layouts and limits per field.
var keypads = map[string]struct {
	keys   string
	max    int
	secret bool
}{
	flow.FieldDocNumber:  {"mrz", 22, false},
	flow.FieldBirthDate:  {"digits", 6, false},
	flow.FieldExpiryDate: {"digits", 6, false},
	flow.FieldSubjectID:  {"digits_x", 18, false},
	flow.FieldOTP:        {"digits", 8, false},
	flow.FieldPIN:        {"digits", 8, true},
	flow.FieldVoucher:    {"digits", voucher.MaxLen, false},
}

var keypadField = map[flow.Step]string{
	flow.StepDocNumber: flow.FieldDocNumber, flow.StepBirthDate: flow.FieldBirthDate,
	flow.StepExpiryDate: flow.FieldExpiryDate, flow.StepSubjectID: flow.FieldSubjectID,
	flow.StepOTP: flow.FieldOTP, flow.StepPIN: flow.FieldPIN, flow.StepVoucher: flow.FieldVoucher,
}

var workingStage = map[flow.Step]string{
	flow.StepReadingID: "reading_id", flow.StepReadingSS: "reading_ss", flow.StepPINVerify: "checking_pin",
	flow.StepFetchCards: "central", flow.StepOTPRequest: "otp_request", flow.StepOTPVerify: "otp_verify",
	flow.StepCommitting: "saving", flow.StepLookingUp: "lookup",
}

func (s *Session) screen() ui.Screen {
	st := &s.state
	name := string(st.Step.Screen())
	d := map[string]any{"lang": s.lang}
	sc := ui.Screen{Name: name, Data: d, Session: s.id}
	if s.inMaintenance() {
		return ui.Screen{Name: s.menu.View(d, s.clock.Now()), Data: d, Session: s.id}
	}
	d["nav"] = navButtons(st.Step)
	if n, of := progress(st); of > 1 {
		d["progress"] = map[string]int{"n": n, "of": of}
	}
	switch st.Step {
	case flow.StepIdle, flow.StepMaintenance:
	case flow.StepMenu:
		d["title"] = "menu.title"
		var opts []ui.Option
		for _, f := range flow.Flows {
			opts = append(opts, ui.Option{Value: string(f), Label: "menu." + string(f)})
		}
		d["options"] = opts
	case flow.StepMode:
		d["title"], d["field"] = "menu.mode.title", flow.FieldMode
		d["options"] = options(flow.Modes, "option.")
	case flow.StepRelationship:
		d["title"], d["field"] = "menu.relationship.title", flow.FieldRelationship
		d["options"] = options(flow.Relationships, "rel.")
	case flow.StepPlaceID:
		d["slot"] = "id"
	case flow.StepPlaceSS:
		d["slot"] = "ss"
	case flow.StepConfirm:
		s.confirmData(d)
	case flow.StepDone:
		s.doneData(d)
	case flow.StepError:
		d["code"] = st.ErrCode
		d["retry"] = st.Retry != ""
		if st.ErrCode == flow.CodeIDUnreadable || st.ErrCode == flow.CodeSSUnreadable {
			d["counter"] = true // to a counter, with the hotline: no retry
		}
	case flow.StepLookupResult:
		lookupData(d, st)
	default:
		if f, ok := keypadField[st.Step]; ok {
			k := keypads[f]
			d["field"], d["keys"], d["max"], d["secret"] = f, k.keys, k.max, k.secret
			if v := kept(st, f); v != "" {
				d["value"] = v
			}
			if st.DocDerived && (st.Step == flow.StepBirthDate || st.Step == flow.StepDocNumber) {
				d["derived"] = st.BAC.DocNumber
			}
			if st.InputErr != "" {
				d["error"] = st.InputErr
			}
			if st.TriesLeft > 0 {
				d["tries_left"] = st.TriesLeft
			}
		} else if stage, ok := workingStage[st.Step]; ok {
			d["stage"] = stage
		}
	}
	return sc
}

// navButtons are the page's Back and Cancel where they mean something:
// none on the idle and done screens (the done screen has one Finish) or
// while the operation is being saved; no Back on the menu (it would mean
// Cancel) or while the card checks the PIN; no Cancel on a lookup's result
// (Finish ends it).
func navButtons(st flow.Step) []string {
	switch st {
	case flow.StepIdle, flow.StepDone, flow.StepCommitting:
		return []string{}
	case flow.StepMenu, flow.StepPINVerify:
		return []string{"cancel"}
	case flow.StepLookupResult:
		return []string{"back"}
	}
	return []string{"back", "cancel"}
}

// stages are the citizen's steps of each flow, for the step indicator
// ("Step 2 of 4"): what the citizen does, each with the machine's steps
// that belong to it.
var stages = map[flow.Kind][][]flow.Step{
	flow.ReportLoss: {
		{flow.StepMode},
		{flow.StepDocNumber, flow.StepBirthDate, flow.StepExpiryDate},
		{flow.StepPlaceID, flow.StepReadingID, flow.StepFetchCards, flow.StepOTPRequest, flow.StepOTP, flow.StepOTPVerify},
		{flow.StepConfirm, flow.StepCommitting},
	},
	flow.SuspendSettlement: {
		{flow.StepPlaceSS, flow.StepReadingSS},
		{flow.StepPIN, flow.StepPINVerify},
		{flow.StepConfirm, flow.StepCommitting},
	},
}

// proxyStages are report_loss's for a proxy: the cardholder's details
// come after the agent's ID card.
var proxyStages = [][]flow.Step{
	{flow.StepMode},
	{flow.StepDocNumber, flow.StepBirthDate, flow.StepExpiryDate},
	{flow.StepPlaceID, flow.StepReadingID},
	{flow.StepSubjectID, flow.StepRelationship, flow.StepFetchCards, flow.StepOTPRequest, flow.StepOTP, flow.StepOTPVerify},
	{flow.StepConfirm, flow.StepCommitting},
}

// progress is the step indicator's step n of of; of is 0 outside a
// flow's steps.
func progress(st *flow.State) (n, of int) {
	list := stages[st.Flow]
	switch {
	case st.Flow == flow.ResumeSettlement:
		list = stages[flow.SuspendSettlement]
	case st.Flow == flow.ReportLoss && st.Proxy:
		list = proxyStages
	}
	for i, steps := range list {
		if slices.Contains(steps, st.Step) {
			return i + 1, len(list)
		}
	}
	return 0, 0
}

// kept is what the citizen typed into field before, shown again for
// correction (after a failed read, or going back): the ID card's access
// key and the cardholder's ID number; never a PIN or a code.
func kept(st *flow.State, field string) string {
	switch field {
	case flow.FieldDocNumber:
		return st.DocTyped
	case flow.FieldBirthDate:
		return st.BAC.BirthDate
	case flow.FieldExpiryDate:
		return st.BAC.ExpiryDate
	case flow.FieldSubjectID:
		return st.SubjectID
	}
	return ""
}

func options(values []string, prefix string) []ui.Option {
	out := make([]ui.Option, 0, len(values))
	for _, v := range values {
		out = append(out, ui.Option{Value: v, Label: prefix + v})
	}
	return out
}

// confirmData is the screen where the citizen checks before committing: the
// name is shown in full so they can recognise themselves, numbers masked.
func (s *Session) confirmData(d map[string]any) {
	st := &s.state
	d["title"] = "confirm.title." + string(st.Flow)
	op := st.Operation()
	var rows []ui.Row
	var notes []string
	switch st.Flow {
	case flow.SuspendSettlement, flow.ResumeSettlement:
		rows = append(rows,
			ui.Row{Label: "row.name", Value: st.SS.Name},
			ui.Row{Label: "row.id_number", Value: mask.Number(st.SS.SSN)},
			ui.Row{Label: "row.card", Value: mask.Number(st.SS.CardNumber)})
		// What will happen, before the citizen touches Confirm.
		if st.Flow == flow.SuspendSettlement {
			notes = append(notes, "note.suspend", "note.suspend_resume")
		} else {
			notes = append(notes, "note.resume")
		}
	default:
		if st.Proxy {
			rows = append(rows,
				ui.Row{Label: "row.agent", Value: st.Person.Name},
				ui.Row{Label: "row.relationship", Value: "rel." + st.Relationship, T: true},
				ui.Row{Label: "row.subject_id", Value: mask.Number(st.SubjectID)})
			notes = append(notes, "note.proxy")
		} else {
			rows = append(rows,
				ui.Row{Label: "row.name", Value: st.Person.Name},
				ui.Row{Label: "row.id_number", Value: mask.Number(st.Person.IDNumber)})
		}
		if op.CardNumber != "" {
			rows = append(rows, ui.Row{Label: "row.card", Value: mask.Number(op.CardNumber)})
		} else {
			rows = append(rows, ui.Row{Label: "row.card", Value: "confirm.no_card", T: true})
		}
		if len(st.Cards) > 1 {
			var cs []cardChoice
			for i, c := range st.Cards {
				cs = append(cs, cardChoice{Number: mask.Number(c.Number), State: string(c.State), Selected: i == st.CardIndex, Index: strconv.Itoa(i)})
			}
			d["cards"] = cs
		}
		// What will happen, before the citizen touches Confirm: settlement
		// stops within the hour; the formal report and the new card are
		// still to be done at an outlet.
		notes = append(notes, "note.promise", "note.then")
		if st.Offline {
			notes = append(notes, "note.offline")
		}
	}
	d["flow"] = string(st.Flow)
	d["rows"] = rows
	d["notes"] = notes
}

// doneData is after confirmation: everything personal is masked.
func (s *Session) doneData(d map[string]any) {
	st := &s.state
	op := st.Operation()
	d["title"] = "done.title." + string(st.Flow)
	d["flow"] = string(st.Flow)
	d["voucher"] = voucher.Format(st.Voucher)
	var rows []ui.Row
	if op.Agent != nil {
		rows = append(rows, ui.Row{Label: "row.agent", Value: mask.Name(op.Agent.Name)})
		rows = append(rows, ui.Row{Label: "row.subject_id", Value: mask.Number(op.Subject.IDNumber)})
	} else {
		rows = append(rows, ui.Row{Label: "row.name", Value: mask.Name(op.Subject.Name)})
		rows = append(rows, ui.Row{Label: "row.id_number", Value: mask.Number(op.Subject.IDNumber)})
	}
	if op.CardNumber != "" {
		rows = append(rows, ui.Row{Label: "row.card", Value: mask.Number(op.CardNumber)})
	}
	d["rows"] = rows
	d["steps"] = nextSteps(st.Flow, op.Agent != nil)
	d["printing"] = st.Printing
	d["printed"] = st.PrintedOK
	if !st.Printing && !st.PrintedOK {
		d["printer_problem"] = st.PrintProblem
	}
	if st.Preview != "" {
		d["preview"] = st.Preview
	}
}

// nextSteps are the done screen's numbered list: what happened and what
// the citizen does next, in order (catalogue keys).
func nextSteps(f flow.Kind, proxy bool) []string {
	switch f {
	case flow.SuspendSettlement:
		return []string{"step.suspended", "step.resume_how"}
	case flow.ResumeSettlement:
		return []string{"step.resumed", "step.resume_meaning"}
	}
	if proxy {
		return []string{"step.stopped", "step.outlet_proxy", "step.collect", "step.hotline"}
	}
	return []string{"step.stopped", "step.outlet", "step.collect", "step.hotline"}
}

func lookupData(d map[string]any, st *flow.State) {
	r := st.Lookup
	d["found"] = r.Found
	d["voucher"] = voucher.Format(st.Voucher)
	var rows []ui.Row
	if sv := r.Signed; sv != nil {
		// A scanned receipt: what its token proves, masked as printed.
		sig := map[string]any{"valid": sv.Valid, "problem": sv.Problem, "kiosk": sv.KioskID}
		if !sv.Created.IsZero() {
			sig["at"] = sv.Created.Local().Format("2006-01-02 15:04")
		}
		d["signature"] = sig
		if sv.Valid {
			for _, f := range []struct{ label, v string }{{"row.name", sv.Name}, {"row.id_number", sv.IDNumber}, {"row.card", sv.CardNumber}} {
				if f.v != "" {
					rows = append(rows, ui.Row{Label: f.label, Value: f.v})
				}
			}
		}
	}
	if !r.Found {
		if rows != nil {
			d["rows"] = rows
		}
		return
	}
	if r.Kind != "" {
		rows = append(rows, ui.Row{Label: "row.kind", Value: "kind." + string(r.Kind), T: true})
	}
	if r.State != "" {
		rows = append(rows, ui.Row{Label: "row.state", Value: "state." + string(r.State), T: true})
	}
	if r.Central != "" {
		rows = append(rows, ui.Row{Label: "row.central", Value: "state." + string(r.Central), T: true})
	} else {
		rows = append(rows, ui.Row{Label: "row.central", Value: "central.offline", T: true})
	}
	if !r.CreatedAt.IsZero() {
		rows = append(rows, ui.Row{Label: "row.created_at", Value: r.CreatedAt.Local().Format("2006-01-02 15:04")})
	}
	d["rows"] = rows
}

// receiptData builds the masked receipt for a Print effect.
func (s *Session) receiptData(e flow.Effect) ReceiptData {
	op := e.Operation
	r := ReceiptData{
		Kind:       op.Kind,
		Voucher:    voucher.Format(e.Receipt.Voucher),
		Key:        e.Receipt.Key,
		Time:       s.clock.Now(),
		KioskID:    s.cfg.KioskID,
		Lang:       s.lang,
		Name:       mask.Name(op.Subject.Name),
		IDNumber:   mask.Number(op.Subject.IDNumber),
		CardNumber: mask.Number(op.CardNumber),
		Offline:    op.Evidence.Offline,
	}
	if op.Agent != nil {
		r.Proxy = true
		r.AgentName = mask.Name(op.Agent.Name)
		r.AgentIDNumber = mask.Number(op.Agent.IDNumber)
		r.Relationship = op.Agent.Relationship
	}
	return r
}
