package maint

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// cheap keeps the tests fast; Verify reads the costs from the string.
var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func mustHash(t testing.TB, pin string) string {
	t.Helper()
	h, err := HashWith(pin, cheap)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashVerify(t *testing.T) {
	h, err := Hash("246810")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q: not the documented PHC format", h)
	}
	if strings.Contains(h, "246810") {
		t.Fatal("hash contains the PIN")
	}
	if ok, err := Verify(h, "246810"); !ok || err != nil {
		t.Fatalf("Verify(right PIN) = %v, %v", ok, err)
	}
	h = mustHash(t, "246810")
	for pin, want := range map[string]bool{"246810": true, "246811": false, "": false, "2468100": false} {
		ok, err := Verify(h, pin)
		if err != nil || ok != want {
			t.Errorf("Verify(pin %q) = %v, %v; want %v", pin, ok, err, want)
		}
	}
	h2 := mustHash(t, "246810")
	if h2 == h {
		t.Error("two hashes of one PIN are equal: salt not random")
	}
}

func TestHashRejectsBadPIN(t *testing.T) {
	for _, pin := range []string{"", "123", "1234567890123", "12a4", "１２３４"} {
		if _, err := Hash(pin); err == nil {
			t.Errorf("Hash(%q): no error", pin)
		} else if pin != "" && strings.Contains(err.Error(), pin) {
			t.Errorf("error %q echoes the PIN", err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	good := mustHash(t, "1234")
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	for _, tc := range []struct{ in, want string }{
		{"", "5 fields"},
		{"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$" + parts[5], "argon2id"},
		{with(2, "v=16"), "version"},
		{with(3, "m=64,t=1"), "parameters"},
		{with(3, "m=64,t=1,p=1,x=2"), "unknown parameter"},
		{with(3, "m=64,t=1,t=1"), "parameters"},
		{with(3, "m=64,t=0,p=1"), "t must"},
		{with(3, "m=64,t=1,p=0"), "p must"},
		{with(3, "m=64,t=1,p=256"), "p must"},
		{with(3, "m=4,t=1,p=1"), "m must"},
		{with(3, "m=99999999,t=1,p=1"), "m must"},
		{with(3, "m=x,t=1,p=1"), "not a number"},
		{with(4, "!!"), "salt"},
		{with(5, "c2hvcnQ"), "hash must"},
		{good + strings.Repeat("A", 600), "longer"},
	} {
		_, err := Parse(tc.in)
		if err == nil || !errors.Is(err, ErrHashFormat) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%.40q) = %v; want ErrHashFormat mentioning %q", tc.in, err, tc.want)
		}
	}
	if _, err := Parse(good); err != nil {
		t.Fatalf("Parse(good) = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(mustHash(f, "1234"))
	f.Add("$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Parse(s)
		if err != nil {
			return
		}
		if h.Params.Memory > maxMemory || h.Params.Time > maxTime || h.Params.Threads < 1 || len(h.Key) < minKeyLen {
			t.Fatalf("Parse accepted out-of-range %+v", h.Params)
		}
	})
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestGuardLockout(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	g := NewGuard([]Technician{{"alice", mustHash(t, "111111")}, {"bob", mustHash(t, "222222")}}, 5, 15*time.Minute, clk.Now)
	if who, err := g.Check("222222"); err != nil || who != "bob" {
		t.Fatalf("right PIN: %q, %v", who, err)
	}
	for i := 1; i <= 4; i++ {
		_, err := g.Check("999999")
		var w *WrongPIN
		if !errors.As(err, &w) || w.TriesLeft != 5-i {
			t.Fatalf("wrong PIN %d: %v; want WrongPIN{%d}", i, err, 5-i)
		}
	}
	_, err := g.Check("999999")
	var l *LockedError
	if !errors.As(err, &l) || !l.JustLocked || !l.Until.Equal(clk.Now().Add(15*time.Minute)) {
		t.Fatalf("fifth wrong PIN: %v; want a fresh 15 min lock", err)
	}
	if g.LockedUntil().IsZero() {
		t.Fatal("LockedUntil zero while locked")
	}
	clk.Add(14 * time.Minute)
	if _, err := g.Check("111111"); !errors.Is(err, ErrLocked) {
		t.Fatalf("right PIN during the lock: %v; want ErrLocked", err)
	}
	clk.Add(time.Minute)
	if who, err := g.Check("111111"); err != nil || who != "alice" {
		t.Fatalf("right PIN after the lock: %q, %v", who, err)
	}
	if !g.LockedUntil().IsZero() {
		t.Fatal("still locked after the lock period")
	}
	// The count starts over after a success.
	for i := 0; i < 4; i++ {
		g.Check("000000")
	}
	if who, err := g.Check("222222"); err != nil || who != "bob" {
		t.Fatalf("right PIN after 4 wrong: %q, %v", who, err)
	}
}

func TestGuardMalformedHashStillCounts(t *testing.T) {
	g := NewGuard([]Technician{{"broken", "$argon2id$nonsense"}}, 2, time.Minute, nil)
	_, err := g.Check("1234")
	if !errors.Is(err, ErrWrongPIN) || !errors.Is(err, ErrHashFormat) {
		t.Fatalf("err = %v; want wrong PIN joined with the hash format error", err)
	}
	if _, err := g.Check("1234"); !errors.Is(err, ErrLocked) {
		t.Fatalf("second try: %v; want locked", err)
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h, _ := Hash("246810")
	start := time.Now()
	if _, err := Verify(h, "246810"); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds()), "tech_pin_verify_ms:ms")
}
