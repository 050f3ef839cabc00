// The customer's page: times in the visitor's own zone (asked once), the time picker only when they want one,
// and a confirmation before cancelling. Everything works without this file.
(function () {
  "use strict";
  var field = document.querySelector("[data-tz]");
  var params = new URLSearchParams(location.search);
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (field && zone && !params.has("tz") && zone !== field.value) {
      params.set("tz", zone);
      location.replace(location.pathname + "?" + params.toString());
      return;
    }
  } catch (e) { /* an old browser: the zone select below the form does it */ }
  var slot = document.getElementById("slot");
  var radios = document.querySelectorAll("input[name=when]");
  function sync() {
    var wantsSlot = document.querySelector("input[name=when][value=slot]");
    if (slot && wantsSlot) { slot.required = wantsSlot.checked; }
  }
  radios.forEach(function (r) { r.addEventListener("change", sync); });
  if (slot && radios.length) {
    slot.addEventListener("change", function () {
      var wantsSlot = document.querySelector("input[name=when][value=slot]");
      if (slot.value && wantsSlot) { wantsSlot.checked = true; sync(); }
    });
    // Not on focus: a keyboard user tabbing past the picker has not chosen a time (the journey found it).
  }
  // Where the request stands: asked again every few seconds while the page is in view, naming what it shows
  // (If-None-Match), so an unchanged answer is a bodyless 304. A final state ends the asking.
  function standing() { return document.getElementById("standing"); }
  function poll() {
    var region = standing();
    if (!region || !region.hasAttribute("data-standing")) { return; }
    var every = Math.max(2, parseInt(region.getAttribute("data-every"), 10) || 20) * 1000;
    setTimeout(function () {
      if (document.visibilityState !== "visible") { document.addEventListener("visibilitychange", poll, { once: true }); return; }
      var headers = { "Accept": "text/html", "If-None-Match": region.getAttribute("data-etag") };
      fetch(region.getAttribute("data-standing"), { headers: headers, cache: "no-store", credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 200) {
            return response.text().then(function (html) {
              var next = new DOMParser().parseFromString(html, "text/html").getElementById("standing");
              var now = standing();
              if (next && now) { now.replaceWith(document.importNode(next, true)); }
            });
          }
        })
        .catch(function () { /* offline for a moment: the next round asks again */ })
        .then(poll);
    }, every);
  }
  poll();
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
