// Package vprinter is a virtual ESC/POS receipt printer on a pseudo-terminal
// pair, so that the serial printer driver and everything above it are
// tested through a real serial line. Link makes a path a symlink to the
// pty's slave side (what the driver opens as its serial device); Run reads
// what the host sends, parses it with package escpos, answers real-time
// status requests (DLE EOT n) from the simulated state, sends XOFF while
// its buffer is full and XON when it drains, and renders each receipt
// (everything up to a cut) to text and to a PNG in which QR codes are drawn
// as real, decodable QR images. Commands it does not know are logged at
// warning level and counted (Unknown), never silently skipped.
//
// The state is switched at run time with SetState (ok, paper_out,
// paper_near_end, cover_open, offline), RunOutAfter (paper runs out after n
// more bytes of a receipt), Unplug (symlink removed, pty closed) and Plug (a
// new pty, symlink back). While the printer cannot print, receipt data is
// buffered and dropped, and is not printed when the state returns to ok. A
// receipt interrupted that way, or by Unplug, is recorded with Complete
// false (at its cut, or at the next ESC @, which clears the print buffer).
//
// `kioskd vprinter --link PATH [--out DIR] [--baud N] [--control ADDR]`
// runs one until killed; with --control, an HTTP server on ADDR accepts
// POST /state/{state}, POST /unplug, POST /plug and GET /receipts (JSON
// list of the text renders). The package is a test and development tool:
// it owns no real device and is never used on a terminal.
package vprinter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/skip2/go-qrcode"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/unicode/norm"

	"github.com/kioskd/kioskd/hwbridge/escpos"
)

// State is the simulated printer condition.
type State string

const (
	StateOK           State = "ok"
	StatePaperOut     State = "paper_out"
	StatePaperNearEnd State = "paper_near_end"
	StateCoverOpen    State = "cover_open"
	StateOffline      State = "offline"
)

// ParseState checks a state name from the command line or the control API.
func ParseState(s string) (State, error) {
	switch st := State(s); st {
	case StateOK, StatePaperOut, StatePaperNearEnd, StateCoverOpen, StateOffline:
		return st, nil
	}
	return "", fmt.Errorf("unknown printer state %q: want ok, paper_out, paper_near_end, cover_open or offline", s)
}

// status is what the printer answers to DLE EOT n in a state.
func (s State) status() escpos.Status {
	st := escpos.Status{Online: true, Known: escpos.AllKnown}
	switch s {
	case StatePaperOut:
		st.Online, st.PaperOut, st.PaperNearEnd = false, true, true
	case StatePaperNearEnd:
		st.PaperNearEnd = true
	case StateCoverOpen:
		st.Online, st.CoverOpen = false, true
	case StateOffline:
		st.Online, st.Error = false, true
	}
	return st
}

func (s State) printing() bool { return s == StateOK || s == StatePaperNearEnd }

// Options configure a virtual printer. The zero value is an 80 mm printer
// with CP1258 as table 52, reading as fast as the pty delivers, keeping
// receipts in memory only.
type Options struct {
	OutDir      string       // where receipt-NNNN.txt/.png go, made when missing; "" = memory only
	Baud        int          // pace reads to Baud/10 bytes per second; 0 = no pacing
	Paper       escpos.Paper // 58 or 80; 0 = 80
	CP1258Table byte         // the ESC t table that is CP1258; 0 = 52
	BufferSize  int          // receive buffer while not printing; XOFF when full; 0 = 4096
	Log         *slog.Logger
}

// Rendered is one receipt as it came out of the printer.
type Rendered struct {
	Seq  int
	Text string   // one line per printed line, decoded to UTF-8
	PNG  []byte   // the paper as an image, QR codes drawn
	QR   []string // payloads of the QR codes printed
	// QRBoxes is where each QR code is in the PNG, top to bottom: native
	// ones (their payloads are in QR) and square raster images.
	QRBoxes  []image.Rectangle
	Complete bool   // false when the paper ran out or the printer stopped mid-receipt
	TextPath string // set when Options.OutDir is
	PNGPath  string
}

