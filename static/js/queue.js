// The retry queue (重试队列, window.JxRetryQueue): one small script shared by every page that
// must not lose a request while the hall's network comes and goes — the check-in desk (检录台)
// and the judges' tablet score sheets (评分表).
//
// Each item is {nonce, at, url, body, key?}: sent as JSON (body carries the nonce — the desk's
// nonce, a mark's client_id — so the server answers a repeat from the first attempt instead of
// doing it twice), kept in localStorage until the server answers, and sent again with the SAME
// nonce after growing pauses, and at once when the browser says it is back online.
//
// Items with the same `key` (a score-sheet cell) go one at a time, in order: an edit made while
// an earlier edit of the same cell is in flight waits for its answer. An item added while an
// earlier one of its key still waits (not in flight) replaces it: only the newest value is sent.
// `prepare(item)` runs right before each send (the sheet puts the latest version it knows into
// the body). A request unanswered after `timeoutMs` (20 s) is aborted and counts as failed.
// Needs only fetch; window.jxFetch adds the CSRF header.
(function () {
  "use strict";

  function JxRetryQueue(options) {
    var maxAge = options.maxAgeMs || 12 * 60 * 60 * 1000;  // older unsent items are dropped
    var firstDelay = options.retryFirstMs || 1000;
    var maxDelay = options.retryMaxMs || 15000;
    // A request with no answer by then is given up and sent again with the same nonce: a
    // connection that hangs (a Wi-Fi access point that drops packets without a reset) must
    // not hold a mark until the page is reloaded.
    var timeoutMs = options.timeoutMs || 20000;
    var method = options.method || "POST";
    var post = options.post || window.jxFetch;
    var items = load();
    var inflight = {};  // nonce -> true while its request is on the way
    var timer = null;
    var delay = firstDelay;

    function load() {
      try {
        var stored = JSON.parse(window.localStorage.getItem(options.storeKey) || "[]");
        var cutoff = Date.now() - maxAge;
        return Array.isArray(stored) ? stored.filter(function (i) {
          return i && i.at > cutoff && i.url && i.body;
        }) : [];
      } catch (error) {
        return [];
      }
    }

    function save() {
      try {
        window.localStorage.setItem(options.storeKey, JSON.stringify(items));
      } catch (error) {
        // Private browsing or a full store: the page still works, only a reload forgets.
      }
    }

    function changed() {
      if (options.onChange) { options.onChange(); }
    }

    // Worth another try with the same nonce: the server or the way to it failed, or the
    // sign-in lapsed (the item waits while someone signs in again in another tab).
    function retryable(status) {
      return status >= 500 || status === 401 || status === 408 || status === 429;
    }

    function forget(item) {
      items = items.filter(function (i) { return i.nonce !== item.nonce; });
      save();
    }

    function hasKey(item) {
      return item.key !== undefined && item.key !== null && item.key !== "";
    }

    // An item waits while an earlier item of its key is still in the list (sent or not).
    function blocked(item) {
      if (!hasKey(item)) { return false; }
      for (var i = 0; i < items.length; i += 1) {
        if (items[i].nonce === item.nonce) { return false; }
        if (items[i].key === item.key) { return true; }
      }
      return false;
    }

    function schedule() {
      if (timer !== null) { return; }
      timer = window.setTimeout(function () {
        timer = null;
        flush();
      }, delay);
      delay = Math.min(delay * 2, maxDelay);
    }

    function waiting(item) {
      schedule();
      if (options.onWaiting) { options.onWaiting(item); }
      changed();
    }

    // The next item of the same key, if one waited for this answer.
    function sendNext(key) {
      if (key === undefined || key === null || key === "") { return; }
      for (var i = 0; i < items.length; i += 1) {
        if (items[i].key === key) { send(items[i]); return; }
      }
    }

    function send(item) {
      if (inflight[item.nonce] || blocked(item)) { return; }
      inflight[item.nonce] = true;
      if (options.prepare) { options.prepare(item); }
      item.tries = (item.tries || 0) + 1;
      save();
      var abort = window.AbortController ? new window.AbortController() : null;
      var settled = false;
      // Settled once: by the answer, by a failure, or by the clock (a post that ignores the
      // abort and answers late is not counted a second time).
      function settle() {
        if (settled) { return false; }
        settled = true;
        window.clearTimeout(clock);
        delete inflight[item.nonce];
        return true;
      }
      var clock = window.setTimeout(function () {
        if (abort) { abort.abort(); }
        if (settle()) { waiting(item); }
      }, timeoutMs);
      post(item.url, {
        method: method,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(item.body),
        signal: abort ? abort.signal : undefined
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!settle()) { return; }
          // A redirect (to a sign-in page) is not the server's answer to the item.
          // A page may keep more answers as "not yet" (options.keep): the tablet keeps a mark
          // refused only because someone else is signed in on it, for its own judge.
          if (retryable(response.status) || response.redirected ||
              (options.keep && options.keep(response.status, body))) {
            waiting(item);
          } else {
            forget(item);
            delay = firstDelay;
            options.onAnswer(item, response.status, body);
            changed();
            sendNext(item.key);
          }
        });
      }, function () {
        if (settle()) { waiting(item); }
      });
    }

    function flush() {
      items.slice().forEach(send);
    }

    window.addEventListener("online", function () {
      delay = firstDelay;
      flush();
    });
    return {
      add: function (item) {
        var replaced = false;
        if (hasKey(item)) {
          items = items.map(function (i) {
            if (!replaced && i.key === item.key && !inflight[i.nonce]) {
              replaced = true;
              return item;
            }
            return i;
          });
        }
        if (!replaced) { items.push(item); }
        save();
        changed();
        send(item);
      },
      flush: flush,
      size: function () { return items.length; },
      items: function () { return JSON.parse(JSON.stringify(items)); },
      retrying: function () { return items.length > 0 && timer !== null; },
      last: function () { return items.length ? items[items.length - 1] : null; }
    };
  }
  window.JxRetryQueue = JxRetryQueue;
})();
