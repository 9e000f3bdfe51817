package deb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scripts/rig"
)

// root is the repository root, found from this file.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// makeDeb runs `make deb` with version into dir and returns the package.
func makeDeb(t *testing.T, dir, version string) string {
	t.Helper()
	cmd := exec.Command("make", "--no-print-directory", "deb", "DEB_VERSION="+version, "DEB_DIR="+dir)
	cmd.Dir = root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "kioskd_"+version+"-1_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v in %s, want one kioskd_%s-1_<arch>.deb", debs, dir, version)
	}
	return debs[0]
}

// TestDebianPackage builds the package twice (two versions), checks its
// contents, conffiles, lintian and the units with systemd-analyze, then
// installs, upgrades, removes and purges it on this machine with dpkg,
// with an operation queued before the upgrade that is still pending after
// it. It needs root and leaves the machine as it found it.
func TestDebianPackage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("installs a package with dpkg: needs root")
	}
	for _, c := range []string{"make", "dpkg", "dpkg-deb", "lintian", "systemd-analyze"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("%s is missing (scripts/install-test-deps.sh installs it): %v", c, err)
		}
	}
	dir := t.TempDir()
	v1 := makeDeb(t, dir, "0.0.1")
	v2 := makeDeb(t, dir, "0.0.2")

	// lintian takes a while: it runs beside the rest.
	lint := exec.Command("lintian", "--tag-display-limit", "0", v1)
	var lintOut bytes.Buffer
	lint.Stdout, lint.Stderr = &lintOut, &lintOut
	if err := lint.Start(); err != nil {
		t.Fatal(err)
	}
	t.Run("contents", func(t *testing.T) { checkContents(t, v1) })
	t.Run("units", func(t *testing.T) { verifyUnits(t, v1) })
	t.Run("install upgrade remove purge", func(t *testing.T) { lifecycle(t, v1, v2) })
	_ = lint.Wait() // lintian's exit status counts warnings too
	for _, l := range strings.Split(lintOut.String(), "\n") {
		if strings.HasPrefix(l, "E: ") {
			t.Errorf("lintian: %s", l)
		}
	}
	if t.Failed() {
		t.Logf("lintian:\n%s", lintOut.String())
	}
}

func checkContents(t *testing.T, deb string) {
	listing := run(t, "dpkg-deb", "--contents", deb)
	for _, want := range []string{
		"-rwxr-xr-x root/root .* ./usr/bin/kioskd$",
		"./lib/systemd/system/kioskd.service$",
		"./lib/systemd/system/kioskd-screen.service$",
		"./lib/udev/rules.d/99-kioskd.rules$",
		"drwxr-x--- root/root .* ./etc/kioskd/$",
		"-rw-r----- root/root .* ./etc/kioskd/kioskd.toml$",
		"./usr/share/doc/kioskd/README.md$",
		"./usr/share/doc/kioskd/copyright$",
		"./usr/share/doc/kioskd/changelog.Debian.gz$",
		"./usr/share/doc/kioskd/examples/kioskd.toml$",
		"./usr/share/kioskd/kioskd.rules.yml$",
	} {
		if !regexp.MustCompile("(?m)" + want).MatchString(listing) {
			t.Errorf("the package has no %s:\n%s", want, listing)
		}
	}
	ctrl := t.TempDir()
	run(t, "dpkg-deb", "--control", deb, ctrl)
	conffiles, _ := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	if strings.TrimSpace(string(conffiles)) != "/etc/kioskd/kioskd.toml" {
		t.Errorf("conffiles = %q, want /etc/kioskd/kioskd.toml", conffiles)
	}
	for field, want := range map[string]string{
		"Depends":    "pcscd",
		"Recommends": "cage, chromium, fonts-noto-cjk, xwayland",
	} {
		got := strings.TrimSpace(run(t, "dpkg-deb", "--field", deb, field))
		if !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q in it", field, got, want)
		}
	}
	// The conffile is the production example: real devices, the data
	// directory systemd makes.
	tree := t.TempDir()
	run(t, "dpkg-deb", "--extract", deb, tree)
	cfg, _ := os.ReadFile(filepath.Join(tree, "etc/kioskd/kioskd.toml"))
	for _, want := range []string{`mode = "pcsc"`, `mode = "serial"`, `device = "/dev/kiosk-printer"`, `data_dir = "/var/lib/kioskd"`, "FILL IN"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("/etc/kioskd/kioskd.toml lacks %s", want)
		}
	}
	rule, _ := os.ReadFile(filepath.Join(tree, "lib/udev/rules.d/99-kioskd.rules"))
	for _, want := range []string{`SYMLINK+="kiosk-printer"`, `GROUP="dialout"`, `TAG+="systemd"`} {
		if !strings.Contains(string(rule), want) {
			t.Errorf("the udev rule lacks %s", want)
		}
	}
}