// Printer is one virtual printer. Its methods are safe for concurrent use.
type Printer struct {
	opt Options
	log *slog.Logger

	mu       sync.Mutex
	link     string
	master   *os.File
	slave    *os.File
	gen      int           // bumps on every Plug/Unplug
	changed  chan struct{} // closed and replaced when gen changes
	state    State
	runOut   int // bytes until the paper runs out; <0 never
	pending  int // bytes received while not printing
	xoff     bool
	unknown  []string
	received int64
	counts   map[escpos.Op]int

	// parser and page state, owned by the Run goroutine but read under mu
	buf      []byte
	kanji    bool
	table    byte
	bold     bool
	size     int
	align    escpos.Align
	raw      []byte // undecoded bytes of the current line segment
	rawKanji bool
	rawTable byte
	line     strings.Builder
	page     []row
	qrs      []string
	qrData   []byte
	qrModule int
	qrLevel  qrcode.RecoveryLevel
	broken   bool // the current receipt lost data
	receipts []Rendered
	newRcpt  chan struct{}

	// The image of a receipt is drawn off the Run goroutine, so the
	// printer answers real-time status requests while it draws, as a real
	// one does while it prints; Receipts waits for the drawing to end.
	drawing int           // receipts whose image is being drawn
	drawn   chan struct{} // closed and replaced when drawing drops to 0
}

// row is one printed line: text or an image.
type row struct {
	text  string
	size  int
	bold  bool
	align escpos.Align
	img   [][]bool
}

// New makes a virtual printer; nothing runs until Link and Run.
func New(opt Options) *Printer {
	if opt.Paper == 0 {
		opt.Paper = escpos.Paper80
	}
	if opt.CP1258Table == 0 {
		opt.CP1258Table = escpos.DefaultCP1258Table
	}
	if opt.BufferSize <= 0 {
		opt.BufferSize = 4096
	}
	log := opt.Log
	if log == nil {
		log = slog.Default()
	}
	p := &Printer{opt: opt, log: log.With("device", "vprinter"), state: StateOK, runOut: -1,
		changed: make(chan struct{}), newRcpt: make(chan struct{}), drawn: make(chan struct{}), counts: map[escpos.Op]int{}}
	p.resetStyle()
	return p
}

func (p *Printer) resetStyle() {
	p.kanji, p.table, p.bold, p.size, p.align = false, 0, false, 1, escpos.Left
	p.qrModule, p.qrLevel = 3, qrcode.Medium
}

// Link opens the pty and makes path a symlink to its slave device.
func (p *Printer) Link(path string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.link = path
	return p.plugLocked()
}

func (p *Printer) plugLocked() error {
	if p.link == "" {
		return errors.New("vprinter: no link path: call Link first")
	}
	if p.master != nil {
		return nil
	}
	m, s, err := openPty()
	if err != nil {
		return fmt.Errorf("vprinter: open pty: %w", err)
	}
	_ = os.Remove(p.link)
	if err := os.Symlink(s.Name(), p.link); err != nil {
		m.Close()
		s.Close()
		return fmt.Errorf("vprinter: link %s: %w", p.link, err)
	}
	p.master, p.slave = m, s
	p.bumpLocked()
	p.log.Info("vprinter plugged", "link", p.link, "tty", s.Name())
	return nil
}

func (p *Printer) bumpLocked() {
	p.gen++
	close(p.changed)
	p.changed = make(chan struct{})
}

// openPty opens a pty pair whose master is in the runtime poller, so that
// read deadlines and Close interrupt a pending Read (pty.Open returns a
// blocking master: a Read on it could outlive Run).
func openPty() (master, slave *os.File, err error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, err
	}
	defer m.Close()
	rc, err := m.SyscallConn()
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	var dup int
	var derr error
	if err := rc.Control(func(fd uintptr) {
		dup, derr = syscall.Dup(int(fd))
		if derr == nil {
			derr = syscall.SetNonblock(dup, true)
		}
	}); err != nil || derr != nil {
		s.Close()
		return nil, nil, errors.Join(err, derr)
	}
	syscall.CloseOnExec(dup)
	return os.NewFile(uintptr(dup), m.Name()), s, nil
}

