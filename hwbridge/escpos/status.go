package escpos

import (
	"fmt"
	"strings"
)

// Status is the printer's real-time status, from the replies to DLE EOT 1..4
// (DOMAIN.md: one byte shaped 0xx1xx10 each). Known says which of the four
// requests the fields come from (bit n-1 for request n); a field whose
// request was not answered is false.
type Status struct {
	Online          bool // n=1 bit 3 clear
	CoverOpen       bool // n=2 bit 2
	PaperFeeding    bool // n=2 bit 3: feed button held
	PaperEndStop    bool // n=2 bit 5: printing stopped at paper end
	Error           bool // n=2 bit 6: an error occurred
	Recoverable     bool // n=3 bit 2: recoverable error
	CutterError     bool // n=3 bit 3
	Unrecoverable   bool // n=3 bit 5
	AutoRecoverable bool // n=3 bit 6: e.g. head too hot
	PaperNearEnd    bool // n=4 bits 2-3
	PaperOut        bool // n=4 bits 5-6 (or n=2 bit 5)
	Known           uint8
}

// StatusRequest is DLE EOT n, the real-time status request for n in 1..4.
func StatusRequest(n int) []byte { return []byte{DLE, EOT, byte(n)} }

// AllKnown is Status.Known once all four requests were answered.
const AllKnown uint8 = 0x0F

// DecodeStatus decodes the reply byte b to DLE EOT n.
func DecodeStatus(n int, b byte) (Status, error) {
	if n < 1 || n > 4 {
		return Status{}, fmt.Errorf("escpos: status request %d: want 1..4", n)
	}
	// Fixed bits: bit 0 = 0, bit 1 = 1, bit 4 = 1, bit 7 = 0.
	if b&0x93 != 0x12 {
		return Status{}, fmt.Errorf("escpos: status reply %#02x to DLE EOT %d is not a status byte", b, n)
	}
	bit := func(i uint) bool { return b&(1<<i) != 0 }
	s := Status{Known: 1 << (n - 1)}
	switch n {
	case 1:
		s.Online = !bit(3)
	case 2:
		s.CoverOpen = bit(2)
		s.PaperFeeding = bit(3)
		s.PaperEndStop = bit(5)
		s.PaperOut = bit(5)
		s.Error = bit(6)
	case 3:
		s.Recoverable = bit(2)
		s.CutterError = bit(3)
		s.Unrecoverable = bit(5)
		s.AutoRecoverable = bit(6)
	case 4:
		s.PaperNearEnd = bit(2) || bit(3)
		s.PaperOut = bit(5) || bit(6)
	}
	return s, nil
}

// Merge combines the answers to different requests into one Status.
func (s Status) Merge(o Status) Status {
	return Status{
		Online:          s.Online || o.Online,
		CoverOpen:       s.CoverOpen || o.CoverOpen,
		PaperFeeding:    s.PaperFeeding || o.PaperFeeding,
		PaperEndStop:    s.PaperEndStop || o.PaperEndStop,
		Error:           s.Error || o.Error,
		Recoverable:     s.Recoverable || o.Recoverable,
		CutterError:     s.CutterError || o.CutterError,
		Unrecoverable:   s.Unrecoverable || o.Unrecoverable,
		AutoRecoverable: s.AutoRecoverable || o.AutoRecoverable,
		PaperNearEnd:    s.PaperNearEnd || o.PaperNearEnd,
		PaperOut:        s.PaperOut || o.PaperOut,
		Known:           s.Known | o.Known,
	}
}

// Ready says whether a receipt can be printed: all four requests answered,
// online, and nothing in the way. Paper near end is a warning, not a stop.
func (s Status) Ready() bool {
	return s.Known == AllKnown && s.Online && !s.CoverOpen && !s.PaperOut && !s.Error &&
		!s.Recoverable && !s.CutterError && !s.Unrecoverable && !s.AutoRecoverable
}

// String says in plain words what the technician should know:
// "ready", "ready, paper near end", "not ready: cover open". Only what is
// the case is named: a printer out of paper also reports itself offline
// and its near-end sensor dry, and one with its cover open offline; those
// follow from the cause and are left out.
func (s Status) String() string {
	var why []string
	add := func(c bool, w string) {
		if c {
			why = append(why, w)
		}
	}
	if s.Known&1 != 0 {
		add(!s.Online && !s.CoverOpen && !s.PaperOut && !s.PaperEndStop, "offline")
	}
	add(s.CoverOpen, "cover open")
	add(s.PaperOut, "paper out")
	add(s.CutterError, "cutter error")
	add(s.Unrecoverable, "unrecoverable error")
	add(s.AutoRecoverable, "auto-recoverable error")
	add(s.Recoverable, "recoverable error")
	add(s.Error && len(why) == 0, "error")
	if s.Known != AllKnown {
		add(true, "status incomplete")
	}
	near := ""
	if s.PaperNearEnd && !s.PaperOut {
		near = "paper near end"
	}
	switch {
	case len(why) == 0 && near == "":
		return "ready"
	case len(why) == 0:
		return "ready, " + near
	case near != "":
		why = append(why, near)
	}
	return "not ready: " + strings.Join(why, ", ")
}

// statusWords are String's words with the codes Codes gives for them.
var statusWords = []struct{ word, code string }{
	{"offline", "offline"}, {"cover open", "cover_open"}, {"paper out", "paper_out"}, {"cutter error", "cutter_error"},
	{"unrecoverable error", "unrecoverable"}, {"auto-recoverable error", "auto_recoverable"}, {"recoverable error", "recoverable"},
	{"error", "error"}, {"status incomplete", "incomplete"}, {"paper near end", "paper_near_end"},
}

// Codes are the states String names, as codes a screen translates
// ("paper_out", "cover_open", "paper_near_end", …); "ready" when nothing
// is in the way.
func (s Status) Codes() []string { return StatusCodes(s.String()) }

// StatusCodes are the codes of the states a String-worded text names (a
// journaled "printer not ready: paper out"), in String's order.
func StatusCodes(text string) []string {
	var out []string
	rest := text
	if i := strings.Index(rest, "not ready: "); i >= 0 {
		rest = rest[i+len("not ready: "):]
	} else if strings.HasPrefix(rest, "ready") {
		out = append(out, "ready")
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, "ready"), ", ")
	} else {
		return nil
	}
	for _, part := range strings.Split(rest, ", ") {
		for _, w := range statusWords {
			if part == w.word {
				out = append(out, w.code)
				break
			}
		}
	}
	return out
}

// StatusByte is the reply a printer in state s gives to DLE EOT n: the
// inverse of DecodeStatus, used by the virtual printer.
func StatusByte(n int, s Status) byte {
	b := byte(0x12)
	set := func(c bool, i uint) {
		if c {
			b |= 1 << i
		}
	}
	switch n {
	case 1:
		set(!s.Online, 3)
	case 2:
		set(s.CoverOpen, 2)
		set(s.PaperFeeding, 3)
		set(s.PaperEndStop || s.PaperOut, 5)
		set(s.Error, 6)
	case 3:
		set(s.Recoverable, 2)
		set(s.CutterError, 3)
		set(s.Unrecoverable, 5)
		set(s.AutoRecoverable, 6)
	case 4:
		set(s.PaperNearEnd, 2)
		set(s.PaperNearEnd, 3)
		set(s.PaperOut, 5)
		set(s.PaperOut, 6)
	}
	return b
}
