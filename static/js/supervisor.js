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
})();
