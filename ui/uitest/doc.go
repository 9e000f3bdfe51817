// Package uitest is the shared test harness for the touch page: a
// WebSocket Page client speaking the page's protocol (ui/PROTOCOL.md),
// a headless-Chromium Browser rig over the real page, a
// LockedBuffer for logs written from several goroutines, and AssertNone,
// which greps anything for personal data.
//
// It is imported by tests only (kiosk/session's and kiosk/daemon's), never
// by production code. Like package ui it knows no flows, devices or
// business rules: the tests that use it bring their own servers, fakes and
// the personal data they look for.
package uitest
