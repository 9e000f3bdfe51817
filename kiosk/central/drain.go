package central

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Queued is one pending outbox entry as the drainer sees it.
type Queued struct {
	Seq         uint64
	Op          Operation
	Attempts    int
	NextAttempt time.Time
}

// Outbox is the durable queue the drainer delivers. The application
// implements it over the store.
type Outbox interface {
	// Pending returns at most limit pending entries with Seq > afterSeq, in
	// Seq (enqueue) order.
	Pending(afterSeq uint64, limit int) ([]Queued, error)
	// Acknowledge marks entries acknowledged with central's references, in
	// one durable write: the drainer hands over a page's worth at a time,
	// so delivery is not held to one fsync per operation. An entry whose
	// acknowledgement is lost in a crash is sent again and central answers
	// it with the first answer.
	Acknowledge(acks []Acked) error
	// Reject marks the entry permanently rejected with central's reason.
	Reject(key, code, reason string) error
	// RecordAttempt records a failed delivery and when it is due again.
	RecordAttempt(key, lastErr string, next time.Time) error
	// Enqueued signals new entries. It is called before each pass over the
	// outbox, so either a long-lived channel with a buffer of one, or a
	// channel closed and replaced on each enqueue, works.
	Enqueued() <-chan struct{}
}

// Acked is one acknowledgement from central, to be recorded in the outbox.
type Acked struct {
	Key, CentralRef string
}

// Submitter delivers one operation; *Client is one.
type Submitter interface {
	Submit(ctx context.Context, op Operation) (Ack, error)
}

// Clock is the drainer's time source; tests pass a simulated one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Outcome is what became of one delivery attempt.
type Outcome string

const (
	Acknowledged Outcome = "acknowledged"
	Rejected     Outcome = "rejected"
	Retry        Outcome = "retry" // transient failure: will be retried
)

// Result describes one delivery attempt, for metrics. It holds no
// personal data.
type Result struct {
	Key, Voucher, Kind string
	Outcome            Outcome
	Err                error // nil when acknowledged
	Attempt            int   // 1 for the first attempt of this entry
	Latency            time.Duration
}

// DrainConfig configures a Drainer. Zero values take the defaults.
type DrainConfig struct {
	PageSize   int           // entries read at once; bounds memory (default 256)
	MinBackoff time.Duration // first backoff after a transient failure (default 1 s)
	MaxBackoff time.Duration // backoff cap (default 5 min)
	Clock      Clock         // nil = real time
	Rand       func() float64
	Log        *slog.Logger
	OnResult   func(Result) // called after each attempt; may be nil
}

// Defaults of DrainConfig.
const (
	DefaultPageSize   = 256
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
)

// DrainStatus is what the technician and /v1/status see of the link.
type DrainStatus struct {
	Online    bool          // the last attempt reached central and got an answer
	LastError string        // the last transient failure, "" after a success
	Backoff   time.Duration // the current wait before the next retry, 0 when none
	LastAckAt time.Time     // when central last acknowledged an entry
}

// Drainer delivers the outbox to central in enqueue order: one entry at a
// time, never one before an earlier one is acknowledged or rejected. A
// transient failure of the head stops the pass; the head is retried after a
// backoff of rand·min(MaxBackoff, MinBackoff·2^(n-1)) for the n-th
// consecutive failure since central last answered (full jitter), so a
// flaky central slows a long backlog only by short waits; a 429 or 503 that
// asks for a longer wait with Retry-After gets it, up to MaxBackoff.
// Rejections are recorded and the drain continues. It wakes at once on enqueue when healthy, and on Kick always.
type Drainer struct {
	o    Outbox
	s    Submitter
	cfg  DrainConfig
	kick chan struct{}

	// Owned by the Run goroutine: consecutive failures and the wait
	// chosen after the last one.
	failures int
	nextWait time.Duration
	acked    []Acked // acknowledged by central, not yet recorded

	mu     sync.Mutex
	status DrainStatus
}

// NewDrainer builds a drainer; it starts nothing until Run.
func NewDrainer(o Outbox, s Submitter, cfg DrainConfig) *Drainer {
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Drainer{o: o, s: s, cfg: cfg, kick: make(chan struct{}, 1)}
}

