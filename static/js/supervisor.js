// Supervisor pages: a confirmation before an action that changes an agent's status, and the work list's
// select-all box and action fields (only the field the chosen action needs is shown).
(function () {
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-confirm]");
    if (btn && !window.confirm(btn.dataset.confirm)) e.preventDefault();
  });
  document.addEventListener("change", function (e) {
    if (e.target.id === "select-all") {
      document.querySelectorAll("#bulk input[name=ids]").forEach(function (box) { box.checked = e.target.checked; });
    }
    if (e.target.id === "bulk-action") show();
  });
  function show() {
    var action = document.getElementById("bulk-action");
    if (!action) return;
    document.querySelectorAll(".bulkbar [data-for]").forEach(function (el) { el.hidden = el.dataset.for !== action.value; });
  }
  document.addEventListener("DOMContentLoaded", show);

  // The live board re-renders its figures on every push: the control the supervisor last used keeps focus (or
  // what took its place), so a keyboard user is never thrown back to the top of the page.
  function keyOf(el) {
    if (!el || el === document.body) return null;
    if (el.id) return "#" + el.id;
    if (el.form && el.name) return (el.form.getAttribute("action") || "") + "|" + el.name + "=" + (el.value || "");
    return null;
  }
  var lastKey = null;
  document.addEventListener("focusin", function (e) { lastKey = keyOf(e.target) || lastKey; });
  function refocus() {
    if (!lastKey || (document.activeElement && document.activeElement !== document.body)) return;
    var found = Array.prototype.find.call(document.querySelectorAll("button, input, select, a[href], textarea"), function (el) {
      return keyOf(el) === lastKey;
    });
    if (found) found.focus({ preventScroll: true });
  }
  document.addEventListener("htmx:afterSettle", refocus);

  // Listen, Whisper, Barge: the panel re-reads itself after each push to the board (its call may have ended), and
  // a refusal (403, 409 …) is said above it rather than lost.
  document.addEventListener("htmx:wsAfterMessage", function () {
    var panel = document.getElementById("monitor");
    if (panel && panel.dataset.session && window.htmx) window.htmx.trigger(panel, "refresh");
  });
  document.addEventListener("htmx:beforeRequest", function (e) {
    var box = document.getElementById("monitor-error");
    if (box && e.detail.elt.closest && e.detail.elt.closest("[data-monitoring]")) box.hidden = true;
  });
  document.addEventListener("htmx:responseError", function (e) {
    var box = document.getElementById("monitor-error");
    if (!box || !e.detail.elt.closest || !e.detail.elt.closest("[data-monitoring]")) return;
    var said = new DOMParser().parseFromString(e.detail.xhr.responseText, "text/html").querySelector("[role=alert]");
    box.textContent = said ? said.textContent : e.detail.xhr.statusText;
    box.hidden = false;
  });
  document.addEventListener("htmx:wsAfterMessage", function () { setTimeout(refocus, 0); });
  // 4401: the role this page needs was taken away (single sign-on): reload, and see what the account may see now.
  var leaving = false;
  document.addEventListener("submit", function (e) {
    if (e.target.matches && e.target.matches("form[action$='/logout/']")) leaving = true;
  });
  document.addEventListener("htmx:wsClose", function (e) {
    var code = e.detail && e.detail.event && e.detail.event.code;
    if (code === 4401 && !leaving) window.location.reload();
  });
})();
