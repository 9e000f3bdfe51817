//go:build !kioskd_testhooks

package daemon

import (
	"context"

	"github.com/kioskd/kioskd/kiosk/mgmt"
)

// mountTestHooks mounts nothing: the freeze hooks exist only in a kioskd
// built with the kioskd_testhooks tag (testhooks_on.go), never in the
// shipped binary.
func (d *Daemon) mountTestHooks(context.Context, *mgmt.Server) {}
