// Live updates: the server sends a "change" event after cache changes;
// the page then fetches itself and swaps its <main>. Without an event
// stream it polls every 5 seconds instead.
(function () {
  "use strict";
  var dot = document.getElementById("live");
  var busy = false, again = false, polling = null;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("main"), cur = document.getElementById("main");
        var a = document.activeElement;
        var typing = a && cur && cur.contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName);
        if (next && cur && !typing) {
          cur.replaceWith(document.importNode(next, true));
        }
        document.body.dataset.seq = doc.body.dataset.seq;
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  function poll() {
    if (polling) { return; }
    dot.className = "live poll";
    dot.title = "polling every 5 s";
    polling = setInterval(refresh, 5000);
  }

  if (!window.EventSource) { poll(); return; }
  var es = new EventSource("/live?since=" + encodeURIComponent(document.body.dataset.seq || "0"));
  es.onopen = function () {
    dot.className = "live on";
    dot.title = "live";
    if (polling) { clearInterval(polling); polling = null; }
  };
  es.addEventListener("change", refresh);
  es.onerror = function () {
    if (es.readyState === EventSource.CLOSED) { poll(); } else { dot.className = "live"; }
  };
})();
