// Package flow holds the citizen flows as pure state machines: report_loss
// (with its proxy variant), suspend_settlement, resume_settlement, lookup, and
// the step that holds the terminal while a technician uses the maintenance
// menu (whose screens, PIN check and lockout kiosk/session and kiosk/maint
// own). Next takes the current State and one Intent (what
// the page sent, a device event or the result of earlier I/O) and returns the
// next State and the Effects (I/O requests) the caller must run.
//
// Every intent is checked against the current step: a page cannot skip a
// step, and a late result of an abandoned request is refused. The package
// does no I/O, keeps no clock and starts no goroutine; package session runs
// the effects, times out idle citizens and renders screens.
package flow
