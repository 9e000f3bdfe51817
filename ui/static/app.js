// kioskd touch page. It renders the screen the daemon sends and sends back
// what was touched. No business rule lives here: which screen comes next,
// what is valid and what is shown is decided by the daemon.
"use strict";

(function () {
  const LANGS = ["zh-CN", "vi", "en"];
  const catalogs = {};
  let lang = "zh-CN";
  let ws = null;
  let retryMs = 500;
  let takenOver = false;
  let current = { name: "", data: {} };
  let device = null;
  let typed = "";
  let lastKey = "";
  let lastPing = 0;
  let toastTimer = 0;
  window.__renders = []; // [{name, t}] for tests and benchmarks
  // Hooks for speech.js (speech mode and the keypad path): it reads the
  // rendered screen, whose texts carry their catalogue keys in data-k
  // (space-separated when an element shows several), and sends intents.
  window.kiosk = { send: (msg) => send(msg), lang: () => lang, screen: () => current };

  const $ = (id) => document.getElementById(id);

  function t(key, vars) {
    const c = catalogs[lang] || {};
    let s = c[key];
    if (s === undefined) s = (catalogs.en || {})[key];
    if (s === undefined) s = key;
    if (vars) for (const k in vars) s = s.split("{" + k + "}").join(String(vars[k]));
    return s;
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === "onclick") e.addEventListener("click", attrs[k]);
      else if (k === "text") e.textContent = attrs[k];
      else if (k === "k") {
        // A catalogue text: shown translated, its key kept for speech.
        e.setAttribute("data-k", attrs.k);
        e.textContent = attrs.k.split(" ").map((x) => t(x, attrs.vars)).join(" ");
        if (attrs.vars && attrs.vars.n !== undefined) e.setAttribute("data-n", attrs.vars.n);
      } else if (k === "vars") continue;
      else e.setAttribute(k, attrs[k]);
    }
    for (const k of kids) if (k) e.appendChild(k);
    return e;
  }

  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  function button(key, onclick, cls, id) {
    const a = { k: key, onclick: onclick };
    if (cls) a.class = cls;
    if (id) a.id = id;
    return el("button", a);
  }

  // ---- screens -----------------------------------------------------------

  const screens = {
    idle(d, m) {
      m.appendChild(el("h1", { k: "idle.title" }));
      m.appendChild(button("idle.touch", () => send({ type: "confirm" }), "primary big", "btn-start"));
    },
    menu(d, m) {
      m.appendChild(el("h1", { k: d.title || "menu.title" }));
      const box = el("div", { class: "options" });
      for (const o of d.options || []) {
        const b = button(o.label, () => send(d.field ? { type: "input", field: d.field, value: o.value } : { type: "start", flow: o.value }));
        b.setAttribute("data-value", o.value);
        box.appendChild(b);
      }
      m.appendChild(box);
    },
    identify(d, m) {
      m.appendChild(el("h1", { k: "identify." + d.slot + ".title" }));
      m.appendChild(el("p", { class: "hint", k: "identify." + d.slot + ".hint" }));
      m.appendChild(el("div", { class: "spinner" }));
    },
    keypad(d, m) {
      m.appendChild(el("h1", { k: "field." + d.field }));
      m.appendChild(el("p", { class: "hint", k: "hint." + d.field }));
      if (d.error) m.appendChild(el("p", { class: "error-text", id: "keypad-error", k: "err." + d.error }));
      if (d.tries_left) m.appendChild(el("p", { class: "error-text", id: "tries-left", k: "keypad.tries_left." + d.field, vars: { n: d.tries_left } }));
      const disp = el("div", { class: "display", id: "display" });
      const show = () => { disp.textContent = d.secret ? "●".repeat(typed.length) : typed; };
      show();
      m.appendChild(disp);
      const keys = d.keys === "mrz" ? "1234567890QWERTYUIOPASDFGHJKL<ZXCVBNM".split("")
        : d.keys === "digits_x" ? "123456789X0".split("") : "1234567890".split("");
      const pad = el("div", { class: d.keys === "mrz" ? "keys" : "keys digits" });
      for (const k of keys) {
        const b = el("button", { text: k, "data-key": k, onclick: () => { if (typed.length < (d.max || 32)) { typed += k; show(); } } });
        pad.appendChild(b);
      }
      pad.appendChild(el("button", { text: "⌫", "data-key": "del", "aria-label": t("btn.delete"), onclick: () => { typed = typed.slice(0, -1); show(); } }));
      m.appendChild(pad);
      m.appendChild(el("div", { class: "row" },
        button("btn.clear", () => { typed = ""; show(); }, "", "btn-clear"),
        button("btn.ok", () => send({ type: "input", field: d.field, value: typed }), "primary", "btn-ok")));
    },
    confirm(d, m) {
      m.appendChild(el("h1", { k: d.title }));
      m.appendChild(rows(d.rows));
      if (d.cards && d.cards.length > 1) {
        m.appendChild(el("p", { k: "confirm.cards_choose" }));
        const box = el("div", { class: "options" });
        for (const c of d.cards) {
          const b = el("button", { text: c.number + " · " + t("card.state." + c.state), "data-card": c.index, class: c.selected ? "selected" : "",
            onclick: () => send({ type: "input", field: "card", value: c.index }) });
          box.appendChild(b);
        }
        m.appendChild(box);
      }
      for (const n of d.notes || []) m.appendChild(el("p", { class: "hint", k: n }));
      m.appendChild(button("btn.confirm", () => send({ type: "confirm" }), "primary wide", "btn-confirm"));
    },
    working(d, m) {
      m.appendChild(el("h1", { k: "working." + d.stage }));
      m.appendChild(el("div", { class: "spinner" }));
    },
    done(d, m) {
      const left = el("div", { class: "col" });
      const right = el("div", { class: "col" });
      m.appendChild(el("h1", { k: d.title }));
      m.appendChild(el("div", { class: "split" }, left, right));
      left.appendChild(el("p", { k: "done.voucher" }));
      left.appendChild(el("div", { class: "voucher", id: "voucher", text: d.voucher }));
      left.appendChild(rows(d.rows));
      if (d.printing) left.appendChild(el("p", { id: "print-state", k: "done.printing" }));
      else if (d.printed) left.appendChild(el("p", { id: "print-state", k: "done.printed" }));
      else left.appendChild(el("p", { id: "print-state", class: "error-text", k: "device.printer." + (d.printer_problem || "unknown") + " done.not_printed" }));
      left.appendChild(button("btn.finish", () => send({ type: "confirm" }), "primary", "btn-finish"));
      if (d.preview) {
        right.appendChild(el("p", { class: "hint", text: t("done.preview") }));
        right.appendChild(el("pre", { class: "preview", id: "preview", text: d.preview }));
      }
    },
    error(d, m) {
      m.appendChild(el("h1", { k: "error.title" }));
      m.appendChild(el("p", { class: "error-text", id: "error-code", "data-code": d.code, k: "error." + d.code }));
      if (d.retry) m.appendChild(button("btn.retry", () => send({ type: "confirm" }), "primary", "btn-retry"));
      else m.appendChild(button("btn.menu", () => send({ type: "back" }), "primary", "btn-menu"));
    },
    lookup_result(d, m) {
      m.appendChild(el("h1", { k: "lookup.title" }));
      m.appendChild(el("div", { class: "voucher", id: "voucher", text: d.voucher }));
      const sig = d.signature;
      if (sig) {
        // A scanned receipt: the daemon checked its signature.
        m.appendChild(el("p", { id: "signature", "data-valid": String(sig.valid), class: sig.valid ? "" : "error-text",
          k: sig.valid ? "lookup.signed.valid" : "lookup.signed." + sig.problem, vars: { kiosk: sig.kiosk, at: sig.at } }));
      }
      if (!d.found) m.appendChild(el("p", { class: "error-text", id: "not-found", k: "lookup.not_found" }));
      m.appendChild(rows(d.rows));
      m.appendChild(button("btn.finish", () => send({ type: "confirm" }), "primary", "btn-finish"));
    },
    maintenance_locked(d, m) {
      m.appendChild(el("h1", { text: t(d.title || "maint.title") }));
      if (d.until) m.appendChild(el("p", { class: "error-text", id: "maint-locked", text: t("maint.locked.hint", { n: d.minutes, until: d.until }) }));
      else m.appendChild(el("p", { class: "hint", text: t("maint.hint") }));
    },
    maintenance_pin(d, m) {
      screens.keypad(d, m);
    },
  };
  // The technician's screens share one renderer: the daemon sends only the
  // parts each screen has.
  for (const n of ["home", "devices", "queue", "test_print", "reader_test", "log", "config", "about"]) {
    screens["maintenance_" + n] = maint;
  }

  function maint(d, m) {
    m.appendChild(el("h1", { text: t(d.title) }));
    if (d.tech) m.appendChild(el("p", { class: "hint", id: "maint-tech", text: t("maint.tech", { who: d.tech }) }));
    if (d.result) {
      m.appendChild(el("p", { id: "maint-result", "data-result": d.result, class: /failed/.test(d.result) ? "error-text" : "",
        text: t(d.result) + (d.detail ? " — " + d.detail : "") }));
    }
    if (d.sla_breached) m.appendChild(el("p", { class: "error-text", id: "maint-sla", text: t("maint.sla_alert") }));
    if (d.busy && d.busy !== "load") m.appendChild(el("div", { class: "spinner", id: "maint-busy" }));
    if (d.options) {
      const box = el("div", { class: "options" });
      for (const o of d.options) {
        const b = button(o.label, () => send({ type: "input", field: "screen", value: o.value }));
        b.setAttribute("data-value", o.value);
        box.appendChild(b);
      }
      m.appendChild(box);
    }
    if (d.readers) {
      const dl = el("dl", { id: "maint-readers" });
      for (const r of d.readers) {
        dl.appendChild(el("dt", { text: t("maint.reader." + r.slot) }));
        const state = !r.present ? t("maint.reader.absent") : t(r.card ? "maint.reader.card" : "maint.reader.empty");
        dl.appendChild(el("dd", { "data-slot": r.slot, text: (r.reader ? r.reader + " · " : "") + state + (r.atr ? " · ATR " + r.atr : "") }));
      }
      m.appendChild(dl);
    }
    if (d.printer) {
      const p = d.printer;
      m.appendChild(rows([
        { label: "maint.printer.state", value: "device.printer." + (p.state || "unknown"), t: true },
        { label: "maint.printer.status", value: p.status || "" },
        { label: "maint.printer.port", value: p.device || "" },
        { label: "maint.printer.baud", value: String(p.baud || "") },
      ].concat(p.error ? [{ label: "maint.printer.error", value: p.error }] : [])));
    }
    if (d.rows) m.appendChild(rows(d.rows));
    if (d.ops) {
      if (!d.ops.length) m.appendChild(el("p", { class: "hint", id: "maint-ops-empty", text: t("maint.queue.empty") }));
      const box = el("div", { class: "maint-ops", id: "maint-ops" });
      for (const o of d.ops) {
        const line = el("div", { class: "maint-op", "data-key": o.key });
        line.appendChild(el("span", { class: "mono", text: o.voucher }));
        line.appendChild(el("span", { text: t(o.kind) + " · " + t("maint.op." + o.state) + " · " + o.attempts + " " + t("maint.queue.attempts") + (o.next ? " · " + o.next : "") }));
        if (o.reason) line.appendChild(el("span", { class: "error-text", text: o.reason }));
        if (!d.busy) line.appendChild(button("maint.queue.retry", () => send({ type: "input", field: "retry", value: o.key }), "", "btn-retry-" + o.voucher.replace(/\s/g, "")));
        box.appendChild(line);
      }
      m.appendChild(box);
    }
    if (d.unprinted && d.unprinted.length) {
      m.appendChild(el("h2", { text: t("maint.queue.unprinted") }));
      const box = el("div", { class: "maint-ops", id: "maint-unprinted" });
      for (const r of d.unprinted) {
        const line = el("div", { class: "maint-op" });
        line.appendChild(el("span", { class: "mono", text: r.voucher }));
        if (r.error) line.appendChild(el("span", { class: "error-text", text: r.error }));
        if (!d.busy) line.appendChild(button("maint.queue.reprint", () => send({ type: "input", field: "reprint", value: r.voucher }), "", "btn-reprint-" + r.voucher.replace(/\s/g, "")));
        box.appendChild(line);
      }
      m.appendChild(box);
    }
    if (d.tests) {
      m.appendChild(el("p", { class: "hint", text: t("maint.reader_test.hint") }));
      for (const r of d.tests) {
        const box = el("div", { class: "maint-op", id: "maint-test-" + r.slot });
        box.appendChild(el("strong", { text: t("maint.reader." + r.slot) }));
        if (r.atr) box.appendChild(el("span", { class: "mono", "data-atr": r.atr, text: t("maint.atr") + " " + r.atr }));
        if (r.card_type) box.appendChild(el("span", { text: t("maint.card_type") + ": " + t("maint.card_type." + r.card_type) }));
        if (r.error) box.appendChild(el("span", { class: "error-text", text: r.error }));
        if (!d.busy) box.appendChild(button("maint.reader_test.now", () => send({ type: "input", field: "reader_test", value: r.slot }), "", "btn-test-" + r.slot));
        m.appendChild(box);
      }
    }
    if (d.audit) {
      const a = d.audit;
      m.appendChild(el("p", { id: "maint-audit", "data-intact": String(a.intact), class: a.intact ? "" : "error-text",
        k: a.intact ? "maint.audit.intact" : "maint.audit.broken", vars: { n: a.entries, seq: a.seq, reason: a.reason } }));
    }
    if (d.lines) m.appendChild(el("pre", { class: "log", id: "maint-log", text: d.lines.join("\n") }));
    if (d.settings) {
      const dl = el("dl", { id: "maint-settings" });
      for (const x of d.settings) {
        dl.appendChild(el("dt", { class: "mono", text: x.key }));
        dl.appendChild(el("dd", { class: "mono", text: x.value }));
      }
      m.appendChild(dl);
    }
    if (d.action) {
      m.appendChild(el("p", { class: "hint", text: t("maint.test_print.hint") }));
      if (!d.busy) m.appendChild(button(d.action, () => send({ type: "confirm" }), "primary", "btn-maint-action"));
    } else if (!d.options) {
      m.appendChild(button("maint.refresh", () => send({ type: "confirm" }), "", "btn-refresh"));
    }
  }

  // rows renders [{label, value, t}] where label is a catalogue key and value
  // is shown as is, or translated when t is set.
  function rows(list) {
    const dl = el("dl");
    for (const r of list || []) {
      dl.appendChild(el("dt", { k: r.label }));
      dl.appendChild(el("dd", r.t ? { k: r.value, "data-row": r.label } : { text: r.value, "data-row": r.label }));
    }
    return dl;
  }

  function render() {
    const m = $("screen");
    const d = current.data || {};
    // What was typed survives a re-render of the same screen (language
    // switch, countdown, reconnect) and is cleared when the daemon changes
    // the screen (next field, wrong PIN).
    const rest = Object.assign({}, d);
    delete rest.countdown;
    delete rest.lang;
    const key = current.name + "|" + JSON.stringify(rest);
    if (key !== lastKey) {
      typed = "";
      $("toast").hidden = true; // an error about the previous screen
    }
    lastKey = key;
    m.textContent = "";
    m.setAttribute("data-name", current.name);
    m.setAttribute("data-field", d.field || "");
    (screens[current.name] || screens.idle)(d, m);
    const away = current.name === "idle" || current.name === "";
    $("btn-back").hidden = away;
    $("btn-cancel").hidden = away;
    const cd = $("countdown");
    cd.hidden = !d.countdown;
    if (d.countdown) {
      cd.textContent = t("countdown", { n: d.countdown });
      cd.setAttribute("data-k", "countdown");
      cd.setAttribute("data-n", d.countdown);
    }
    chrome();
    window.__renders.push({ name: current.name, t: Date.now() });
    document.dispatchEvent(new CustomEvent("kiosk:render", { detail: current }));
    if (window.__renders.length > 500) window.__renders.splice(0, 250);
  }

  // chrome renders what is on every screen: texts, language switch, devices.
  function chrome() {
    document.documentElement.lang = lang;
    for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.getAttribute("data-i18n"));
    const langs = $("langs");
    if (!langs.children.length) {
      for (const l of LANGS) {
        langs.appendChild(el("button", { "data-lang": l, text: (catalogs[l] || {})["lang.name"] || l,
          onclick: () => { lang = l; send({ type: "lang", code: l }); render(); } }));
      }
    }
    for (const b of langs.children) b.setAttribute("aria-pressed", String(b.getAttribute("data-lang") === lang));
    const st = $("status");
    st.textContent = "";
    const banner = $("banner");
    banner.hidden = true;
    if (device && device.printer && device.printer !== "unknown") {
      // Only states that stop printing get the banner; the daemon names them.
      const ok = !["paper_out", "cover_open", "offline", "printer_error"].includes(device.printer);
      st.appendChild(el("span", { class: ok ? "" : "bad", id: "printer-status", text: t("device.printer") + ": " + t("device.printer." + (device.printer || "unknown")) }));
      if (!ok) {
        banner.hidden = false;
        banner.textContent = t("device.printer." + (device.printer || "unknown")) + " — " + t("done.not_printed");
        banner.setAttribute("data-k", "device.printer." + (device.printer || "unknown") + " done.not_printed");
      }
      for (const r of device.readers || []) {
        if (!r.present) st.appendChild(el("span", { class: "bad", text: " · " + t("device.reader.missing." + r.slot) }));
      }
    }
  }

  function toast(code, message) {
    const k = "err." + code;
    const text = t(k) === k ? message : t(k);
    const e = $("toast");
    e.textContent = text;
    e.setAttribute("data-code", code);
    if (t(k) === k) e.removeAttribute("data-k");
    else e.setAttribute("data-k", k);
    e.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { e.hidden = true; }, 4000);
    document.dispatchEvent(new CustomEvent("kiosk:toast", { detail: { code: code } }));
  }

  // ---- connection --------------------------------------------------------

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + "/ws");
    ws.onopen = () => {
      retryMs = 500;
      $("overlay").hidden = true;
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      switch (msg.type) {
        case "hello":
          // The daemon greeted this page: touches now reach it (tests and
          // styles can tell by body[data-link]).
          document.body.dataset.link = "up";
          document.dispatchEvent(new CustomEvent("kiosk:hello", { detail: msg }));
          break;
        case "screen":
          current = { name: msg.name, data: msg.data || {} };
          if (current.data.lang && catalogs[current.data.lang]) lang = current.data.lang;
          render();
          break;
        case "device":
          device = { readers: msg.readers || [], printer: msg.printer };
          chrome();
          break;
        case "error":
          if (msg.code === "taken_over") takenOver = true;
          toast(msg.code, msg.message);
          break;
      }
    };
    ws.onclose = () => {
      ws = null;
      document.body.dataset.link = "down";
      const o = $("overlay");
      o.hidden = false;
      if (takenOver) {
        $("overlay-text").textContent = t("conn.taken_over");
        $("btn-reconnect").hidden = false;
        return;
      }
      $("overlay-text").textContent = t("conn.reconnecting");
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  }

  function init() {
    $("btn-back").addEventListener("click", () => send({ type: "back" }));
    $("btn-cancel").addEventListener("click", () => send({ type: "cancel" }));
    $("btn-reconnect").addEventListener("click", () => { takenOver = false; $("btn-reconnect").hidden = true; connect(); });
    // A hardware keypad or keyboard works like the on-screen one. An MRZ
    // scanner is a keyboard too: it types the zone's lines, each ending in
    // Enter, far faster than a hand. Keys are held until the keyboard has
    // been quiet for BURST_MS; a burst that is a whole zone (60 characters
    // or more, with fillers) on the document-number screen goes to the
    // daemon as the scanned MRZ; a burst longer than any voucher on the
    // voucher screen is a QR scanner reading a receipt and goes to the
    // daemon as typed (case kept: the token is base64url); anything else
    // is pressed on the keypad.
    const BURST_MS = 80;
    let burst = [];
    let burstTimer = 0;
    const press = (k) => {
      let b = null;
      if (k === "Backspace") b = document.querySelector('[data-key="del"]');
      else if (k === "Enter") b = $("btn-ok");
      else b = document.querySelector('#screen [data-key="' + (k === '"' || k === "\\" ? "" : k.toUpperCase()) + '"]');
      if (b) b.click();
    };
    const endBurst = () => {
      const keys = burst;
      burst = [];
      const chars = keys.filter((k) => k.length === 1).join("");
      if (current.name === "keypad" && current.data.field === "doc_number" && chars.length >= 60 && chars.includes("<")) {
        const lines = [""];
        for (const k of keys) {
          if (k === "Enter") lines.push("");
          else if (k === "Backspace") lines[lines.length - 1] = lines[lines.length - 1].slice(0, -1);
          else lines[lines.length - 1] += k;
        }
        send({ type: "input", field: "mrz", value: lines.filter((l) => l !== "").join("\n").toUpperCase() });
        return;
      }
      if (current.name === "keypad" && current.data.field === "voucher" && chars.length > (current.data.max || 32)) {
        send({ type: "input", field: "receipt", value: chars });
        return;
      }
      keys.forEach(press);
    };
    document.addEventListener("keydown", (ev) => {
      if (current.name !== "keypad" && current.name !== "maintenance_pin") return;
      const k = ev.key;
      if (k !== "Backspace" && k !== "Enter" && k.length !== 1) return;
      ev.preventDefault();
      burst.push(k);
      clearTimeout(burstTimer);
      burstTimer = setTimeout(endBurst, BURST_MS);
    });
    // Technicians: five taps on the title within three seconds ask for the
    // maintenance menu (the daemon decides whether and what to show).
    let taps = [];
    $("title").addEventListener("click", () => {
      const now = Date.now();
      taps = taps.filter((x) => now - x < 3000).concat(now);
      if (taps.length >= 5) { taps = []; send({ type: "start", flow: "maintenance" }); }
    });
    // A touch tells the daemon the citizen is still there (idle timeout).
    document.addEventListener("pointerdown", () => {
      const now = Date.now();
      if (now - lastPing > 1000 || !$("countdown").hidden) { lastPing = now; send({ type: "ping" }); }
    }, true);
    Promise.all(LANGS.map((l) => fetch("i18n/" + l + ".json").then((r) => r.json()).then((c) => { catalogs[l] = c; })))
      .catch(() => {})
      .then(() => { render(); connect(); });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
