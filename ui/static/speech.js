// Speech mode and the keypad path (README, "Speech and a keypad").
//
// A key of an attached keypad (a USB keypad is a keyboard) or the speaker
// button asks the daemon for speech mode (`speech` intent); the daemon
// marks the session's screens with data.speech until the session ends and
// gives it longer timeouts. In speech mode every screen is announced on
// arrival by walking it in reading order: each text carries its catalogue
// key in data-k (app.js), values are fetched from the daemon's data routes,
// which speak only what the screen shows (masked) and names only where the
// terminal allows it. The audio comes from kioskd's own /speech/ routes and
// plays through <audio> elements; a new prompt interrupts the old one.
//
// Keys: arrows move the focus through the screen's buttons in reading
// order, Enter activates, ? / F1 / * repeat, Escape is Back, + and - set the
// volume; digits and letters type into keypads (app.js). A PIN digit sounds
// a tone, never the digit. Any key tells the daemon the citizen is there.
// No business rule lives here: the daemon decides what comes next.
"use strict";

(function () {
  let on = false; // speech mode, as the daemon's last screen says
  let audible = false; // the daemon can speak (hello.speech)
  let volume = 0.8;
  let queue = [];
  let playing = null;
  let lastScreen = ""; // name|field|lang of the screen last announced
  let lastClips = [];
  let lastKey = "";
  let focusId = "";
  let warned = false;
  let lastPing = 0;
  window.__speech = []; // clips the page asked for, newest last (tests, debugging)

  const $ = (id) => document.getElementById(id);
  const K = () => window.kiosk;
  const cur = () => (K() ? K().screen() : { name: "", data: {} });

  // ---- clips -------------------------------------------------------------

  function kURL(key, n, lang) {
    return "/speech/" + encodeURIComponent(lang || K().lang()) + "/k/" + encodeURIComponent(key) + ".wav" +
      (n !== undefined && n !== null && n !== "" ? "?n=" + encodeURIComponent(n) : "");
  }
  function dataURL(what) { return "/speech/" + encodeURIComponent(K().lang()) + "/data/" + what + ".wav"; }
  function spellURL(c) { return "/speech/" + encodeURIComponent(K().lang()) + "/spell/" + encodeURIComponent(c) + ".wav"; }
  const TONE = "/speech/tone.wav";

  function keysOf(e) {
    const k = e.getAttribute("data-k") || e.getAttribute("data-i18n");
    return k ? k.split(" ").filter((x) => x) : [];
  }

  // What a control says when it gets the focus.
  function controlClips(b) {
    if (b.dataset.lang) return [kURL("lang.name", "", b.dataset.lang)];
    if (b.dataset.card !== undefined) return [dataURL("card/" + encodeURIComponent(b.dataset.card))];
    if (b.dataset.key === "del") return [kURL("btn.delete")];
    if (b.dataset.key) return [spellURL(b.dataset.key)];
    return keysOf(b).map((k) => kURL(k, b.dataset.n));
  }

  function visible(e) {
    return !e.hidden && (e.offsetParent !== null || getComputedStyle(e).position === "fixed");
  }

  // walk collects what el says, children in reading (document) order.
  function walk(el, out) {
    for (const c of el.children) {
      if (!visible(c) || c.hasAttribute("data-key") || c.tagName === "PRE") continue;
      if (c.id === "voucher") {
        // The voucher is read out twice: it is what the citizen must keep.
        out.push(dataURL("voucher"), kURL("speech.again"), dataURL("voucher") + "?r=2");
      } else if (c.tagName === "BUTTON") {
        out.push(...controlClips(c));
      } else if (c.id === "display") {
        if (!cur().data.secret) for (const ch of c.textContent) out.push(spellURL(ch));
      } else if (keysOf(c).length) {
        for (const k of keysOf(c)) out.push(kURL(k, c.dataset.n));
      } else if (c.tagName === "DD" && c.dataset.row) {
        out.push(dataURL("row/" + encodeURIComponent(c.dataset.row)));
      } else {
        walk(c, out);
      }
    }
    return out;
  }

  function pinCount() {
    const d = $("display");
    return d ? d.textContent.length : 0;
  }

  // screenClips is the announcement of the screen: title, what to do, the
  // choices, in reading order.
  function screenClips() {
    const out = [];
    const banner = $("banner");
    if (visible(banner)) for (const k of keysOf(banner)) out.push(kURL(k));
    walk($("screen"), out);
    const d = cur().data || {};
    if (d.field && $("display")) {
      out.push(kURL("speech.keypad"));
      if (d.secret && pinCount() > 0) out.push(kURL("speech.digits_entered", pinCount()));
    }
    return out;
  }

  // ---- playing -----------------------------------------------------------

  function stop() {
    for (const a of [playing].concat(queue)) {
      if (!a) continue;
      a.onended = a.onerror = null;
      a.pause();
      a.removeAttribute("src");
    }
    playing = null;
    queue = [];
  }

  // say interrupts whatever is playing and plays urls in order. Every clip
  // is requested at once, so the next one is ready when the last ends.
  // With after set, urls are queued after what is playing instead.
  function say(urls, after) {
    if (!after) stop();
    if (!audible || !urls.length) return;
    const t = Date.now();
    const more = urls.map((u) => {
      window.__speech.push({ url: u, t: t });
      const a = new Audio();
      a.preload = "auto";
      a.src = u;
      return a;
    });
    if (window.__speech.length > 1000) window.__speech.splice(0, 500);
    queue = queue.concat(more);
    if (!playing) next();
  }

  function next() {
    playing = queue.shift() || null;
    if (!playing) return;
    playing.volume = volume;
    playing.onended = playing.onerror = next;
    const a = playing;
    const p = a.play();
    // A clip that cannot play (refused, broken) is skipped.
    if (p) p.catch(() => { if (a === playing) next(); });
  }

  function announce(intro) {
    const clips = screenClips();
    lastClips = clips;
    say((intro ? [kURL("speech.on")] : []).concat(clips));
  }

  // ---- focus -------------------------------------------------------------

  // controls are the buttons a key can reach, in reading order: the
  // screen's (not the keypad's keys, which are typed), then Back and
  // Cancel, then the languages, large text and the speaker.
  function controls() {
    if (visible($("overlay"))) return [...document.querySelectorAll("#overlay button")].filter(visible);
    const screen = [...document.querySelectorAll("#screen button")].filter((b) => !b.hasAttribute("data-key"));
    return screen.concat([...document.querySelectorAll("#nav button")], [...document.querySelectorAll("#tools button")])
      .filter((b) => visible(b) && !b.disabled);
  }

  function ident(b) {
    if (!b || b === document.body) return "";
    if (b.id) return "#" + b.id;
    for (const a of ["data-value", "data-lang", "data-card", "data-k"]) {
      if (b.hasAttribute(a)) return "[" + a + '="' + CSS.escape(b.getAttribute(a)) + '"]';
    }
    return "";
  }

  function move(step) {
    const list = controls();
    if (!list.length) return;
    let i = list.indexOf(document.activeElement);
    i = i < 0 ? (step > 0 ? 0 : list.length - 1) : (i + step + list.length) % list.length;
    focusOn(list[i]);
  }

  function focusOn(b) {
    focusId = ident(b); // before focus(): focusin then knows it is ours
    b.focus();
    say(controlClips(b));
  }

  // ---- the daemon's screens ---------------------------------------------

  document.addEventListener("kiosk:hello", (ev) => {
    audible = !!(ev.detail && ev.detail.speech);
    $("btn-speech").hidden = !audible;
  });

  document.addEventListener("kiosk:render", (ev) => {
    const c = ev.detail || {};
    const d = c.data || {};
    const wasOn = on;
    on = !!d.speech;
    document.body.classList.toggle("keys-on", on);
    $("btn-speech").setAttribute("aria-pressed", String(on));
    if (!on) {
      // The session ended (or never was in speech mode): silence.
      if (wasOn) stop();
      lastScreen = lastKey = focusId = "";
      lastClips = [];
      warned = false;
      return;
    }
    if (d.countdown && !warned) {
      warned = true;
      say([kURL("speech.timeout_warning")]);
    }
    if (!d.countdown) warned = false;
    const rest = Object.assign({}, d);
    delete rest.countdown;
    const key = c.name + "|" + JSON.stringify(rest);
    if (key === lastKey) {
      // A re-render of the same screen (countdown, a touch): keep the focus.
      const b = focusId && document.querySelector(focusId);
      if (b && visible(b)) b.focus();
      return;
    }
    lastKey = key;
    const screen = c.name + "|" + (d.field || "") + "|" + K().lang() + "|" + (d.title || d.stage || d.code || "");
    if (screen === lastScreen && wasOn) {
      // The same screen with something new (an error, tries left, the
      // receipt printed): only what changed is said, after what is being
      // said (the voucher is not cut off by the printer finishing).
      const clips = screenClips();
      const fresh = clips.filter((u) => !lastClips.includes(u));
      lastClips = clips;
      const b = focusId && document.querySelector(focusId);
      if (b && visible(b)) b.focus();
      if (fresh.length) say(fresh, true);
      return;
    }
    lastScreen = screen;
    focusId = "";
    announce(!wasOn);
  });

  document.addEventListener("kiosk:toast", () => {
    const e = $("toast");
    if (on && visible(e) && keysOf(e).length) say(keysOf(e).map((k) => kURL(k)));
  });

  // Keys typed on a keypad screen, on the keyboard or the screen: a tone
  // for a PIN digit (never the digit), the character otherwise.
  document.addEventListener("click", (ev) => {
    const b = ev.target.closest && ev.target.closest("#screen [data-key]");
    if (!on || !b) return;
    const secret = !!cur().data.secret;
    setTimeout(() => {
      if (b.dataset.key === "del") say(secret ? [kURL("speech.digits_entered", pinCount())] : [kURL("btn.delete")]);
      else say(secret ? [TONE] : [spellURL(b.dataset.key)]);
    }, 0);
  }, true);

  // ---- keys --------------------------------------------------------------

  const NAV = ["ArrowDown", "ArrowUp", "ArrowLeft", "ArrowRight", "Escape", "F1", "?", "*", "+", "-", "Tab",
    "AudioVolumeUp", "AudioVolumeDown", "PageUp", "PageDown"];

  window.addEventListener("keydown", (ev) => {
    if (!K() || document.body.dataset.link !== "up") return;
    const c = cur();
    const keypad = !!$("display");
    const now = Date.now();
    if (now - lastPing > 1000 || visible($("countdown"))) {
      // Any key tells the daemon the citizen is there (and extends the
      // session when the countdown runs).
      lastPing = now;
      K().send({ type: "ping" });
    }
    // On the voucher screen a QR scanner types a receipt's lookup URL,
    // with "?", "-" and "+"-like characters in it: printable keys there are
    // the scanner's, for app.js, never speech commands.
    if (keypad && ev.key.length === 1 && c.data && c.data.field === "voucher") return;
    if (!on) {
      // A scanner types characters and Enter on the keypad: only keys a
      // scanner never sends start speech mode there.
      if (!keypad || NAV.includes(ev.key)) {
        K().send({ type: "speech", value: "on" });
        if (!keypad) ev.preventDefault();
        if (NAV.includes(ev.key) && ev.key !== "Tab") {
          ev.preventDefault();
          ev.stopImmediatePropagation();
        }
      }
      if (c.name === "idle") {
        ev.preventDefault();
        ev.stopImmediatePropagation();
      }
      return;
    }
    const act = document.activeElement;
    const focused = act && act !== document.body && controls().includes(act);
    let handled = true;
    switch (ev.key) {
      case "ArrowDown": case "ArrowRight": move(1); break;
      case "ArrowUp": case "ArrowLeft": move(-1); break;
      case "Enter":
        if (focused && !(keypad && act.id === "btn-ok")) act.click();
        else if (keypad) handled = false; // app.js: OK
        else if (controls().length) focusOn(controls()[0]);
        break;
      case "Escape": {
        const back = $("btn-back");
        if (visible(back)) back.click();
        else if (visible($("btn-cancel"))) $("btn-cancel").click();
        break;
      }
      case "?": case "F1": case "*": {
        announce(false);
        break;
      }
      case "+": case "AudioVolumeUp": case "PageUp":
        volume = Math.min(1, volume + 0.2);
        say([TONE]);
        break;
      case "-": case "AudioVolumeDown": case "PageDown":
        volume = Math.max(0.2, volume - 0.2);
        say([TONE]);
        break;
      default:
        handled = false;
    }
    if (handled) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, true);

  // Enter was handled on keydown: its keypress must not click the focused
  // button a second time (which would, say, start a new session after
  // Finish).
  window.addEventListener("keypress", (ev) => {
    if (on && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, true);

  // Tab moves the focus natively; say where it landed.
  document.addEventListener("focusin", (ev) => {
    if (!on || ident(ev.target) === focusId) return;
    if (ev.target.tagName === "BUTTON" && controls().includes(ev.target)) {
      focusId = ident(ev.target);
      say(controlClips(ev.target));
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    $("btn-speech").addEventListener("click", () => {
      if (!on) K().send({ type: "speech", value: "on" });
      else announce(false);
    });
  });
})();
