package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter"
	"github.com/kioskd/kioskd/kiosk/mgmt"
	"github.com/kioskd/kioskd/kiosk/op"
)

// simulated reports whether sim control is on: only when the devices are
// simulated (kiosk/mgmt/API.md, sim control).
func (d *Daemon) simulated() bool {
	return d.cfg.Readers.Mode == "sim" && d.cfg.Printer.Mode == "sim"
}

// mountSimControl adds the sim control routes to the management API.
func (d *Daemon) mountSimControl(m *mgmt.Server) {
	if !d.simulated() {
		return
	}
	// POST /v1/sim/operations {kind, subject, card?, agent?, evidence?}
	// commits an operation as a finished flow would, answering 201
	// {idempotency_key, voucher} only once it is on disk. It lets tests
	// and demos load the outbox without walking the touch flow.
	m.Handle("POST /v1/sim/operations", simGuard(d.simEnqueue))
	m.Handle("POST /v1/sim/reader/{slot}/insert", simGuard(d.simInsert))
	m.Handle("POST /v1/sim/reader/{slot}/remove", simGuard(d.simRemove))
	m.Handle("POST /v1/sim/printer/{state}", simGuard(d.simPrinter))
}

// simGuard refuses what a web page in a browser on this machine could
// send: a request with an Origin (no page of ours calls sim control; a
// browser sends Origin on every cross-origin POST) and a body that is not
// application/json (a "simple" cross-origin request, text/plain or a
// form, needs no preflight). A request without a body needs no type.
func simGuard(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" {
			mgmt.WriteError(w, http.StatusForbidden, "foreign_origin", "sim control does not take requests from web pages")
			return
		}
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "none" && site != "same-origin" {
			mgmt.WriteError(w, http.StatusForbidden, "foreign_origin", "sim control does not take requests from web pages")
			return
		}
		if r.ContentLength != 0 { // -1: a body of unknown length
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				mgmt.WriteError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as Content-Type: application/json")
				return
			}
		}
		h(w, r)
	})
}

// simInsert puts a card made from the body's card profile into a
// simulated reader.
func (d *Daemon) simInsert(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		mgmt.WriteError(w, http.StatusBadRequest, "invalid", "read body: "+err.Error())
		return
	}
	p, err := cardsim.ParseProfile(body)
	if err != nil {
		mgmt.WriteError(w, http.StatusBadRequest, "invalid_profile", err.Error())
		return
	}
	card, err := cardsim.New(p, cardsim.Options{})
	if err != nil {
		mgmt.WriteError(w, http.StatusBadRequest, "invalid_profile", err.Error())
		return
	}
	if err := d.dev.sim.Insert(hwbridge.Slot(r.PathValue("slot")), card); err != nil {
		mgmt.WriteError(w, http.StatusNotFound, "no_such_reader", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (d *Daemon) simRemove(w http.ResponseWriter, r *http.Request) {
	if err := d.dev.sim.Remove(hwbridge.Slot(r.PathValue("slot"))); err != nil {
		mgmt.WriteError(w, http.StatusNotFound, "no_such_reader", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// simPrinter switches the simulated printer: ok, paper_out,
// paper_near_end, cover_open, offline.
func (d *Daemon) simPrinter(w http.ResponseWriter, r *http.Request) {
	st, err := vprinter.ParseState(r.PathValue("state"))
	if err == nil {
		err = d.dev.vprint.SetState(st)
	}
	if err != nil {
		mgmt.WriteError(w, http.StatusBadRequest, "invalid_state", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (d *Daemon) simEnqueue(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Kind op.Kind `json:"kind"`
		Personal
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		mgmt.WriteError(w, http.StatusBadRequest, "invalid", "read body: "+err.Error())
		return
	}
	if err := json.Unmarshal(body, &req); err != nil {
		mgmt.WriteError(w, http.StatusBadRequest, "invalid", "body is not an operation: "+err.Error())
		return
	}
	stored, err := d.Commit(r.Context(), req.Kind, req.Personal)
	if err != nil {
		mgmt.WriteError(w, http.StatusUnprocessableEntity, "not_stored", err.Error())
		return
	}
	mgmt.WriteJSON(w, http.StatusCreated, map[string]string{"idempotency_key": stored.Key, "voucher": stored.Voucher})
}

// SetSimPrinter switches the simulated printer to state (ok, paper_out,
// paper_near_end, cover_open, offline), as POST /v1/sim/printer/{state}
// does; fleet-sim's fault schedules use it.
func (d *Daemon) SetSimPrinter(state string) error {
	if d.dev.vprint == nil {
		return fmt.Errorf("printer.mode is not \"sim\"")
	}
	st, err := vprinter.ParseState(state)
	if err != nil {
		return err
	}
	return d.dev.vprint.SetState(st)
}
