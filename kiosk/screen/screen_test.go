package screen_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kioskd/kioskd/scripts/rig"
)

// interval is the screen's WATCHDOG_USEC in the test.
const interval = 2 * time.Second

var daemonReady = regexp.MustCompile(`kioskd ready.* ui=(http\S+) mgmt=(http\S+)`)

// terminal is a running kioskd and a `kioskd screen` on it: cage headless
// with Chromium on Wayland, as a user other than root.
type terminal struct {
	ui, mgmt string
	devtools string // Chromium's DevTools HTTP address
	screen   *exec.Cmd
	stderr   *lockedBuffer
	exited   chan struct{}
	exitErr  error
	notify   chan string
	started  time.Time
}

func needTools(tb testing.TB) {
	for _, c := range []string{"cage", "chromium", "Xwayland"} {
		if _, err := exec.LookPath(c); err != nil {
			tb.Fatalf("%s is missing: scripts/install-test-deps.sh installs it: %v", c, err)
		}
	}
}

func startTerminal(tb testing.TB) *terminal {
	tb.Helper()
	needTools(tb)
	bin := rig.Kioskd(tb)
	dir := tb.TempDir()
	cfg := filepath.Join(dir, "kioskd.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`kiosk_id = "KIOSK-SCREEN-1"
data_dir = %q
[speech]
enabled = false
[ui]
listen = "127.0.0.1:0"
[mgmt]
listen = "127.0.0.1:0"
`, filepath.Join(dir, "data"))), 0o600); err != nil {
		tb.Fatal(err)
	}
	p, err := rig.Start(bin, regexp.MustCompile(`kioskd ready.* mgmt=(http\S+)`), "run", "--config", cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Kill)
	m := daemonReady.FindStringSubmatch(p.Stderr())
	if m == nil {
		tb.Fatalf("no addresses in kioskd's ready line:\n%s", p.Stderr())
	}
	t := &terminal{ui: m[1] + "/", mgmt: m[2], exited: make(chan struct{}), notify: make(chan string, 1024), stderr: &lockedBuffer{}}

	// A user other than root: the screen's, as on a terminal. Its own
	// runtime directory and home, readable only by it.
	var cred *syscall.Credential
	owner := func(string) error { return nil }
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			tb.Fatalf("no user nobody to run the screen as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		owner = func(p string) error { return os.Chown(p, uid, gid) }
	}
	base, err := os.MkdirTemp("", "kscreen")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(base) })
	_ = os.Chmod(base, 0o755)
	runtimeDir, home := filepath.Join(base, "run"), filepath.Join(base, "home")
	for _, d := range []string{runtimeDir, home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			tb.Fatal(err)
		}
		if err := owner(d); err != nil {
			tb.Fatal(err)
		}
	}
	// kioskd where that user may run it.
	screenBin := filepath.Join(base, "kioskd")
	b, err := os.ReadFile(bin)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(screenBin, b, 0o755); err != nil {
		tb.Fatal(err)
	}
	// systemd's notification socket, writable by that user.
	sock := filepath.Join(base, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	_ = os.Chmod(sock, 0o777)
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			t.notify <- string(buf[:k])
		}
	}()

	t.devtools = freePort(tb)
	_, port, _ := net.SplitHostPort(t.devtools)
	t.screen = exec.Command(screenBin, "screen", "--ui", t.ui, "--mgmt", t.mgmt,
		// The test machine runs Chromium without its sandbox (no user
		// namespaces in the container) and without a GPU, as the other
		// browser tests do.
		"--chromium-flag=--no-sandbox", "--chromium-flag=--disable-gpu",
		"--chromium-flag=--remote-debugging-port="+port)
	t.screen.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_RUNTIME_DIR=" + runtimeDir,
		"WLR_BACKENDS=headless", "WLR_RENDERER=pixman", "WLR_LIBINPUT_NO_DEVICES=1",
		"NOTIFY_SOCKET=" + sock, fmt.Sprintf("WATCHDOG_USEC=%d", interval.Microseconds()),
	}
	t.screen.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	t.screen.Stdout, t.screen.Stderr = t.stderr, t.stderr
	t.started = time.Now()
	if err := t.screen.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { t.exitErr = t.screen.Wait(); close(t.exited) }()
	tb.Cleanup(func() {
		_ = t.screen.Process.Signal(syscall.SIGTERM)
		select {
		case <-t.exited:
		case <-time.After(15 * time.Second):
			_ = t.screen.Process.Kill()
			<-t.exited
		}
	})
	return t
}

// next waits for a notification containing want.
func (t *terminal) next(tb testing.TB, want string, limit time.Duration) string {
	tb.Helper()
	deadline := time.After(limit)
	for {
		select {
		case m := <-t.notify:
			if strings.Contains(m, want) {
				return m
			}
		case <-t.exited:
			tb.Fatalf("kioskd screen exited (%v) before %q:\n%s", t.exitErr, want, t.stderr.String())
		case <-deadline:
			tb.Fatalf("no %q from kioskd screen within %s:\n%s", want, limit, t.stderr.String())
		}
	}
}

type pageStatus struct {
	Connected bool
	Since     time.Time
}

func (t *terminal) page(tb testing.TB) pageStatus {
	tb.Helper()
	resp, err := http.Get(t.mgmt + "/v1/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct{ Page pageStatus }
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		tb.Fatal(err)
	}
	return st.Page
}

// idleDrawn asks Chromium itself (DevTools) whether the page shows the
// idle screen, linked to kioskd.
func (t *terminal) idleDrawn() (bool, error) {
	resp, err := http.Get("http://" + t.devtools + "/json/list")
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var targets []struct{ Type, URL, WebSocketDebuggerURL string }
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
		return false, err
	}
	for _, tg := range targets {
		if tg.Type != "page" || !strings.HasPrefix(tg.URL, t.ui) {
			continue
		}
		c, _, err := websocket.DefaultDialer.Dial(tg.WebSocketDebuggerURL, nil)
		if err != nil {
			return false, err
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		expr := `!!document.querySelector('#screen[data-name="idle"] [data-value="report_loss"]') && document.body.dataset.link === "up"`
		if err := c.WriteJSON(map[string]any{"id": 1, "method": "Runtime.evaluate", "params": map[string]any{"expression": expr, "returnByValue": true}}); err != nil {
			return false, err
		}
		for {
			var m struct {
				ID     int
				Result struct{ Result struct{ Value any } }
			}
			if err := c.ReadJSON(&m); err != nil {
				return false, err
			}
			if m.ID == 1 {
				return m.Result.Result.Value == true, nil
			}
		}
	}
	return false, errors.New("no page target yet")
}

func (t *terminal) waitIdle(tb testing.TB, limit time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, err := t.idleDrawn()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("Chromium does not show the idle screen within %s (%v):\n%s", limit, err, t.stderr.String())
		}
		select {
		case <-t.exited:
			tb.Fatalf("kioskd screen exited (%v):\n%s", t.exitErr, t.stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// chromium returns the pids of the Chromium processes under the screen:
// the browser (cage's child) and, with renderer, the page's renderers.
func (t *terminal) chromium(tb testing.TB, renderer bool) []int {
	tb.Helper()
	children := map[int][]int{}
	cmdlines := map[int]string{}
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; split after ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], pid)
		cl, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
		cmdlines[pid] = strings.ReplaceAll(string(cl), "\x00", " ")
	}
	var out []int
	var walk func(pid int)
	walk = func(pid int) {
		for _, c := range children[pid] {
			if renderer && strings.Contains(cmdlines[c], "--type=renderer") {
				out = append(out, c)
			}
			walk(c)
		}
	}
	for _, cage := range children[t.screen.Process.Pid] {
		for _, browser := range children[cage] {
			if !renderer && !strings.Contains(cmdlines[browser], "--type=") {
				out = append(out, browser)
			}
		}
		walk(cage)
	}
	return out
}

// quietFor waits until no notification containing want came for quiet,
// and reports whether that happened before limit.
func (t *terminal) quietFor(want string, quiet, limit time.Duration) bool {
	deadline := time.After(limit)
	timer := time.NewTimer(quiet)
	defer timer.Stop()
	for {
		select {
		case m := <-t.notify:
			if strings.Contains(m, want) {
				timer.Reset(quiet)
			}
		case <-timer.C:
			return true
		case <-deadline:
			return false
		}
	}
}

// TestScreen runs `kioskd screen` with cage headless and Chromium on
// Wayland against a running kioskd: READY=1 once kioskd sees the page,
// the idle screen drawn, watchdog pings while the page is connected; a
// crashed page (its renderer killed) is reported missing by kioskd and
// stops the pings; Chromium killed ends `kioskd screen` with an error.
func TestScreen(t *testing.T) {
	term := startTerminal(t)
	ready := term.next(t, "READY=1", 120*time.Second)
	if pg := term.page(t); !pg.Connected {
		t.Fatalf("READY=1 (%q) while kioskd reports no page connected", ready)
	}
	term.waitIdle(t, 60*time.Second)
	for range 2 {
		term.next(t, "WATCHDOG=1", 5*interval)
	}

	// The page crashes; the browser stays up ("Aw, Snap!": a screen that
	// shows nothing of kioskd).
	renderers := term.chromium(t, true)
	if len(renderers) == 0 {
		t.Fatalf("no Chromium renderer under kioskd screen")
	}
	for _, pid := range renderers {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(30 * time.Second)
	for term.page(t).Connected {
		if time.Now().After(deadline) {
			t.Fatal("kioskd still reports the page connected 30 s after its renderer was killed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !term.quietFor("WATCHDOG=1", 3*interval, 20*interval) {
		t.Fatalf("with no page connected, WATCHDOG=1 kept coming:\n%s", term.stderr.String())
	}
	select {
	case <-term.exited:
		t.Fatalf("kioskd screen exited with the browser still running: %v\n%s", term.exitErr, term.stderr.String())
	default:
	}

	// The browser itself dies: cage ends, and kioskd screen with an error.
	browsers := term.chromium(t, false)
	if len(browsers) == 0 {
		t.Fatalf("no Chromium browser process under kioskd screen")
	}
	for _, pid := range browsers {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	select {
	case <-term.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("kioskd screen still runs 30 s after Chromium was killed:\n%s", term.stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(term.exitErr, &exit) || exit.ExitCode() == 0 {
		t.Errorf("kioskd screen ended with %v after Chromium died, want an error exit", term.exitErr)
	}
	if !strings.Contains(term.stderr.String(), "the screen exited") {
		t.Errorf("kioskd screen does not say the screen exited:\n%s", term.stderr.String())
	}
}

// BenchmarkScreenReady: from `kioskd screen` starting cage to Chromium
// showing the idle screen connected to kioskd (screen_ready_s).
func BenchmarkScreenReady(b *testing.B) {
	var total time.Duration
	for range b.N {
		term := startTerminal(b)
		term.waitIdle(b, 120*time.Second)
		for !term.page(b).Connected {
			time.Sleep(20 * time.Millisecond)
		}
		total += time.Since(term.started)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "screen_ready_s:s")
}

func freePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
