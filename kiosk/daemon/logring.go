package daemon

import (
	"log/slog"
	"strings"
	"sync"
	"time"
)

// logRingSize is how many recent records the maintenance menu shows.
const logRingSize = 200

// logRing keeps the last log lines for the maintenance menu's log screen:
// an io.Writer under a slog.TextHandler, one record a Write. Logs carry no
// personal data by design (STYLE.md 10), so showing them to a technician
// is safe.
type logRing struct {
	mu   sync.Mutex
	buf  []string
	next int
	full bool
}

// Write keeps one line (a TextHandler writes each record at once).
func (r *logRing) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buf == nil {
		r.buf = make([]string, logRingSize)
	}
	r.buf[r.next] = line
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
	return len(p), nil
}

// lines returns the kept lines, newest first.
func (r *logRing) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	for i := 1; i <= n; i++ {
		out = append(out, r.buf[(r.next-i+len(r.buf))%len(r.buf)])
	}
	return out
}

// withLogRing returns log also writing its records at Info and above, as
// text with the time of day, into a new ring for the maintenance menu.
func withLogRing(log *slog.Logger) (*slog.Logger, *logRing) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ring := &logRing{}
	text := slog.NewTextHandler(ring, &slog.HandlerOptions{
		Level: slog.LevelInfo,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
				a.Value = slog.StringValue(a.Value.Time().Format(time.TimeOnly))
			}
			return a
		},
	})
	return slog.New(slog.NewMultiHandler(log.Handler(), text)), ring
}
