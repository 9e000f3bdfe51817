package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/kioskd/kioskd/kiosk/netlimit"
)

// stopGrace is how long a stop may take before the log names the parts
// still running, and again every stopGrace after: a terminal that hangs on
// stop says where.
const stopGrace = 5 * time.Second

// group runs the daemon's named parts; the first to fail cancels the rest.
type group struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error
	running map[string]int // parts by name, while they run
}

func (g *group) run(ctx context.Context, cancel context.CancelFunc, name string, f func(context.Context) error) {
	g.mu.Lock()
	if g.running == nil {
		g.running = map[string]int{}
	}
	g.running[name]++
	g.mu.Unlock()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		err := f(ctx)
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.running[name]--; g.running[name] == 0 {
			delete(g.running, name)
		}
		if err != nil && ctx.Err() == nil {
			if g.err == nil {
				g.err = fmt.Errorf("%s: %w", name, err)
			}
			cancel()
		}
	}()
}

// serve runs an HTTP server with lim's header size and timeouts on l (the
// caller bounds its connections with lim.Listener) as two parts: serving,
// and shutting down when ctx ends (requests get 3 s to finish).
func (g *group) serve(ctx context.Context, cancel context.CancelFunc, name string, l net.Listener, h http.Handler, lim netlimit.Limits) {
	srv := lim.Server(h)
	g.run(ctx, cancel, name, func(ctx context.Context) error {
		<-ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), 3*time.Second)
		defer c()
		return srv.Shutdown(sctx)
	})
	g.run(ctx, cancel, name, func(context.Context) error {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve %s: %w", l.Addr(), err)
		}
		return nil
	})
}

// wait returns the first part's error once every part has returned. While
// parts are still running grace after wait began, and every grace after,
// it logs their names.
func (g *group) wait(log *slog.Logger, grace time.Duration) error {
	start := time.Now()
	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(done)
	}()
	t := time.NewTicker(grace)
	defer t.Stop()
	for {
		select {
		case <-done:
			return g.err
		case <-t.C:
			g.mu.Lock()
			names := slices.Sorted(maps.Keys(g.running))
			g.mu.Unlock()
			log.Warn("still stopping", "parts", names, "waited", time.Since(start).Round(time.Second))
		}
	}
}
