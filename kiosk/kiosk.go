// Package kiosk is the application: the citizen flows and their sessions,
// the central link, the maintenance menu, the management API, configuration
// and the kioskd command. It drives hwbridge (devices), store (durability)
// and ui (the touch page) and is the only place where they meet.
package kiosk

// Version and Commit are set at build time with -ldflags -X.
var (
	Version = "dev"
	Commit  = "unknown"
)
