package daemon

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/card/emrtd"
	"github.com/kioskd/kioskd/hwbridge/card/sscard"
	"github.com/kioskd/kioskd/hwbridge/card/tlv"
	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/kiosk/flow"
	"github.com/kioskd/kioskd/kiosk/mgmt"
	"github.com/kioskd/kioskd/kiosk/op"
	"github.com/kioskd/kioskd/kiosk/receipt"
	"github.com/kioskd/kioskd/kiosk/session"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/store/voucher"
)

// The adapters below give the citizen session (kiosk/session) the
// terminal's parts in its own terms.

// sessionOutbox commits flows' operations to the store.
type sessionOutbox struct{ d *Daemon }

func (o sessionOutbox) Commit(ctx context.Context, fo flow.Operation) (flow.Receipt, error) {
	p := Personal{Subject: mustJSON(map[string]string{"id_number": fo.Subject.IDNumber, "name": fo.Subject.Name, "birth_date": fo.Subject.BirthDate})}
	if fo.CardNumber != "" {
		p.Card = mustJSON(map[string]string{"card_number": fo.CardNumber})
	}
	if fo.Agent != nil {
		p.Agent = mustJSON(map[string]string{"id_number": fo.Agent.IDNumber, "name": fo.Agent.Name, "relationship": fo.Agent.Relationship})
	}
	p.Evidence = mustJSON(fo.Evidence)
	stored, err := o.d.Commit(ctx, fo.Kind, p)
	if err != nil {
		return flow.Receipt{}, err
	}
	return flow.Receipt{Voucher: stored.Voucher, Key: stored.Key}, nil
}

func (o sessionOutbox) Lookup(ctx context.Context, v string) (flow.LookupResult, error) {
	stored, err := o.d.store.ByVoucher(v)
	if errors.Is(err, store.ErrNotFound) {
		return flow.LookupResult{}, session.ErrNotFound
	}
	if err != nil {
		return flow.LookupResult{}, err
	}
	return flow.LookupResult{
		Found: true, Kind: op.Kind(stored.Kind), State: op.OpStateOf(string(stored.State)), CreatedAt: stored.CreatedAt,
		CentralRef: stored.CentralRef, Reason: stored.RejectReason,
	}, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and flow structs reach here
	}
	return b
}

// identity reads cards in the readers.
type identity struct {
	readers readers
	cscas   []*x509.Certificate
	metrics *mgmt.Metrics
}

func (i identity) ReadID(ctx context.Context, k flow.BACKey) (p flow.Person, err error) {
	defer func() { i.metrics.CardRead("id", err) }()
	card, err := i.readers.Connect(ctx, hwbridge.SlotID)
	if err != nil {
		return flow.Person{}, err
	}
	defer card.Close()
	doc, err := emrtd.Read(ctx, card, emrtd.BACKey{DocumentNumber: k.DocNumber, BirthDate: k.BirthDate, ExpiryDate: k.ExpiryDate},
		emrtd.Options{CSCA: i.cscas})
	if err != nil {
		return flow.Person{}, unreadable(err)
	}
	h := doc.Holder()
	return flow.Person{IDNumber: h.IDNumber, Name: h.Name, BirthDate: h.BirthDate}, nil
}

// unreadable marks a card read's error that trying again cannot mend
// (flow.ErrCardUnreadable): what the chip holds fails passive
// authentication (no EF.SOD where it is required, a hash or a signature
// that does not match), the card is not of the expected kind, a field
// fails validation, or the card answers data that does not parse. A
// refused access key, a card taken away or a timeout may go better the
// next time and are left as they are.
func unreadable(err error) error {
	var field *sscard.FieldError
	var mrz *emrtd.MRZError
	switch {
	case errors.Is(err, emrtd.ErrPassiveAuth), errors.Is(err, emrtd.ErrNotEMRTD), errors.Is(err, sscard.ErrNotSSCard),
		errors.Is(err, sscard.ErrIDNumberCheck), errors.Is(err, tlv.ErrSyntax), errors.As(err, &field), errors.As(err, &mrz):
		return fmt.Errorf("%w: %w", flow.ErrCardUnreadable, err)
	}
	return err
}

func (i identity) ReadSS(ctx context.Context) (_ flow.SSCard, err error) {
	defer func() { i.metrics.CardRead("ss", err) }()
	card, err := i.readers.Connect(ctx, hwbridge.SlotSS)
	if err != nil {
		return flow.SSCard{}, err
	}
	defer card.Close()
	h, err := sscard.Read(ctx, card)
	if err != nil {
		return flow.SSCard{}, unreadable(err)
	}
	return flow.SSCard{CardNumber: h.CardNumber, SSN: h.SSN, Name: h.Name}, nil
}

