// Pictograms and illustrations of the touch page, drawn as inline SVG (no
// file, no network). Each is a function returning an <svg> element; the
// page puts them where a screen shows a physical action or names a
// service. They carry no text: what they show is said by the screen's
// words beside them. Animations move only transform and opacity (the
// compositor's work, never a re-layout), gently, and stop for
// prefers-reduced-motion (style.css).
"use strict";

(function () {
  // svg parses markup into an <svg> element (the HTML parser puts it in
  // the SVG namespace).
  function svg(viewBox, cls, body) {
    const tpl = document.createElement("template");
    tpl.innerHTML = '<svg viewBox="' + viewBox + '" aria-hidden="true" focusable="false" class="pic ' + (cls || "") + '">' + body + "</svg>";
    return tpl.content.firstChild;
  }

  // A card: rounded rectangle with a chip, face lines and a photo box.
  function cardShape(x, y, w, h, fill, opts) {
    const o = opts || {};
    let b = '<rect x="' + x + '" y="' + y + '" width="' + w + '" height="' + h + '" rx="' + h * 0.08 + '" fill="' + fill + '" stroke="#0f1e33" stroke-width="4"/>';
    if (o.chip !== false) {
      const cx = x + w * 0.1, cy = y + h * 0.3, cw = w * 0.16, ch = h * 0.26;
      b += '<rect x="' + cx + '" y="' + cy + '" width="' + cw + '" height="' + ch + '" rx="4" fill="#e8b923" stroke="#7a5a00" stroke-width="2"/>' +
        '<path d="M' + cx + " " + (cy + ch / 2) + "h" + cw + "M" + (cx + cw / 2) + " " + cy + "v" + ch + '" stroke="#7a5a00" stroke-width="2"/>';
    }
    if (o.lines !== false) {
      for (let i = 0; i < 3; i++) {
        b += '<rect x="' + (x + w * 0.34) + '" y="' + (y + h * (0.3 + i * 0.16)) + '" width="' + w * (0.4 - i * 0.08) + '" height="' + h * 0.06 + '" rx="3" fill="#0f1e33" opacity=".55"/>';
      }
    }
    return b;
  }

  const P = {};

  // ---- service pictograms (tiles) -----------------------------------------

  // A card with a question mark: reporting a lost card.
  P.report_loss = () => svg("0 0 120 100", "tile-pic",
    cardShape(6, 18, 84, 56, "#ffffff") +
    '<circle cx="90" cy="66" r="24" fill="#c0392b" stroke="#ffffff" stroke-width="4"/>' +
    '<path d="M82 58a8 8 0 1 1 11 7c-2 1-3 3-3 5v2" fill="none" stroke="#fff" stroke-width="5" stroke-linecap="round"/>' +
    '<circle cx="90" cy="80" r="3" fill="#fff"/>');

  // A card with a pause sign: payments suspended.
  P.suspend_settlement = () => svg("0 0 120 100", "tile-pic",
    cardShape(6, 18, 84, 56, "#ffffff") +
    '<circle cx="90" cy="66" r="24" fill="#b35c00" stroke="#ffffff" stroke-width="4"/>' +
    '<rect x="81" y="55" width="6" height="22" rx="2" fill="#fff"/><rect x="93" y="55" width="6" height="22" rx="2" fill="#fff"/>');

  // A card with a check mark: payments resumed.
  P.resume_settlement = () => svg("0 0 120 100", "tile-pic",
    cardShape(6, 18, 84, 56, "#ffffff") +
    '<circle cx="90" cy="66" r="24" fill="#1e7b34" stroke="#ffffff" stroke-width="4"/>' +
    '<path d="M79 66l8 8 14-16" fill="none" stroke="#fff" stroke-width="6" stroke-linecap="round" stroke-linejoin="round"/>');

  // A receipt under a magnifier: look up a report.
  P.lookup = () => svg("0 0 120 100", "tile-pic",
    '<path d="M18 8h56v84l-7-5-7 5-7-5-7 5-7-5-7 5-7-5-7 5z" fill="#fff" stroke="#0f1e33" stroke-width="4" stroke-linejoin="round"/>' +
    '<rect x="28" y="22" width="36" height="6" rx="3" fill="#0f1e33" opacity=".55"/><rect x="28" y="36" width="28" height="6" rx="3" fill="#0f1e33" opacity=".55"/>' +
    '<circle cx="80" cy="58" r="18" fill="#dbe9ff" stroke="#0a4fa6" stroke-width="6"/><path d="M93 71l16 16" stroke="#0a4fa6" stroke-width="9" stroke-linecap="round"/>');

  // One person with their card: the card is mine.
  P.self = () => svg("0 0 120 100", "tile-pic",
    '<circle cx="46" cy="28" r="16" fill="#0a4fa6"/><path d="M18 92c0-22 12-36 28-36s28 14 28 36z" fill="#0a4fa6"/>' +
    cardShape(70, 50, 44, 30, "#fff", { lines: false }));

  // Two people, one helping: reporting for someone else.
  P.proxy = () => svg("0 0 120 100", "tile-pic",
    '<circle cx="36" cy="30" r="14" fill="#0a4fa6"/><path d="M12 92c0-20 10-32 24-32s24 12 24 32z" fill="#0a4fa6"/>' +
    '<circle cx="82" cy="36" r="12" fill="#5b6b82"/><path d="M62 92c0-17 9-27 20-27s20 10 20 27z" fill="#5b6b82"/>' +
    '<path d="M92 56c8-2 14 2 18 8" fill="none" stroke="#5b6b82" stroke-width="6" stroke-linecap="round"/>' +
    '<rect x="100" y="60" width="16" height="11" rx="2" fill="#fff" stroke="#0f1e33" stroke-width="2"/>');

  // A person for the relationship choices.
  P.person = () => svg("0 0 120 100", "tile-pic small",
    '<circle cx="60" cy="30" r="16" fill="#0a4fa6"/><path d="M30 92c0-24 13-38 30-38s30 14 30 38z" fill="#0a4fa6"/>');

  // The terminal itself: the screen, the ID card pad, the card slot and
  // the receipt slot, for the idle screen.
  P.kiosk = () => svg("0 0 260 240", "hero-svg",
    '<rect x="60" y="6" width="140" height="228" rx="16" fill="#2b3a55"/>' +
    '<rect x="74" y="20" width="112" height="86" rx="6" fill="#dbe9ff"/>' +
    '<rect x="86" y="34" width="88" height="16" rx="4" fill="#0b5fc4"/><rect x="86" y="58" width="40" height="34" rx="4" fill="#ffffff"/><rect x="134" y="58" width="40" height="34" rx="4" fill="#ffffff"/>' +
    '<rect x="80" y="122" width="100" height="36" rx="6" fill="#3f5378"/><path class="waves" d="M118 140q12-8 24 0" fill="none" stroke="#7fd1ff" stroke-width="4" stroke-linecap="round"/>' +
    '<rect x="96" y="172" width="68" height="8" rx="4" fill="#0b1424"/>' +
    '<rect x="92" y="196" width="76" height="8" rx="4" fill="#0b1424"/>' +
    '<g class="float">' + cardShape(10, 110, 64, 42, "#ffffff", { lines: false }) + '</g>' +
    '<path class="feed" d="M104 200h52v30l-5-3-5 3-5-3-5 3-5-3-5 3-5-3-5 3-5-3-5 3z" fill="#fff" stroke="#0f1e33" stroke-width="2"/>');

  // ---- physical actions ----------------------------------------------------

  // The ID card laid flat on the contactless pad, coming down onto it.
  P.place_id = () => svg("0 0 400 300", "action-pic",
    '<rect x="40" y="190" width="320" height="80" rx="18" fill="#2b3a55"/>' +
    '<rect x="80" y="200" width="240" height="50" rx="10" fill="#3f5378"/>' +
    '<g class="waves"><path d="M170 222q30-18 60 0" fill="none" stroke="#7fd1ff" stroke-width="6" stroke-linecap="round"/>' +
    '<path d="M150 232q50-30 100 0" fill="none" stroke="#7fd1ff" stroke-width="6" stroke-linecap="round" opacity=".6"/></g>' +
    '<g class="float">' + cardShape(110, 60, 180, 114, "#ffffff", { chip: false }) +
    '<rect x="122" y="72" width="40" height="50" rx="4" fill="#b9c6d8"/></g>' +
    '<path class="float" d="M200 30v20m-12-10l12 12 12-12" fill="none" stroke="#0a4fa6" stroke-width="6" stroke-linecap="round" stroke-linejoin="round"/>');

  // The social security card going into the slot chip first, face up: the
  // card held upright above the slot, its chip at the lower end.
  P.insert_ss = () => svg("0 0 400 300", "action-pic",
    '<rect x="60" y="200" width="280" height="90" rx="14" fill="#2b3a55"/>' +
    '<rect x="130" y="216" width="140" height="14" rx="7" fill="#0b1424"/>' +
    '<g class="slide"><rect x="145" y="20" width="110" height="170" rx="10" fill="#e9f2ff" stroke="#0f1e33" stroke-width="4"/>' +
    '<rect x="168" y="128" width="36" height="30" rx="4" fill="#e8b923" stroke="#7a5a00" stroke-width="2"/>' +
    '<path d="M168 143h36M186 128v30" stroke="#7a5a00" stroke-width="2"/>' +
    '<rect x="160" y="36" width="80" height="8" rx="4" fill="#c0392b" opacity=".8"/>' +
    '<rect x="160" y="56" width="60" height="7" rx="3" fill="#0f1e33" opacity=".5"/><rect x="160" y="72" width="70" height="7" rx="3" fill="#0f1e33" opacity=".5"/></g>' +
    '<path d="M300 80v90m-14-14l14 14 14-14" fill="none" stroke="#0a4fa6" stroke-width="8" stroke-linecap="round" stroke-linejoin="round"/>');

  // The receipt coming out of the slot below the screen.
  P.receipt_slot = () => svg("0 0 300 260", "action-pic slot-pic",
    '<rect x="20" y="20" width="260" height="70" rx="14" fill="#2b3a55"/>' +
    '<rect x="70" y="48" width="160" height="12" rx="6" fill="#0b1424"/>' +
    '<g class="feed"><path d="M84 54h132v150l-11-8-11 8-11-8-11 8-11-8-11 8-11-8-11 8-11-8-11 8-11-8-11 8z" fill="#fff" stroke="#0f1e33" stroke-width="4" stroke-linejoin="round"/>' +
    '<rect x="104" y="90" width="92" height="8" rx="4" fill="#0f1e33" opacity=".55"/><rect x="104" y="110" width="70" height="8" rx="4" fill="#0f1e33" opacity=".55"/>' +
    '<rect x="120" y="132" width="60" height="42" fill="#0f1e33" opacity=".8"/></g>');

  // A warning sign, for what went wrong.
  P.warning = () => svg("0 0 120 110", "action-pic small",
    '<path d="M60 6l56 98H4z" fill="#ffd43b" stroke="#8a5a00" stroke-width="6" stroke-linejoin="round"/>' +
    '<rect x="54" y="36" width="12" height="40" rx="6" fill="#0f1e33"/><circle cx="60" cy="88" r="7" fill="#0f1e33"/>');

  // A service counter with a clerk, for "please go to a counter".
  P.counter = () => svg("0 0 200 160", "action-pic small",
    '<circle cx="100" cy="40" r="20" fill="#0a4fa6"/><path d="M66 104c0-26 15-40 34-40s34 14 34 40z" fill="#0a4fa6"/>' +
    '<rect x="16" y="100" width="168" height="48" rx="8" fill="#2b3a55"/><rect x="16" y="96" width="168" height="10" rx="5" fill="#5b6b82"/>');

  // A telephone handset, for the hotline.
  P.phone = () => svg("0 0 100 100", "small",
    '<path d="M28 14l14 4 6 20-10 8c6 12 14 20 26 26l8-10 20 6 4 14c-2 8-10 12-18 12C42 92 8 58 10 26c0-6 8-12 18-12z" fill="#0a4fa6"/>');

  // A phone receiving a text message, for the one-time code.
  P.sms = () => svg("0 0 200 160", "action-pic small",
    '<rect x="60" y="10" width="80" height="140" rx="12" fill="#2b3a55"/><rect x="68" y="24" width="64" height="104" rx="4" fill="#dbe9ff"/>' +
    '<g class="float"><rect x="76" y="44" width="48" height="28" rx="6" fill="#0a4fa6"/><path d="M84 72l-4 10 12-10" fill="#0a4fa6"/></g>');

  // A card and a keypad with hidden digits, for the PIN.
  P.pin = () => svg("0 0 200 160", "action-pic small",
    cardShape(10, 40, 90, 60, "#e9f2ff", { lines: false }) +
    '<rect x="110" y="20" width="80" height="120" rx="10" fill="#2b3a55"/>' +
    [0, 1, 2].map((r) => [0, 1, 2].map((c) => '<circle cx="' + (130 + c * 20) + '" cy="' + (50 + r * 24) + '" r="7" fill="#dbe9ff"/>').join("")).join("") +
    '<circle cx="150" cy="122" r="7" fill="#dbe9ff"/>');

  // A receipt with the voucher number marked, for typing it.
  P.voucher = () => svg("0 0 200 160", "action-pic small",
    '<path d="M50 6h100v146l-10-7-10 7-10-7-10 7-10-7-10 7-10-7-10 7-10-7z" fill="#fff" stroke="#0f1e33" stroke-width="4" stroke-linejoin="round"/>' +
    '<rect x="66" y="24" width="68" height="6" rx="3" fill="#0f1e33" opacity=".55"/>' +
    '<rect x="60" y="42" width="80" height="22" rx="4" fill="#ffd43b" stroke="#b35c00" stroke-width="3"/>' +
    '<rect x="66" y="50" width="68" height="6" rx="3" fill="#0f1e33"/>' +
    '<rect x="78" y="86" width="44" height="40" fill="#0f1e33" opacity=".8"/>');

  // Where on the ID card a field is printed: the front with the 12-digit
  // number (the document number is its last 9 digits) and the birth date,
  // the back with the machine readable zone; the field is framed in yellow.
  // which: "doc_number", "birth_date", "expiry_date", "subject_id".
  P.idcard = (which) => {
    const digits = (x, y, n, hi) => {
      let b = "";
      for (let i = 0; i < n; i++) {
        b += '<rect x="' + (x + i * 13) + '" y="' + y + '" width="10" height="14" rx="2" fill="' + (hi && hi(i) ? "#0f1e33" : "#7d8aa0") + '"/>';
      }
      return b;
    };
    const mark = (x, y, w, h) => '<rect class="mark" x="' + x + '" y="' + y + '" width="' + w + '" height="' + h + '" rx="6" fill="none" stroke="#f0a800" stroke-width="6"/>';
    // front
    let f = '<rect x="8" y="8" width="300" height="190" rx="16" fill="#f4f8ff" stroke="#0f1e33" stroke-width="4"/>' +
      '<rect x="24" y="60" width="70" height="90" rx="6" fill="#b9c6d8"/><circle cx="59" cy="92" r="16" fill="#8a9bb5"/><path d="M35 150c0-22 10-32 24-32s24 10 24 32z" fill="#8a9bb5"/>' +
      '<rect x="24" y="22" width="180" height="10" rx="5" fill="#c0392b" opacity=".8"/>' +
      '<rect x="110" y="60" width="120" height="9" rx="4" fill="#0f1e33" opacity=".5"/>' +
      digits(110, 80, 12, (i) => which === "subject_id" || (which === "doc_number" && i >= 3)) +
      '<rect x="110" y="110" width="90" height="9" rx="4" fill="#0f1e33" opacity=".5"/>' +
      digits(110, 128, 8) +
      '<rect x="110" y="156" width="80" height="9" rx="4" fill="#0f1e33" opacity=".5"/>' + digits(200, 152, 8);
    if (which === "doc_number") f += mark(143, 72, 126, 30);
    if (which === "subject_id") f += mark(104, 72, 166, 30);
    if (which === "birth_date") f += mark(104, 120, 116, 30);
    if (which === "expiry_date") f += mark(194, 144, 116, 30);
    // back: chip and the three MRZ lines
    let b = '<rect x="332" y="8" width="300" height="190" rx="16" fill="#f4f8ff" stroke="#0f1e33" stroke-width="4"/>' +
      '<rect x="352" y="30" width="48" height="38" rx="6" fill="#e8b923" stroke="#7a5a00" stroke-width="2"/>';
    for (let l = 0; l < 3; l++) b += digits(346, 120 + l * 22, 21);
    if (which === "doc_number") b += mark(404, 112, 126, 30);
    if (which === "birth_date") b += mark(340, 134, 88, 30);
    if (which === "expiry_date") b += mark(444, 134, 88, 30);
    return svg("0 0 640 206", "card-pic", f + b);
  };

  P.svg = svg;
  window.pictures = P;
})();
