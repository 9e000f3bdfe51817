// Package central is the terminal's link to the social-security central
// system, and a simulator of that system.
//
// It owns three things: Client, which speaks the central API (API.md)
// over HTTPS with client certificates; Drainer, which
// delivers the durable outbox to central in enqueue order, retrying
// transient failures with capped exponential backoff and full jitter and
// recording permanent rejections; and Sim, an in-memory implementation of
// the central API with fault injection (latency, errors, outage, dropped
// answers, duplicate answers) used by tests and by `kioskd central-sim`.
//
// It does not own durability: the outbox is reached only through the Outbox
// interface, which the application implements over the store. It keeps no
// operation in memory beyond one page of the outbox, and it never logs
// personal data (subject, card, agent, evidence, ID numbers): logs carry the
// idempotency key, the voucher and the kind only.
package central
