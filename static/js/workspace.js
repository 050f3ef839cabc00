// Ringback workspace: the countdown on notifications and the live-connection dot.
// Everything else is server-rendered partials swapped by htmx.
(function () {
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Math.max(0, Math.ceil((Date.parse(el.dataset.deadline) - now) / 1000));
      el.textContent = left + " s";
      el.classList.toggle("urgent", left <= 5);
    });
  }
  setInterval(tick, 250);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  document.addEventListener("htmx:wsAfterMessage", tick);
  function conn(live) {
    document.body.dataset.ws = live ? "open" : "closed";
  }
  document.addEventListener("htmx:wsOpen", function () { conn(true); });
  document.addEventListener("htmx:wsClose", function () { conn(false); });
  document.addEventListener("htmx:wsError", function () { conn(false); });
})();