// verifyUnits runs systemd-analyze verify on the units at their installed
// paths in the unpacked package, beside the system's own units (targets,
// pcscd.socket …) that they name: no warning at all.
func verifyUnits(t *testing.T, deb string) {
	tree := t.TempDir()
	run(t, "dpkg-deb", "--extract", deb, tree)
	units := filepath.Join(tree, "lib/systemd/system")
	sys, err := os.ReadDir("/lib/systemd/system")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range sys {
		dst := filepath.Join(units, e.Name())
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		src := filepath.Join("/lib/systemd/system", e.Name())
		if e.IsDir() {
			run(t, "cp", "-a", src, dst)
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			continue // a dangling link
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("systemd-analyze", "verify", "--root="+tree, "/lib/systemd/system/kioskd.service", "/lib/systemd/system/kioskd-screen.service")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// lifecycle installs v1, queues an operation, upgrades to v2, finds it
// still pending, removes (data kept) and purges (data gone).
func lifecycle(t *testing.T, v1, v2 string) {
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "kioskd").Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Skipf("kioskd is installed on this machine (%s): not touching it", out)
	}
	var made []string // users this test created, deleted at the end
	for _, u := range []string{"kioskd", "kiosk-screen"} {
		if _, err := user.Lookup(u); err != nil {
			made = append(made, u)
		}
	}
	_, hadData := os.Stat("/var/lib/kioskd")
	if hadData == nil {
		t.Skip("/var/lib/kioskd exists on this machine: not touching it")
	}
	t.Cleanup(func() {
		_ = exec.Command("dpkg", "--purge", "kioskd").Run()
		for _, u := range made {
			_ = exec.Command("deluser", "--system", "--quiet", u).Run()
			_ = exec.Command("delgroup", "--system", "--quiet", u).Run()
		}
		os.RemoveAll("/var/lib/kioskd")
		os.RemoveAll("/var/lib/kiosk-screen")
	})

	out := dpkg(t, "--install", v1)
	// No systemd runs here: the maintainer scripts skip it without a word.
	for _, noise := range []string{"systemctl", "System has not been booted", "Failed", "rror"} {
		if strings.Contains(out, noise) {
			t.Errorf("dpkg --install says %q without systemd:\n%s", noise, out)
		}
	}
	// Users: the daemon's (in dialout) and the screen's.
	if groups := run(t, "id", "-nG", "kioskd"); !strings.Contains(" "+strings.TrimSpace(groups)+" ", " dialout ") {
		t.Errorf("kioskd is not in dialout: %s", groups)
	}
	if _, err := user.Lookup("kiosk-screen"); err != nil {
		t.Errorf("no user kiosk-screen after install: %v", err)
	}
	checkConfig(t)
	// Enabled (the links deb-systemd-helper makes without systemd running).
	for _, l := range []string{"/etc/systemd/system/multi-user.target.wants/kioskd.service", "/etc/systemd/system/graphical.target.wants/kioskd-screen.service"} {
		if _, err := os.Lstat(l); err != nil {
			t.Errorf("not enabled on install: %v", err)
		}
	}

	// An operation queued while central is unreachable, by the installed
	// kioskd as the kioskd user.
	cfg := testConfig(t)
	d := startAsKioskd(t, cfg)
	var op struct{ Voucher string }
	if code, err := postJSON(d.URL+"/v1/sim/operations", map[string]any{"kind": "report_loss", "subject": map[string]string{"id_number": "110101199003071234"}}, &op); err != nil || code != 201 {
		t.Fatalf("enqueue: %d %v", code, err)
	}
	// /v1/status may answer from a view half a second old.
	for deadline := time.Now().Add(10 * time.Second); status(t, d.URL).Queue.Pending != 1; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pending before the upgrade = %d, want 1", status(t, d.URL).Queue.Pending)
		}
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("kioskd did not stop: %v\n%s", err, d.Stderr())
	}

	// A local edit of the conffile survives the upgrade.
	f, err := os.OpenFile("/etc/kioskd/kioskd.toml", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "# edited on site")
	f.Close()
	out = dpkg(t, "--install", v2)
	if v := run(t, "/usr/bin/kioskd", "version"); !strings.Contains(v, "0.0.2") {
		t.Errorf("after the upgrade kioskd version says %q, want 0.0.2", v)
	}
	if b, _ := os.ReadFile("/etc/kioskd/kioskd.toml"); !strings.Contains(string(b), "# edited on site") {
		t.Errorf("the upgrade lost the local edit of /etc/kioskd/kioskd.toml\n%s", out)
	}
	checkConfig(t)
	d = startAsKioskd(t, cfg)
	st := status(t, d.URL)
	if st.Queue.Pending != 1 {
		t.Errorf("pending after the upgrade = %d, want the 1 queued before it", st.Queue.Pending)
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("kioskd did not stop: %v\n%s", err, d.Stderr())
	}

	out = dpkg(t, "--remove", "kioskd")
	if _, err := os.Stat("/usr/bin/kioskd"); err == nil {
		t.Error("/usr/bin/kioskd is still there after remove")
	}
	if _, err := os.Stat("/var/lib/kioskd/kioskd.db"); err != nil {
		t.Errorf("remove did not keep the outbox: %v\n%s", err, out)
	}
	if !strings.Contains(out, "/var/lib/kioskd is kept") {
		t.Errorf("remove does not say the data is kept:\n%s", out)
	}

	out = dpkg(t, "--purge", "kioskd")
	if !strings.Contains(out, "purging deletes /var/lib/kioskd") {
		t.Errorf("purge does not say it deletes the data:\n%s", out)
	}
	for _, p := range []string{"/var/lib/kioskd", "/etc/kioskd/kioskd.toml"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s is still there after purge", p)
		}
	}
}

