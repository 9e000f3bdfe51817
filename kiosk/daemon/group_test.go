package daemon

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/ui/uitest"
)

// TestStopNamesHungParts: a part that does not return when the daemon
// stops is named in the log until it does; parts that stopped are not.
func TestStopNamesHungParts(t *testing.T) {
	var logs uitest.LockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	var g group
	release := make(chan struct{})
	g.run(ctx, cancel, "card readers", func(ctx context.Context) error {
		<-ctx.Done()
		<-release
		return nil
	})
	g.run(ctx, cancel, "printer", func(ctx context.Context) error {
		<-ctx.Done()
		return nil
	})
	g.run(ctx, cancel, "heartbeat", func(context.Context) error { return errors.New("central unreachable") })
	waited := make(chan error, 1)
	go func() { waited <- g.wait(log, 20*time.Millisecond) }()
	// The printer returns at once; the readers are named until released.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), `msg="still stopping" parts="[card readers]"`); {
		if time.Now().After(deadline) {
			t.Fatalf("no log line naming only the hung part:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	err := <-waited
	if err == nil || err.Error() != "heartbeat: central unreachable" {
		t.Errorf("wait = %v, want the failed part named with its error", err)
	}
	if ctx.Err() == nil {
		t.Error("a part failing did not stop the others")
	}
}
