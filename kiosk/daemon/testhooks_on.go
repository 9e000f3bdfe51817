//go:build kioskd_testhooks

package daemon

import (
	"context"
	"net/http"

	"github.com/kioskd/kioskd/kiosk/mgmt"
)

// mountTestHooks mounts POST /v1/test/freeze/{part} in a kioskd built with
// the kioskd_testhooks tag, for the watchdog test: it wedges the session
// loop, the store (a write transaction that does not return) or the
// printer driver (its port held) for real, until kioskd stops. The shipped
// binary has none of it (testhooks_off.go).
func (d *Daemon) mountTestHooks(ctx context.Context, mg *mgmt.Server) {
	mg.Handle("POST /v1/test/freeze/{part}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch part := r.PathValue("part"); part {
		case "session":
			d.session.Freeze(ctx)
		case "store":
			d.store.Freeze(ctx)
		case "printer":
			d.dev.printer.Freeze(ctx)
		default:
			mgmt.WriteError(w, http.StatusNotFound, "unknown_part", "no part "+part+": session, store or printer")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}
