// Ringback desk: keyboard shortcuts, focus kept across live updates, announcements for screen readers,
// and attention when an offer arrives (a sound, a desktop notification when the tab is hidden, the tab title).
// Every shortcut clicks the button a mouse would, so the server decides exactly as it does for a click.
(function () {
  var app = document.getElementById("app");
  if (!app) return;
  // Texts in the agent's language: Django's JavaScript catalogue (/jsi18n/), English without it.
  var _ = window.gettext || function (s) { return s; };
  var fmt = window.interpolate || function (s, o) { return s.replace(/%\((\w+)\)s/g, function (m, k) { return o[k]; }); };
  var baseTitle = document.title;

  // --- Announcements -------------------------------------------------------------------------
  // Pushed regions are replaced whole, which screen readers do not announce reliably: say what changed here.
  function say(text, urgent) {
    var region = document.getElementById(urgent ? "announce-assertive" : "announce-polite");
    if (!region || !text) return;
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 60);
  }

  // --- Focus kept across live updates -------------------------------------------------------------
  // A button's identity is what it does (its form's action and value, or its data attribute), not the node.
  function keyOf(el) {
    if (!el || el === document.body) return null;
    if (el.id) return "#" + el.id;
    var form = el.closest("form");
    var what = el.dataset.teamMode || el.dataset.key || el.getAttribute("name") || "";
    return [form ? form.getAttribute("action") : "", what, el.value || "", (el.textContent || "").trim()].join("|");
  }
  function findByKey(key) {
    if (!key) return null;
    if (key.charAt(0) === "#") return document.getElementById(key.slice(1));
    var all = app.querySelectorAll("button, a[href], input, select, textarea, summary");
    for (var i = 0; i < all.length; i++) if (keyOf(all[i]) === key) return all[i];
    return null;
  }
  var before = { offers: [], status: {}, windows: [] };
  function snapshot() {
    var status = {};
    app.querySelectorAll("[data-interaction]").forEach(function (w) {
      var s = w.querySelector("[data-testid=call-status]");
      status[w.dataset.interaction] = s ? s.textContent.trim() : "";
    });
    return {
      offers: Array.prototype.map.call(app.querySelectorAll("[data-offer]"), function (o) { return o.dataset.offer; }),
      status: status,
      windows: Object.keys(status),
    };
  }
  function typing(el) {
    return el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" || (el.tagName === "INPUT" && !/^(button|submit|checkbox|radio)$/.test(el.type)));
  }
  function settle() {
    var now = snapshot();
    var lost = !document.activeElement || document.activeElement === document.body;
    var busy = typing(document.activeElement) && !lost;
    var fresh = now.offers.filter(function (id) { return before.offers.indexOf(id) < 0; });
    var opened = now.windows.filter(function (id) { return before.windows.indexOf(id) < 0; });
    if (fresh.length) {
      var offer = app.querySelector('[data-offer="' + fresh[0] + '"]');
      var heading = offer.querySelector("h2").textContent.trim();
      var party = offer.querySelector(".toast-party").textContent.trim();
      say(fmt(_("New %(what)s: %(who)s. Press A to accept, R to reject."), { what: heading, who: party }, true), true);
      attention(heading, party, fresh[0]);
      // A new offer takes focus, unless the agent is typing (a half-written note is not interrupted).
      if (!busy) offer.querySelector(".actions button").focus({ preventScroll: true });
    } else if (opened.length) {
      // After Accept, focus goes to the interaction's first action.
      var first = app.querySelector('[data-interaction="' + opened[0] + '"] .toolbar button, [data-interaction="' + opened[0] + '"] .toolbar summary');
      if (first && !busy) first.focus({ preventScroll: true });
    } else if (lost && lastKey) {
      var again = findByKey(lastKey);
      if (again && !again.disabled) again.focus({ preventScroll: true });
      else {
        // The control went away with the state (Call became End Call): the same window's first action.
        var toolbar = app.querySelector("[data-interaction] .toolbar button:not([disabled])");
        if (toolbar) toolbar.focus({ preventScroll: true });
      }
    }
    // A window closed: the agent's day figures are read again.
    if (before.windows.some(function (id) { return now.windows.indexOf(id) < 0; })) document.body.dispatchEvent(new Event("rb-day"));
    Object.keys(now.status).forEach(function (id) {
      if (before.status[id] !== undefined && before.status[id] !== now.status[id]) say(fmt(_("Call status: %(status)s."), { status: now.status[id] }, true));
    });
    var refused = app.querySelector("#flash .flash");
    if (refused && refused.textContent.trim() !== before.flash) say(refused.textContent.trim(), true);
    now.flash = refused ? refused.textContent.trim() : "";
    before = now;
    showPending();
  }
  // The control the agent last used: a button that htmx disables while its request runs loses focus, and a pushed
  // region replaces the rest; either way focus comes back to it (or to what took its place).
  var lastKey = null;
  document.addEventListener("focusin", function (e) { if (app.contains(e.target)) lastKey = keyOf(e.target); });
  document.addEventListener("htmx:afterSettle", settle);
  document.addEventListener("htmx:wsAfterMessage", function () { setTimeout(settle, 0); });
  document.addEventListener("DOMContentLoaded", function () { before = snapshot(); before.flash = ""; showPending(); });

  // --- The tab title, and the countdown read out -------------------------------------------------
  function showPending() {
    var n = app.querySelectorAll("[data-offer], [data-transfer-offer], .toast-consult").length;
    var waiting = window.ngettext ? window.ngettext("Offer waiting", "Offers waiting", n) : (n === 1 ? "Offer waiting" : "Offers waiting");
    document.title = n ? "(" + n + ") " + waiting + " · " + baseTitle : baseTitle;
  }
  var spoken = {};
  setInterval(function () {
    app.querySelectorAll("[data-offer] .countdown[data-deadline]").forEach(function (el) {
      var left = Math.ceil((Date.parse(el.dataset.deadline) - Date.now()) / 1000);
      var id = el.closest("[data-offer]").dataset.offer;
      [10, 5].forEach(function (mark) {
        if (left <= mark && left > mark - 2 && !spoken[id + ":" + mark]) {
          spoken[id + ":" + mark] = true;
          say(fmt(_("%(n)s seconds left to answer."), { n: left }, true));
        }
      });
    });
    // A notice whose situation is over (its retry is due, or two minutes passed) goes away by itself.
    app.querySelectorAll("[data-expires]").forEach(function (el) {
      if (Date.parse(el.dataset.expires) <= Date.now()) el.remove();
    });
  }, 500);

  // --- Attention: a short sound, and a desktop notification when the tab is hidden ---------------
  var audio = null;
  function unlockAudio() {
    if (audio || !window.AudioContext) return;
    audio = new AudioContext();
  }
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });
  function chime() {
    if (!audio) return;
    if (audio.state === "suspended") audio.resume();
    [[660, 0], [880, 0.18]].forEach(function (tone) {
      var osc = audio.createOscillator(), gain = audio.createGain(), at = audio.currentTime + tone[1];
      osc.frequency.value = tone[0];
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.15, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.16);
      osc.connect(gain).connect(audio.destination);
      osc.start(at);
      osc.stop(at + 0.17);
    });
    document.body.dataset.chimed = String(Number(document.body.dataset.chimed || 0) + 1);
  }
  function attention(heading, party, id) {
    chime();
    if (document.hidden && window.Notification && Notification.permission === "granted") {
      var n = new Notification(fmt(_("New %(what)s"), { what: heading }, true), { body: party, tag: "offer-" + id });
      n.onclick = function () { window.focus(); n.close(); };
    }
  }
  // Permission is asked once, politely: a button the agent chooses to press, hidden once they have answered.
  function alertsButton() {
    var btn = document.getElementById("desktop-alerts");
    if (!btn) return;
    btn.hidden = !window.Notification || Notification.permission !== "default";
  }
  document.addEventListener("click", function (e) {
    if (!e.target.closest("#desktop-alerts")) return;
    Notification.requestPermission().then(alertsButton);
  });
  document.addEventListener("DOMContentLoaded", alertsButton);
  document.addEventListener("htmx:afterSettle", alertsButton);

  // --- Keyboard shortcuts ---------------------------------------------------------------------
  function currentWindow() {
    var here = document.activeElement && document.activeElement.closest("[data-interaction]");
    return here || app.querySelector("[data-interaction]");
  }
  function press(scope, selector) {
    var target = scope && scope.querySelector(selector);
    if (!target || target.disabled) return false;
    target.click();
    return true;
  }
  // The window's buttons carry their key (data-shortcut), whatever language their names are written in.
  function toolbar(key) {
    return press(currentWindow(), '.toolbar [data-shortcut="' + key + '"]');
  }
  function toggleStatus(n) {
    var channel = app.querySelectorAll(".statusbar .channel")[n];
    if (!channel) return false;
    var ready = channel.classList.contains("status-ready");
    return press(channel, ready ? 'button[value="not_ready"]' : 'button[value="ready"]');
  }
  var KEYS = {
    a: function () { return press(app.querySelector("[data-offer]"), ".actions form:first-child button"); },
    r: function () { return press(app.querySelector("[data-offer]"), ".actions form:nth-child(2) button"); },
    c: function () { return toolbar("c"); },
    h: function () { return toolbar("h"); },
    e: function () { return toolbar("e"); },
    d: function () { return toolbar("d"); },
    k: function () {
      var pad = currentWindow() && currentWindow().querySelector("details[id^=dtmf]");
      if (!pad) return false;
      pad.open = true;
      pad.querySelector("input[name=digits]").focus();
      return true;
    },
    t: function () { var q = document.querySelector("#team input[type=search]"); if (q) q.focus(); return !!q; },
    n: function () { var w = currentWindow(); var note = w && w.querySelector("textarea[data-note-for]"); if (note) note.focus(); return !!note; },
    1: function () { return toggleStatus(0); },
    2: function () { return toggleStatus(1); },
  };
  var help = document.getElementById("shortcuts");
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-open-shortcuts]") && help) help.showModal();
  });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    if (help && help.open) return;  // the dialog handles its own keys (Escape closes it)
    if (typing(e.target) || e.target.isContentEditable) return;
    if (e.key === "?") {
      if (help) { help.showModal(); e.preventDefault(); }
      return;
    }
    var act = KEYS[e.key.toLowerCase()];
    if (act && !e.repeat && act()) e.preventDefault();
  });
})();
