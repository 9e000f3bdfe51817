package uitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/png"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Orientation is a screen the page is designed for.
type Orientation struct {
	Name          string
	Width, Height int64
}

// Orientations are the terminal screens: the common portrait hospital
// kiosk and a landscape one.
var Orientations = []Orientation{{"portrait", 1080, 1920}, {"landscape", 1920, 1080}}

// SetViewport makes the tab the screen o, at one CSS pixel per device
// pixel.
func (b *Browser) SetViewport(tb testing.TB, o Orientation) {
	tb.Helper()
	b.Run(tb, chromedp.EmulateViewport(o.Width, o.Height))
}

// AuditOptions say what a screen is checked against.
type AuditOptions struct {
	// Lang is the page's language; Catalogue its texts (with the facts
	// filled in): every text shown outside [translate=no] must be one of
	// them (their {placeholders} standing for any value).
	Lang      string
	Catalogue map[string]string
	// Large is large-text mode: touch targets at least 96 px instead of
	// 64, and the screen's text at least 42 px instead of 28.
	Large bool
}

// Audit checks the screen the tab shows as a citizen meets it and returns
// what is wrong, one line each:
//   - nothing is outside the viewport, and no box's content overflows it
//     (scrollWidth/scrollHeight beyond its client size: down where the box
//     clips, across anywhere);
//   - every main action ([data-main]) is at least 96 px high and wholly in
//     the lower half of the screen;
//   - every visible button is at least 64×64 px (96 in large-text mode);
//   - every text is at least 28 px (42 in large-text mode);
//   - every text has a contrast of at least 4.5:1 (WCAG 2.2 AA) with the
//     background it is drawn on, computed in the page;
//   - every control has an accessible name;
//   - no catalogue key or {placeholder} is shown raw;
//   - every text outside [translate=no] (names, numbers, what was typed)
//     is a text of the page's language; on a Chinese screen no Latin word
//     at all outside [translate=no].
func (b *Browser) Audit(tb testing.TB, o AuditOptions) []string {
	tb.Helper()
	var templates []string
	for _, v := range o.Catalogue {
		templates = append(templates, v)
	}
	sort.Strings(templates)
	arg, _ := json.Marshal(map[string]any{"lang": o.Lang, "texts": templates, "large": o.Large})
	return Get(tb, b, chromedp.Evaluate[[]string]("("+auditJS+")("+string(arg)+")"))
}

