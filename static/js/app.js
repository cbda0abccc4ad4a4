// Jiangxin page behaviour: small, dependency-free, works offline.
(function () {
  "use strict";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // fetch() that carries the CSRF header the server expects on every unsafe method.
  window.jxFetch = function (url, options) {
    options = options || {};
    options.headers = Object.assign({ "x-csrftoken": csrfToken(), "accept": "application/json" },
      options.headers || {});
    options.credentials = "same-origin";
    return fetch(url, options);
  };

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector(".menu-toggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var bar = toggle.closest(".topbar");
        var open = bar.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    // A print button (slips, lists for the hall) without an inline handler, which the
    // Content-Security-Policy would block.
    document.querySelectorAll("button[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    // "Go back" on an error page returns to the form as it was filled in (the link itself
    // leads to the page the request came from, for a browser without history).
    document.querySelectorAll("a[data-history-back]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (window.history.length > 1) {
          event.preventDefault();
          window.history.back();
        }
      });
    });
    // Forms that destroy or change something irreversible ask once more.
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
    // A submitted form disables its buttons so a double tap does not send it twice.
    document.querySelectorAll("form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (event.defaultPrevented) { return; }
        setTimeout(function () {
          form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
        }, 0);
      });
    });
  });
})();
