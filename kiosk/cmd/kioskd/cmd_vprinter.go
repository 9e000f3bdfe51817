package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter"
	"github.com/kioskd/kioskd/kiosk/netlimit"
)

func init() {
	register(command{
		name:    "vprinter",
		summary: "run a virtual ESC/POS printer on a pty (PATH becomes its serial device)",
		run: func(ctx context.Context, args []string) error {
			return vprinterCmd(ctx, args, os.Stderr)
		},
	})
}

// vprinterCmd is `kioskd vprinter --link PATH [--out DIR] [--baud N]
// [--control ADDR]`: a virtual printer until ctx is done. With --control,
// POST /state/{state}, POST /unplug, POST /plug and GET /receipts switch
// and inspect it at run time.
func vprinterCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("vprinter", flag.ContinueOnError)
	link := fs.String("link", "", "path to make a symlink to the printer's serial device (required)")
	out := fs.String("out", "", "directory for receipt-NNNN.txt and .png renders (default: memory only)")
	baud := fs.Int("baud", 0, "consume data at this line speed, e.g. 9600 (0: as fast as it comes)")
	paper := fs.Int("paper", 80, "paper width in mm: 58 or 80")
	table := fs.Int("cp1258-table", int(escpos.DefaultCP1258Table), "ESC t table number that is CP1258")
	control := fs.String("control", "", "serve the control API on this address, e.g. 127.0.0.1:9310")
	state := fs.String("state", "ok", "initial state: ok, paper_out, paper_near_end, cover_open or offline")
	if help, err := parseFlags(fs, args, stderr); help || err != nil {
		return err
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	if *link == "" {
		problems = append(problems, "--link PATH is required")
	}
	if *baud < 0 || *baud > 921600 {
		problems = append(problems, fmt.Sprintf("--baud %d: want 0..921600", *baud))
	}
	if *paper != 58 && *paper != 80 {
		problems = append(problems, fmt.Sprintf("--paper %d: want 58 or 80", *paper))
	}
	if *table < 1 || *table > 255 {
		problems = append(problems, fmt.Sprintf("--cp1258-table %d: want 1..255", *table))
	}
	st, err := vprinter.ParseState(*state)
	if err != nil {
		problems = append(problems, "--state: "+err.Error())
	}
	if len(problems) > 0 {
		return usageError{"vprinter: " + strings.Join(problems, "; ")}
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return fmt.Errorf("out dir: %w", err)
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	p := vprinter.New(vprinter.Options{OutDir: *out, Baud: *baud, Paper: escpos.Paper(*paper), CP1258Table: byte(*table), Log: log})
	if err := p.SetState(st); err != nil {
		return err
	}
	if err := p.Link(*link); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "vprinter linked at %s\n", *link)
	errc := make(chan error, 1)
	if *control != "" {
		ln, err := net.Listen("tcp", *control)
		if err != nil {
			p.Unplug()
			return fmt.Errorf("control: %w", err)
		}
		ln = netlimit.Default.Listener(ln)
		srv := netlimit.Default.Server(vprinterControl(p))
		go func() { errc <- srv.Serve(ln) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
			<-errc
		}()
		fmt.Fprintf(stderr, "vprinter control listening on http://%s\n", ln.Addr())
	}
	return p.Run(ctx)
}

// vprinterControl is the run-time control of a virtual printer.
func vprinterControl(p *vprinter.Printer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /state/{state}", func(w http.ResponseWriter, r *http.Request) {
		st, err := vprinter.ParseState(r.PathValue("state"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.SetState(st)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /unplug", func(w http.ResponseWriter, r *http.Request) {
		p.Unplug()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /plug", func(w http.ResponseWriter, r *http.Request) {
		if err := p.Plug(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /receipts", func(w http.ResponseWriter, r *http.Request) {
		type receipt struct {
			Seq      int      `json:"seq"`
			Text     string   `json:"text"`
			QR       []string `json:"qr"`
			Complete bool     `json:"complete"`
			PNGPath  string   `json:"png_path,omitempty"`
			QRBoxes  [][4]int `json:"qr_boxes,omitempty"` // x0, y0, x1, y1 in the PNG
		}
		var out []receipt
		for _, r := range p.Receipts() {
			var boxes [][4]int
			for _, b := range r.QRBoxes {
				boxes = append(boxes, [4]int{b.Min.X, b.Min.Y, b.Max.X, b.Max.Y})
			}
			out = append(out, receipt{r.Seq, r.Text, r.QR, r.Complete, r.PNGPath, boxes})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"state": p.State(), "receipts": out, "unknown_commands": p.Unknown()})
	})
	return mux
}