// auditJS is Audit's check, run in the page.
const auditJS = `function (opt) {
  const W = innerWidth, H = innerHeight, bad = [];
  const minTarget = opt.large ? 96 : 64;
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden" && !e.closest("[hidden]");
  const name = (e) => {
    let n = e.tagName.toLowerCase();
    if (e.id) n += "#" + e.id;
    else if (typeof e.className === "string" && e.className) n += "." + e.className.trim().split(/\s+/).join(".");
    const k = e.getAttribute("data-k") || e.getAttribute("data-value") || e.getAttribute("data-key");
    if (k) n += "[" + k + "]";
    return n;
  };
  const box = (r) => Math.round(r.left) + "," + Math.round(r.top) + " " + Math.round(r.width) + "×" + Math.round(r.height);
  const all = [...document.querySelectorAll("body *")].filter((e) => shown(e));
  for (const e of all) {
    if (e.closest("svg") && e.tagName.toLowerCase() !== "svg") continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < -1 || r.top < -1 || r.right > W + 1 || r.bottom > H + 1) bad.push("outside the viewport: " + name(e) + " at " + box(r));
    const cs = getComputedStyle(e);
    // Content beyond a box that clips it (overflow other than visible),
    // or running out of its box sideways (a glyph's ink a few pixels
    // above or below its line is not content lost).
    if (cs.display !== "inline" && !(e instanceof SVGElement) && (e.clientWidth > 0 || e.clientHeight > 0)) {
      if (e.scrollWidth > e.clientWidth + (cs.overflowX === "visible" ? 4 : 1)) bad.push("clipped across: " + name(e) + " " + e.scrollWidth + " > " + e.clientWidth);
      if (cs.overflowY !== "visible" && e.scrollHeight > e.clientHeight + 1) bad.push("clipped down: " + name(e) + " " + e.scrollHeight + " > " + e.clientHeight);
    }
  }
  for (const e of all.filter((e) => e.matches("[data-main]"))) {
    const r = e.getBoundingClientRect();
    if (r.height < 96) bad.push("main action under 96 px high: " + name(e) + " " + box(r));
    if (r.top < H / 2 - 1) bad.push("main action not in the lower half: " + name(e) + " " + box(r));
  }
  for (const e of all.filter((e) => e.matches("button, [role=button], input, select, a[href]"))) {
    const r = e.getBoundingClientRect();
    if (r.width < minTarget - 0.5 || r.height < minTarget - 0.5) bad.push("touch target under " + minTarget + " px: " + name(e) + " " + box(r));
    const label = (e.getAttribute("aria-label") || e.textContent || "").trim();
    if (!label) bad.push("control without an accessible name: " + name(e));
  }
  for (const e of all.filter((e) => e.matches("[role]:not([role=button]):not([role=status]):not([role=alert])"))) {
    if (!(e.getAttribute("aria-label") || "").trim()) bad.push("role " + e.getAttribute("role") + " without an accessible name: " + name(e));
  }
  // colours
  const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return [0, 0, 0, 0]; const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, under) => { const a = top[3]; return [top[0] * a + under[0] * (1 - a), top[1] * a + under[1] * (1 - a), top[2] * a + under[2] * (1 - a), 1]; };
  const bgOf = (e) => {
    const chain = [];
    for (let x = e; x; x = x.parentElement) chain.push(x);
    let c = [255, 255, 255, 1];
    for (const x of chain.reverse()) { const b = parse(getComputedStyle(x).backgroundColor); if (b[3] > 0) c = over(b, c); }
    return c;
  };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  // texts
  const esc = (s) => s.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
  const norm = (s) => s.replace(/\s+/g, " ").trim();
  const pats = opt.texts.map((v) => new RegExp("^" + norm(v).split(/\{[a-z_]+\}/).map(esc).join(".+") + "$"));
  const known = (s) => pats.some((p) => p.test(s));
  const knownSplit = (s, n) => {
    if (n <= 1) return known(s);
    const w = s.split(" ");
    for (let i = 1; i < w.length; i++) if (known(w.slice(0, i).join(" ")) && knownSplit(w.slice(i).join(" "), n - 1)) return true;
    return false;
  };
  const textEls = all.filter((e) => [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()));
  for (const e of textEls) {
    const cs = getComputedStyle(e);
    const text = norm([...e.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join(" "));
    const fs = parseFloat(cs.fontSize);
    // Large text makes every text, the frame's too, at least 1.5 times
    // the 28 px minimum.
    const minText = opt.large ? 42 : 28;
    if (fs < minText - 0.5) bad.push("text under " + minText + " px (" + fs + "): " + name(e) + " " + JSON.stringify(text.slice(0, 40)));
    const fg = over(parse(cs.color), bgOf(e));
    const cr = ratio(fg, bgOf(e));
    if (cr < 4.5) bad.push("contrast " + cr.toFixed(2) + ":1 under 4.5: " + name(e) + " " + JSON.stringify(text.slice(0, 40)));
    if (/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/.test(text) || /\{[a-z_]+\}/.test(text)) bad.push("raw key or placeholder shown: " + name(e) + " " + JSON.stringify(text));
    if (e.closest("[translate=no]")) continue;
    // An element with several keys shows their texts joined by spaces.
    const n = Math.max(1, (e.getAttribute("data-k") || "").split(" ").filter(Boolean).length);
    if (!knownSplit(text, n)) bad.push("text not in the " + opt.lang + " catalogue: " + name(e) + " " + JSON.stringify(text.slice(0, 80)));
    if (opt.lang === "zh-CN" && /[A-Za-z\u00C0-\u024F\u1E00-\u1EFF]{2,}/.test(text)) bad.push("Latin word on a Chinese screen: " + name(e) + " " + JSON.stringify(text.slice(0, 80)));
  }
  return bad;
}`

// GalleryScale is how much smaller the gallery's pictures are than the
// screen; $KIOSKD_GALLERY_SCALE (0.1 to 1) overrides it, for a closer look.
const GalleryScale = 0.3

func galleryScale() float64 {
	if v, err := strconv.ParseFloat(os.Getenv("KIOSKD_GALLERY_SCALE"), 64); err == nil && v >= 0.1 && v <= 1 {
		return v
	}
	return GalleryScale
}

