// Check-in desk (检录台): a USB scanner gun or the device camera reads the admission ticket's
// QR code, or the desk looks the contestant up when the code will not scan; every check-in is
// sent with a nonce made here and, when the network fails, kept and sent again with the SAME
// nonce until the server answers, so a scan is never counted twice (window.JxRetryQueue, in
// static/js/queue.js, loaded before this file). No dependencies; jsQR (static/vendor) is
// loaded only when the browser has no BarcodeDetector.
(function () {
  "use strict";

  var STATUS_POLL_MS = 20000;
  var DECODE_EVERY_MS = 120;
  var DECODE_MAX_SIDE = 640;

  function show(element, visible) {
    // The style, not the `hidden` attribute: the phone layout gives rows and boxes a display.
    element.style.display = visible ? "" : "none";
  }

  // ---------------------------------------------------------------- session chooser

  function setupFilter() {
    var input = document.getElementById("session-filter");
    if (!input) { return; }
    var rows = Array.prototype.slice.call(
      document.querySelectorAll(input.getAttribute("data-filter-rows")));
    input.addEventListener("input", function () {
      var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      rows.forEach(function (row) {
        var text = row.textContent.toLowerCase();
        show(row, words.every(function (word) { return text.indexOf(word) >= 0; }));
      });
      document.querySelectorAll("section.session-day").forEach(function (day) {
        var any = Array.prototype.some.call(day.querySelectorAll(".session-row"),
          function (row) { return row.style.display !== "none"; });
        show(day, any);
      });
    });
  }

  // ---------------------------------------------------------------- the desk

  function newNonce() {
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

  function readList(key) {
    try {
      var items = JSON.parse(window.localStorage.getItem(key) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (error) {
      return [];
    }
  }

  function writeList(key, items) {
    try {
      window.localStorage.setItem(key, JSON.stringify(items));
    } catch (error) {
      // Private browsing or a full store: the desk still works, only a reload forgets.
    }
  }

  function clock(ms) {
    var d = new Date(ms);
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map(function (n) {
      return (n < 10 ? "0" : "") + n;
    }).join(":");
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function setupDesk() {
    var configNode = document.getElementById("desk-config");
    if (!configNode) { return; }
    var config = JSON.parse(configNode.textContent);
    var texts = config.texts;
    var recentKey = "jx-checkin-recent-" + config.session_id;

    var form = document.getElementById("scan-form");
    var input = document.getElementById("scan-input");
    var card = document.getElementById("scan-result");
    var pendingNote = document.getElementById("pending");
    var recentList = document.getElementById("recent-scans");
    var recentEmpty = document.getElementById("recent-empty");
    var field = function (id) { return document.getElementById(id); };

    var recent = readList(recentKey).slice(0, config.recent);  // the last answers, newest first
    var latestNonce = null;
    var cameraSeen = {};  // token -> when the camera last saw it
    var cameraOn = false;
    var lookupButtons = {};  // nonce -> the button of the lookup hit it checks in

    // ---- the result card and the list of recent scans

    function renderRecent() {
      recentList.textContent = "";
      recent.forEach(function (item) {
        var li = document.createElement("li");
        li.setAttribute("data-outcome", item.outcome);
        [["when", clock(item.at)], ["who", item.name || "—"], ["ticket", item.ticket || ""],
          ["what", item.message || ""], ["via", item.lookup ? texts.by_lookup : ""]
        ].forEach(function (part) {
          if (part[1]) { li.appendChild(element("span", part[0], part[1])); }
        });
        recentList.appendChild(li);
      });
      recentList.hidden = recent.length === 0;
      show(recentEmpty, recent.length === 0);
    }

    function remember(nonce, at, values) {
      var item = null;
      recent.forEach(function (r) { if (r.nonce === nonce) { item = r; } });
      if (!item) {
        item = { nonce: nonce, at: at };
        recent.unshift(item);
        recent = recent.slice(0, config.recent);
      }
      Object.keys(values).forEach(function (k) { item[k] = values[k]; });
      writeList(recentKey, recent);
      renderRecent();
    }

    function paint(outcome, label, answer) {
      card.setAttribute("data-outcome", outcome);
      field("result-label").textContent = label;
      field("result-time").textContent = (answer && answer.checked_in_time) || "";
      field("result-name").textContent = (answer && answer.name) || "—";
      field("result-trade").textContent = (answer && answer.trade) || "—";
      field("result-ticket").textContent = (answer && answer.ticket_number) || "—";
      field("result-delegation").textContent = (answer && answer.delegation) || "—";
      field("result-message").textContent = (answer && answer.message) || "";
      var photo = field("result-photo");
      if (answer && answer.photo_url) {
        photo.src = answer.photo_url;
        photo.hidden = false;
        show(field("result-no-photo"), false);
      } else {
        photo.hidden = true;
        photo.removeAttribute("src");
        show(field("result-no-photo"), true);
      }
    }

    var audio = null;
    function beep(outcome) {
      try {
        var Context = window.AudioContext || window.webkitAudioContext;
        if (!Context) { return; }
        audio = audio || new Context();
        var tone = audio.createOscillator();
        var gain = audio.createGain();
        tone.frequency.value = outcome === "checked_in" ? 880 : outcome === "already" ? 520 : 220;
        gain.gain.value = 0.08;
        tone.connect(gain);
        gain.connect(audio.destination);
        tone.start();
        tone.stop(audio.currentTime + (outcome === "checked_in" ? 0.12 : 0.4));
      } catch (error) {
        // Sound is a courtesy; the colour says the same.
      }
    }

    function refocus() {
      // On a phone the camera is the scanner; focusing the box would open the keyboard.
      if (!cameraOn) { input.focus(); }
    }

    // ---- sending, answers and retries: every check-in goes through the retry queue

    var queue;

    function showPending() {
      var failing = queue.retrying();
      pendingNote.hidden = !failing;
      if (failing) {
        pendingNote.textContent = texts.retrying + " " + texts.pending.replace("{n}", queue.size());
      }
    }

    function answered(item, status, body) {
      var outcome = status === 200 ? body.outcome : "error";
      var message = body.message || texts.error;
      remember(item.nonce, item.at, {
        outcome: outcome, name: body.name || "", ticket: body.ticket_number || "",
        message: message, lookup: !!item.body.entry_id
      });
      var button = lookupButtons[item.nonce];
      if (button) {
        delete lookupButtons[item.nonce];
        if (outcome === "checked_in" || outcome === "already") {
          button.textContent = texts.lookup_done.replace("{time}", body.checked_in_time || "");
        } else {
          button.disabled = false;
        }
      }
      if (item.nonce === latestNonce) {
        paint(outcome, texts[outcome] || texts.error, status === 200 ? body : { message: message });
        beep(outcome);
        // After a lookup the hand is on the list, not the scanner (and a phone would open its
        // keyboard); a scanner gun's next keystroke brings the focus back by itself.
        if (!item.body.entry_id) { refocus(); }
      }
      showPending();
      refreshCounts();
    }

    function waiting(item) {
      remember(item.nonce, item.at, { outcome: "sending", message: texts.retrying });
      if (item.nonce === latestNonce) {
        paint("sending", texts.sending, { message: texts.retrying });
      }
      showPending();
    }

    var pendingKey = "jx-checkin-pending-" + config.session_id;
    // Scans kept by the desk before it had a lookup were stored as {token, nonce, at}.
    writeList(pendingKey, readList(pendingKey).map(function (item) {
      return item && item.token && !item.url ? {
        nonce: item.nonce, at: item.at, url: config.api,
        body: { session_id: config.session_id, token: item.token, nonce: item.nonce }
      } : item;
    }));
    queue = window.JxRetryQueue({
      storeKey: pendingKey,
      onAnswer: answered,
      onWaiting: waiting
    });

    function checkIn(url, body, values) {
      var item = { nonce: body.nonce, at: Date.now(), url: url, body: body };
      latestNonce = item.nonce;
      remember(item.nonce, item.at, values);
      paint("sending", texts.sending, null);
      queue.add(item);
      return item;
    }

    function submit(raw, source) {
      var token = (raw || "").trim();
      if (!token) { return; }
      var now = Date.now();
      if (source === "camera") {
        // The camera sees a code in many frames: one send per code held in view.
        var seen = cameraSeen[token];
        cameraSeen[token] = now;
        if (seen && now - seen < config.debounce_ms) { return; }
      }
      checkIn(config.api, { session_id: config.session_id, token: token, nonce: newNonce() },
        { outcome: "sending", message: texts.sending });
    }

    function refreshCounts() {
      fetch(config.status, { credentials: "same-origin", headers: { accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (counts) {
          if (!counts) { return; }
          field("count-checked").textContent = counts.checked_in;
          field("count-expected").textContent = counts.expected;
        }, function () { /* the next poll will tell */ });
    }

    // Captured, so it runs before app.js's handler, which would disable the button of a sent
    // form: a disabled default button ends the Enter key's submission for every later scan.
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit(input.value, "keyboard");
      input.value = "";
      refocus();
    }, true);

    // A scanner gun types wherever the focus is: bring stray keystrokes back to the box.
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      var typing = target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
      if (!typing && !cameraOn && event.key && event.key.length === 1 &&
          !event.ctrlKey && !event.metaKey && !event.altKey) {
        input.focus();
      }
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { refocus(); queue.flush(); refreshCounts(); }
      else { stopCamera(); }
    });
    window.setInterval(refreshCounts, STATUS_POLL_MS);

    // ---- lookup: when the QR code will not scan

    var lookupForm = field("lookup-form");
    var lookupInput = field("lookup-input");
    var lookupMessage = field("lookup-message");
    var lookupResults = field("lookup-results");

    function hitRow(hit) {
      var li = element("li");
      li.setAttribute("data-entry", hit.entry_id);
      if (hit.photo_url) {
        var img = element("img", "thumb");
        img.src = hit.photo_url;
        img.alt = "";
        li.appendChild(img);
      } else {
        li.appendChild(element("span", "no-thumb"));
      }
      var who = element("div", "who");
      who.appendChild(element("strong", "hit-name", hit.name));
      who.appendChild(element("span", "hit-ticket",
        texts.lookup_ticket + " " + (hit.ticket_number || "—") + " · " + hit.trade));
      who.appendChild(element("span", "hit-delegation", hit.delegation));
      who.appendChild(element("span", "hit-id", texts.lookup_id + " " + hit.id_number));
      var note = [hit.status, hit.seat].filter(Boolean).join(" · ");
      if (note) { who.appendChild(element("span", "hit-note", note)); }
      li.appendChild(who);
      var button = element("button", "btn btn-primary hit-check-in",
        hit.checked_in_time ? texts.lookup_done.replace("{time}", hit.checked_in_time)
          : texts.lookup_check_in);
      button.type = "button";
      button.disabled = !!hit.checked_in_time;
      button.addEventListener("click", function () {
        button.disabled = true;
        var item = checkIn(config.lookup_check_in,
          { session_id: config.session_id, entry_id: hit.entry_id, nonce: newNonce() },
          { outcome: "sending", message: texts.sending, name: hit.name,
            ticket: hit.ticket_number, lookup: true });
        lookupButtons[item.nonce] = button;
      });
      li.appendChild(button);
      return li;
    }

    lookupForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var query = lookupInput.value.trim();
      if (!query) { return; }
      lookupMessage.textContent = texts.lookup_searching;
      lookupResults.textContent = "";
      window.jxFetch(config.lookup, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ session_id: config.session_id, query: query })
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) {
            lookupMessage.textContent = body.message || texts.lookup_failed;
            return;
          }
          lookupMessage.textContent = body.message || "";
          body.hits.forEach(function (hit) { lookupResults.appendChild(hitRow(hit)); });
        });
      }, function () {
        lookupMessage.textContent = texts.lookup_failed;
      });
    }, true);

    // ---- camera

    var toggle = document.getElementById("camera-toggle");
    var box = document.getElementById("camera-box");
    var video = document.getElementById("camera-video");
    var cameraStatus = document.getElementById("camera-status");
    var stream = null;
    var detector = null;
    var canvas = null;
    var lastDecode = 0;
    var decoding = false;

    function loadJsQR() {
      if (window.jsQR) { return Promise.resolve(); }
      return new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = config.jsqr;
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }

    function prepareDecoder() {
      if (detector || window.jsQR) { return Promise.resolve(); }
      if ("BarcodeDetector" in window) {
        return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
          if (formats.indexOf("qr_code") < 0) { return loadJsQR(); }
          detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        }).catch(loadJsQR);
      }
      return loadJsQR();
    }

    function decodeFrame() {
      if (detector) {
        return detector.detect(video).then(function (codes) {
          return codes.length ? codes[0].rawValue : null;
        });
      }
      var width = video.videoWidth;
      var height = video.videoHeight;
      if (!width || !height) { return Promise.resolve(null); }
      var scale = Math.min(1, DECODE_MAX_SIDE / Math.max(width, height));
      var w = Math.round(width * scale);
      var h = Math.round(height * scale);
      canvas = canvas || document.createElement("canvas");
      if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
      var context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(video, 0, 0, w, h);
      var code = window.jsQR(context.getImageData(0, 0, w, h).data, w, h,
        { inversionAttempts: "dontInvert" });
      return Promise.resolve(code ? code.data : null);
    }

    function tick(time) {
      if (!cameraOn) { return; }
      window.requestAnimationFrame(tick);
      if (decoding || time - lastDecode < DECODE_EVERY_MS || video.readyState < 2) { return; }
      lastDecode = time;
      decoding = true;
      decodeFrame().then(function (text) {
        decoding = false;
        if (text) { submit(text, "camera"); }
      }, function () { decoding = false; });
    }

    function stopCamera() {
      cameraOn = false;
      if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
      stream = null;
      video.srcObject = null;
      toggle.textContent = texts.camera_start;
    }

    function startCamera() {
      box.hidden = false;
      if (!window.isSecureContext || !navigator.mediaDevices ||
          !navigator.mediaDevices.getUserMedia) {
        cameraStatus.textContent = texts.camera_unavailable;
        return;
      }
      cameraStatus.textContent = texts.camera_loading;
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (media) {
          stream = media;
          video.srcObject = media;
          return video.play();
        })
        .then(prepareDecoder)
        .then(function () {
          cameraOn = true;
          toggle.textContent = texts.camera_stop;
          cameraStatus.textContent = texts.camera_hint;
          window.requestAnimationFrame(tick);
        })
        .catch(function (error) {
          stopCamera();
          cameraStatus.textContent = texts.camera_denied.replace(
            "{error}", (error && (error.message || error.name)) || String(error));
        });
    }

    toggle.addEventListener("click", function () {
      if (stream) {
        stopCamera();
        box.hidden = true;
        refocus();
      } else {
        startCamera();
      }
    });
    window.addEventListener("pagehide", stopCamera);

    // ---- start: show what this desk did before a reload, send what it could not send
    renderRecent();
    var last = queue.last();
    if (last) {
      latestNonce = last.nonce;
      queue.flush();
    }
    refocus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupFilter();
    setupDesk();
  });
})();