// Unplug removes the symlink and closes the pty, as if the USB-serial
// adapter were pulled: the host's reads and writes fail.
func (p *Printer) Unplug() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unplugLocked()
}

func (p *Printer) unplugLocked() {
	if p.master == nil {
		return
	}
	if p.link != "" {
		_ = os.Remove(p.link)
	}
	p.master.Close()
	p.slave.Close()
	p.master, p.slave = nil, nil
	p.buf = p.buf[:0]
	if len(p.page) > 0 || p.line.Len() > 0 || len(p.raw) > 0 {
		p.broken = true
	}
	p.bumpLocked()
	p.log.Info("vprinter unplugged", "link", p.link)
}

// Plug brings a new pty and the symlink back after Unplug.
func (p *Printer) Plug() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.plugLocked()
}

// SetState switches the simulated condition. Returning to ok (or paper near
// end) drops what was buffered while stopped and sends XON if XOFF was sent.
func (p *Printer) SetState(s State) error {
	if _, err := ParseState(string(s)); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = s
	p.runOut = -1
	if s.printing() {
		p.pending = 0
		if p.xoff {
			p.xoff = false
			p.sendLocked(escpos.XON)
		}
	} else if len(p.page) > 0 || p.line.Len() > 0 || len(p.raw) > 0 {
		p.broken = true
	}
	p.log.Info("vprinter state", "state", string(s))
	return nil
}

// State is the current simulated condition.
func (p *Printer) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// RunOutAfter makes the paper run out after n more bytes of receipt data.
func (p *Printer) RunOutAfter(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.runOut = n
}

// Receipts returns the receipts printed so far, oldest first, each with
// its image (it waits for images being drawn).
func (p *Printer) Receipts() []Rendered {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waitDrawnLocked()
	return append([]Rendered(nil), p.receipts...)
}

// waitDrawnLocked waits, releasing mu meanwhile, until no receipt image is
// being drawn.
func (p *Printer) waitDrawnLocked() {
	for p.drawing > 0 {
		ch := p.drawn
		p.mu.Unlock()
		<-ch
		p.mu.Lock()
	}
}

// WaitReceipts waits until at least n receipts were printed.
func (p *Printer) WaitReceipts(ctx context.Context, n int) ([]Rendered, error) {
	for {
		p.mu.Lock()
		if len(p.receipts) >= n {
			p.waitDrawnLocked()
			r := append([]Rendered(nil), p.receipts...)
			p.mu.Unlock()
			return r, nil
		}
		ch := p.newRcpt
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("vprinter: waiting for receipt %d: %w", n, ctx.Err())
		}
	}
}

// Unknown lists the unknown commands received (hex of their first bytes).
func (p *Printer) Unknown() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.unknown...)
}

// Counts returns how many of each command were received (unknown ones are
// in Unknown instead).
func (p *Printer) Counts() map[escpos.Op]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[escpos.Op]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// Received is the number of bytes read from the host so far.
func (p *Printer) Received() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.received
}

