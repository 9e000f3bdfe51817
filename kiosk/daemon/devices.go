package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/hwbridge/pcsc"
	"github.com/kioskd/kioskd/hwbridge/serialprinter"
	"github.com/kioskd/kioskd/hwbridge/sim/simreader"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/maint"
)

// readers is what the daemon needs of the card readers: the PC/SC
// supervisor and the simulated readers both are one.
type readers interface {
	Run(ctx context.Context) error
	Events() <-chan hwbridge.ReaderEvent
	Connect(ctx context.Context, slot hwbridge.Slot) (hwbridge.Card, error)
	Readers() []hwbridge.ReaderState
}

// devices are the terminal's readers and printer, real or simulated.
type devices struct {
	readers readers
	sim     *simreader.Readers // set in sim mode, for sim control
	printer *serialprinter.Printer
	vprint  *vprinter.Printer // set in sim mode: the virtual printer behind a real pty
	device  string            // the printer's serial device
}

func openDevices(cfg config.Config, log *slog.Logger) (*devices, error) {
	d := &devices{}
	switch cfg.Readers.Mode {
	case "sim":
		d.sim = simreader.New(hwbridge.SlotID, hwbridge.SlotSS)
		d.readers = d.sim
	case "pcsc":
		if !pcsc.Built {
			return nil, fmt.Errorf("readers.mode = \"pcsc\": %w", pcsc.ErrNotBuilt)
		}
		d.readers = pcsc.New(pcsc.Config{
			Slots:           map[hwbridge.Slot][]string{hwbridge.SlotID: cfg.Readers.ID, hwbridge.SlotSS: cfg.Readers.SS},
			TransmitTimeout: cfg.Readers.TransmitTimeout.Duration,
		}, log.With("part", "readers"))
	}
	pc := serialprinter.Config{
		Device: cfg.Printer.Device,
		Baud:   cfg.Printer.Baud,
		Flow:   serialprinter.Flow(cfg.Printer.Flow),
		// Ops and the page hear of paper out within about a second.
		PollInterval: time.Second,
	}
	if cfg.SharedProcess {
		// A fleet-sim process polls a thousand printers: every 5 s.
		pc.PollInterval = 5 * time.Second
	}
	if cfg.Printer.Mode == "sim" {
		// The simulated printer sits behind a real pseudo-terminal, so the
		// serial driver runs exactly as on a terminal.
		d.vprint = vprinter.New(vprinter.Options{
			OutDir:      filepath.Join(cfg.DataDir, "vprinter"),
			Paper:       escpos.Paper(cfg.Printer.Paper),
			CP1258Table: byte(cfg.Printer.CodeTable),
			Log:         log.With("part", "vprinter"),
		})
		pc.Device = filepath.Join(cfg.DataDir, "vprinter.tty")
		// The virtual printer answers from this process, on the same CPU
		// as everything else: on a loaded machine its reply to DLE EOT can
		// come later than a real printer's few milliseconds, and a
		// printer that answers late is not a printer that is gone.
		pc.StatusTimeout = 2 * time.Second
		if cfg.Printer.PollerPort {
			pc.Open = serialprinter.OpenPoller
		}
		_ = os.Remove(pc.Device)
		if err := d.vprint.Link(pc.Device); err != nil {
			return nil, fmt.Errorf("simulated printer: %w", err)
		}
	}
	if err := pc.Validate(); err != nil {
		return nil, fmt.Errorf("printer: %w", err)
	}
	d.device = pc.Device
	d.printer = serialprinter.New(pc, log.With("part", "printer"))
	return d, nil
}

// run runs the readers and the printer (and the simulated printer) in g;
// their events are read by the daemon's pumpEvents.
func (d *devices) run(ctx context.Context, g *group, cancel context.CancelFunc) {
	g.run(ctx, cancel, "card readers", d.readers.Run)
	g.run(ctx, cancel, "printer", d.printer.Run)
	if d.vprint != nil {
		g.run(ctx, cancel, "simulated printer", d.vprint.Run)
	}
}

// printerState is the printer's state in the words of the sim control and
// the page: ok, paper_out, paper_near_end, cover_open, offline.
func printerState(e serialprinter.Event) string {
	switch {
	case !e.Connected || e.Err != nil:
		return "offline"
	case e.Status.CoverOpen:
		return "cover_open"
	case e.Status.PaperOut:
		return "paper_out"
	case !e.Status.Online || e.Status.Unrecoverable || e.Status.CutterError:
		return "offline"
	case e.Status.PaperNearEnd:
		return "paper_near_end"
	}
	return "ok"
}

// printerInfo is the printer as /v1/status and the maintenance menu show
// it: its last status and how it is connected.
func (d *devices) printerInfo(cfg config.Config) maint.Printer {
	last := d.printer.Last()
	p := maint.Printer{
		State: printerState(last), Status: last.Status.String(), StatusCodes: last.Status.Codes(),
		Mode: cfg.Printer.Mode, Device: d.device, Baud: cfg.Printer.Baud,
	}
	if last.Err != nil {
		p.Error = last.Err.Error()
	}
	return p
}

// describe is the devices part of /v1/status.
func (d *devices) describe(cfg config.Config) map[string]any {
	var rs []map[string]any
	for _, r := range d.readers.Readers() {
		rs = append(rs, map[string]any{"slot": r.Slot, "reader": r.Reader, "present": r.Present, "card": r.Card})
	}
	pi := d.printerInfo(cfg)
	p := map[string]any{"mode": pi.Mode, "device": pi.Device, "baud": pi.Baud, "state": pi.State, "status": pi.Status}
	if pi.Error != "" {
		p["error"] = pi.Error
	}
	return map[string]any{
		"readers": map[string]any{"mode": cfg.Readers.Mode, "list": rs},
		"printer": p,
	}
}
