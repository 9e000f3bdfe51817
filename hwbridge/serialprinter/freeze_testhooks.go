//go:build kioskd_testhooks

package serialprinter

import "context"

// Freeze wedges the driver until ctx is done, as an exchange with the port
// that hangs would: it holds the port, so no status poll or print gets
// through. It returns once it holds it. Only in a kioskd built with the
// kioskd_testhooks tag, for the systemd watchdog test.
func (p *Printer) Freeze(ctx context.Context) {
	p.io.Lock()
	go func() {
		<-ctx.Done()
		p.io.Unlock()
	}()
}
