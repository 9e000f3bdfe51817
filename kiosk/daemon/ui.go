package daemon

import (
	"net/http"
)

// uiHandler serves the touch page.
func (d *Daemon) uiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><meta charset=utf-8><title>kioskd</title><h1>kioskd</h1><p>The touch UI is not wired yet.</p>\n"))
	})
	return mux
}
