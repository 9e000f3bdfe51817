package daemon_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scripts/rig"
)

// TestCrashNeverLosesAnAcceptedOperation is the promise of the outbox,
// tested on processes: kioskd is SIGKILLed at random moments while callers
// enqueue continuously and the drainer delivers to a central-sim that also
// drops answers; after the last restart every operation whose enqueue
// returned must be applied at central exactly once, and central must hold
// no operation beyond those that were asked for.
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
		accepted = map[string]string{} // idempotency key → voucher, enqueue returned 201
		asked    int                   // enqueue requests sent, answered or not
	)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	for i := 0; i < kills; i++ {
		d, err := rig.Start(kioskdBin, daemonReady, "run", "--config", cfg)
		if err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ctx.Err() == nil; n++ {
					mu.Lock()
					asked++
					mu.Unlock()
					var got struct{ IdempotencyKey, Voucher string }
					body := map[string]any{"kind": "report_loss", "subject": map[string]string{"name": "CRASH TEST", "id_number": fmt.Sprintf("4242%06d", n)}}
					code, err := postJSON(ctx, d.URL+"/v1/sim/operations", body, &struct {
						Key     *string `json:"idempotency_key"`
						Voucher *string `json:"voucher"`
					}{&got.IdempotencyKey, &got.Voucher})
					if err != nil {
						return // killed mid-request: unanswered
					}
					if code != 201 || got.IdempotencyKey == "" {
						t.Errorf("enqueue answered %d without a key", code)
						return
					}
					mu.Lock()
					if _, dup := accepted[got.IdempotencyKey]; dup {
						t.Errorf("idempotency key %s handed out twice", got.IdempotencyKey)
					}
					accepted[got.IdempotencyKey] = got.Voucher
					mu.Unlock()
				}
			}()
		}
		// Kill at a random moment: sometimes right away, sometimes after
		// some work; the drainer is delivering all along.
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
	var applied []struct {
		Key     string `json:"idempotency_key"`
		Voucher string `json:"voucher"`
		Count   int    `json:"count"`
	}
	if err := getJSON(context.Background(), sim.URL+"/_sim/operations", &applied); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	vouchers := map[string]bool{}
	for _, a := range applied {
		if a.Count != 1 {
			t.Errorf("operation %s applied %d times", a.Key, a.Count)
		}
		if seen[a.Key] {
			t.Errorf("operation %s listed twice", a.Key)
		}
		seen[a.Key] = true
		if vouchers[a.Voucher] {
			t.Errorf("voucher %s used by two operations", a.Voucher)
		}
		vouchers[a.Voucher] = true
	}
	lost := 0
	for key, v := range accepted {
		if !seen[key] {
			lost++
			t.Errorf("accepted operation %s (voucher %s) never reached central", key, v)
		}
	}
	unanswered := asked - len(accepted)
	if extra := len(applied) - len(accepted); extra > unanswered {
		t.Errorf("central holds %d operations beyond the %d accepted, but only %d enqueues went unanswered: some were invented",
			extra, len(accepted), unanswered)
	}
	t.Logf("%d kills, %d enqueues asked, %d accepted, %d applied at central, %d lost", kills, asked, len(accepted), len(applied), lost)
	if len(accepted) < kills {
		t.Errorf("only %d operations accepted over %d runs: the test did not exercise the outbox", len(accepted), kills)
	}
}
