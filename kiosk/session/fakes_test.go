package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/op"
	"github.com/kioskd/kioskd/kiosk/receipt"
	"github.com/kioskd/kioskd/store/voucher"
)

// In-memory fakes of the session's interfaces. The daemon's end-to-end
// tests run the same flows against the real store, simulators and
// central-sim.

// Test subjects: made up, with correct check characters.
var (
	holder   = Person{IDNumber: "110101199003071233", Name: "张三丰", BirthDate: "19900307"}
	holderVN = Person{IDNumber: "001090012345", Name: "NGUYEN VAN AN", BirthDate: "19900307"}
	agent    = Person{IDNumber: "110101195001010017", Name: "李四光"}
	ssCard   = SSCard{CardNumber: "A12345678", SSN: holder.IDNumber, Name: holder.Name}
	bacOK    = BACKey{DocNumber: "012345678", BirthDate: "900307", ExpiryDate: "300101"}
	bacAgent = BACKey{DocNumber: "C0000001", BirthDate: "500101", ExpiryDate: "350101"}
)

type fakeOutbox struct {
	mu   sync.Mutex
	ops  []Operation
	vals map[string]LookupResult
	fail error
	seq  uint64
}

func (o *fakeOutbox) Commit(ctx context.Context, op Operation) (Receipt, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return Receipt{}, o.fail
	}
	o.seq++
	v := voucher.New(4711, o.seq)
	o.ops = append(o.ops, op)
	if o.vals == nil {
		o.vals = map[string]LookupResult{}
	}
	o.vals[v] = LookupResult{Found: true, Kind: op.Kind, State: "pending", CreatedAt: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	return Receipt{Voucher: v, Key: fmt.Sprintf("key-%d", o.seq)}, nil
}

func (o *fakeOutbox) Lookup(ctx context.Context, v string) (LookupResult, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.vals[v]
	if !ok {
		return LookupResult{}, ErrNotFound
	}
	return r, nil
}

func (o *fakeOutbox) committed() []Operation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Operation(nil), o.ops...)
}

func (o *fakeOutbox) lastVoucher() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return voucher.New(4711, o.seq)
}

// fakeIdentity answers like the cards would: the ID chip opens only with its
// BAC key; the SS card counts wrong PINs and blocks after three.
type fakeIdentity struct {
	mu        sync.Mutex
	people    map[BACKey]Person
	ss        SSCard
	pin       string
	triesLeft int
	block     chan struct{} // if set, ReadSS waits for it
}

func newIdentity() *fakeIdentity {
	return &fakeIdentity{
		people:    map[BACKey]Person{bacOK: holder, bacAgent: agent},
		ss:        ssCard,
		pin:       "924681",
		triesLeft: 3,
	}
}

var errBAC = errors.New("mutual authentication failed")

func (f *fakeIdentity) ReadID(ctx context.Context, key BACKey) (Person, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.people[key]
	if !ok {
		return Person{}, errBAC
	}
	return p, nil
}

func (f *fakeIdentity) ReadSS(ctx context.Context) (SSCard, error) {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return SSCard{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ss, nil
}

func (f *fakeIdentity) VerifyPIN(ctx context.Context, pin string) (PINResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.triesLeft == 0 {
		return PINResult{Blocked: true}, nil
	}
	if pin == f.pin {
		f.triesLeft = 3
		return PINResult{OK: true}, nil
	}
	f.triesLeft--
	if f.triesLeft == 0 {
		return PINResult{Blocked: true}, nil
	}
	return PINResult{TriesLeft: f.triesLeft}, nil
}

type fakeCentral struct {
	mu      sync.Mutex
	offline bool
	cards   map[string][]Card
	otp     string
	otpSent []string
}

var errUnreachable = errors.New("dial tcp: connection refused")

func (c *fakeCentral) down() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.offline {
		return errUnreachable
	}
	return nil
}

func (c *fakeCentral) PersonCards(ctx context.Context, id string) ([]Card, error) {
	if err := c.down(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cards[id], nil
}

func (c *fakeCentral) RequestOTP(ctx context.Context, id string) error {
	if err := c.down(); err != nil {
		return err
	}
	c.mu.Lock()
	c.otpSent = append(c.otpSent, id)
	c.mu.Unlock()
	return nil
}

func (c *fakeCentral) VerifyOTP(ctx context.Context, id, code string) (bool, error) {
	if err := c.down(); err != nil {
		return false, err
	}
	return code == c.otp, nil
}

func (c *fakeCentral) Lookup(ctx context.Context, v string) (CentralState, error) {
	if err := c.down(); err != nil {
		return CentralState{}, err
	}
	return CentralState{State: "acknowledged", Ref: "C-1"}, nil
}

type fakePrinter struct {
	mu       sync.Mutex
	paperOut bool
	printed  []ReceiptData
}

// receiptConfig is the embedded default's receipt: the fake printer's
// preview is the receipt the daemon would print.
var receiptConfig = config.Default().ReceiptConfig()

func (p *fakePrinter) PrintReceipt(ctx context.Context, r ReceiptData) (bool, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	preview := escpos.PlainText(receipt.Build(receipt.Data{Kind: op.Kind(r.Kind), Lang: r.Lang, Voucher: r.Voucher,
		Name: r.Name, IDNumber: r.IDNumber, CardNumber: r.CardNumber, Proxy: r.Proxy, AgentName: r.AgentName,
		AgentIDNumber: r.AgentIDNumber, Time: r.Time}, receiptConfig), 0)
	if p.paperOut {
		return false, preview, nil
	}
	p.printed = append(p.printed, r)
	return true, preview, nil
}

func (p *fakePrinter) receipts() []ReceiptData {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ReceiptData(nil), p.printed...)
}

type fakeDevices struct {
	ch    chan DeviceEvent
	acted func() // tells the test's page an input was made, or nil
}

func (d *fakeDevices) Events() <-chan DeviceEvent { return d.ch }

func (d *fakeDevices) insert(s hwbridge.Slot) {
	if d.acted != nil {
		d.acted()
	}
	d.ch <- DeviceEvent{Kind: hwbridge.CardInserted, Slot: s}
}
func (d *fakeDevices) remove(s hwbridge.Slot) {
	if d.acted != nil {
		d.acted()
	}
	d.ch <- DeviceEvent{Kind: hwbridge.CardRemoved, Slot: s}
}

// fakeClock moves only when told; Advance delivers a tick.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	tick chan time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), tick: make(chan time.Time)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Ticker(time.Duration) (<-chan time.Time, func()) { return c.tick, func() {} }

// Advance moves time and waits until the session has taken the tick.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	c.mu.Unlock()
	c.tick <- now
}
