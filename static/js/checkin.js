// Check-in desk (检录台): a USB scanner gun or the device camera reads the admission ticket's
// QR code; every scan is sent with a nonce made here and, when the network fails, kept and
// sent again with the SAME nonce until the server answers, so a scan is never counted twice.
// No dependencies; jsQR (static/vendor) is loaded only when the browser has no BarcodeDetector.
(function () {
  "use strict";

  var STORE_MAX_AGE_MS = 12 * 60 * 60 * 1000;  // an unsent scan older than this is dropped
  var RETRY_FIRST_MS = 1000;
  var RETRY_MAX_MS = 15000;
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

  function readStore(key) {
    try {
      var items = JSON.parse(window.localStorage.getItem(key) || "[]");
      var cutoff = Date.now() - STORE_MAX_AGE_MS;
      return Array.isArray(items) ? items.filter(function (i) { return i.at > cutoff; }) : [];
    } catch (error) {
      return [];
    }
  }

  function writeStore(key, items) {
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

  function setupDesk() {
    var configNode = document.getElementById("desk-config");
    if (!configNode) { return; }
    var config = JSON.parse(configNode.textContent);
    var texts = config.texts;
    var pendingKey = "jx-checkin-pending-" + config.session_id;
    var recentKey = "jx-checkin-recent-" + config.session_id;

    var form = document.getElementById("scan-form");
    var input = document.getElementById("scan-input");
    var card = document.getElementById("scan-result");
    var pendingNote = document.getElementById("pending");
    var recentList = document.getElementById("recent-scans");
    var recentEmpty = document.getElementById("recent-empty");
    var field = function (id) { return document.getElementById(id); };

    var pending = readStore(pendingKey);  // scans not yet answered: {token, nonce, at}
    var recent = readStore(recentKey);    // the last answers, newest first
    var inflight = {};
    var latestNonce = null;
    var retryTimer = null;
    var retryDelay = RETRY_FIRST_MS;
    var cameraSeen = {};  // token -> when the camera last saw it
    var cameraOn = false;

    // ---- the result card and the list of recent scans

    function renderRecent() {
      recentList.textContent = "";
      recent.forEach(function (item) {
        var li = document.createElement("li");
        li.setAttribute("data-outcome", item.outcome);
        [["when", clock(item.at)], ["who", item.name || "—"], ["ticket", item.ticket || ""],
          ["what", item.message || ""]].forEach(function (part) {
          var span = document.createElement("span");
          span.className = part[0];
          span.textContent = part[1];
          li.appendChild(span);
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
      writeStore(recentKey, recent);
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

    function showPending() {
      var waiting = pending.length;
      var failing = waiting > 0 && retryTimer !== null;
      pendingNote.hidden = !failing;
      if (failing) {
        pendingNote.textContent = texts.retrying + " " + texts.pending.replace("{n}", waiting);
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

    // ---- sending, answers and retries

    function forget(scan) {
      pending = pending.filter(function (p) { return p.nonce !== scan.nonce; });
      writeStore(pendingKey, pending);
    }

    function answered(scan, status, body) {
      forget(scan);
      retryDelay = RETRY_FIRST_MS;
      var outcome = status === 200 ? body.outcome : "error";
      var message = body.message || texts.error;
      remember(scan.nonce, scan.at, {
        outcome: outcome, name: body.name || "", ticket: body.ticket_number || "",
        message: message
      });
      if (scan.nonce === latestNonce) {
        paint(outcome, texts[outcome] || texts.error, status === 200 ? body : { message: message });
        beep(outcome);
        refocus();
      }
      showPending();
      refreshCounts();
    }

    function failed(scan) {
      remember(scan.nonce, scan.at, { outcome: "sending", message: texts.retrying });
      if (scan.nonce === latestNonce) {
        paint("sending", texts.sending, { message: texts.retrying });
      }
      scheduleRetry();
      showPending();
    }

    function send(scan) {
      if (inflight[scan.nonce]) { return; }
      inflight[scan.nonce] = true;
      window.jxFetch(config.api, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ session_id: config.session_id, token: scan.token, nonce: scan.nonce })
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          delete inflight[scan.nonce];
          // Worth another try with the same nonce: the server or the way to it failed, or
          // the sign-in lapsed (the scan waits while someone signs in again in another tab).
          if (response.status >= 500 || response.status === 401 || response.status === 408 ||
              response.status === 429) {
            failed(scan);
          } else {
            answered(scan, response.status, body);
          }
        });
      }, function () {
        delete inflight[scan.nonce];
        failed(scan);
      });
    }

    function flush() {
      pending.forEach(send);
    }

    function scheduleRetry() {
      if (retryTimer !== null) { return; }
      retryTimer = window.setTimeout(function () {
        retryTimer = null;
        flush();
        showPending();
      }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
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
      var scan = { token: token, nonce: newNonce(), at: now };
      pending.push(scan);
      writeStore(pendingKey, pending);
      latestNonce = scan.nonce;
      remember(scan.nonce, scan.at, { outcome: "sending", message: texts.sending });
      paint("sending", texts.sending, null);
      send(scan);
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
    window.addEventListener("online", flush);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { refocus(); flush(); refreshCounts(); }
      else { stopCamera(); }
    });
    window.setInterval(refreshCounts, STATUS_POLL_MS);

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
    if (pending.length) {
      latestNonce = pending[pending.length - 1].nonce;
      flush();
    }
    refocus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupFilter();
    setupDesk();
  });
})();
