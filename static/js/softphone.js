// Ringback's browser softphone (JsSIP, vendored): registers with kamailio over SIP-over-WebSocket with the
// time-limited credentials of the page, and keeps its SIP sessions matching what the page shows. Each render
// of a call carries data-call-ref / data-call-state / data-dial: Dialing with no session → dial (the INVITE
// carries X-Ringback-Call), On Hold / Connected → hold / resume, Ended → hang up. It reports what the line did
// (ringing, answered, failed with its SIP code, ended by the far end) to /softphone/events/.
(function () {
  var cfgEl = document.getElementById("softphone-config");
  if (!cfgEl || !window.JsSIP) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var sessions = {};   // call reference → JsSIP session
  var started = {};    // call references this page dialled once (never dial one twice)
  var referred = {};   // transfer ids this page has asked the customer's phone to carry out
  var state = "connecting", detail = "";
  var audio = new Audio();
  audio.autoplay = true;

  var LABELS = {
    connecting: "Phone: connecting…",
    registered: "Phone: ready",
    failed: "Phone: not registered",
    nomic: "Phone: no microphone",
  };
  function show() {
    var el = document.getElementById("softphone");
    if (!el) return;
    el.dataset.state = state;
    el.textContent = LABELS[state] + (detail ? " (" + detail + ")" : "");
    el.title = state === "nomic" ? "Allow the microphone for this site, then reload the page." : "";
  }
  function set(next, why) { state = next; detail = why || ""; show(); }

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function report(ref, event, code, transferId) {
    fetch("/softphone/events/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ call_ref: ref, event: event, code: code || null, transfer_id: transferId || null }),
    });
  }

  // Instant Call Transfer to a number: a blind REFER to the customer's phone, which calls the target. Its NOTIFYs
  // say whether the target answered (Ringback then closes the agent's window) or why not (the call stays).
  function transfer(ref, s, id, number) {
    referred[id] = true;
    var done = false;
    function verdict(ok, code) {
      if (done) return;
      done = true;
      report(ref, ok ? "transferred" : "transfer_failed", code, id);
    }
    s.refer("sip:" + number + "@" + cfg.domain, {
      eventHandlers: {
        requestFailed: function (e) { verdict(false, e.response && e.response.status_code); },
        accepted: function () { verdict(true, 200); },
        failed: function (e) { verdict(false, e.status_line && e.status_line.status_code); },
      },
    });
  }

  var ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(cfg.ws)],
    uri: cfg.uri,
    authorization_user: cfg.username,
    password: cfg.password,
    register: true,
    session_timers: false,
  });
  ua.on("registered", function () { if (state !== "nomic") set("registered"); reconcile(); });
  ua.on("registrationFailed", function (e) { set("failed", e.cause); });
  ua.on("unregistered", function () { set("failed", "unregistered"); });
  ua.on("disconnected", function () { if (state !== "nomic") set("connecting"); });
  ua.start();
  window.ringbackSoftphone = { ua: ua, sessions: sessions, state: function () { return state; } };

  // The microphone is asked for once, when the page opens, not in the middle of a customer's call.
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      stream.getTracks().forEach(function (t) { t.stop(); });
    }).catch(function (e) {
      var why = { NotFoundError: "none found", NotAllowedError: "blocked", NotReadableError: "in use elsewhere" };
      set("nomic", e && (why[e.name] || e.name));
    });
  }

  function dial(ref, number, ringSeconds) {
    started[ref] = true;
    var s = ua.call("sip:" + number + "@" + cfg.domain, {
      mediaConstraints: { audio: true, video: false },
      extraHeaders: ["X-Ringback-Call: " + ref],
      pcConfig: { iceServers: cfg.ice_servers || [] },
    });
    sessions[ref] = s;
    s.connection.addEventListener("track", function (e) { audio.srcObject = e.streams[0]; });
    s.on("progress", function (e) {
      if (e.originator === "remote") report(ref, "ringing", e.response && e.response.status_code);
    });
    s.on("accepted", function () { report(ref, "answered", 200); });
    s.on("failed", function (e) {
      // Local: Ringback ended the call itself (the page only followed). Remote: the code says why.
      if (e.originator !== "local") report(ref, "failed", e.message && e.message.status_code);
    });
    s.on("ended", function (e) { if (e.originator === "remote") report(ref, "ended"); });
    // The queue's ring time: Ringback's own CANCEL, recorded as No answer (487 Request Terminated).
    if (ringSeconds > 0) {
      setTimeout(function () {
        if (!s.isEstablished() && !s.isEnded()) { report(ref, "failed", 487); s.terminate(); }
      }, ringSeconds * 1000);
    }
  }

  function reconcile() {
    var shown = {};
    document.querySelectorAll("[data-call-ref]").forEach(function (el) {
      var ref = el.dataset.callRef, want = el.dataset.callState, s = sessions[ref];
      shown[ref] = true;
      if (want === "dialing" && !s && !started[ref] && ua.isRegistered()) {
        dial(ref, el.dataset.dial, parseInt(el.dataset.ringSeconds || "0", 10));
      } else if (want === "ended" && s && !s.isEnded()) {
        s.terminate();
      } else if (s && s.isEstablished()) {
        var id = el.dataset.transferId;
        if (id && !referred[id]) transfer(ref, s, id, el.dataset.transferNumber);
        var held = s.isOnHold().local;
        if (want === "on_hold" && !held) s.hold();
        if (want === "connected" && held) s.unhold();
      }
    });
    // A call the page no longer shows (its interaction is done or gone) must not stay up.
    Object.keys(sessions).forEach(function (ref) {
      if (!shown[ref] && !sessions[ref].isEnded()) sessions[ref].terminate();
    });
  }

  // Send DTMF: the keys go on the line at once (RFC 4733), and the form still records them in the history.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.action || !/\/dtmf\/$/.test(form.action)) return;
    var box = form.closest("[data-interaction]") || document;
    var call = box.querySelector("[data-call-ref]");
    var s = call && sessions[call.dataset.callRef];
    var digits = form.querySelector("input[name=digits]");
    if (s && s.isEstablished() && digits && digits.value) s.sendDTMF(digits.value, { transportType: "RFC2833" });
  }, true);

  // A tab closing (or reloading) hangs its calls up (a BYE, which kamailio reports to Ringback as the agent's
  // side hanging up) and unregisters, rather than leaving a customer talking to nobody.
  window.addEventListener("pagehide", function () {
    Object.keys(sessions).forEach(function (ref) { if (!sessions[ref].isEnded()) sessions[ref].terminate(); });
    ua.stop();
  });

  document.addEventListener("DOMContentLoaded", function () { show(); reconcile(); });
  document.addEventListener("htmx:afterSettle", function () { show(); reconcile(); });
  document.addEventListener("htmx:wsAfterMessage", function () { show(); reconcile(); });
})();