// dpkg runs dpkg with args, waiting for the lock another apt or dpkg may
// hold on this shared machine, and returns its output.
func dpkg(t *testing.T, args ...string) string {
	t.Helper()
	for try := 0; ; try++ {
		out, err := exec.Command("dpkg", args...).CombinedOutput()
		if err == nil {
			return string(out)
		}
		if try < 60 && strings.Contains(string(out), "lock") {
			time.Sleep(2 * time.Second)
			continue
		}
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// checkConfig: /etc/kioskd/kioskd.toml is root:kioskd 0640: the kioskd user
// reads it, another user does not.
func checkConfig(t *testing.T) {
	t.Helper()
	fi, err := os.Stat("/etc/kioskd/kioskd.toml")
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	g, _ := user.LookupGroup("kioskd")
	if fi.Mode().Perm() != 0o640 || st.Uid != 0 || g == nil || strconv.Itoa(int(st.Gid)) != g.Gid {
		t.Errorf("/etc/kioskd/kioskd.toml is %v uid %d gid %d, want 0640 root:kioskd", fi.Mode().Perm(), st.Uid, st.Gid)
	}
	if out, err := exec.Command("runuser", "-u", "kioskd", "--", "cat", "/etc/kioskd/kioskd.toml").CombinedOutput(); err != nil {
		t.Errorf("the kioskd user cannot read its config: %v %s", err, out)
	}
	if err := exec.Command("runuser", "-u", "nobody", "--", "cat", "/etc/kioskd/kioskd.toml").Run(); err == nil {
		t.Error("user nobody reads /etc/kioskd/kioskd.toml")
	}
}

// testConfig is the installed data directory with simulated devices and
// central unreachable, in a file the kioskd user reads.
func testConfig(t *testing.T) string {
	dir, err := os.MkdirTemp("", "kioskd-deb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kioskd.toml")
	cfg := `kiosk_id = "KIOSK-DEB-1"
data_dir = "/var/lib/kioskd"
[speech]
enabled = false
[ui]
listen = "127.0.0.1:0"
[mgmt]
listen = "127.0.0.1:0"
[central]
url = "http://127.0.0.1:1"
timeout = "1s"
`
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var daemonReady = regexp.MustCompile(`kioskd ready.* mgmt=(http\S+)`)

// startAsKioskd runs the installed /usr/bin/kioskd as the kioskd user.
func startAsKioskd(t *testing.T, cfg string) *rig.Proc {
	t.Helper()
	u, err := user.Lookup("kioskd")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cmd := exec.Command("/usr/bin/kioskd", "run", "--config", cfg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	p, err := rig.StartCmd(cmd, daemonReady)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

type statusBody struct {
	Queue struct{ Pending int }
}

func status(t *testing.T, url string) statusBody {
	t.Helper()
	resp, err := http.Get(url + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st statusBody
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func postJSON(url string, body, v any) (int, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 300 {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(v)
	}
	return resp.StatusCode, nil
}
