// The judges' service worker (served as /judge/sw.js, scope /judge/): the tablet score sheet
// (评分表) opens when the hall's Wi-Fi is gone. A sheet page comes from the network when it can
// (the marks are fresh) and from the last copy kept here when it cannot; the static files the
// page needs come from the cache first and are refreshed behind it. The JSON API and every
// POST always go to the network: the page's retry queue (static/js/queue.js) keeps what fails.
// The cached copy of a page says data-source="cache", so its script knows the embedded sheet
// may be older than the marks the tablet keeps in localStorage.
"use strict";

var VERSION = "jx-judge-v1";
var STATIC_CACHE = VERSION + "-static";
var PAGE_CACHE = VERSION + "-pages";
var STATIC_FILES = [
  "/static/css/app.css",
  "/static/js/app.js",
  "/static/js/queue.js",
  "/static/js/sheet.js"
];
var SHEET_PAGES = /^\/judge\/sheets\/\d+\/?$/;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC_CACHE).then(function (cache) {
    return cache.addAll(STATIC_FILES);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("jx-judge-") === 0 && name.indexOf(VERSION + "-") !== 0;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function pageKey(url) {
  var u = new URL(url);
  return u.origin + u.pathname;  // one copy per sheet, whatever the query
}

// Only a sheet page the server really served (not a sign-in page it redirected to).
function keepPage(url, response) {
  if (!response || !response.ok || response.redirected || response.type !== "basic") {
    return Promise.resolve(response);
  }
  var type = response.headers.get("content-type") || "";
  if (type.indexOf("text/html") !== 0) { return Promise.resolve(response); }
  return response.clone().text().then(function (html) {
    var marked = html.replace('data-source="network"', 'data-source="cache"');
    // The page's own headers (its Content-Security-Policy) come with the copy.
    var headers = new Headers(response.headers);
    headers.delete("content-length");
    headers.delete("content-encoding");
    var copy = new Response(marked, { status: 200, headers: headers });
    return caches.open(PAGE_CACHE).then(function (cache) {
      return cache.put(pageKey(url), copy);
    });
  }).then(function () { return response; }, function () { return response; });
}

function sheetPage(request) {
  return fetch(request).then(function (response) {
    return keepPage(request.url, response);
  }, function (error) {
    return caches.open(PAGE_CACHE).then(function (cache) {
      return cache.match(pageKey(request.url), { ignoreVary: true });
    }).then(function (copy) {
      if (copy) { return copy; }
      throw error;
    });
  });
}

// The page names each file with its version (?v=<hash>). That version kept here is served at
// once (and refreshed behind); another version means an upgrade: the network first, and only
// when it fails whatever version is kept (offline, the script of the last visit beats none).
function staticFile(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    function fetched() {
      return fetch(request).then(function (response) {
        if (response && response.ok && response.type === "basic") {
          cache.put(request, response.clone());
        }
        return response;
      });
    }
    return cache.match(request, { ignoreVary: true }).then(function (exact) {
      if (exact) {
        fetched().catch(function () { /* offline: the copy is what there is */ });
        return exact;
      }
      return fetched().catch(function (error) {
        return cache.match(request, { ignoreSearch: true, ignoreVary: true }).then(function (any) {
          if (any) { return any; }
          throw error;
        });
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) { return; }
  if (SHEET_PAGES.test(url.pathname) &&
      (request.mode === "navigate" || (request.headers.get("accept") || "").indexOf("text/html") >= 0)) {
    event.respondWith(sheetPage(request));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(staticFile(request));
  }
});

// The page asks for a copy of itself: its first visit came before this worker, and after
// signing the copy must show the sheet signed.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "jx-cache-page" || !data.url) { return; }
  var url = new URL(data.url, self.location.origin);
  if (url.origin !== self.location.origin || !SHEET_PAGES.test(url.pathname)) { return; }
  event.waitUntil(fetch(url.href, { credentials: "same-origin", headers: { accept: "text/html" } })
    .then(function (response) { return keepPage(url.href, response); })
    .catch(function () { /* offline: the next visit keeps it */ }));
});
