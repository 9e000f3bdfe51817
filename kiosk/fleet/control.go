package fleet

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Handler is the fleet's control API (loopback only, for tests and demos):
//
//	GET  /fleet/terminals           [{index, kiosk_id, site, mgmt, running}]
//	GET  /fleet/operations          {committed: [{kiosk_id, idempotency_key, kind}], failed}
//	GET  /fleet/backlog             {pending, last_ack_at}
//	GET  /fleet/stats               {terminals, running, rss_bytes, goroutines}
//	POST /fleet/terminals/{i}/stop
//	POST /fleet/terminals/{i}/printer/{state}
//	POST /fleet/terminals/{i}/citizen/{kind}    201 {idempotency_key}
//	PUT  /fleet/load/{on|off}
func (f *Fleet) Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /fleet/terminals", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, f.Terminals()) })
	m.HandleFunc("GET /fleet/operations", func(w http.ResponseWriter, r *http.Request) {
		c, failed := f.Committed()
		writeJSON(w, http.StatusOK, map[string]any{"committed": c, "failed": failed})
	})
	m.HandleFunc("GET /fleet/backlog", func(w http.ResponseWriter, r *http.Request) {
		b, err := f.Backlog(r.Context())
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, b)
	})
	m.HandleFunc("GET /fleet/stats", func(w http.ResponseWriter, r *http.Request) {
		running := 0
		for _, t := range f.Terminals() {
			if t.Running {
				running++
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"terminals": len(f.terms), "running": running, "rss_bytes": RSS(), "goroutines": runtime.NumGoroutine()})
	})
	m.HandleFunc("POST /fleet/terminals/{i}/stop", f.withIndex(func(w http.ResponseWriter, r *http.Request, i int) error {
		return f.Stop(i)
	}))
	m.HandleFunc("POST /fleet/terminals/{i}/printer/{state}", f.withIndex(func(w http.ResponseWriter, r *http.Request, i int) error {
		return f.Printer(i, r.PathValue("state"))
	}))
	m.HandleFunc("POST /fleet/terminals/{i}/citizen/{kind}", func(w http.ResponseWriter, r *http.Request) {
		i, err := f.index(r)
		if err == nil {
			var key string
			if key, err = f.Citizen(r.Context(), i, r.PathValue("kind")); err == nil {
				writeJSON(w, http.StatusCreated, map[string]string{"idempotency_key": key})
				return
			}
		}
		writeError(w, http.StatusBadRequest, err)
	})
	m.HandleFunc("PUT /fleet/load/{on}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("on") {
		case "on", "off":
			f.SetLoad(r.PathValue("on") == "on")
			w.WriteHeader(http.StatusNoContent)
		default:
			writeError(w, http.StatusBadRequest, fmt.Errorf("load is \"on\" or \"off\", not %q", r.PathValue("on")))
		}
	})
	return m
}

func (f *Fleet) index(r *http.Request) (int, error) {
	i, err := strconv.Atoi(r.PathValue("i"))
	if err != nil || i < 0 || i >= len(f.terms) {
		return 0, fmt.Errorf("terminal index %q: want 0..%d", r.PathValue("i"), len(f.terms)-1)
	}
	return i, nil
}

func (f *Fleet) withIndex(h func(http.ResponseWriter, *http.Request, int) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		i, err := f.index(r)
		if err == nil {
			err = h(w, r, i)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"message": err.Error()})
}

// RSS is this process's resident set size in bytes (0 where /proc is not).
func RSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Fault is one scheduled fault: After the fleet started, stop the
// terminals in [From, To], or set their printers to Printer.
type Fault struct {
	After    time.Duration
	From, To int
	Stop     bool
	Printer  string
}

// ParseFault reads "after=30s stop=0-9" or "after=1m printer=paper_out:10-14"
// (terminal indexes from 0, ranges inclusive; a single index is fine).
func ParseFault(s string) (Fault, error) {
	var f Fault
	var what string
	for _, field := range strings.Fields(s) {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return f, fmt.Errorf("fault %q: %q is not key=value", s, field)
		}
		switch k {
		case "after":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return f, fmt.Errorf("fault %q: after=%s is not a duration", s, v)
			}
			f.After = d
		case "stop":
			f.Stop, what = true, v
		case "printer":
			state, rng, ok := strings.Cut(v, ":")
			if !ok {
				return f, fmt.Errorf("fault %q: printer=STATE:RANGE, e.g. printer=paper_out:10-14", s)
			}
			f.Printer, what = state, rng
		default:
			return f, fmt.Errorf("fault %q: unknown key %q (after, stop, printer)", s, k)
		}
	}
	if f.Stop == (f.Printer != "") {
		return f, fmt.Errorf("fault %q: give exactly one of stop= or printer=", s)
	}
	a, b, isRange := strings.Cut(what, "-")
	var err1, err2 error
	f.From, err1 = strconv.Atoi(a)
	f.To = f.From
	if isRange {
		f.To, err2 = strconv.Atoi(b)
	}
	if err1 != nil || err2 != nil || f.From < 0 || f.To < f.From {
		return f, fmt.Errorf("fault %q: %q is not an index range like 0-9", s, what)
	}
	return f, nil
}

// Apply runs the fault on the fleet.
func (f *Fleet) Apply(ft Fault) error {
	for i := ft.From; i <= ft.To; i++ {
		var err error
		if ft.Stop {
			err = f.Stop(i)
		} else {
			err = f.Printer(i, ft.Printer)
		}
		if err != nil {
			return fmt.Errorf("terminal %d: %w", i, err)
		}
	}
	return nil
}
