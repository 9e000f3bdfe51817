// Package pcsc supervises the terminal's card readers through PC/SC (pcscd,
// via github.com/ebfe/scard and libpcsclite): it maps readers to slots by
// configured name patterns, turns pcscd's state changes into
// hwbridge.ReaderEvents (event-driven with SCardGetStatusChange and the
// `\\?PnP?\Notification` pseudo-reader, each wait bounded to half a second
// so a stop is noticed without SCardCancel), and
// connects to the card in a slot as a hwbridge.Card that speaks APDUs.
//
// It survives pcscd stopping and starting again (the PC/SC context is
// re-established with backoff), readers unplugged and plugged back, and a
// card pulled mid-transaction: each ends in events and a working supervisor.
//
// It does not know what a card means: the card drivers (card/sscard,
// card/emrtd) speak to the Card it returns, and they handle GET RESPONSE and
// wrong-length retries. The real driver needs cgo and libpcsclite and is
// built with the `pcsc` build tag; without it, New still compiles and Run and
// Connect return ErrNotBuilt so kioskd can say so plainly at start.
package pcsc