// Run reads and answers the host until ctx is done, following Unplug and
// Plug. On return the pty is closed and the symlink removed.
func (p *Printer) Run(ctx context.Context) error {
	defer func() {
		p.mu.Lock()
		p.unplugLocked()
		p.waitDrawnLocked() // no image drawing outlives Run
		p.mu.Unlock()
	}()
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		if p.master != nil {
			p.master.SetReadDeadline(time.Now())
		}
		p.bumpLocked()
		p.mu.Unlock()
	})
	defer stop()
	chunk := 4096
	if p.opt.Baud > 0 {
		chunk = max(1, p.opt.Baud/10/50) // about 20 ms of line time per read
	}
	rbuf := make([]byte, chunk)
	for ctx.Err() == nil {
		p.mu.Lock()
		m, changed := p.master, p.changed
		p.mu.Unlock()
		if m == nil {
			select {
			case <-changed:
			case <-ctx.Done():
			}
			continue
		}
		start := time.Now()
		n, err := m.Read(rbuf)
		if n > 0 {
			p.feed(m, rbuf[:n])
			if p.opt.Baud > 0 {
				line := time.Duration(n) * 10 * time.Second / time.Duration(p.opt.Baud)
				if d := line - time.Since(start); d > 0 {
					time.Sleep(d)
				}
			}
		}
		if err != nil {
			p.mu.Lock()
			same := p.master == m
			p.mu.Unlock()
			if same && ctx.Err() == nil {
				// EIO while the host has the port closed: our own slave fd
				// keeps the pty alive, so this is rare; do not spin.
				select {
				case <-changed:
				case <-ctx.Done():
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
	}
	return nil
}

// sendLocked writes a reply byte (status, XON, XOFF) to the host.
func (p *Printer) sendLocked(b byte) {
	if p.master == nil {
		return
	}
	// A host that stopped reading must not stall the printer (this runs
	// under p.mu): give up on the reply after a second.
	_ = p.master.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := p.master.Write([]byte{b}); err != nil {
		p.log.Warn("vprinter reply failed", "err", err)
	}
}

// feed parses bytes from the host read on master m.
func (p *Printer) feed(m *os.File, b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.master != m {
		return // unplugged meanwhile
	}
	p.received += int64(len(b))
	p.buf = append(p.buf, b...)
	off := 0
	for off < len(p.buf) {
		c, n, err := escpos.Next(p.buf[off:])
		if errors.Is(err, escpos.ErrIncomplete) {
			if len(p.buf)-off > 1<<18 {
				p.unknownLocked(p.buf[off:min(len(p.buf), off+8)])
				off = len(p.buf)
			}
			break
		}
		var ue *escpos.UnknownError
		if errors.As(err, &ue) {
			p.unknownLocked(ue.Bytes)
			off += ue.Skip
			continue
		}
		off += n
		p.handleLocked(c, n)
	}
	p.buf = append(p.buf[:0], p.buf[off:]...)
}

func (p *Printer) unknownLocked(b []byte) {
	h := fmt.Sprintf("% X", b)
	p.unknown = append(p.unknown, h)
	if len(p.unknown) > 1000 {
		p.unknown = p.unknown[len(p.unknown)-1000:]
	}
	p.log.Warn("vprinter: unknown ESC/POS command rejected", "bytes", h)
}

// handleLocked applies one command of n bytes.
func (p *Printer) handleLocked(c escpos.Command, n int) {
	p.counts[c.Op]++
	switch c.Op {
	case escpos.OpStatus: // real-time: answered in every state
		p.sendLocked(escpos.StatusByte(int(c.Arg), p.state.status()))
		return
	case escpos.OpAutoStatus:
		return
	case escpos.OpInit:
		// ESC @ clears the print buffer: what came out of a receipt that
		// never reached its cut is on record as interrupted.
		p.flushRawLocked()
		if len(p.page) > 0 || p.line.Len() > 0 {
			p.broken = true
			p.finishLocked()
		}
		p.resetStyle()
		return
	}
	if p.runOut >= 0 {
		p.runOut -= n
		if p.runOut < 0 {
			p.state = StatePaperOut
			p.log.Info("vprinter paper ran out mid-receipt")
		}
	}
	if !p.state.printing() {
		p.broken = true
		p.pending += n
		if p.pending >= p.opt.BufferSize-256 && !p.xoff {
			p.xoff = true
			p.sendLocked(escpos.XOFF)
		}
		if c.Op == escpos.OpCut {
			p.finishLocked()
		}
		return
	}
	switch c.Op {
	case escpos.OpText:
		mode := p.kanji
		if len(p.raw) > 0 && (p.rawKanji != mode || p.rawTable != p.table) {
			p.flushRawLocked()
		}
		p.rawKanji, p.rawTable = mode, p.table
		p.raw = append(p.raw, c.Data...)
	case escpos.OpKanjiOn, escpos.OpKanjiOff:
		p.flushRawLocked()
		p.kanji = c.Op == escpos.OpKanjiOn
	case escpos.OpTable:
		p.flushRawLocked()
		p.table = c.Arg
	case escpos.OpBold:
		p.bold = c.Arg&1 != 0
	case escpos.OpSize:
		p.size = int(c.Arg&0x0F) + 1
	case escpos.OpAlign:
		p.align = escpos.Align(c.Arg % 3)
	case escpos.OpLF, escpos.OpCR:
		if c.Op == escpos.OpLF {
			p.endLineLocked()
		}
	case escpos.OpFeed:
		p.endLineLocked()
		for i := 0; i < int(c.Arg); i++ {
			p.page = append(p.page, row{size: 1})
		}
	case escpos.OpQRModel:
	case escpos.OpQRSize:
		p.qrModule = max(1, min(16, int(c.Arg)))
	case escpos.OpQRLevel:
		p.qrLevel = map[byte]qrcode.RecoveryLevel{48: qrcode.Low, 49: qrcode.Medium, 50: qrcode.High, 51: qrcode.Highest}[c.Arg]
	case escpos.OpQRStore:
		p.qrData = append(p.qrData[:0], c.Data...)
	case escpos.OpQRPrint:
		p.printQRLocked()
	case escpos.OpRaster:
		p.endLineLocked()
		img := make([][]bool, c.H)
		xb := c.W / 8
		for y := range img {
			img[y] = make([]bool, c.W)
			for x := 0; x < c.W; x++ {
				img[y][x] = c.Data[y*xb+x/8]&(0x80>>(x%8)) != 0
			}
		}
		p.page = append(p.page, row{img: img, align: p.align})
	case escpos.OpCut:
		p.endLineLocked()
		p.finishLocked()
	}
}

func (p *Printer) printQRLocked() {
	p.endLineLocked()
	if len(p.qrData) == 0 {
		p.unknownLocked([]byte("QR print with no data stored"))
		return
	}
	code, err := qrcode.New(string(p.qrData), p.qrLevel)
	if err != nil {
		p.log.Warn("vprinter: QR data not printable", "err", err)
		return
	}
	code.DisableBorder = true
	bm := code.Bitmap()
	img := make([][]bool, len(bm)*p.qrModule)
	for y := range img {
		img[y] = make([]bool, len(bm[0])*p.qrModule)
		for x := range img[y] {
			img[y][x] = bm[y/p.qrModule][x/p.qrModule]
		}
	}
	p.qrs = append(p.qrs, string(p.qrData))
	p.page = append(p.page, row{img: img, align: p.align, text: "[QR " + string(p.qrData) + "]"})
}

// flushRawLocked decodes the pending bytes of the current line.
func (p *Printer) flushRawLocked() {
	if len(p.raw) == 0 {
		return
	}
	var s string
	switch {
	case p.rawKanji:
		b, err := simplifiedchinese.GB18030.NewDecoder().Bytes(p.raw)
		if err != nil {
			p.log.Warn("vprinter: bad GB18030 text", "err", err)
		}
		s = string(b)
	case p.rawTable == p.opt.CP1258Table:
		b, _ := charmap.Windows1258.NewDecoder().Bytes(p.raw)
		s = string(b)
	default:
		b, _ := charmap.CodePage437.NewDecoder().Bytes(p.raw)
		s = string(b)
	}
	p.line.WriteString(s)
	p.raw = p.raw[:0]
}

func (p *Printer) endLineLocked() {
	p.flushRawLocked()
	if p.line.Len() == 0 {
		return
	}
	p.page = append(p.page, row{text: norm.NFC.String(p.line.String()), size: p.size, bold: p.bold, align: p.align})
	p.line.Reset()
}

// finishLocked ends the receipt at a cut.
func (p *Printer) finishLocked() {
	p.flushRawLocked()
	if p.line.Len() > 0 {
		p.endLineLocked()
	}
	page, qrs, broken := p.page, p.qrs, p.broken
	p.page, p.qrs, p.broken = nil, nil, false
	if len(page) == 0 {
		return // nothing reached the paper
	}
	r := Rendered{Seq: len(p.receipts) + 1, QR: qrs, Complete: !broken}
	var txt strings.Builder
	for _, rw := range page {
		switch {
		case rw.img != nil && rw.text == "":
			fmt.Fprintf(&txt, "[image %dx%d]\n", len(rw.img[0]), len(rw.img))
		default:
			txt.WriteString(rw.text)
			txt.WriteByte('\n')
		}
	}
	if broken {
		txt.WriteString("[receipt interrupted: not completely printed]\n")
	}
	r.Text = txt.String()
	i := len(p.receipts)
	p.receipts = append(p.receipts, r)
	close(p.newRcpt)
	p.newRcpt = make(chan struct{})
	p.drawing++
	go func() { // waited for by Receipts, WaitReceipts and Run's end
		r.PNG, r.QRBoxes = p.renderPNG(page)
		if p.opt.OutDir != "" {
			base := filepath.Join(p.opt.OutDir, fmt.Sprintf("receipt-%04d", r.Seq))
			if err := os.MkdirAll(p.opt.OutDir, 0o755); err != nil {
				p.log.Warn("vprinter: receipt folder", "err", err)
			}
			if err := os.WriteFile(base+".txt", []byte(r.Text), 0o644); err != nil {
				p.log.Warn("vprinter: write receipt", "err", err)
			} else {
				r.TextPath = base + ".txt"
			}
			if err := os.WriteFile(base+".png", r.PNG, 0o644); err != nil {
				p.log.Warn("vprinter: write receipt", "err", err)
			} else {
				r.PNGPath = base + ".png"
			}
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.receipts[i] = r
		if p.drawing--; p.drawing == 0 {
			close(p.drawn)
			p.drawn = make(chan struct{})
		}
		p.log.Info("vprinter receipt", "seq", r.Seq, "complete", r.Complete, "lines", len(page))
	}()
}

// renderPNG draws the page on paper-wide white with the escpos bitmap font.
func (p *Printer) renderPNG(page []row) ([]byte, []image.Rectangle) {
	width := p.opt.Paper.Dots()
	const margin = 24
	var bms [][]bool
	var aligns []escpos.Align
	var boxes []image.Rectangle
	height := 2 * margin
	for _, rw := range page {
		var bm [][]bool
		pad := 0
		code := rw.img != nil && isCode(rw)
		if rw.img != nil {
			bm = rw.img
			if code {
				pad = 32 // quiet zone around codes (4 modules of 8 dots)
			}
		} else {
			// the printer wraps a line longer than the paper
			scale := 2 * max(1, rw.size)
			cols := max(1, width/(escpos.GlyphW*scale))
			runes := []rune(rw.text)
			for len(runes) > cols {
				bm = append(bm, escpos.TextBitmap(string(runes[:cols]), scale, rw.bold)...)
				runes = runes[cols:]
			}
			bm = append(bm, escpos.TextBitmap(string(runes), scale, rw.bold)...)
			if rw.text == "" {
				bm = make([][]bool, escpos.GlyphH*2)
			}
		}
		for i := 0; i < pad; i++ {
			bms, aligns = append(bms, nil), append(aligns, escpos.Left)
		}
		if code {
			x0 := alignX(rw.align, width, len(bm[0]))
			boxes = append(boxes, image.Rect(x0, margin+len(bms), x0+len(bm[0]), margin+len(bms)+len(bm)))
		}
		for _, line := range bm {
			bms, aligns = append(bms, line), append(aligns, rw.align)
		}
		for i := 0; i < pad; i++ {
			bms, aligns = append(bms, nil), append(aligns, escpos.Left)
		}
		height += len(bm) + 2*pad
	}
	img := image.NewGray(image.Rect(0, 0, width, height))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	for y, line := range bms {
		x0 := alignX(aligns[y], width, len(line))
		for x, on := range line {
			if on && x0+x >= 0 && x0+x < width {
				img.SetGray(x0+x, margin+y, color.Gray{})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		p.log.Warn("vprinter: encode PNG", "err", err)
	}
	return b.Bytes(), boxes
}

// isCode tells a QR code (native, or a square raster image as QRRaster
// sends it) from a raster text line.
func isCode(rw row) bool {
	if strings.HasPrefix(rw.text, "[QR ") {
		return true
	}
	h, w := len(rw.img), len(rw.img[0])
	return h >= 80 && w >= h-8 && w <= h+8
}

func alignX(a escpos.Align, width, w int) int {
	switch a {
	case escpos.Center:
		return (width - w) / 2
	case escpos.Right:
		return width - w
	}
	return 0
}
