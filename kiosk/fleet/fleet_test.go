package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/kiosk/central"
)

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
	}
}

// Three real terminals against a real central-sim: each citizen's
// operation reaches central once, the target file names every terminal,
// a stopped terminal stops answering and a printer fault shows in that
// terminal's metrics only.
func TestSmallFleet(t *testing.T) {
	sim := central.NewSim(central.SimConfig{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	f, err := Start(ctx, Config{N: 3, Sites: 2, Dir: dir, Central: srv.URL, HeartbeatInterval: time.Second,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := f.Wait(); err != nil {
			t.Error(err)
		}
	}()
	ctl := httptest.NewServer(f.Handler())
	defer ctl.Close()
	// One speech cache for the fleet, built before the terminals start:
	// none of them synthesises a cache of its own.
	if _, err := exec.LookPath("espeak-ng"); err == nil {
		if wavs, _ := filepath.Glob(filepath.Join(dir, "speech", "*.wav")); len(wavs) == 0 {
			t.Error("the fleet's speech cache is empty")
		}
	}
	for i := range 3 {
		if _, err := os.Stat(filepath.Join(dir, KioskID(i), "speech")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("terminal %d has a speech cache of its own (%v)", i, err)
		}
	}
	for i := range 3 {
		resp, err := http.Post(ctl.URL+"/fleet/terminals/"+string(rune('0'+i))+"/citizen/report_loss", "", nil)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("citizen on terminal %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
	committed, failed := f.Committed()
	if len(committed) != 3 || failed != 0 {
		t.Fatalf("committed %d, failed %d", len(committed), failed)
	}
	eventually(t, 10*time.Second, "three operations applied and the backlog empty", func() bool {
		b, err := f.Backlog(ctx)
		return err == nil && b.Pending == 0 && len(sim.Applied()) == 3
	})
	for _, c := range committed {
		found := false
		for _, a := range sim.Applied() {
			found = found || (a.Key == c.Key && a.Count == 1)
		}
		if !found {
			t.Errorf("%s (%s) was not applied exactly once at central", c.Key, c.KioskID)
		}
	}
	eventually(t, 5*time.Second, "all three in central's fleet view", func() bool { return len(sim.Fleet().Terminals) == 3 })

	targets := filepath.Join(t.TempDir(), "targets.json")
	if err := f.WriteTargets(targets); err != nil {
		t.Fatal(err)
	}
	var groups []struct {
		Targets []string
		Labels  map[string]string
	}
	b, _ := os.ReadFile(targets)
	if err := json.Unmarshal(b, &groups); err != nil || len(groups) != 3 {
		t.Fatalf("targets file: %v %s", err, b)
	}
	for i, g := range groups {
		if g.Labels["kiosk_id"] != KioskID(i) || g.Labels["site"] != SiteOf(i, 2) {
			t.Errorf("target %d labels %v", i, g.Labels)
		}
		if m := get(t, "http://"+g.Targets[0]+"/metrics"); !strings.Contains(m, `kioskd_terminal_info{kiosk_id="`+KioskID(i)+`"`) {
			t.Errorf("target %s does not serve %s's metrics", g.Targets[0], KioskID(i))
		}
	}

	if err := f.Apply(Fault{From: 2, To: 2, Printer: "paper_out"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "paper out on terminal 2", func() bool {
		return strings.Contains(get(t, "http://"+groups[2].Targets[0]+"/metrics"), `kioskd_printer_state{state="paper_out"} 1`)
	})
	if strings.Contains(get(t, "http://"+groups[1].Targets[0]+"/metrics"), `kioskd_printer_state{state="paper_out"} 1`) {
		t.Error("terminal 1 reports paper out too")
	}
	if err := f.Apply(Fault{From: 0, To: 0, Stop: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + groups[0].Targets[0] + "/metrics"); err == nil {
		t.Error("a stopped terminal still answers")
	}
	if ts := f.Terminals(); ts[0].Running || !ts[1].Running {
		t.Errorf("running: %v", ts)
	}
}

func TestParseFault(t *testing.T) {
	for in, want := range map[string]Fault{
		"after=30s stop=0-9":               {After: 30 * time.Second, From: 0, To: 9, Stop: true},
		"after=1m printer=paper_out:10-14": {After: time.Minute, From: 10, To: 14, Printer: "paper_out"},
		"printer=cover_open:3":             {From: 3, To: 3, Printer: "cover_open"},
	} {
		if got, err := ParseFault(in); err != nil || got != want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "after=x stop=1", "stop=9-1", "stop=1 printer=ok:1", "printer=paper_out", "colour=red", "stop"} {
		if _, err := ParseFault(bad); err == nil {
			t.Errorf("ParseFault(%q) took it", bad)
		}
	}
}
