package session_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/kioskd/kioskd/kiosk/flow"
	"github.com/kioskd/kioskd/kiosk/session"
	"github.com/kioskd/kioskd/ui"
)

// Example shows the wiring the daemon does: the page server shows what the
// session renders, and hands the session the page's intents.
func Example() {
	page := ui.NewServer(ui.Config{KioskID: "K-0001", Version: "dev"})
	s := session.New(session.Config{
		KioskID:     "K-0001",
		IdleTimeout: 60 * time.Second,
		Policy:      flow.Policy{RequireOTP: false},
	}, session.Deps{
		// Outbox, Identity, Central, Printer and Devices are the daemon's
		// adapters over store, the card drivers, the central client and the
		// printer.
		Display: page,
	})
	page.SetDriver(s)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: page}
	_ = srv // srv.ListenAndServe() in the daemon

	// The page's intents reach the session through page (ui.Server); an
	// intent is applied when Intent returns.
	if err := s.Intent(ctx, ui.Intent{Type: "start", Flow: "lookup"}); err != nil {
		fmt.Println(err)
	}
	fmt.Println(page.Current()["field"])
	cancel()
	<-done
	page.Close()
	// Output: voucher
}
