package daemon

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/kioskd/kioskd/kiosk/mgmt"
)

// simulated reports whether sim control is on: only when the devices are
// simulated (DESIGN.md, management API).
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
	m.Handle("POST /v1/sim/operations", http.HandlerFunc(d.simEnqueue))
}

func (d *Daemon) simEnqueue(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Kind string `json:"kind"`
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
	op, err := d.Commit(r.Context(), req.Kind, req.Personal)
	if err != nil {
		mgmt.WriteError(w, http.StatusUnprocessableEntity, "not_stored", err.Error())
		return
	}
	mgmt.WriteJSON(w, http.StatusCreated, map[string]string{"idempotency_key": op.Key, "voucher": op.Voucher})
}
