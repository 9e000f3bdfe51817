// Package prometheus holds the Prometheus alerting and recording rules
// shipped for a kioskd fleet (kioskd.rules.yml) and their promtool unit
// tests (kioskd.rules.test.yml); its Go tests run promtool and check that
// every alert has a firing and a not-firing case. No Go code lives here.
package prometheus
