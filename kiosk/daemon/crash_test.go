package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/scripts/rig"
)

// crashRequest is one enqueue the crash test sent. Its subject carries a
// nonce of its own, so the operation it became at central is found by the
// subject's digest (central-sim records it, not the subject).
type crashRequest struct {
	nonce  string
	kind   string
	digest string // central.SubjectDigest of the subject sent
	// key and voucher are what kioskd answered with 201; empty when the
	// request went unanswered (kioskd killed first).
	key, voucher string
	// appliedAs is the idempotency key of the operation central applied
	// for this request, once found.
	appliedAs string
}

var crashKinds = []string{"report_loss", "suspend_settlement", "resume_settlement"}

// TestCrashNeverLosesAnAcceptedOperation is the promise of the outbox,
// tested on processes: kioskd is SIGKILLed at random moments, a quarter of
// them during its start-up, while callers enqueue continuously and the
// drainer delivers to a central-sim that also drops answers. Every request
// carries a unique nonce in its subject. After the last restart every
// operation central applied must map to exactly one request, with that
// request's kind and subject; every request answered 201 must have reached
// central exactly once under the key and voucher it was answered with; and
// no repeat submission may differ from the first.
func TestCrashNeverLosesAnAcceptedOperation(t *testing.T) {
	bin(t)
	kills := 200
	if s := os.Getenv("CRASH_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CRASH_KILLS=%q is not a positive number", s)
		}
		kills = n
	}
	if testing.Short() {
		kills = 10
	}
	sim := start(t, simReady, "central-sim", "--listen", "127.0.0.1:0", "--drop-rate", "0.05")
	dir := t.TempDir()
	cfg := writeConfig(t, dir, sim.URL, "")

	var (
		mu       sync.Mutex
		requests = map[string]*crashRequest{} // subject digest → request
		accepted = map[string]*crashRequest{} // idempotency key → request answered 201
	)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	startup := 150 * time.Millisecond // how long a start takes; measured below
	startupKills, runs := 0, 0
	for i := 0; i < kills; i++ {
		if i%4 == 3 {
			// Kill during start-up: while the store opens, checks and
			// recovers, and the drainer sends its first batch.
			killDuringStartup(t, rng, startup, cfg)
			startupKills++
			continue
		}
		t0 := time.Now()
		d, err := rig.Start(kioskdBin, daemonReady, "run", "--config", cfg)
		if err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
		startup = (3*startup + time.Since(t0)) / 4
		runs++
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		firstAccepted := make(chan struct{}) // closed at this run's first 201
		var acceptedOnce sync.Once
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ctx.Err() == nil; n++ {
					r := &crashRequest{nonce: fmt.Sprintf("%d.%d.%d", i, w, n), kind: crashKinds[(w+n)%len(crashKinds)]}
					subject, _ := json.Marshal(map[string]string{"name": "CRASH TEST", "id_number": fmt.Sprintf("4242%06d", n), "nonce": r.nonce})
					r.digest = central.SubjectDigest(subject)
					mu.Lock()
					requests[r.digest] = r
					mu.Unlock()
					var got struct {
						Key     string `json:"idempotency_key"`
						Voucher string `json:"voucher"`
					}
					body := map[string]any{"kind": r.kind, "subject": json.RawMessage(subject)}
					code, err := postJSON(ctx, d.URL+"/v1/sim/operations", body, &got)
					if err != nil {
						return // killed mid-request: unanswered
					}
					if code != 201 || got.Key == "" || got.Voucher == "" {
						t.Errorf("enqueue answered %d without a key and voucher", code)
						return
					}
					mu.Lock()
					r.key, r.voucher = got.Key, got.Voucher
					if prev, dup := accepted[got.Key]; dup {
						t.Errorf("idempotency key %s handed out twice (requests %s and %s)", got.Key, prev.nonce, r.nonce)
					}
					accepted[got.Key] = r
					mu.Unlock()
					acceptedOnce.Do(func() { close(firstAccepted) })
				}
			}()
		}
		// Kill at a random moment within 120 ms of the run's first
		// accepted enqueue: sometimes right after it, sometimes after more
		// work, and on a loaded machine, where one enqueue takes longer
		// than the window, still among accepted operations (the kills
		// during start-up cover the time before ready). The drainer is
		// delivering all along.
		select {
		case <-firstAccepted:
		case <-time.After(10 * time.Second):
		}
		time.Sleep(time.Duration(rng.IntN(120)) * time.Millisecond)
		d.Kill()
		stop()
		wg.Wait()
	}

	// A last, peaceful run delivers what is left.
	d := start(t, daemonReady, "run", "--config", cfg)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st struct {
			Queue struct{ Pending, Rejected int }
		}
		if err := getJSON(context.Background(), d.URL+"/v1/status", &st); err != nil {
			t.Fatal(err)
		}
		if st.Queue.Rejected > 0 {
			t.Fatalf("%d operations rejected by central", st.Queue.Rejected)
		}
		if st.Queue.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d operations still pending after 60 s", st.Queue.Pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var applied []central.AppliedOp
	if err := getJSON(context.Background(), sim.URL+"/_sim/operations", &applied); err != nil {
		t.Fatal(err)
	}
	problems := 0
	report := func(format string, args ...any) {
		if problems++; problems <= 20 {
			t.Errorf(format, args...)
		}
	}
	vouchers := map[string]string{} // voucher → key
	duplicates := 0
	for _, a := range applied {
		duplicates += a.Submissions - 1
		if a.Count != 1 {
			report("operation %s applied %d times", a.Key, a.Count)
		}
		if a.Conflicts != 0 {
			report("operation %s was submitted again %d times with another voucher, kind or subject", a.Key, a.Conflicts)
		}
		if k, dup := vouchers[a.Voucher]; dup {
			report("voucher %s used by two operations at central, %s and %s", a.Voucher, k, a.Key)
		}
		vouchers[a.Voucher] = a.Key
		r := requests[a.SubjectSHA256]
		if r == nil {
			report("central applied operation %s (voucher %s, %s) whose subject no request sent: kioskd invented it", a.Key, a.Voucher, a.Kind)
			continue
		}
		if r.appliedAs != "" {
			report("request %s reached central as two operations, %s and %s: kioskd invented one", r.nonce, r.appliedAs, a.Key)
			continue
		}
		r.appliedAs = a.Key
		if a.Kind != r.kind {
			report("request %s asked for %s; central applied %s as %s", r.nonce, r.kind, a.Key, a.Kind)
		}
		if r.key != "" && (a.Key != r.key || a.Voucher != r.voucher) {
			report("request %s was accepted as %s voucher %s; central applied it as %s voucher %s", r.nonce, r.key, r.voucher, a.Key, a.Voucher)
		}
	}
	lost := 0
	for key, r := range accepted {
		if r.appliedAs == "" {
			lost++
			report("accepted operation %s (voucher %s, request %s) never reached central", key, r.voucher, r.nonce)
		}
	}
	if problems > 20 {
		t.Errorf("... and %d more problems", problems-20)
	}
	t.Logf("%d kills (%d during start-up), %d enqueues asked, %d accepted, %d applied at central, %d duplicate submissions, %d lost",
		kills, startupKills, len(requests), len(accepted), len(applied), duplicates, lost)
	if len(accepted) < runs {
		t.Errorf("only %d operations accepted over %d runs: the test did not exercise the outbox", len(accepted), runs)
	}
}

// killDuringStartup starts `kioskd run` and SIGKILLs it at a random moment
// within a usual start-up time, without waiting for it to be ready.
func killDuringStartup(t *testing.T, rng *rand.Rand, startup time.Duration, cfg string) {
	t.Helper()
	cmd := exec.Command(kioskdBin, "run", "--config", cfg)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kioskd: %v", err)
	}
	time.Sleep(time.Duration(rng.Int64N(int64(startup) + 1)))
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}
