// The chief judge's page (templates/scoring/chief/trade.html): keeps the read-only flag list and
// the progress figures fresh every 15 s from GET /api/chief/trades/{id}/progress. It never
// reloads the page or touches a form, so nothing half-typed is lost; the "Refresh" link reads
// everything again. A flag's "Ask to re-mark" fills the re-mark form in place.
(function () {
  "use strict";

  var EVERY_MS = 15000;
  var DEVICE_KEY = "jx-device-id"; // the same id the score sheets (sheet.js) keep

  function texts() {
    var node = document.getElementById("chief-texts");
    try { return JSON.parse(node ? node.textContent : "{}"); } catch (error) { return {}; }
  }

  function fill(template, params) {
    return String(template || "").replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole;
    });
  }

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return "d-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function deviceId() {
    var id = null;
    try { id = window.localStorage.getItem(DEVICE_KEY); } catch (error) { id = null; }
    if (!id) {
      id = uuid();
      try { window.localStorage.setItem(DEVICE_KEY, id); } catch (error) { /* private mode */ }
    }
    return id;
  }

  function cell(label, text, className) {
    var td = document.createElement("td");
    td.setAttribute("data-label", label);
    if (className) { td.className = className; }
    td.textContent = text;
    return td;
  }

  function remarkForm() {
    return {
      sheet: document.getElementById("f-remark-sheet"),
      cells: document.getElementById("f-remark-cells"),
      note: document.getElementById("f-remark-note")
    };
  }

  function useFlag(link, event) {
    var form = remarkForm();
    if (!form.sheet || !form.cells) { return; } // no re-mark form now: follow the link
    event.preventDefault();
    form.sheet.value = link.getAttribute("data-remark-sheet");
    form.cells.value = link.getAttribute("data-remark-cells");
    document.getElementById("remark").scrollIntoView({ behavior: "smooth", block: "start" });
    if (form.note) { form.note.focus({ preventScroll: true }); }
  }

  function renderFlags(table, flags, words) {
    var body = document.getElementById("flags-body");
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent;
    });
    var base = table.getAttribute("data-base");
    var canRemark = Boolean(document.getElementById("f-remark-sheet"));
    var rows = document.createDocumentFragment();
    flags.forEach(function (f) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-flag", f.slot + "-" + f.aspect + "-" + f.judge);
      var code = cell(heads[0], "");
      var strong = document.createElement("strong");
      strong.textContent = f.code;
      code.appendChild(strong);
      tr.appendChild(code);
      tr.appendChild(cell(heads[1], f.aspect_code));
      tr.appendChild(cell(heads[2], f.judge_name));
      tr.appendChild(cell(heads[3], String(f.level), "num"));
      tr.appendChild(cell(heads[4], f.combined, "num"));
      var action = document.createElement("td");
      if (f.sheet && canRemark) {
        var link = document.createElement("a");
        var cells = f.code + " " + f.aspect_code;
        link.className = "btn";
        link.textContent = words.remark;
        link.setAttribute("data-remark-sheet", String(f.sheet));
        link.setAttribute("data-remark-cells", cells);
        link.href = base + "?sheet=" + f.sheet + "&cells=" + encodeURIComponent(cells) + "#remark";
        action.appendChild(link);
      }
      tr.appendChild(action);
      rows.appendChild(tr);
    });
    if (!flags.length) {
      var none = document.createElement("tr");
      none.className = "flags-none";
      var td = cell("", words.none, "muted");
      td.colSpan = 6;
      none.appendChild(td);
      rows.appendChild(none);
    }
    body.replaceChildren(rows);
    var count = document.getElementById("flag-count");
    if (count) {
      count.textContent = String(flags.length);
      count.className = "badge " + (flags.length ? "bad" : "ok");
    }
  }

  function renderProgress(data) {
    var total = document.getElementById("progress-total");
    if (total) { total.textContent = data.cells_entered + " / " + data.cells_expected; }
    data.sessions.forEach(function (s) {
      var row = document.querySelector('tr[data-session="' + s.id + '"]');
      if (!row) { return; }
      var cells = row.querySelector('[data-field="cells"]');
      var bar = row.querySelector('[data-field="bar"]');
      var sheets = row.querySelector('[data-field="sheets"]');
      if (cells) { cells.textContent = s.cells_entered + " / " + s.cells_expected; }
      if (bar) { bar.max = s.cells_expected || 1; bar.value = s.cells_entered; }
      if (sheets) { sheets.textContent = s.sheets_done + " / " + s.sheets; }
    });
  }

  function start() {
    var table = document.getElementById("flags-table");
    var live = document.getElementById("chief-live");
    var words = texts();
    document.querySelectorAll("input[data-device]").forEach(function (input) {
      if (!input.value) { input.value = deviceId(); }
    });
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-remark-sheet]");
      if (link) { useFlag(link, event); }
    });
    if (!table || !window.jxFetch) { return; }
    var url = table.getAttribute("data-api");
    var lastTime = table.getAttribute("data-read") || "";
    function refresh() {
      if (document.hidden) { return; }
      window.jxFetch(url, { method: "GET" }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(function (data) {
        renderFlags(table, data.flags, words);
        renderProgress(data);
        lastTime = data.read_at_text;
        if (live) {
          live.removeAttribute("data-state");
          live.textContent = fill(words.live, { time: lastTime });
        }
      }).catch(function () {
        if (live) {
          live.setAttribute("data-state", "failed");
          live.textContent = fill(words.failed, { time: lastTime || "—" });
        }
      });
    }
    window.setInterval(refresh, EVERY_MS);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) { refresh(); }
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