// Kick makes the drainer retry at once, even while backing off (the
// technician's "retry now").
func (d *Drainer) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Status returns the link's current state.
func (d *Drainer) Status() DrainStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}

// Backoff returns the n-th (n ≥ 1) backoff before jitter:
// min(max, min·2^(n-1)).
func Backoff(n int, min, max time.Duration) time.Duration {
	b := min
	for i := 1; i < n && b < max; i++ {
		b *= 2
	}
	if b > max || b <= 0 {
		b = max
	}
	return b
}

// passResult says how a pass over the outbox ended.
type passResult int

const (
	passDone    passResult = iota // nothing pending any more
	passFailed                    // transient failure (central or outbox): back off
	passNotYet                    // the head is not due yet (after a restart)
	passStopped                   // ctx done
)

// Run drains until ctx is done, then returns nil. It never exits on a
// delivery or outbox error: it logs it and backs off. Call it once; it
// starts no goroutine of its own.
func (d *Drainer) Run(ctx context.Context) error {
	force := false // true when woken by Kick or backoff expiry: ignore NextAttempt
	// closed is an Enqueued channel seen closed; if the outbox hands it out
	// again it is left out of the wait, or the drainer would spin on it.
	var closed <-chan struct{}
	for {
		if ctx.Err() != nil {
			return nil
		}
		enq := d.o.Enqueued()
		if enq == closed {
			enq = nil
		}
		res, due := d.pass(ctx, force)
		force = false
		var wait <-chan time.Time
		switch res {
		case passStopped:
			return nil
		case passDone:
			d.failures = 0
			d.setBackoff(0)
		case passNotYet:
			w := due.Sub(d.cfg.Clock.Now())
			if w > d.cfg.MaxBackoff {
				w = d.cfg.MaxBackoff
			}
			d.setBackoff(w)
			wait = d.cfg.Clock.After(w)
			enq = nil
		case passFailed:
			d.setBackoff(d.nextWait)
			wait = d.cfg.Clock.After(d.nextWait)
			// While backing off, an enqueue must not cause a retry: only
			// Kick or the end of the backoff do.
			enq = nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.kick:
			force = true
		case <-wait:
			force = true
		case _, ok := <-enq:
			if !ok {
				closed = enq
			}
		}
	}
}

// failed counts a failure and chooses the wait before the next attempt.
func (d *Drainer) failed() time.Duration {
	d.failures++
	d.nextWait = d.backoff(d.failures)
	return d.nextWait
}

// retryWait counts a failed delivery and chooses the wait before the next
// attempt: the backoff, or longer when central's 429 or 503 asked for more
// with Retry-After, capped by MaxBackoff.
func (d *Drainer) retryWait(err error) time.Duration {
	w := d.failed()
	var se *ServerError
	if errors.As(err, &se) && se.RetryAfter > w {
		w = min(se.RetryAfter, d.cfg.MaxBackoff)
		d.nextWait = w
	}
	return w
}

// backoff returns the jittered wait after the n-th consecutive failure.
func (d *Drainer) backoff(n int) time.Duration {
	r := d.cfg.Rand()
	if r < 0 || r >= 1 || r != r {
		r = 0.5 // a broken Rand must not disable or blow up the backoff
	}
	return time.Duration(r * float64(Backoff(n, d.cfg.MinBackoff, d.cfg.MaxBackoff)))
}

// pass delivers pending entries page by page until none is left, the head
// fails transiently, or ctx is done. Unless force is set, a head whose
// NextAttempt lies in the future is not sent (after a restart the previous
// backoff is kept); the time it is due is returned.
func (d *Drainer) pass(ctx context.Context, force bool) (passResult, time.Time) {
	res, due := d.deliverPages(ctx, force)
	if !d.flush() && res != passStopped {
		return passFailed, time.Time{}
	}
	return res, due
}

