// A background job's page (templates/competition/jobs/job.html): asks GET /api/jobs/{id} every
// second while the job waits or runs, moves the bar, and reloads the page once it has ended so
// its files (or its failure) show. Without script the page refreshes itself every 5 s.
(function () {
  "use strict";

  var EVERY_MS = 1000;

  function texts() {
    var node = document.getElementById("job-texts");
    try { return JSON.parse(node ? node.textContent : "{}"); } catch (error) { return {}; }
  }

  function fill(template, params) {
    return String(template || "").replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole;
    });
  }

  function show(id, visible) {
    var node = document.getElementById(id);
    if (node) { node.hidden = !visible; }
  }

  function start() {
    var box = document.getElementById("job");
    if (!box) { return; }
    var state = box.getAttribute("data-state");
    if (state === "done" || state === "failed") { return; }
    var url = box.getAttribute("data-status-url");
    var words = texts();

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (job) {
          if (!job) { window.setTimeout(poll, EVERY_MS * 5); return; }
          if (job.state === "done" || job.state === "failed") { window.location.reload(); return; }
          document.getElementById("job-progress").value = job.percent;
          document.getElementById("job-percent").textContent = job.percent;
          document.getElementById("job-state").textContent = words[job.state] || job.state;
          document.getElementById("job-step").textContent = job.step;
          document.getElementById("job-count").textContent = job.total
            ? fill(words.count, { done: job.done.toLocaleString(), total: job.total.toLocaleString() })
            : "";
          show("job-stalled", job.stalled);
          show("job-no-worker", job.waiting_for_worker);
          window.setTimeout(poll, EVERY_MS);
        })
        .catch(function () { window.setTimeout(poll, EVERY_MS * 5); });
    }
    window.setTimeout(poll, EVERY_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