// SaveGalleryShot writes the viewport of orientation o, scaled by
// GalleryScale and reduced to a 256-colour palette, to path: a picture of
// the screen of a few tens of kilobytes.
//
// The tab is first told the user prefers reduced motion (it stays so): the
// illustrations stand still at their resting place (style.css), so a
// picture does not depend on when in an animation it was taken and the
// gallery does not change between two runs.
func (b *Browser) SaveGalleryShot(tb testing.TB, o Orientation, path string) {
	tb.Helper()
	b.Run(tb, ReducedMotion())
	buf := Get(tb, b, chromedp.Action[[]byte](func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng,
			Clip:   &page.Viewport{X: 0, Y: 0, Width: float64(o.Width), Height: float64(o.Height), Scale: galleryScale()},
		})
		if err != nil {
			return nil, err
		}
		return r.Data, nil
	}))
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		tb.Fatalf("screenshot: %v", err)
	}
	pal := toPaletted(img)
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&out, pal); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// ReducedMotion emulates the media feature prefers-reduced-motion: reduce
// in the tab, as a terminal set to reduce motion would report it.
func ReducedMotion() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
		})
		return chromedp.Void{}, err
	}
}

// toPaletted maps img onto the Plan 9 palette through a table of 15-bit
// colours (the palette's own Index searches all 256 entries per pixel).
func toPaletted(img image.Image) *image.Paletted {
	b := img.Bounds()
	pal := image.NewPaletted(b, palette.Plan9)
	var table [1 << 15]int16
	for i := range table {
		table[i] = -1
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			k := (r>>11)<<10 | (g>>11)<<5 | bl>>11
			if table[k] < 0 {
				table[k] = int16(pal.Palette.Index(color.RGBA64{R: uint16(r), G: uint16(g), B: uint16(bl), A: 0xffff}))
			}
			pal.SetColorIndex(x, y, uint8(table[k]))
		}
	}
	return pal
}

// Describe is a one-line summary of problems for a failure message.
func Describe(problems []string) string {
	return fmt.Sprintf("%d problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
}

// Fonts are the fonts Chromium drew the text of the elements sel selects
// with, as the platform names them, each with the number of glyphs it
// drew: a glyph the first font of the element's font-family lacks is drawn
// by a fallback font, which shows up here.
func (b *Browser) Fonts(tb testing.TB, sel string) map[string]float64 {
	tb.Helper()
	return Get(tb, b, chromedp.Action[map[string]float64](func(ctx context.Context, t *chromedp.Target) (map[string]float64, error) {
		if _, err := cdp.Call(ctx, t, css.Enable, cdp.Empty{}); err != nil {
			return nil, err
		}
		ids, err := chromedp.QueryNodeIDs(chromedp.CSSAll(sel))(ctx, t)
		if err != nil {
			return nil, err
		}
		used := map[string]float64{}
		for _, id := range ids {
			r, err := cdp.Call(ctx, t, css.GetPlatformFontsForNode, css.GetPlatformFontsForNodeParams{NodeID: id})
			if err != nil {
				return nil, err
			}
			for _, f := range r.Fonts {
				used[f.FamilyName] += f.GlyphCount
			}
		}
		return used, nil
	}))
}

// TextSize is the size a text is drawn at: its element's font size in
// CSS px, and the text.
type TextSize struct {
	Size float64
	Text string
}

// TextSizes are the texts the tab shows (an element's own text, outside
// the pictures), each keyed by its element's place in the page: its id,
// or its parent's key and its place among its parent's children. The
// same screen drawn twice (in normal and in large text) gives the same
// keys.
func (b *Browser) TextSizes(tb testing.TB) map[string]TextSize {
	tb.Helper()
	return Get(tb, b, chromedp.Evaluate[map[string]TextSize](textSizesJS))
}

const textSizesJS = `(() => {
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden" && !e.closest("[hidden]");
  const key = (e) => {
    if (e === document.body) return "body";
    if (e.id) return "#" + e.id;
    return key(e.parentElement) + ">" + e.tagName.toLowerCase() + ":" + ([...e.parentElement.children].indexOf(e) + 1);
  };
  const out = {};
  for (const e of document.querySelectorAll("body *")) {
    if (e.closest("svg") || !shown(e)) continue;
    const text = [...e.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join(" ").replace(/\s+/g, " ").trim();
    if (!text) continue;
    out[key(e)] = { Size: parseFloat(getComputedStyle(e).fontSize), Text: text };
  }
  return out;
})()`

// GrownLess lists the texts of normal that large shows (the same element
// and text) at under ratio times their size in normal, one line each:
// large-text mode is to make every text at least that much larger.
func GrownLess(normal, large map[string]TextSize, ratio float64) []string {
	var bad []string
	for k, n := range normal {
		l, ok := large[k]
		if !ok || l.Text != n.Text || n.Size == 0 {
			continue
		}
		if l.Size < ratio*n.Size-0.05 {
			bad = append(bad, fmt.Sprintf("text grows %.2f× (%g px to %g px), under %g×: %s %q", l.Size/n.Size, n.Size, l.Size, ratio, k, truncate(n.Text, 40)))
		}
	}
	sort.Strings(bad)
	return bad
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
