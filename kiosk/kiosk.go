// Package kiosk is the application: what a self-service terminal does for
// a citizen and a technician, built over the devices (hwbridge), the
// durable store (store) and the touch page (ui). This file is its map; the
// code lives in the packages below it.
//
// # How a touch travels
//
// The page (ui/static/app.js, in Chromium in kiosk mode) sends what the
// person touched as one JSON message over the WebSocket (ui/PROTOCOL.md).
// package ui checks the message and hands it to the session as an intent
// (ui.Intent). kiosk/session owns the one citizen session at a time: it
// passes the intent to the operation's state machine, kiosk/flow, whose
// Step returns the next state and the effects to run (read the ID card,
// verify the PIN, commit, print, ...). The session runs each effect
// through an interface the daemon fills with the real parts: the card
// readers and printer (hwbridge), the outbox (store), the central system
// (kiosk/central); each result comes back to Step as an intent, and the
// session renders the new state as the next screen (ui.Screen) and sends
// it to the page. Card and printer events enter the same way, as intents.
// A committed operation is on disk before the citizen is told; the
// central link (kiosk/central's Drainer) delivers it later, retrying until
// central acknowledges it.
//
// # Where each part lives
//
//	kiosk/cmd/kioskd   the kioskd command: flags and subcommands, nothing else
//	kiosk/daemon       wiring: a config.Config into running parts under one context
//	kiosk/config       the TOML configuration, its defaults and validation
//	kiosk/op           the domain's words: operation kinds, card and operation states
//	kiosk/flow         the citizen flows as pure state machines (no I/O)
//	kiosk/session      the citizen session: runs flow's and maint's effects, renders screens
//	kiosk/maint        the maintenance menu as a pure state machine, its PIN guard and audit
//	kiosk/receipt      what a receipt says, and the print-and-journal sequence
//	kiosk/central      the central API's client, its delivery loop, and central-sim (API.md)
//	kiosk/mgmt         the management API and the Prometheus metrics (API.md)
//	kiosk/vouchertoken the signed voucher token on receipts
//	kiosk/speech       spoken prompts (espeak-ng) for the page's speech mode
//	kiosk/fleet        fleet-sim: many terminals in one process, for load tests
//	kiosk/mask         masking of names and numbers for screens, receipts and logs
//	kiosk/netlimit     connection limits of the servers
//	hwbridge/...       card readers (pcsc), card drivers (card/...), the printer
//	                   (escpos, serialprinter) and their simulators (sim/...)
//	store/...          the outbox, receipt journal and audit log in bbolt
//	ui/...             the page (static/), the WebSocket endpoint (PROTOCOL.md)
//
// Arrows point down: kiosk uses hwbridge, store and ui; they import nothing
// of kiosk. README.md's "How it fits together" says the same for a reader
// of the repository.
package kiosk

import "runtime/debug"

// Version is the release, set at build time with
// -ldflags "-X github.com/kioskd/kioskd/kiosk.Version=..." (the Makefile
// uses git describe); "dev" otherwise.
var Version = "dev"

// Commit is the source revision the binary was built from. The Makefile
// sets it with -ldflags "-X github.com/kioskd/kioskd/kiosk.Commit=..."
// (git rev-parse --short HEAD); otherwise it is what the Go toolchain
// recorded (debug.ReadBuildInfo's vcs.revision, shortened to 7 hex digits
// as git does), and "unknown" where it recorded none: go run, tests, a git
// worktree, GOFLAGS=-buildvcs=false, a build outside a checkout.
var Commit string

func init() {
	if Commit == "" {
		Commit = buildCommit()
	}
}

func buildCommit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			return s.Value[:min(7, len(s.Value))]
		}
	}
	return "unknown"
}
