// kioskd touch page. It renders the screen the daemon sends and sends back
// what was touched. No business rule lives here: which screen comes next,
// what is valid, which steps a flow has and what is shown is decided by the
// daemon; the page lays it out (portrait 1080×1920 or landscape 1920×1080,
// normal or large text) with the pictures of pictures.js.
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
  window.__renders = []; // [{name, t, raf}] for tests and benchmarks
  // Hooks for speech.js (speech mode and the keypad path): it reads the
  // rendered screen, whose texts carry their catalogue keys in data-k
  // (space-separated when an element shows several), and sends intents.
  window.kiosk = { send: (msg) => send(msg), lang: () => lang, screen: () => current };

  const $ = (id) => document.getElementById(id);
  const pic = (name, arg) => (window.pictures && window.pictures[name] ? window.pictures[name](arg) : null);

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
      else if (attrs[k] !== undefined && attrs[k] !== null && attrs[k] !== false) e.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
    }
    for (const k of kids) if (k) e.appendChild(k);
    return e;
  }

  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  // button is a touch target with a catalogue label; main marks the
  // screen's main action (large, low on the screen).
  function button(key, onclick, cls, id, main) {
    const a = { k: key, onclick: onclick };
    if (cls) a.class = cls;
    if (id) a.id = id;
    if (main) a["data-main"] = "";
    return el("button", a);
  }

  // tile is a choice with a pictogram: its label is the button's text.
  function tile(label, picture, onclick, attrs) {
    const b = el("button", Object.assign({ class: "tile", onclick: onclick, "data-k": label }, attrs || {}));
    if (picture) b.appendChild(picture);
    b.appendChild(el("span", { class: "tile-label", text: t(label) }));
    return b;
  }

  // head is a screen's title and what to do.
  function head(m, title, lead, leadCls) {
    const h = el("div", { class: "head" }, el("h1", { k: title }));
    if (lead) h.appendChild(el("p", { class: "lead " + (leadCls || ""), k: lead }));
    m.appendChild(h);
    return h;
  }

  function actions(m, ...buttons) {
    m.appendChild(el("div", { class: "actions" }, ...buttons));
  }

  // ---- screens -----------------------------------------------------------

  const FLOW_PICS = { report_loss: "report_loss", suspend_settlement: "suspend_settlement", resume_settlement: "resume_settlement", lookup: "lookup" };
  const IDLE_FLOWS = ["report_loss", "suspend_settlement", "resume_settlement", "lookup"];

  const screens = {
    // The idle screen invites with the services themselves: a touch on one
    // starts it.
    idle(d, m) {
      const h = head(m, "idle.title", "idle.touch");
      h.classList.add("hero");
      h.insertBefore(el("div", { class: "hero-pic" }, pic("kiosk")), h.firstChild);
      services(m, IDLE_FLOWS.map((f) => ({ value: f, label: "menu." + f })), (o) => send({ type: "start", flow: o.value }));
    },
    menu(d, m) {
      if (!d.field) {
        head(m, d.title || "menu.title");
        services(m, d.options || [], (o) => send({ type: "start", flow: o.value }));
        return;
      }
      head(m, d.title, "choose.hint");
      m.appendChild(el("div", { class: "stage" }, pic(d.field === "mode" ? "report_loss" : "proxy")));
      const box = el("div", { class: "choices n" + (d.options || []).length + " field-" + d.field });
      for (const o of d.options || []) {
        const p = d.field === "mode" ? pic(o.value) : pic("person");
        box.appendChild(tile(o.label, p, () => send({ type: "input", field: d.field, value: o.value }), { "data-value": o.value, "data-main": "" }));
      }
      m.appendChild(box);
    },
    identify(d, m) {
      head(m, "identify." + d.slot + ".title", "identify." + d.slot + ".hint");
      m.appendChild(el("div", { class: "stage" }, pic(d.slot === "ss" ? "insert_ss" : "place_id")));
    },
    keypad(d, m) {
      keypad(d, m);
    },
    confirm(d, m) {
      head(m, d.title);
      const left = el("div", { class: "col col-facts" });
      left.appendChild(rows(d.rows, "facts"));
      if (d.cards && d.cards.length > 1) {
        left.appendChild(el("p", { class: "lead", k: "confirm.cards_choose" }));
        const box = el("div", { class: "cards" });
        for (const c of d.cards) {
          box.appendChild(el("button", { text: c.number + " · " + t("card.state." + c.state), "data-card": c.index, class: "choice" + (c.selected ? " selected" : ""), translate: "no",
            "aria-pressed": String(!!c.selected), onclick: () => send({ type: "input", field: "card", value: c.index }) }));
        }
        left.appendChild(box);
      }
      m.appendChild(left);
      const right = el("div", { class: "col col-notes" });
      right.appendChild(el("p", { class: "notes-title", k: "confirm.what_happens" }));
      const ul = el("ul", { class: "notes", id: "notes" });
      for (const n of d.notes || []) ul.appendChild(el("li", { k: n }));
      right.appendChild(ul);
      m.appendChild(right);
      actions(m, button("btn.confirm", () => send({ type: "confirm" }), "main go", "btn-confirm", true));
    },
    working(d, m) {
      head(m, "working." + d.stage, "working.wait");
      const stage = el("div", { class: "stage" });
      const p = d.stage === "reading_id" ? pic("place_id") : d.stage === "reading_ss" || d.stage === "checking_pin" ? pic("insert_ss") : null;
      if (p) stage.appendChild(p);
      stage.appendChild(el("div", { class: "spinner", role: "progressbar", "aria-label": t("working." + d.stage) }));
      m.appendChild(stage);
    },
    done(d, m) {
      const h = head(m, d.title);
      h.classList.add("ok");
      const left = el("div", { class: "col col-voucher" });
      left.appendChild(el("p", { class: "label", k: "done.voucher" }));
      left.appendChild(el("div", { class: "voucher", id: "voucher", translate: "no", text: d.voucher }));
      const state = el("div", { class: "print" });
      if (d.printing) state.appendChild(el("p", { id: "print-state", k: "done.printing" }));
      else if (d.printed) state.appendChild(el("p", { id: "print-state", k: "done.printed" }));
      else state.appendChild(el("p", { id: "print-state", class: "error-text", k: "device.printer." + (d.printer_problem || "unknown") + " done.not_printed" }));
      if (d.printing || d.printed) state.appendChild(el("div", { class: "slot" }, pic("receipt_slot")));
      left.appendChild(state);
      m.appendChild(left);
      if (d.steps && d.steps.length) {
        const mid = el("div", { class: "col col-steps" });
        mid.appendChild(el("p", { class: "notes-title", k: "done.steps" }));
        const ol = el("ol", { class: "steps", id: "steps" });
        for (const s of d.steps) ol.appendChild(el("li", { k: s }));
        mid.appendChild(ol);
        m.appendChild(mid);
      }
      if (d.preview) {
        const right = el("div", { class: "col col-paper" });
        right.appendChild(el("p", { class: "label", k: "done.preview" }));
        right.appendChild(paper(d.preview));
        m.appendChild(right);
      }
      actions(m, button("btn.finish", () => send({ type: "confirm" }), "main go", "btn-finish", true));
    },
    error(d, m) {
      const h = head(m, d.counter ? "error.title.counter" : "error.title");
      h.classList.add("bad");
      const body = el("div", { class: "body problem" });
      body.appendChild(el("div", { class: "problem-head" }, pic("warning"),
        el("p", { class: "error-text", id: "error-code", "data-code": d.code, k: "error." + d.code })));
      if (d.counter) {
        body.appendChild(el("div", { class: "counter" }, pic("counter"),
          el("div", { class: "col" }, el("p", { k: "error.go_counter" }), el("p", { class: "hotline" }, pic("phone"), el("span", { k: "step.hotline" })))));
      }
      m.appendChild(body);
      // Without a retry the way on is the bar's Back and Cancel, as on
      // every screen.
      if (d.retry) actions(m, button("btn.retry", () => send({ type: "confirm" }), "main go", "btn-retry", true));
    },
    lookup_result(d, m) {
      head(m, "lookup.title");
      const body = el("div", { class: "body" });
      body.appendChild(el("div", { class: "voucher", id: "voucher", translate: "no", text: d.voucher }));
      const sig = d.signature;
      if (sig) {
        // A scanned receipt: the daemon checked its signature.
        body.appendChild(el("p", { id: "signature", "data-valid": String(sig.valid), class: sig.valid ? "good-text" : "error-text",
          k: sig.valid ? "lookup.signed.valid" : "lookup.signed." + sig.problem, vars: { kiosk: sig.kiosk, at: sig.at } }));
      }
      if (!d.found) body.appendChild(el("p", { class: "error-text", id: "not-found", k: "lookup.not_found" }));
      body.appendChild(rows(d.rows, "facts"));
      m.appendChild(body);
      actions(m, button("btn.finish", () => send({ type: "confirm" }), "main go", "btn-finish", true));
    },
    maintenance_locked(d, m) {
      head(m, d.title || "maint.title");
      const body = el("div", { class: "body" });
      if (d.until) body.appendChild(el("p", { class: "error-text", id: "maint-locked", k: "maint.locked.hint", vars: { n: d.minutes, until: d.until } }));
      else if (d.no_technician) {
        body.appendChild(el("p", { class: "error-text", id: "maint-no-tech", k: "maint.no_technician" }));
        body.appendChild(el("p", { class: "lead", k: "maint.no_technician.how" }));
        body.appendChild(el("pre", { class: "code", translate: "no", text: "kioskd hash-pin\n\n[[maintenance.technicians]]\nlabel = \"tech-01\"\npin_hash = \"$argon2id$…\"" }));
      } else body.appendChild(el("p", { class: "lead", k: "maint.hint" }));
      m.appendChild(body);
    },
    maintenance_pin(d, m) {
      keypad(d, m);
    },
  };
  // The technician's screens share one renderer: the daemon sends only the
  // parts each screen has.
  for (const n of ["home", "devices", "queue", "test_print", "reader_test", "log", "config", "about"]) {
    screens["maintenance_" + n] = maint;
  }

  // services are the service tiles of the idle screen and the menu.
  function services(m, options, go) {
    const box = el("div", { class: "services" });
    for (const o of options) {
      const attrs = { "data-value": o.value, "data-main": "" };
      if (o.value === "report_loss") attrs.class = "tile primary";
      box.appendChild(tile(o.label, pic(FLOW_PICS[o.value] || "lookup"), () => go(o), attrs));
    }
    m.appendChild(box);
  }

  // keypad is a field's screen: what to type and where it is printed,
  // what was typed, and the keys.
  function keypad(d, m) {
    const info = el("div", { class: "col col-info" });
    info.appendChild(el("h1", { k: "field." + d.field }));
    info.appendChild(el("p", { class: "lead", k: "hint." + d.field }));
    const p = ["doc_number", "birth_date", "expiry_date", "subject_id"].includes(d.field) ? pic("idcard", d.field)
      : d.field === "pin" ? pic("pin") : d.field === "otp" ? pic("sms") : d.field === "voucher" ? pic("voucher") : null;
    if (d.derived) info.appendChild(el("p", { class: "good-text", id: "derived", k: "notice.doc_derived", vars: { doc: d.derived } }));
    if (d.error) info.appendChild(el("p", { class: "error-text", id: "keypad-error", k: "err." + d.error }));
    if (d.tries_left) info.appendChild(el("p", { class: "error-text", id: "tries-left", k: "keypad.tries_left." + d.field, vars: { n: d.tries_left } }));
    if (p) info.appendChild(el("div", { class: "where" }, p));
    const disp = el("div", { class: "display", id: "display", role: "status", translate: "no", "aria-label": t("field." + d.field) });
    const show = () => { disp.textContent = d.secret ? "●".repeat(typed.length) : typed; };
    show();
    const keys = d.keys === "mrz" ? "1234567890QWERTYUIOPASDFGHJKL<ZXCVBNM".split("")
      : d.keys === "digits_x" ? "123456789X0".split("") : "1234567890".split("");
    const pad = el("div", { class: d.keys === "mrz" ? "keys mrz" : "keys digits", translate: "no" });
    for (const k of keys) {
      pad.appendChild(el("button", { text: k, "data-key": k, "aria-label": k === "<" ? t("key.filler") : k,
        onclick: () => { if (typed.length < (d.max || 32)) { typed += k; show(); } } }));
    }
    pad.appendChild(el("button", { "data-key": "del", class: "del", "aria-label": t("btn.delete"), onclick: () => { typed = typed.slice(0, -1); show(); } },
      svgIcon("M20 6H9l-6 6 6 6h11zM12 9l6 6M18 9l-6 6")));
    m.appendChild(info);
    m.appendChild(el("div", { class: "col col-keys" }, disp, pad));
    actions(m,
      button("btn.clear", () => { typed = ""; show(); }, "secondary", "btn-clear"),
      button("btn.ok", () => send({ type: "input", field: d.field, value: typed }), "main go", "btn-ok", true));
  }

  function svgIcon(d) {
    return window.pictures.svg("0 0 24 24", "icon", '<path d="' + d + '" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/>');
  }

  // paper is the receipt preview: the receipt's own lines as printed, in a
  // monospaced font that has CJK and Vietnamese letters; a QR code's line
  // shows a QR mark.
  function paper(text) {
    const box = el("div", { class: "paper", id: "preview", translate: "no" });
    for (const line of text.replace(/\n$/, "").split("\n")) {
      if (line.trim() === "[QR]") {
        box.appendChild(el("div", { class: "qr-line" }, qrMark()));
        continue;
      }
      box.appendChild(el("div", { class: "pl", text: line || "\u00a0" }));
    }
    return box;
  }

  function qrMark() {
    let b = "";
    for (const [x, y] of [[0, 0], [14, 0], [0, 14]]) b += '<path d="M' + x + " " + y + "h7v7h-7zM" + (x + 1) + " " + (y + 1) + "v5h5v-5zM" + (x + 2) + " " + (y + 2) + 'h3v3h-3z" fill="#000" fill-rule="evenodd"/>';
    for (let i = 0; i < 40; i++) {
      const x = 8 + ((i * 7) % 13), y = (i * 5) % 21;
      if ((x < 8 && y < 8) || (x > 12 && y < 8) || (x < 8 && y > 12)) continue;
      b += '<rect x="' + x + '" y="' + y + '" width="1" height="1" fill="#000"/>';
    }
    return window.pictures.svg("0 0 21 21", "qr", b);
  }

  function maint(d, m) {
    head(m, d.title);
    const body = el("div", { class: "body maint" });
    m.appendChild(body);
    if (d.tech) body.appendChild(el("p", { class: "lead", id: "maint-tech", k: "maint.tech", vars: { who: d.tech } }));
    if (d.result) {
      body.appendChild(el("p", { id: "maint-result", "data-result": d.result, class: /failed/.test(d.result) ? "error-text" : "good-text",
        text: t(d.result) + (d.detail ? " — " + d.detail : "") }));
    }
    if (d.sla_breached) body.appendChild(el("p", { class: "error-text", id: "maint-sla", k: "maint.sla_alert" }));
    if (d.busy && d.busy !== "load") body.appendChild(el("div", { class: "spinner", id: "maint-busy" }));
    if (d.options) {
      const box = el("div", { class: "choices maint-menu" });
      for (const o of d.options) {
        const b = button(o.label, () => send({ type: "input", field: "screen", value: o.value }), "choice");
        b.setAttribute("data-value", o.value);
        box.appendChild(b);
      }
      body.appendChild(box);
    }
    if (d.readers) {
      const dl = el("dl", { id: "maint-readers" });
      for (const r of d.readers) {
        dl.appendChild(el("dt", { k: "maint.reader." + r.slot }));
        const state = !r.present ? t("maint.reader.absent") : t(r.card ? "maint.reader.card" : "maint.reader.empty");
        dl.appendChild(el("dd", { "data-slot": r.slot, text: (r.reader ? r.reader + " · " : "") + state + (r.atr ? " · ATR " + r.atr : "") }));
      }
      body.appendChild(dl);
    }
    if (d.printer) {
      const p = d.printer;
      body.appendChild(rows([
        { label: "maint.printer.state", value: "device.printer." + (p.state || "unknown"), t: true },
        { label: "maint.printer.status", value: printerWords(p.status_codes, p.status) },
        { label: "maint.printer.port", value: p.device || "" },
        { label: "maint.printer.baud", value: String(p.baud || "") },
      ].concat(p.error ? [{ label: "maint.printer.error", value: p.error }] : [])));
    }
    if (d.rows) body.appendChild(rows(d.rows));
    if (d.ops) {
      if (!d.ops.length) body.appendChild(el("p", { class: "lead", id: "maint-ops-empty", k: "maint.queue.empty" }));
      const box = el("div", { class: "maint-ops", id: "maint-ops" });
      for (const o of d.ops) {
        const line = el("div", { class: "maint-op", "data-key": o.key });
        line.appendChild(el("span", { class: "mono", text: o.voucher }));
        line.appendChild(el("span", { text: t(o.kind) + " · " + t("maint.op." + o.state) + " · " + t("maint.queue.attempts", { n: o.attempts }) + (o.next ? " · " + o.next : "") }));
        if (o.reason) line.appendChild(el("span", { class: "error-text", text: o.reason }));
        if (!d.busy) line.appendChild(button("maint.queue.retry", () => send({ type: "input", field: "retry", value: o.key }), "", "btn-retry-" + o.voucher.replace(/\s/g, "")));
        box.appendChild(line);
      }
      body.appendChild(box);
    }
    if (d.unprinted && d.unprinted.length) {
      body.appendChild(el("h2", { k: "maint.queue.unprinted" }));
      const box = el("div", { class: "maint-ops", id: "maint-unprinted" });
      for (const r of d.unprinted) {
        const line = el("div", { class: "maint-op" });
        line.appendChild(el("span", { class: "mono", text: r.voucher }));
        if (r.error || r.problem) line.appendChild(el("span", { class: "error-text", "data-problem": (r.problem || []).join(" "), text: printerWords(r.problem, r.error) }));
        if (!d.busy) line.appendChild(button("maint.queue.reprint", () => send({ type: "input", field: "reprint", value: r.voucher }), "", "btn-reprint-" + r.voucher.replace(/\s/g, "")));
        box.appendChild(line);
      }
      body.appendChild(box);
    }
    if (d.tests) {
      body.appendChild(el("p", { class: "lead", k: "maint.reader_test.hint" }));
      for (const r of d.tests) {
        const box = el("div", { class: "maint-op", id: "maint-test-" + r.slot });
        box.appendChild(el("strong", { k: "maint.reader." + r.slot }));
        if (r.atr) box.appendChild(el("span", { class: "mono", "data-atr": r.atr, text: t("maint.atr") + " " + r.atr }));
        if (r.card_type) box.appendChild(el("span", { text: t("maint.card_type") + ": " + t("maint.card_type." + r.card_type) }));
        if (r.error) box.appendChild(el("span", { class: "error-text", text: r.error }));
        if (!d.busy) box.appendChild(button("maint.reader_test.now", () => send({ type: "input", field: "reader_test", value: r.slot }), "", "btn-test-" + r.slot));
        body.appendChild(box);
      }
    }
    if (d.audit) {
      const a = d.audit;
      body.appendChild(el("p", { id: "maint-audit", "data-intact": String(a.intact), class: a.intact ? "good-text" : "error-text",
        k: a.intact ? "maint.audit.intact" : "maint.audit.broken", vars: { n: a.entries, seq: a.seq, reason: a.reason } }));
    }
    if (d.lines) body.appendChild(el("pre", { class: "log", id: "maint-log", text: d.lines.join("\n") }));
    if (d.settings) {
      const dl = el("dl", { id: "maint-settings" });
      for (const x of d.settings) {
        dl.appendChild(el("dt", { class: "mono", text: x.key }));
        dl.appendChild(el("dd", { class: "mono", text: x.value }));
      }
      body.appendChild(dl);
    }
    if (d.action) {
      body.appendChild(el("p", { class: "lead", k: "maint.test_print.hint" }));
      if (!d.busy) actions(m, button(d.action, () => send({ type: "confirm" }), "main go", "btn-maint-action", true));
    } else if (!d.options) {
      actions(m, button("maint.refresh", () => send({ type: "confirm" }), "main", "btn-refresh", true));
    }
  }

  // printerWords says a printer's state in the page's language: the
  // daemon's state codes ("paper_out", …) when it sent them, else its text.
  function printerWords(codes, text) {
    if (codes && codes.length) return codes.map((c) => t("maint.printer.bit." + c)).join(t("list.sep"));
    return text || "";
  }

  // rows renders [{label, value, t}] where label is a catalogue key and value
  // is shown as is, or translated when t is set.
  function rows(list, cls) {
    const dl = el("dl", cls ? { class: cls } : {});
    for (const r of list || []) {
      dl.appendChild(el("dt", { k: r.label }));
      dl.appendChild(el("dd", r.t ? { k: r.value, "data-row": r.label } : { text: r.value, "data-row": r.label, translate: "no" }));
    }
    return dl;
  }

  // progress is the step indicator: "Step 2 of 4" and a dot per step.
  function progress(p) {
    const box = el("div", { class: "progress", id: "progress", role: "group", "aria-label": t("progress", { n: p.n, of: p.of }) });
    const dots = el("ol", { class: "dots", "aria-hidden": "true" });
    for (let i = 1; i <= p.of; i++) dots.appendChild(el("li", { class: i < p.n ? "past" : i === p.n ? "now" : "" }));
    box.appendChild(dots);
    box.appendChild(el("span", { class: "progress-text", text: t("progress", { n: p.n, of: p.of }) }));
    return box;
  }

  function render() {
    const m = $("screen");
    const d = current.data || {};
    // What was typed survives a re-render of the same screen (language
    // switch, countdown, reconnect, large text) and is set to what the
    // daemon kept (the value to correct after a failed read) when the
    // daemon changes the screen (next field, wrong PIN).
    const rest = Object.assign({}, d);
    for (const k of ["countdown", "lang", "large", "speech"]) delete rest[k];
    const key = current.name + "|" + JSON.stringify(rest);
    if (key !== lastKey) {
      typed = d.value || "";
      $("toast").hidden = true; // an error about the previous screen
    }
    lastKey = key;
    document.documentElement.classList.toggle("large", !!d.large);
    m.textContent = "";
    m.className = "screen-" + (current.name.startsWith("maintenance_") ? "maintenance" : current.name) + (d.field ? " field-" + d.field : "");
    m.setAttribute("data-name", current.name);
    m.setAttribute("data-field", d.field || "");
    if (d.progress) m.appendChild(progress(d.progress));
    (screens[current.name] || screens.idle)(d, m);
    const nav = d.nav || (current.name === "idle" || current.name === "" ? [] : ["back", "cancel"]);
    $("btn-back").hidden = !nav.includes("back");
    $("btn-cancel").hidden = !nav.includes("cancel");
    $("nav").hidden = !nav.length;
    const cd = $("countdown");
    cd.hidden = !d.countdown;
    if (d.countdown) {
      cd.textContent = t("countdown", { n: d.countdown });
      cd.setAttribute("data-k", "countdown");
      cd.setAttribute("data-n", d.countdown);
    }
    chrome();
    const r = { name: current.name, t: Date.now() };
    window.__renders.push(r);
    // The first frame after this screen is drawn (benchmarks).
    requestAnimationFrame((ts) => { r.raf = performance.timeOrigin + ts; });
    document.dispatchEvent(new CustomEvent("kiosk:render", { detail: current }));
    if (window.__renders.length > 500) window.__renders.splice(0, 250);
  }

  // chrome renders what is on every screen: texts, language switch, large
  // text, devices.
  function chrome() {
    document.documentElement.lang = lang;
    for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.getAttribute("data-i18n"));
    // Their words are hidden in large text: their names stay.
    for (const id of ["btn-large", "btn-speech"]) $(id).setAttribute("aria-label", t($(id).getAttribute("data-k")));
    const langs = $("langs");
    langs.setAttribute("aria-label", t("lang.choose"));
    if (!langs.children.length) {
      for (const l of LANGS) {
        langs.appendChild(el("button", { "data-lang": l, lang: l, translate: "no", class: "tool", text: (catalogs[l] || {})["lang.name"] || l,
          onclick: () => { lang = l; send({ type: "lang", code: l }); render(); } }));
      }
    }
    for (const b of langs.children) b.setAttribute("aria-pressed", String(b.getAttribute("data-lang") === lang));
    $("btn-large").setAttribute("aria-pressed", String(!!(current.data || {}).large));
    const st = $("status");
    st.textContent = "";
    const banner = $("banner");
    banner.hidden = true;
    if (device && device.printer && device.printer !== "unknown") {
      // Only states that stop printing get the banner; the daemon names
      // them. Before a report it says what the citizen will get instead of
      // a receipt; on the done screen the screen itself says it.
      const ok = !["paper_out", "cover_open", "offline", "printer_error"].includes(device.printer);
      if (!ok) {
        if (current.name === "done") st.appendChild(el("span", { class: "bad", id: "printer-status", k: "device.printer." + device.printer }));
        else {
          banner.hidden = false;
          const k = "device.printer." + device.printer + " banner.no_receipt";
          banner.textContent = k.split(" ").map((x) => t(x)).join(" ");
          banner.setAttribute("data-k", k);
        }
      }
      for (const r of device.readers || []) {
        if (!r.present) st.appendChild(el("span", { class: "bad", k: "device.reader.missing." + r.slot }));
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
          if (msg.code === "taken_over") {
            // Another page has the terminal: nothing of this one's citizen
            // stays in the page, not even under the overlay.
            takenOver = true;
            current = { name: "", data: {} };
            $("screen").textContent = "";
            $("screen").setAttribute("data-name", "");
            $("overlay-text").textContent = t("conn.taken_over");
            $("overlay").hidden = false;
            return;
          }
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
        $("screen").textContent = "";
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
    $("btn-large").addEventListener("click", () => send({ type: "large_text", value: (current.data || {}).large ? "off" : "on" }));
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
    // A touch acts when the finger lifts from the button it went down on,
    // not on the click the browser makes of the tap a frame later: the
    // next screen comes a frame sooner, and the tap's own click, cancelled
    // here, can never land on the next screen's button under the same
    // finger. A finger lifted off the button (slid away, or the screen
    // changed under it) does nothing. Mouse and keyboard keep the click.
    let pressed = null;
    let acted = false;
    const buttonAt = (x, y) => {
      const e = document.elementFromPoint(x, y);
      return e ? e.closest("button") : null;
    };
    document.addEventListener("pointerdown", (ev) => {
      pressed = ev.pointerType === "mouse" ? null : buttonAt(ev.clientX, ev.clientY);
    }, true);
    document.addEventListener("pointercancel", () => { pressed = null; }, true);
    document.addEventListener("pointerup", (ev) => {
      const b = pressed;
      pressed = null;
      acted = false;
      if (!b || ev.pointerType === "mouse" || b.disabled || buttonAt(ev.clientX, ev.clientY) !== b) return;
      acted = true;
      b.click();
    }, true);
    document.addEventListener("touchend", (ev) => {
      if (acted) ev.preventDefault();
      acted = false;
    }, { capture: true, passive: false });
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
