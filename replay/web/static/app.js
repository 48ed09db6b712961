/* outcome-mastery web view: colours cells, loads the course row, and redraws a view
   at another moment without reloading the page. No inline script anywhere (CSP). */
(function () {
  "use strict";

  var HEX = /^[0-9A-Fa-f]{6}$/;

  function paint(root) {
    root.querySelectorAll("[data-color]").forEach(function (el) {
      var colour = el.getAttribute("data-color");
      var text = el.getAttribute("data-text") || "000000";
      if (HEX.test(colour) && HEX.test(text)) {
        el.style.backgroundColor = "#" + colour;
        el.style.color = "#" + text;
      }
    });
  }

  function loadAggregate(root) {
    var row = root.querySelector("[data-aggregate]");
    if (!row) { return; }
    fetch(row.getAttribute("data-aggregate"), {
      credentials: "same-origin",
      headers: { "X-Fragment": "1" }
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html !== null) { row.innerHTML = html; }
    });
  }

  function autosubmit(root) {
    root.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
  }

  function prepare(root) { paint(root); loadAggregate(root); autosubmit(root); }

  prepare(document);

  var view = document.querySelector("[data-fragment]");
  var form = document.querySelector("[data-moment]");
  if (!view || !form) { return; }
  var slider = form.querySelector("[data-slider]");
  var asOf = form.querySelector("[data-as-of]");
  var knownAt = form.querySelector("[data-known-at]");

  function iso(seconds) { return new Date(seconds * 1000).toISOString().replace(".000Z", "Z"); }
  function toParam(local) {
    if (!local) { return ""; }
    return (local.length === 16 ? local + ":00" : local.slice(0, 19)) + "Z";
  }
  function toLocal(isoText) { return isoText ? isoText.replace("Z", "").slice(0, 19) : ""; }

  var timer = null;
  var asked = 0;

  function query() {
    var params = new URLSearchParams(window.location.search);
    var a = toParam(asOf.value), k = toParam(knownAt.value);
    if (a) { params.set("as_of", a); } else { params.delete("as_of"); }
    if (k) { params.set("known_at", k); } else { params.delete("known_at"); }
    return params.toString();
  }

  function redraw() {
    var q = query();
    window.history.replaceState(null, "", window.location.pathname + (q ? "?" + q : ""));
    document.querySelectorAll("a[data-keep-moment]").forEach(function (a) {
      var moment = new URLSearchParams();
      var p = new URLSearchParams(q);
      ["as_of", "known_at"].forEach(function (key) { if (p.get(key)) { moment.set(key, p.get(key)); } });
      var s = moment.toString();
      a.setAttribute("href", a.getAttribute("href").split("?")[0] + (s ? "?" + s : ""));
    });
    var mine = ++asked;
    view.setAttribute("aria-busy", "true");
    fetch(view.getAttribute("data-fragment") + (q ? "?" + q : ""), {
      credentials: "same-origin",
      headers: { "X-Fragment": "1" }
    }).then(function (response) {
      if (response.redirected && response.url.indexOf("/login") >= 0) {
        window.location.reload();
        return null;
      }
      return response.text();
    }).then(function (html) {
      if (html === null || mine !== asked) { return; }
      view.innerHTML = html;
      prepare(view);
      view.setAttribute("aria-busy", "false");
      view.dispatchEvent(new CustomEvent("mastery:redrawn", { bubbles: true }));
    });
  }

  function soon(delay) {
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(redraw, delay);
  }

  slider.addEventListener("input", function () {
    var value = Number(slider.value);
    asOf.value = value >= Number(slider.max) ? "" : toLocal(iso(value));
    soon(120);
  });
  asOf.addEventListener("change", function () {
    var a = toParam(asOf.value);
    slider.value = a ? String(Math.floor(Date.parse(a) / 1000)) : slider.max;
    soon(0);
  });
  knownAt.addEventListener("change", function () { soon(0); });
  form.querySelector("[data-now]").addEventListener("click", function () {
    asOf.value = "";
    knownAt.value = "";
    slider.value = slider.max;
    soon(0);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    soon(0);
  });
})();
