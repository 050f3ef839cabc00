// Ringback workspace: the countdown on notifications and the live-connection dot.
// Everything else is server-rendered partials swapped by htmx.
(function () {
  // Texts in the agent's language: Django's JavaScript catalogue (/jsi18n/), English without it.
  var _ = window.gettext || String;
  var fmt = window.interpolate || function (s, o) { return s.replace(/%\((\w+)\)s/g, function (m, k) { return o[k]; }); };
  function tick() {
    var now = Date.now();
    // A notification this page has just shown (and acknowledged): its time to answer starts now.
    document.querySelectorAll("[data-timeout]:not([data-deadline])").forEach(function (el) {
      el.dataset.deadline = new Date(now + Number(el.dataset.timeout) * 1000).toISOString();
    });
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Math.max(0, Math.ceil((Date.parse(el.dataset.deadline) - now) / 1000));
      el.textContent = fmt(_("%(n)s s"), { n: left }, true);
      el.classList.toggle("urgent", left <= 5);
    });
  }
  function mmss(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }
  function timers(now) {
    document.querySelectorAll(".timers[data-connected]").forEach(function (el) {
      var hold = Number(el.dataset.holdBase || 0);
      if (el.dataset.holdSince) hold += (now - Date.parse(el.dataset.holdSince)) / 1000;
      var total = (now - Date.parse(el.dataset.connected)) / 1000;
      el.querySelector(".t-talk").textContent = mmss(total - hold);
      el.querySelector(".t-hold").textContent = mmss(hold);
    });
  }
  setInterval(function () { tick(); timers(Date.now()); }, 250);
  // A pushed region we already show (same version) is not swapped again:
  // the agent's open keypad or half-typed note survives the echo of their own click.
  document.addEventListener("htmx:oobBeforeSwap", function (e) {
    var incoming = e.detail.fragment && e.detail.fragment.firstElementChild;
    var target = e.detail.target;
    // A part of a region pushed alone (an offer's card or an interaction's window added or removed, the notices):
    // a card or window the page already shows is not added twice, and the region's version no longer says what it
    // shows (its next push is always swapped).
    var region = target && target.closest("[data-version]");
    if (region && !(target === region && incoming && incoming.id === region.id)) {
      delete region.dataset.version;
      if (/^(offer-list|interaction)$/.test(target.id) && incoming && incoming.id && document.getElementById(incoming.id)) e.detail.shouldSwap = false;
      return;
    }
    var have = target && target.dataset.version;
    if (incoming && have && incoming.dataset.version === have) e.detail.shouldSwap = false;
    // An empty pushed message region does not wipe what the page itself just said (an unanswered click).
    if (incoming && incoming.id === "flash" && !incoming.textContent.trim() && e.detail.target.querySelector("[data-local]")) {
      e.detail.shouldSwap = false;
    }
  });
  // An action answers 204: its push over the websocket updates the page. Without a live socket
  // (reconnecting), fetch the page's regions instead, so a click never seems to do nothing.
  document.addEventListener("htmx:afterRequest", function (e) {
    if (!e.detail.xhr || e.detail.xhr.status !== 204 || document.body.dataset.ws === "open") return;
    htmx.ajax("GET", "/workspace/regions/", { target: "#app", swap: "innerHTML" });
  });
  // A click that got no answer (the server restarted mid-request, the proxy answered 502): the
  // action may or may not have happened, so show the truth again and say so. Repeating it is safe:
  // the server refuses an action that no longer applies.
  function unanswered() {
    htmx.ajax("GET", "/workspace/regions/", { target: "#app", swap: "innerHTML" }).then(function () {
      var flash = document.getElementById("flash");
      if (!flash) return;
      var p = document.createElement("p");
      p.className = "flash flash-error";
      p.setAttribute("role", "alert");
      p.dataset.local = "1";
      p.textContent = _("The server did not answer that click. The page is up to date again: check it, then try again if needed.");
      flash.replaceChildren(p);
      fadeFlash();
    });
  }
  // Watched on the request itself, not through htmx's error events: those are dispatched on the element that sent
  // the request, and a push may have replaced it (the Accept of an offer the server did accept) before the answer
  // came, when they no longer reach the document.
  document.addEventListener("htmx:beforeSend", function (e) {
    var xhr = e.detail.xhr, path = e.detail.requestConfig && e.detail.requestConfig.path;
    if (!xhr || path === "/workspace/regions/") return;
    xhr.addEventListener("loadend", function () {
      if (xhr.status === 0 || xhr.status >= 500) unanswered();
    });
  });
  // A refusal message stays long enough to read, then fades (it is also announced by aria-live).
  function fadeFlash() {
    var flash = document.querySelector("#flash .flash");
    if (!flash || flash.dataset.timer) return;
    flash.dataset.timer = "1";
    setTimeout(function () { flash.classList.add("fading"); }, 8000);
    setTimeout(function () { flash.remove(); }, 8700);
  }
  document.addEventListener("htmx:afterSettle", fadeFlash);
  // Typed fields are kept across live updates (hx-preserve); a form that was sent clears its own.
  // (Done before the swap: the form itself is replaced by it.)
  document.addEventListener("htmx:beforeSwap", function (e) {
    var elt = e.detail.requestConfig && e.detail.requestConfig.elt;
    var form = elt && elt.closest && elt.closest("form[data-clear]");
    if (!form || !e.detail.xhr || e.detail.xhr.status >= 300) return;
    if (elt !== form && !elt.matches("button")) return;  // a field's own request (a draft kept as typed) is no send
    var field = document.getElementById(form.dataset.clear);
    if (field) field.value = "";
    var pop = field && field.closest("details.pop");
    if (pop) pop.open = false;  // digits sent: the keypad folds away
  });
  // Instant Call Transfer / Conference / Start Consultation open the Team Communicator in that mode.
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-team-mode]");
    if (!btn) return;
    var team = document.getElementById("team");
    team.dataset.mode = btn.dataset.teamMode;
    team.querySelector("h2").textContent = _("Team Communicator") + " — " + btn.textContent;
    team.querySelector("input[type=search]").focus();
  });
  // Responses: copy, or insert into the interaction's note or e-mail.
  document.addEventListener("click", function (e) {
    var copy = e.target.closest("[data-copy]");
    if (copy && navigator.clipboard) { navigator.clipboard.writeText(copy.dataset.copy); copy.textContent = _("Copied"); return; }
    var into = e.target.closest("[data-insert-note], [data-insert-email], [data-insert-text]");
    if (!into) return;
    var field = into.dataset.insertNote
      ? document.querySelector('[data-note-for="' + into.dataset.insertNote + '"]')
      : into.dataset.insertText
        ? document.querySelector('[data-text-for="' + into.dataset.insertText + '"]')
        : document.querySelector('[data-email-for="' + into.dataset.insertEmail + '"]');
    if (!field) return;
    field.value = (field.value ? field.value + "\n" : "") + into.dataset.text;
    field.focus();
    // Typed or inserted, it is the same edit: the e-mail or text draft keeps it on the server.
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
  // E-mail and text windows. Opening one (or finding the open one to that contact or number) focuses its compose box
  // as soon as the window is on the page: the answer to the click and the push that renders the window come in any
  // order.
  var focusWindow = null;  // the element id of the window to focus ("email-7", "text-3")
  function focusPendingWindow() {
    if (!focusWindow) return;
    var win = document.getElementById(focusWindow);
    if (!win) return;
    focusWindow = null;
    var box = win.querySelector("textarea[data-email-for], textarea[data-text-for]");
    win.scrollIntoView({ block: "nearest" });
    (box || win).focus();
  }
  ["email", "text"].forEach(function (kind) {
    document.addEventListener("ringback:" + kind + "-focus", function (e) {
      focusWindow = kind + "-" + e.detail.id;
      focusPendingWindow();
    });
  });
  document.addEventListener("htmx:oobAfterSwap", focusPendingWindow);
  document.addEventListener("htmx:afterSettle", focusPendingWindow);
  // The Party Action Menu folds away once an interaction is chosen.
  document.addEventListener("submit", function (e) {
    var menu = e.target.closest && e.target.closest("details.party-menu");
    if (menu) menu.open = false;
  });
  // Enter in the Subject line does not send the e-mail (only the Send button does).
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && e.target.matches && e.target.matches(".email-compose input")) e.preventDefault();
  });
  // On-screen DTMF keypad: keys type into the digits field.
  document.addEventListener("click", function (e) {
    var key = e.target.closest("[data-key]");
    if (!key) return;
    var input = key.closest("form").querySelector("input[name=digits]");
    input.value += key.dataset.key;
    input.focus();
  });
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  document.addEventListener("htmx:wsAfterMessage", tick);
  function conn(live) {
    document.body.dataset.ws = live ? "open" : "closed";
  }
  // A (re)connected socket says hello with the time of what the page shows: the server renders the
  // page's regions again only if something changed since (a reconnect storm stays cheap).
  document.addEventListener("htmx:wsOpen", function (e) {
    conn(true);
    var synced = document.getElementById("synced");
    var at = synced && Number(synced.dataset.at);
    e.detail.socketWrapper.send(JSON.stringify({ hello: at || 0 }));
  });
  // The agent's own Log out: the logout answer decides where the page goes (with single sign-on, through the
  // identity provider's logout first), not the socket its logout closes.
  var leaving = false;
  document.addEventListener("submit", function (e) {
    if (e.target.matches && e.target.matches("form[action$='/logout/']")) leaving = true;
  });
  document.addEventListener("htmx:wsClose", function (e) {
    conn(false);
    // 4401: the session ended (logged out elsewhere, deactivated, expired): go to the login page.
    var code = e.detail && e.detail.event && e.detail.event.code;
    if (code === 4401 && !leaving) window.location.assign("/login/");
    // 4013: the server's channel layer (Redis) went away or restarted empty: try again later, with jitter,
    // so a whole floor does not come back in the same instant (htmx retries 1006/1011/1012/1013 by itself;
    // a server may only send 1000 or 3000-4999).
    if (code === 4013) setTimeout(e.detail.socketWrapper.reconnect, 500 + Math.random() * 2500);
  });
  document.addEventListener("htmx:wsError", function () { conn(false); });
})();
