// Package ui is the touch page and the WebSocket endpoint that carries a
// flow to it. Server serves the embedded static page (plain HTML, CSS and
// JavaScript, no build step) and /ws, where the page receives `hello`,
// `screen`, `device` and `error` frames and sends the citizen's intents
// (PROTOCOL.md, the contract). Requests under /speech/ go to the speech
// handler the daemon gives it (kiosk/speech): the page's spoken prompts.
//
// The package knows no flows, devices or storage and holds no business rule:
// it decodes and checks frames, enforces origin, size, rate and
// one-page-at-a-time, and hands each intent to a Driver (the session). The
// page renders the screen it is told; the daemon decides what comes next.
package ui