func (d *Drainer) deliverPages(ctx context.Context, force bool) (passResult, time.Time) {
	var after uint64
	first := true
	for {
		page, err := d.o.Pending(after, d.cfg.PageSize)
		if err != nil {
			d.cfg.Log.Error("outbox: read pending", "err", err)
			d.setError("outbox: " + err.Error())
			d.failed()
			return passFailed, time.Time{}
		}
		if len(page) > d.cfg.PageSize {
			page = page[:d.cfg.PageSize]
		}
		for _, q := range page {
			if first {
				first = false
				if !force && q.NextAttempt.After(d.cfg.Clock.Now()) {
					return passNotYet, q.NextAttempt
				}
			}
			if !d.deliver(ctx, q) {
				if ctx.Err() != nil {
					return passStopped, time.Time{}
				}
				return passFailed, time.Time{}
			}
			after = q.Seq
		}
		if !d.flush() {
			return passFailed, time.Time{}
		}
		if len(page) < d.cfg.PageSize {
			return passDone, time.Time{}
		}
	}
}

// flush records the acknowledgements gathered so far; false means the
// outbox failed (the entries stay pending and are sent again later).
func (d *Drainer) flush() bool {
	if len(d.acked) == 0 {
		return true
	}
	err := d.o.Acknowledge(d.acked)
	n := len(d.acked)
	d.acked = d.acked[:0]
	if err != nil {
		d.cfg.Log.Error("outbox: record acknowledgements", "operations", n, "err", err)
		d.setError("outbox: " + err.Error())
		d.failed()
		return false
	}
	d.failures = 0
	d.mu.Lock()
	d.status.Online, d.status.LastError, d.status.LastAckAt = true, "", d.cfg.Clock.Now()
	d.mu.Unlock()
	return true
}

// deliver submits one entry and records the outcome; false means stop the
// pass (transient failure, outbox failure or ctx done).
func (d *Drainer) deliver(ctx context.Context, q Queued) bool {
	op := q.Op
	log := d.cfg.Log.With("key", op.IdempotencyKey, "voucher", op.Voucher, "kind", op.Kind)
	start := d.cfg.Clock.Now()
	ack, err := d.s.Submit(ctx, op)
	res := Result{Key: op.IdempotencyKey, Voucher: op.Voucher, Kind: op.Kind, Err: err,
		Attempt: q.Attempts + 1, Latency: d.cfg.Clock.Now().Sub(start)}
	if err != nil && ctx.Err() != nil {
		// Shutting down: the attempt was cut short by us, not by central.
		return false
	}
	var rej *Rejection
	switch {
	case err == nil:
		res.Outcome = Acknowledged
		d.report(res)
		// Recorded with the rest of the page by flush.
		d.acked = append(d.acked, Acked{Key: op.IdempotencyKey, CentralRef: ack.CentralRef})
		d.failures = 0
		log.Debug("central acknowledged", "central_ref", ack.CentralRef)
		return true
	case errors.As(err, &rej):
		res.Outcome = Rejected
		d.report(res)
		reason := rej.Message
		if reason == "" {
			reason = rej.Error()
		}
		if err := d.o.Reject(op.IdempotencyKey, rej.Code, reason); err != nil {
			log.Error("outbox: record rejection", "err", err)
			d.setError("outbox: " + err.Error())
			d.failed()
			return false
		}
		d.failures = 0
		d.mu.Lock()
		d.status.Online, d.status.LastError = true, ""
		d.mu.Unlock()
		// The message may echo request data; log the code only.
		log.Warn("central rejected operation", "status", rej.Status, "code", rej.Code)
		return true
	default:
		res.Outcome = Retry
		d.report(res)
		// Recorded so that a restart keeps the backoff instead of
		// hammering central.
		next := d.cfg.Clock.Now().Add(d.retryWait(err))
		if err := d.o.RecordAttempt(op.IdempotencyKey, err.Error(), next); err != nil {
			log.Error("outbox: record attempt", "err", err)
		}
		d.mu.Lock()
		d.status.Online, d.status.LastError = false, err.Error()
		d.mu.Unlock()
		log.Warn("central delivery failed, will retry", "attempt", q.Attempts+1, "err", err)
		return false
	}
}

func (d *Drainer) report(r Result) {
	if d.cfg.OnResult != nil {
		d.cfg.OnResult(r)
	}
}

func (d *Drainer) setError(msg string) {
	d.mu.Lock()
	d.status.LastError = msg
	d.mu.Unlock()
}

func (d *Drainer) setBackoff(w time.Duration) {
	d.mu.Lock()
	d.status.Backoff = w
	d.mu.Unlock()
}