func (i identity) VerifyPIN(ctx context.Context, pin string) (_ flow.PINResult, err error) {
	defer func() { i.metrics.CardRead("pin", err) }()
	card, err := i.readers.Connect(ctx, hwbridge.SlotSS)
	if err != nil {
		return flow.PINResult{}, err
	}
	defer card.Close()
	err = sscard.VerifyPIN(ctx, card, pin)
	var wrong *sscard.WrongPIN
	switch {
	case err == nil:
		return flow.PINResult{OK: true}, nil
	case errors.As(err, &wrong):
		return flow.PINResult{TriesLeft: wrong.TriesLeft}, nil
	case errors.Is(err, sscard.ErrPINBlocked):
		return flow.PINResult{Blocked: true}, nil
	}
	return flow.PINResult{}, err
}

// sessionCentral is the central client in the session's terms.
type sessionCentral struct{ c *central.Client }

func (c sessionCentral) PersonCards(ctx context.Context, id string) ([]flow.Card, error) {
	cards, err := c.c.PersonCards(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]flow.Card, len(cards))
	for i, pc := range cards {
		out[i] = flow.Card{Number: pc.CardNumber, State: op.CardStateFromCentral(pc.State)}
	}
	return out, nil
}

func (c sessionCentral) RequestOTP(ctx context.Context, id string) error {
	return c.c.RequestOTP(ctx, id)
}

func (c sessionCentral) VerifyOTP(ctx context.Context, id, code string) (bool, error) {
	return c.c.VerifyOTP(ctx, id, code)
}

func (c sessionCentral) Lookup(ctx context.Context, v string) (session.CentralState, error) {
	st, err := c.c.Voucher(ctx, v)
	if errors.Is(err, central.ErrUnknownVoucher) {
		return session.CentralState{}, session.ErrNotFound
	}
	if err != nil {
		return session.CentralState{}, err
	}
	return session.CentralState{State: op.OpStateOf(st.State), Ref: st.CentralRef}, nil
}

// sessionPrinter builds, prints and journals receipts.
type sessionPrinter struct {
	d    *Daemon
	lang string // the terminal's default language, for reprints of receipts journaled without one
	cfg  receipt.Config
	opt  escpos.Options
}

func (p sessionPrinter) PrintReceipt(ctx context.Context, r session.ReceiptData) (bool, string, error) {
	data := receipt.Data{
		Kind: r.Kind, Lang: r.Lang, Voucher: r.Voucher,
		Name: r.Name, IDNumber: r.IDNumber, CardNumber: r.CardNumber,
		Proxy: r.Proxy, AgentName: r.AgentName, AgentIDNumber: r.AgentIDNumber, Time: r.Time,
	}
	data.Token = p.d.token(data)
	doc := receipt.Build(data, p.cfg)
	body, err := escpos.Encode(doc, p.opt)
	if err != nil {
		return false, "", fmt.Errorf("encode receipt: %w", err)
	}
	preview := escpos.PlainText(doc, p.opt.Paper)
	if err := receipt.PrintAndJournal(ctx, p.d.dev.printer, receipt.StoreJournal{Store: p.d.store}, receipt.JournalEntry{Voucher: r.Voucher, Lang: r.Lang, Body: body}); err != nil {
		p.d.metrics.Receipt(false)
		return false, preview, err
	}
	p.d.metrics.Receipt(true)
	return true, preview, nil
}

// reprint prints a copy of a journaled receipt, marked as a copy, in the
// language it was first printed in. It is rebuilt from the stored
// operation; once the operation's personal data is purged it can no longer
// be rebuilt.
func (p sessionPrinter) reprint(ctx context.Context, v string) error {
	stored, err := p.d.store.ByVoucher(v)
	if err != nil {
		return fmt.Errorf("reprint %s: %w", v, err)
	}
	if stored.Purged || stored.Personal == nil {
		return fmt.Errorf("reprint %s: the operation's personal data is purged; the receipt cannot be rebuilt", voucher.Format(stored.Voucher))
	}
	var per struct {
		Subject, Card, Agent map[string]string
	}
	if err := json.Unmarshal(stored.Personal, &per); err != nil {
		return fmt.Errorf("reprint %s: stored operation: %w", voucher.Format(stored.Voucher), err)
	}
	err = receipt.Reprint(ctx, p.d.dev.printer, receipt.StoreJournal{Store: p.d.store}, stored.Voucher, func(e receipt.JournalEntry) ([]byte, error) {
		lang := e.Lang
		if lang == "" {
			lang = p.lang
		}
		data := receipt.Data{
			Kind: op.Kind(stored.Kind), Lang: lang, Voucher: voucher.Format(stored.Voucher),
			Name: per.Subject["name"], IDNumber: per.Subject["id_number"], CardNumber: per.Card["card_number"],
			Proxy: per.Agent != nil, AgentName: per.Agent["name"], AgentIDNumber: per.Agent["id_number"],
			Time: stored.CreatedAt, Copy: true,
		}
		data.Token = p.d.token(data)
		doc := receipt.Build(data, p.cfg)
		return escpos.Encode(doc, p.opt)
	})
	p.d.metrics.Receipt(err == nil)
	return err
}
