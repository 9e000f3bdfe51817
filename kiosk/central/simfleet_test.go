package central

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The fleet view lists each terminal that sent a heartbeat with its count
// and age, and counts every /v1 request, an outage's cut ones included.
func TestSimFleetView(t *testing.T) {
	sim := NewSim(SimConfig{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := NewClient(ClientConfig{BaseURL: srv.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, k := range []string{"K-B", "K-A", "K-B"} {
		if err := c.Heartbeat(ctx, k, map[string]int{"pending": 0}); err != nil {
			t.Fatal(err)
		}
	}
	sim.SetFaults(SimConfig{Outage: true})
	if err := c.Heartbeat(ctx, "K-C", map[string]int{}); err == nil {
		t.Fatal("a heartbeat went through the outage")
	}
	sim.SetFaults(SimConfig{})
	_, body := doJSON(t, http.MethodGet, srv.URL+"/_sim/fleet", "")
	var v FleetView
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Terminals) != 2 || v.Terminals[0].KioskID != "K-A" || v.Terminals[0].Heartbeats != 1 ||
		v.Terminals[1].KioskID != "K-B" || v.Terminals[1].Heartbeats != 2 {
		t.Errorf("terminals = %+v, want K-A with 1 heartbeat and K-B with 2", v.Terminals)
	}
	for _, term := range v.Terminals {
		if term.LastAgeS < 0 || term.LastAgeS > 10 {
			t.Errorf("%s: last heartbeat age %v s", term.KioskID, term.LastAgeS)
		}
	}
	sum := 0
	for _, s := range v.RequestsPerSec {
		sum += s.N
	}
	if v.RequestsTotal < 4 || int64(sum) != v.RequestsTotal {
		t.Errorf("requests_total %d, per-second sum %d; want both at least the 4 heartbeats sent (the cut one counts)", v.RequestsTotal, sum)
	}
}
