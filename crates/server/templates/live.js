// Frontline's one script, inline in every signed-in page and allowed by its hash.
// - Live pages (<body data-live="kind,kind">) follow /api/v1/stream (the session cookie signs
//   it) and, on a change of those kinds, fetch the page again and swap each [data-live] region
//   for its new copy, except one the person is typing in.
// - <time data-due="ISO"> counts down to a deadline every second.
// - <button data-copy="ID"> copies the text of element ID.
"use strict";
(function () {
  var body = document.body;

  function countdowns() {
    var now = Date.now();
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - now) / 1000);
      var s = Math.abs(left);
      var text = Math.floor(s / 3600) + "h " + String(Math.floor(s / 60) % 60).padStart(2, "0") +
        "m " + String(s % 60).padStart(2, "0") + "s";
      el.textContent = left >= 0 ? "in " + text : "overdue by " + text;
      el.classList.toggle("error", left < 0);
    });
  }
  countdowns();
  setInterval(countdowns, 1000);

  document.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    var text = "value" in source ? source.value : source.textContent;
    var done = function () { button.textContent = "Copied"; };
    // The clipboard API needs a secure context (https or localhost); otherwise select the
    // text and copy it the old way.
    var fallback = function () {
      if (source.select) source.select();
      if (document.execCommand("copy")) done();
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  });

  var kinds = (body.dataset.live || "").split(",").filter(Boolean);
  if (!kinds.length || !window.EventSource) return;
  var status = document.getElementById("live");
  // A page shown in answer to a form (saying what was refused) is re-read from its own
  // address, which the browser then shows too, so a reload does not send the form again.
  var here = body.dataset.url || location.pathname;
  if (location.pathname !== here) history.replaceState(null, "", here);

  // A region the person is working in stays as it is: focus inside it, or a changed field.
  function busy(region) {
    if (region.contains(document.activeElement) && document.activeElement !== body) return true;
    return Array.prototype.some.call(region.querySelectorAll("input, textarea, select"), function (f) {
      if (f.type === "hidden") return false;
      if (f.tagName === "SELECT") {
        return Array.prototype.some.call(f.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      if (f.type === "checkbox" || f.type === "radio") return f.checked !== f.defaultChecked;
      return f.value !== f.defaultValue;
    });
  }

  var pending = null;
  var again = false;
  function refresh() {
    if (pending) { again = true; return; }
    pending = fetch(here, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) {
        if (!r.ok || r.redirected) throw new Error("the page answered " + r.status);
        return r.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-region]").forEach(function (region) {
          var next = fresh.getElementById(region.id);
          if (!next || busy(region)) return;
          // Keep open what the person opened.
          var open = Array.prototype.map.call(region.querySelectorAll("details[open][id]"), function (d) { return d.id; });
          var copy = document.importNode(next, true);
          open.forEach(function (id) {
            var d = copy.querySelector("#" + CSS.escape(id));
            if (d) d.open = true;
          });
          region.replaceWith(copy);
        });
        countdowns();
        if (status && source) status.textContent = "Live: this page updates by itself.";
        body.dataset.refreshed = String(Date.now());
      })
      .catch(function () { if (status) status.textContent = "Live updates paused: reload the page."; })
      .then(function () {
        pending = null;
        if (again) { again = false; refresh(); }
      });
  }

  var timer = null;
  function changed() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  }

  // Browsers open at most six connections to a server over HTTP/1.1, and a live stream holds
  // one: so the stream is closed when the page is left or hidden (a person with many tabs
  // open would otherwise stall them all) and opened again, from the last entry seen, when it
  // is shown; what happened meanwhile then refreshes the page.
  var after = body.dataset.after || "";
  var source = null;
  function connect() {
    if (source) return;
    var url = "/api/v1/stream?kinds=" + encodeURIComponent(kinds.join(","));
    if (body.dataset.incident) url += "&incident=" + encodeURIComponent(body.dataset.incident);
    if (after) url += "&after=" + encodeURIComponent(after);
    source = new EventSource(url);
    kinds.forEach(function (kind) {
      source.addEventListener(kind, function (e) {
        if (e.lastEventId) after = e.lastEventId;
        changed();
      });
    });
    source.onopen = function () {
      if (status) status.textContent = "Live: this page updates by itself.";
      body.dataset.connected = "true";
    };
    source.onerror = function () {
      if (status) status.textContent = "Reconnecting to live updates…";
      body.dataset.connected = "false";
    };
  }
  function disconnect() {
    if (source) source.close();
    source = null;
    body.dataset.connected = "false";
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") disconnect(); else connect();
  });
  window.addEventListener("pagehide", disconnect);
  window.addEventListener("pageshow", function () {
    if (document.visibilityState !== "hidden") connect();
  });
  connect();
})();
