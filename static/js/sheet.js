// The judge's tablet score sheet (评分表): contestant codes × aspects, every mark saved the
// moment it is tapped or typed (no save button to forget). Each mark goes through the shared
// retry queue (static/js/queue.js) with a client id made here, so a retry never doubles it, and
// the version this tablet last saw, so a change made meanwhile on another tablet comes back as a
// conflict for the judge to settle — never a silent overwrite. The queue, the marks the server
// confirmed and any unsettled conflict live in localStorage, and the service worker
// (static/js/sheet-sw.js, served as /judge/sw.js) keeps a copy of the page: a tablet that loses
// the hall's Wi-Fi, or is reloaded without it, shows every mark and sends the waiting ones when
// the network returns. No dependencies; the data comes in <script type="application/json">.
(function () {
  "use strict";

  var MARKS_URL = "/api/judge/marks";
  var DEVICE_KEY = "jx-device-id";
  var VIEW_KEY = "jx-sheet-view";
  // A waiting mark is kept until it is sent: a competition lasts days, not weeks.
  var QUEUE_MAX_AGE_MS = 14 * 24 * 60 * 60 * 1000;
  var NARROW_PX = 1000;  // below this (a portrait tablet) one contestant at a time by default
  var READ_ONLY_STATUSES = { signed: true, verified: true };
  var LEVELS = [0, 1, 2, 3];

  // ---------------------------------------------------------------- small helpers

  function uuid() {
    var cryptoApi = window.crypto;
    if (cryptoApi && typeof cryptoApi.randomUUID === "function") {
      return cryptoApi.randomUUID();
    }
    // randomUUID exists only on HTTPS pages; getRandomValues everywhere.
    var bytes = new Uint8Array(16);
    cryptoApi.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
      hex.slice(20)].join("-");
  }

  function readJson(key) {
    try {
      return JSON.parse(window.localStorage.getItem(key) || "null");
    } catch (error) {
      return null;
    }
  }

  function writeJson(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (error) {
      // Private browsing or a full store: the sheet still works, only a reload forgets.
    }
  }

  function deviceId() {
    var id = null;
    try { id = window.localStorage.getItem(DEVICE_KEY); } catch (error) { id = null; }
    if (!id) {
      id = uuid();
      try { window.localStorage.setItem(DEVICE_KEY, id); } catch (error) { /* see writeJson */ }
    }
    return id;
  }

  function fill(template, params) {
    return String(template).replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole;
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null && text !== "") { node.textContent = text; }
    return node;
  }

  function button(className, text) {
    var node = element("button", className, text);
    node.type = "button";
    return node;
  }

  // Marks are integers in hundredths; these write them without a float ever being involved.
  function twoDecimals(hundredths) {
    var part = hundredths % 100;
    return Math.floor(hundredths / 100) + "." + (part < 10 ? "0" : "") + part;
  }

  function asTyped(hundredths) {  // 750 → "7.5", 700 → "7", 725 → "7.25"
    var whole = Math.floor(hundredths / 100);
    var part = hundredths % 100;
    if (part === 0) { return String(whole); }
    if (part % 10 === 0) { return whole + "." + part / 10; }
    return whole + "." + (part < 10 ? "0" : "") + part;
  }

  // "7.5" → 750; null unless it is a plain number with at most 2 decimals.
  function hundredthsOf(text) {
    var match = /^(\d*)(?:\.(\d{1,2}))?$/.exec(text);
    if (!match || (match[1] === "" && match[2] === undefined)) { return null; }
    var whole = match[1] === "" ? 0 : parseInt(match[1], 10);
    var part = match[2] === undefined ? 0 : parseInt((match[2] + "0").slice(0, 2), 10);
    return whole * 100 + part;
  }

  // What a tablet keyboard may type: full-width digits and a Chinese full stop or comma.
  function normalise(text) {
    return String(text).trim()
      .replace(/[\uff10-\uff19]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xfee0); })
      .replace(/[\u3002\uff0e\uff0c,]/g, ".");
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function clock(iso) {
    if (!iso) { return ""; }
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return String(iso); }
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function cellKey(slot, aspect) { return slot + ":" + aspect; }

  // ---------------------------------------------------------------- the sheet

  function setup() {
    var root = document.getElementById("sheet");
    if (!root) { return; }
    var sheet = JSON.parse(document.getElementById("sheet-data").textContent);
    var texts = JSON.parse(document.getElementById("sheet-texts").textContent);
    var fromCache = root.getAttribute("data-source") === "cache";
    var stateKey = "jx-sheet-state-" + sheet.id;
    var device = deviceId();
    var field = function (id) { return document.getElementById(id); };

    // What this tablet knows for sure: the marks the server confirmed (with their versions),
    // the sheet's status, and conflicts the judge has not settled yet.
    var state = readJson(stateKey) || {};
    var saved = {};  // key -> {slot, aspect, value_hundredths, version, entered_at, locked}
    var conflicts = state.conflicts || {};  // key -> {slot, aspect, mine, current}
    var meta = {};  // status, signed_at, read_only, note, remarks
    var errors = {};  // key -> the server's or the page's refusal, until the next edit
    var drafts = {};  // key -> a typed value that is no mark, left in its box to correct
    var aspects = [];
    var aspectById = {};
    var contestants = [];
    var remarkByKey = {};
    var editors = {};  // key -> the cell editors on screen
    var view = null;
    var current = 0;  // the contestant shown one at a time
    var lastFailed = false;  // the last send met no server
    var pendingMap = null;
    var queue = null;

    function persist() {
      state.marks = saved;
      state.conflicts = conflicts;
      state.meta = meta;
      writeJson(stateKey, state);
    }

    // The sheet from the server (the page or GET /api/judge/sheets/{id}). A fresh one is the
    // truth; the service worker's copy may be older than what this tablet saw since, so the
    // marks and status kept here win over it where they are newer.
    function adopt(data, fresh) {
      sheet = data;
      aspects = data.aspects || [];
      contestants = data.contestants || [];
      aspectById = {};
      aspects.forEach(function (a) { aspectById[a.id] = a; });
      // Even a fresh answer may have been read before a mark this tablet sent was stored (its
      // answer can arrive first): a mark kept here with a newer version stays.
      var known = Object.assign({}, state.marks || {}, saved || {});
      saved = {};
      (data.marks || []).forEach(function (m) { saved[cellKey(m.slot, m.aspect)] = m; });
      Object.keys(known).forEach(function (key) {
        var mine = known[key];
        if (mine && (!saved[key] || mine.version > saved[key].version)) { saved[key] = mine; }
      });
      var given = {
        status: data.status, signed_at: data.signed_at, read_only: !!data.read_only,
        note: data.note || "", remarks: data.remarks || []
      };
      meta = (!fresh && state.meta) ? state.meta : given;
      remarkByKey = {};
      (meta.remarks || []).forEach(function (r) { remarkByKey[cellKey(r.slot, r.aspect)] = r; });
      persist();
    }

    function readOnly() {
      return !!meta.read_only || !!READ_ONLY_STATUSES[meta.status];
    }

    // ---- what a cell shows: a mark waiting in the queue, else the one the server confirmed

    function pending() {
      if (pendingMap === null) {
        pendingMap = {};
        if (queue) {
          queue.items().forEach(function (item) { if (item.key) { pendingMap[item.key] = item; } });
        }
      }
      return pendingMap;
    }

    function display(key) {
      var item = pending()[key];
      if (item) {
        var aspect = aspectById[item.body.aspect];
        var text = String(item.body.value);
        var value = aspect && aspect.kind === "judgement" ? parseInt(text, 10) * 100
          : hundredthsOf(text);
        if (value !== null && !isNaN(value)) { return { value: value, pending: true }; }
      }
      var mark = saved[key];
      return mark ? { value: mark.value_hundredths, pending: false, locked: !!mark.locked } : null;
    }

    // The judge's own preview: level ℓ scores max × ℓ / 3, rounded half-up to 0.01.
    function score(aspect, value) {
      if (aspect.kind === "judgement") {
        return Math.floor((2 * aspect.max_hundredths * (value / 100) + 3) / 6);
      }
      return value;
    }

    function tally(contestant) {
      var total = 0;
      var missing = [];
      aspects.forEach(function (aspect) {
        var shown = display(cellKey(contestant.slot, aspect.id));
        if (shown) { total += score(aspect, shown.value); } else { missing.push(aspect); }
      });
      return { total: total, missing: missing };
    }

    function shownValue(aspect, value) {
      return aspect.kind === "judgement" ? String(value / 100) : twoDecimals(value);
    }

    // ---- sending

    function send(contestant, aspect, text) {
      if (readOnly()) { return; }
      var key = cellKey(contestant.slot, aspect.id);
      var shown = display(key);
      if (shown && shown.locked) { return; }
      delete errors[key];
      delete drafts[key];
      var value = aspect.kind === "judgement" ? parseInt(text, 10) * 100 : hundredthsOf(text);
      if (shown && shown.value === value) { refreshCell(key); return; }
      queueMark(contestant.slot, aspect.id, text, 0);
    }

    function queueMark(slot, aspectId, text, baseVersion) {
      var id = uuid();
      queue.add({
        nonce: id,
        at: Date.now(),
        url: MARKS_URL,
        key: cellKey(slot, aspectId),
        body: {
          client_id: id, sheet: sheet.id, slot: slot, aspect: aspectId, value: String(text),
          base_version: baseVersion, device: device
        }
      });
      pendingMap = null;
      refreshCell(cellKey(slot, aspectId));
      refreshTotals();
      showStatus();
    }

    // Right before a mark's first send: the version it changes is the newest this tablet knows
    // (an earlier edit of the cell may have been answered meanwhile). A retry keeps its body.
    function prepare(item) {
      if (item.tries) { return; }
      var mark = saved[item.key];
      item.body.base_version = Math.max(item.body.base_version || 0, mark ? mark.version : 0);
    }

    function answered(item, status, body) {
      pendingMap = null;
      lastFailed = false;
      var key = item.key;
      if (status === 200 && body.mark) {
        var mark = body.mark;
        if (!saved[key] || mark.version >= saved[key].version) { saved[key] = mark; }
        delete errors[key];
        persist();
      } else if (status === 409 && body.code === "mark_conflict" && body.current) {
        var theirs = body.current;
        if (theirs.device === device && theirs.yours) {
          // This very tablet, signed in as this judge, made that change (its answer lost on the
          // way, then a newer edit of the cell): nobody else's mark is overwritten by sending
          // the newer one again.
          queueMark(item.body.slot, item.body.aspect, item.body.value, theirs.version);
        } else {
          conflicts[key] = {
            slot: item.body.slot, aspect: item.body.aspect, mine: item.body.value, current: theirs
          };
          persist();
          showConflict();
        }
      } else {
        errors[key] = body.message || texts.not_saved;
        if (body.code === "sheet_signed" || body.code === "trade_locked") { refreshFromServer(); }
      }
      refreshCell(key);
      refreshTotals();
      showStatus();
    }

    function waiting() {
      pendingMap = null;
      lastFailed = true;
      showStatus();
    }

    // ---- the status line

    function showStatus() {
      var n = queue ? queue.size() : 0;
      var note = field("sheet-queue");
      note.textContent = n ? fill(texts.waiting, { n: n }) : texts.all_saved;
      note.setAttribute("data-waiting", String(n));
      var offline = !window.navigator.onLine || lastFailed;
      field("sheet-net").hidden = !offline;
      var offlineNote = field("sheet-offline");
      offlineNote.hidden = !offline;
      offlineNote.textContent = texts.offline;
      root.classList.toggle("is-offline", offline);
      refreshSign();
    }

    // ---- cells

    function register(key, editor) {
      (editors[key] = editors[key] || []).push(editor);
    }

    function cellMessage(key, shown) {
      if (errors[key]) { return errors[key]; }
      if (shown && shown.locked) { return texts.locked_cell; }
      if (shown && shown.pending) { return texts.waiting_cell; }
      if (remarkByKey[key] && remarkByKey[key].note) {
        return fill(texts.remark, { note: remarkByKey[key].note });
      }
      return "";
    }

    function refreshCell(key) {
      var shown = display(key);
      var disabled = readOnly() || !!(shown && shown.locked);
      (editors[key] || []).forEach(function (editor) {
        var box = editor.box;
        box.classList.toggle("is-missing", !shown);
        box.classList.toggle("is-pending", !!(shown && shown.pending));
        box.classList.toggle("is-error", !!errors[key]);
        box.classList.toggle("is-remark", !!remarkByKey[key]);
        box.classList.toggle("is-conflict", !!conflicts[key]);
        editor.message.textContent = cellMessage(key, shown);
        editor.buttons.forEach(function (b) { b.disabled = disabled; });
        if (editor.levels) {
          editor.levels.forEach(function (b, level) {
            b.setAttribute("aria-pressed", shown && shown.value === level * 100 ? "true" : "false");
          });
        }
        if (editor.input) {
          editor.input.disabled = disabled;
          if (document.activeElement !== editor.input) {
            editor.input.value = drafts[key] !== undefined ? drafts[key]
              : (shown ? asTyped(shown.value) : "");
          }
        }
      });
    }

    function judgementEditor(contestant, aspect, compact) {
      var key = cellKey(contestant.slot, aspect.id);
      var box = element("div", "sheet-cell sheet-judgement" + (compact ? " is-compact" : ""));
      box.setAttribute("data-cell", key);
      var row = element("div", "sheet-levels");
      var levels = LEVELS.map(function (level) {
        var b = button("sheet-level", String(level));
        b.setAttribute("data-level", String(level));
        b.setAttribute("aria-label", fill(texts.choose_level, { n: level }) + " · " + aspect.code +
          " · " + contestant.code);
        if (aspect.descriptors && aspect.descriptors[level]) { b.title = aspect.descriptors[level]; }
        b.addEventListener("click", function () { send(contestant, aspect, String(level)); });
        row.appendChild(b);
        return b;
      });
      box.appendChild(row);
      var buttons = levels.slice();
      if (!compact) {
        var info = infoButton(aspect, contestant);
        box.appendChild(info);
      }
      var message = element("p", "sheet-cell-msg");
      box.appendChild(message);
      var editor = { box: box, levels: levels, buttons: buttons, message: message };
      register(key, editor);
      return box;
    }

    function measurementEditor(contestant, aspect, compact) {
      var key = cellKey(contestant.slot, aspect.id);
      var box = element("div", "sheet-cell sheet-measurement" + (compact ? " is-compact" : ""));
      box.setAttribute("data-cell", key);
      var line = element("div", "sheet-measure-line");
      var input = element("input", "sheet-input");
      input.type = "text";
      input.setAttribute("inputmode", "decimal");
      input.setAttribute("autocomplete", "off");
      input.setAttribute("aria-label", aspect.code + " · " + contestant.code);
      line.appendChild(input);
      line.appendChild(element("span", "sheet-of", "/ " + aspect.max));
      box.appendChild(line);
      var quick = element("div", "sheet-quick");
      var buttons = [];
      function quickButton(label, valueOf) {
        var b = button("sheet-quick-btn", label);
        b.addEventListener("click", function () { commit(asTyped(valueOf())); });
        quick.appendChild(b);
        buttons.push(b);
        return b;
      }
      quickButton(texts.full, function () { return aspect.max_hundredths; })
        .setAttribute("data-quick", "full");
      quickButton("0", function () { return 0; }).setAttribute("data-quick", "zero");
      (aspect.deductions || []).forEach(function (d) {
        quickButton(d.label + " −" + twoDecimals(d.hundredths),
          function () {
            var shown = display(key);
            var base = shown ? shown.value : aspect.max_hundredths;
            return Math.max(0, base - d.hundredths);
          }).setAttribute("data-quick", "deduction");
      });
      box.appendChild(quick);
      var message = element("p", "sheet-cell-msg");
      box.appendChild(message);

      function commit(raw) {
        var text = normalise(raw);
        if (text === "") {  // nothing typed: the cell keeps what it had
          delete drafts[key];
          refreshCell(key);
          return;
        }
        var value = hundredthsOf(text);
        if (value === null || value > aspect.max_hundredths) {
          errors[key] = fill(texts.bad_number, { max: aspect.max });
          drafts[key] = raw;
          refreshCell(key);
          return;
        }
        send(contestant, aspect, asTyped(value));
      }
      input.addEventListener("change", function () { commit(input.value); });
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); input.blur(); }
      });
      var editor = { box: box, input: input, buttons: buttons, message: message };
      register(key, editor);
      return box;
    }

    function editorFor(contestant, aspect, compact) {
      return aspect.kind === "judgement" ? judgementEditor(contestant, aspect, compact)
        : measurementEditor(contestant, aspect, compact);
    }

    function infoButton(aspect, contestant) {
      var info = button("sheet-info", "ⓘ");
      info.setAttribute("aria-label", texts.show_levels + " · " + aspect.code);
      info.setAttribute("data-info", String(aspect.id));
      info.addEventListener("click", function () { showLevels(aspect, contestant); });
      return info;
    }

    // ---- the descriptors of every level, one tap away

    function showLevels(aspect, contestant) {
      var dialog = field("sheet-levels");
      field("sheet-levels-title").textContent = fill(texts.levels_of, { aspect: aspect.code });
      field("sheet-levels-aspect").textContent = aspect.description || "";
      var list = field("sheet-levels-list");
      list.textContent = "";
      var shown = contestant ? display(cellKey(contestant.slot, aspect.id)) : null;
      var editable = contestant && !readOnly() && !(shown && shown.locked);
      LEVELS.forEach(function (level) {
        var li = element("li", "sheet-descriptor");
        var label = fill(texts.level, { n: level });
        var text = (aspect.descriptors || [])[level] || "";
        if (editable) {
          var b = button("sheet-descriptor-btn");
          b.setAttribute("data-level", String(level));
          b.setAttribute("aria-pressed", shown && shown.value === level * 100 ? "true" : "false");
          b.appendChild(element("strong", "", label));
          b.appendChild(element("span", "", text));
          b.addEventListener("click", function () {
            dialog.close();
            send(contestant, aspect, String(level));
          });
          li.appendChild(b);
        } else {
          li.appendChild(element("strong", "", label));
          li.appendChild(element("span", "", text));
        }
        list.appendChild(li);
      });
      dialog.showModal();
    }

    // ---- the two views

    function groups() {
      var byCode = {};
      var order = [];
      (sheet.criteria || []).forEach(function (c) {
        byCode[c.code] = { criterion: c, aspects: [] };
        order.push(c.code);
      });
      aspects.forEach(function (a) {
        if (!byCode[a.criterion]) {
          byCode[a.criterion] = { criterion: { code: a.criterion, name: "" }, aspects: [] };
          order.push(a.criterion);
        }
        byCode[a.criterion].aspects.push(a);
      });
      return order.map(function (code) { return byCode[code]; }).filter(function (g) {
        return g.aspects.length > 0;
      });
    }

    function renderOne() {
      var chips = field("sheet-chips");
      chips.textContent = "";
      contestants.forEach(function (c, i) {
        var chip = button("sheet-chip", c.code);
        chip.setAttribute("data-slot", String(c.slot));
        chip.setAttribute("aria-current", i === current ? "true" : "false");
        chip.appendChild(element("span", "sheet-chip-missing"));
        chip.addEventListener("click", function () { current = i; render(); });
        chips.appendChild(chip);
      });
      field("sheet-prev").disabled = current <= 0;
      field("sheet-next").disabled = current >= contestants.length - 1;
      var card = field("sheet-card");
      card.textContent = "";
      var contestant = contestants[current];
      if (!contestant) { return; }
      card.setAttribute("data-slot", String(contestant.slot));
      var head = element("div", "sheet-card-head");
      var who = element("div", "sheet-who");
      who.appendChild(element("span", "sheet-code", contestant.code));
      who.appendChild(element("span", "muted small",
        fill(texts.contestant_of, { i: current + 1, n: contestants.length })));
      head.appendChild(who);
      var sum = element("div", "sheet-total");
      sum.setAttribute("data-total", String(contestant.slot));
      head.appendChild(sum);
      card.appendChild(head);
      groups().forEach(function (group) {
        var section = element("section", "sheet-criterion");
        section.appendChild(element("h2", "sheet-criterion-title",
          group.criterion.code + (group.criterion.name ? " · " + group.criterion.name : "")));
        group.aspects.forEach(function (aspect) {
          var row = element("div", "sheet-aspect");
          row.setAttribute("data-aspect", String(aspect.id));
          var label = element("div", "sheet-aspect-label");
          label.appendChild(element("strong", "sheet-aspect-code", aspect.code));
          label.appendChild(element("span", "sheet-aspect-text", aspect.description));
          label.appendChild(element("span", "sheet-aspect-kind muted small",
            (aspect.kind === "judgement" ? texts.judgement : texts.measurement) + " · " +
            texts.max + " " + aspect.max));
          row.appendChild(label);
          row.appendChild(editorFor(contestant, aspect, false));
          section.appendChild(row);
        });
        card.appendChild(section);
      });
    }

    function renderGrid() {
      var wrap = field("sheet-grid");
      wrap.textContent = "";
      var table = element("table", "sheet-table");
      var thead = element("thead");
      var top = element("tr");
      var second = element("tr");
      var corner = element("th", "sheet-corner", texts.contestant);
      corner.rowSpan = 2;
      corner.scope = "col";
      top.appendChild(corner);
      groups().forEach(function (group) {
        var th = element("th", "sheet-group", group.criterion.code +
          (group.criterion.name ? " · " + group.criterion.name : ""));
        th.colSpan = group.aspects.length;
        th.scope = "colgroup";
        top.appendChild(th);
        group.aspects.forEach(function (aspect) {
          var h = element("th", "sheet-aspect-head");
          h.scope = "col";
          h.appendChild(element("span", "sheet-aspect-code", aspect.code));
          h.appendChild(element("span", "muted small", texts.max + " " + aspect.max));
          if (aspect.kind === "judgement") { h.appendChild(infoButton(aspect, null)); }
          if (aspect.description) { h.title = aspect.description; }
          second.appendChild(h);
        });
      });
      var totalHead = element("th", "sheet-total-head", texts.total);
      totalHead.rowSpan = 2;
      totalHead.title = texts.total_preview;
      top.appendChild(totalHead);
      thead.appendChild(top);
      thead.appendChild(second);
      table.appendChild(thead);
      var tbody = element("tbody");
      var ordered = [];
      groups().forEach(function (g) { ordered = ordered.concat(g.aspects); });
      contestants.forEach(function (contestant) {
        var tr = element("tr");
        tr.setAttribute("data-slot", String(contestant.slot));
        var th = element("th", "sheet-row-code", contestant.code);
        th.scope = "row";
        th.appendChild(element("span", "sheet-row-missing"));
        tr.appendChild(th);
        ordered.forEach(function (aspect) {
          var td = element("td", "sheet-td");
          td.appendChild(editorFor(contestant, aspect, true));
          tr.appendChild(td);
        });
        var total = element("td", "sheet-total num");
        total.setAttribute("data-total", String(contestant.slot));
        tr.appendChild(total);
        tbody.appendChild(tr);
      });
      table.appendChild(tbody);
      wrap.appendChild(table);
    }

    function refreshTotals() {
      var all = 0;
      contestants.forEach(function (contestant) {
        var t = tally(contestant);
        all += t.missing.length;
        document.querySelectorAll("[data-total='" + contestant.slot + "']").forEach(function (n) {
          n.textContent = "";
          n.appendChild(element("span", "sheet-total-label", texts.total_preview));
          n.appendChild(element("strong", "sheet-total-value", twoDecimals(t.total)));
          if (t.missing.length) {
            n.appendChild(element("span", "sheet-total-missing",
              fill(texts.missing_count, { n: t.missing.length })));
          }
        });
        var marks = [field("sheet-chips").querySelector("[data-slot='" + contestant.slot + "']"),
          field("sheet-grid").querySelector("tr[data-slot='" + contestant.slot + "'] th")];
        marks.forEach(function (n) {
          if (!n) { return; }
          n.classList.toggle("has-missing", t.missing.length > 0);
          var badge = n.querySelector(".sheet-chip-missing, .sheet-row-missing");
          if (badge) { badge.textContent = t.missing.length ? String(t.missing.length) : "✓"; }
        });
      });
      var missing = field("sheet-missing");
      missing.textContent = all ? fill(texts.missing_count, { n: all }) : texts.none_missing;
      missing.setAttribute("data-missing", String(all));
      missing.classList.toggle("has-missing", all > 0);
      refreshSign();
      return all;
    }

    function render() {
      editors = {};
      var one = view === "one";
      field("sheet-one").hidden = !one;
      field("sheet-grid").hidden = one;
      document.querySelectorAll(".sheet-view").forEach(function (b) {
        b.setAttribute("aria-pressed", b.getAttribute("data-view") === view ? "true" : "false");
      });
      if (one) {
        field("sheet-grid").textContent = "";
        renderOne();
      } else {
        field("sheet-card").textContent = "";
        renderGrid();
      }
      Object.keys(editors).forEach(refreshCell);
      refreshTotals();
      showMeta();
    }

    // ---- the sheet's status: returned, signed, read-only

    function showMeta() {
      var ro = readOnly();
      root.classList.toggle("is-read-only", ro);
      var banner = field("sheet-banner");
      banner.hidden = !ro;
      if (meta.status === "signed") {
        banner.textContent = fill(texts.signed_at, { time: clock(meta.signed_at) });
      } else if (meta.status === "verified") {
        banner.textContent = texts.verified;
      } else {
        banner.textContent = texts.read_only;
      }
      field("sheet-finish").hidden = ro;
      field("sheet-note").hidden = !meta.note;
      field("sheet-note-text").textContent = meta.note || "";
      var list = field("sheet-remarks-list");
      list.textContent = "";
      var codeOf = {};
      contestants.forEach(function (c) { codeOf[c.slot] = c.code; });
      (meta.remarks || []).forEach(function (r) {
        var aspect = aspectById[r.aspect];
        var li = element("li", "", (codeOf[r.slot] || "?") + " · " + (aspect ? aspect.code : "?") +
          (r.note ? ": " + r.note : ""));
        list.appendChild(li);
      });
      field("sheet-remarks").hidden = !(meta.remarks || []).length;
    }

    // ---- conflicts: both values side by side, the judge chooses

    function conflictValue(aspect, hundredths) {
      return hundredths === null || hundredths === undefined ? texts.no_mark
        : shownValue(aspect, hundredths);
    }

    function showConflict() {
      var dialog = field("sheet-conflict");
      if (dialog.open) { return; }
      var keys = Object.keys(conflicts);
      if (!keys.length) { return; }
      var key = keys[0];
      var c = conflicts[key];
      var aspect = aspectById[c.aspect];
      var contestant = null;
      contestants.forEach(function (x) { if (x.slot === c.slot) { contestant = x; } });
      if (!aspect || !contestant) {
        delete conflicts[key];
        persist();
        showConflict();
        return;
      }
      var mine = aspect.kind === "judgement" ? parseInt(c.mine, 10) * 100 : hundredthsOf(c.mine);
      field("sheet-conflict-title").textContent = texts.conflict_title;
      field("sheet-conflict-cell").textContent = contestant.code + " · " + aspect.code;
      field("sheet-conflict-mine-label").textContent = texts.mine;
      field("sheet-conflict-mine").textContent = conflictValue(aspect, mine);
      field("sheet-conflict-theirs-label").textContent = texts.theirs;
      field("sheet-conflict-theirs").textContent =
        conflictValue(aspect, c.current.value_hundredths);
      field("sheet-conflict-who").textContent = fill(texts.by_at, {
        name: c.current.entered_by || "—", time: clock(c.current.entered_at)
      });
      dialog.setAttribute("data-cell", key);
      field("sheet-keep-mine").textContent = texts.keep_mine;
      field("sheet-take-theirs").textContent = texts.take_theirs;
      refreshCell(key);
      dialog.showModal();
    }

    function settle(keepMine) {
      var dialog = field("sheet-conflict");
      var key = dialog.getAttribute("data-cell");
      var c = conflicts[key];
      dialog.close();
      if (!c) { return; }
      delete conflicts[key];
      if (keepMine) {
        persist();
        queueMark(c.slot, c.aspect, c.mine, c.current.version);
      } else {
        saved[key] = {
          slot: c.slot, aspect: c.aspect, value_hundredths: c.current.value_hundredths,
          version: c.current.version, entered_at: c.current.entered_at, locked: false
        };
        persist();
      }
      refreshCell(key);
      refreshTotals();
      showConflict();
    }

    // ---- summary and signing

    function refreshSign() {
      var sign = field("sheet-sign");
      if (!sign || field("sheet-summary").hidden) { return; }
      var missing = 0;
      contestants.forEach(function (c) { missing += tally(c).missing.length; });
      var ready = !readOnly() && missing === 0 && queue && queue.size() === 0 &&
        Object.keys(conflicts).length === 0;
      if (sign.getAttribute("data-busy") !== "true") { sign.disabled = !ready; }
      var note = field("sheet-sign-note");
      if (!ready && note.getAttribute("data-error") !== "true") {
        note.textContent = readOnly() ? "" : texts.sign_blocked;
      } else if (ready && note.getAttribute("data-error") !== "true") {
        note.textContent = "";
      }
    }

    function renderSummary() {
      var body = field("sheet-summary-body");
      body.textContent = "";
      contestants.forEach(function (contestant) {
        var t = tally(contestant);
        var block = element("section", "sheet-summary-one" + (t.missing.length ? " has-missing" : ""));
        block.setAttribute("data-slot", String(contestant.slot));
        var head = element("div", "sheet-summary-head");
        head.appendChild(element("strong", "sheet-code", contestant.code));
        head.appendChild(element("span", "sheet-summary-total",
          texts.total + " " + twoDecimals(t.total)));
        block.appendChild(head);
        var list = element("ul", "sheet-summary-marks");
        aspects.forEach(function (aspect) {
          var shown = display(cellKey(contestant.slot, aspect.id));
          var li = element("li", shown ? "" : "is-missing");
          li.setAttribute("data-aspect", String(aspect.id));
          li.appendChild(element("span", "sheet-aspect-code", aspect.code));
          li.appendChild(element("strong", "", shown ? shownValue(aspect, shown.value) : "—"));
          list.appendChild(li);
        });
        block.appendChild(list);
        block.appendChild(element("p", "sheet-summary-missing", t.missing.length
          ? texts.missing + ": " + t.missing.map(function (a) { return a.code; }).join("、")
          : texts.missing + ": " + texts.nothing_missing));
        body.appendChild(block);
      });
    }

    function openSummary() {
      field("sheet-marking").hidden = true;
      field("sheet-summary").hidden = false;
      var note = field("sheet-sign-note");
      note.removeAttribute("data-error");
      note.textContent = "";
      renderSummary();
      refreshSign();
      field("sheet-summary").scrollIntoView();
    }

    function closeSummary() {
      field("sheet-summary").hidden = true;
      field("sheet-marking").hidden = false;
      render();
    }

    function signFailed(message) {
      var sign = field("sheet-sign");
      var note = field("sheet-sign-note");
      sign.removeAttribute("data-busy");
      note.setAttribute("data-error", "true");
      note.textContent = message;
      refreshSign();
    }

    function signSheet() {
      var sign = field("sheet-sign");
      var note = field("sheet-sign-note");
      sign.disabled = true;
      sign.setAttribute("data-busy", "true");
      note.removeAttribute("data-error");
      note.textContent = texts.signing;
      window.jxFetch("/api/judge/sheets/" + sheet.id + "/sign", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ client_id: uuid() })
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.ok) {
            sign.removeAttribute("data-busy");
            meta.status = body.status || "signed";
            meta.signed_at = body.signed_at || null;
            persist();
            cachePage();
            closeSummary();
            window.scrollTo(0, 0);
            return;
          }
          var message = body.message || texts.sign_failed;
          if (body.missing && body.missing.length) {
            message += " " + body.missing.map(function (m) {
              return m.code + " · " + m.aspect_code;
            }).join("、");
          }
          signFailed(message);
        });
      }, function () {
        signFailed(texts.sign_failed);
      });
    }

    // ---- the server's view, when the page came from the service worker's copy

    var refreshing = false;
    function refreshFromServer() {
      if (refreshing) { return; }
      refreshing = true;
      window.jxFetch("/api/judge/sheets/" + sheet.id, { method: "GET" }).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (data) {
        refreshing = false;
        if (!data || data.id !== sheet.id) { return; }
        fromCache = false;
        adopt(data, true);
        if (field("sheet-summary").hidden) { render(); } else { renderSummary(); showMeta(); }
        refreshSign();
      }, function () { refreshing = false; });
    }

    // ---- the service worker: the page opens without the network

    function cachePage() {
      if (!("serviceWorker" in window.navigator)) { return; }
      window.navigator.serviceWorker.ready.then(function (registration) {
        if (registration.active) {
          registration.active.postMessage({ type: "jx-cache-page", url: window.location.href });
        }
      });
    }

    function registerWorker() {
      if (!("serviceWorker" in window.navigator)) { return; }
      window.navigator.serviceWorker.register("/judge/sw.js", { scope: "/judge/" })
        .then(function () {
          // The worker caches every page it serves; this first visit came before it did.
          if (!fromCache) { cachePage(); }
        }, function () { /* no worker (plain http on a LAN address): only offline reload is lost */ });
    }

    // ---- start

    adopt(sheet, !fromCache);
    var stored = null;
    try { stored = window.localStorage.getItem(VIEW_KEY); } catch (error) { stored = null; }
    view = stored === "one" || stored === "grid" ? stored
      : (window.innerWidth < NARROW_PX ? "one" : "grid");

    queue = window.JxRetryQueue({
      storeKey: "jx-sheet-queue-" + sheet.id,
      maxAgeMs: QUEUE_MAX_AGE_MS,
      prepare: prepare,
      // Another judge signed in on this shared tablet: the marks wait for their own judge
      // instead of being dropped as refused.
      keep: function (status, body) { return status === 403 && body && body.code === "not_your_sheet"; },
      onAnswer: answered,
      onWaiting: waiting,
      onChange: function () { pendingMap = null; showStatus(); }
    });

    document.querySelectorAll(".sheet-view").forEach(function (b) {
      b.addEventListener("click", function () {
        view = b.getAttribute("data-view");
        try { window.localStorage.setItem(VIEW_KEY, view); } catch (error) { /* see writeJson */ }
        render();
      });
    });
    field("sheet-prev").addEventListener("click", function () {
      if (current > 0) { current -= 1; render(); }
    });
    field("sheet-next").addEventListener("click", function () {
      if (current < contestants.length - 1) { current += 1; render(); }
    });
    field("sheet-finish").addEventListener("click", openSummary);
    field("sheet-back").addEventListener("click", closeSummary);
    field("sheet-sign").addEventListener("click", signSheet);
    field("sheet-keep-mine").addEventListener("click", function () { settle(true); });
    field("sheet-take-theirs").addEventListener("click", function () { settle(false); });
    // The judge must choose: Escape does not dismiss a conflict.
    field("sheet-conflict").addEventListener("cancel", function (event) { event.preventDefault(); });
    document.querySelectorAll("dialog [data-close]").forEach(function (b) {
      b.addEventListener("click", function () { b.closest("dialog").close(); });
    });
    window.addEventListener("online", function () {
      showStatus();
      if (fromCache) { refreshFromServer(); }
    });
    window.addEventListener("offline", showStatus);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { queue.flush(); }
    });

    render();
    showStatus();
    showConflict();
    registerWorker();
    queue.flush();
    if (fromCache && window.navigator.onLine) { refreshFromServer(); }
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
