// Ringback's browser softphone (JsSIP, vendored): registers with kamailio over SIP-over-WebSocket with the
// time-limited credentials of the page, and keeps its SIP sessions matching what the page shows. Each render
// of a call carries data-call-ref / data-call-state / data-dial: Dialing with no session → dial (the INVITE
// carries X-Ringback-Call), On Hold / Connected → hold / resume, Ended → hang up; data-transfer-* → a blind REFER
// to a number; data-handover-* (a call transferred to another agent) → a REFER to their phone, whose page answers
// the customer once the call shows there; data-leg (a consultation) → a call between the agents' browsers, mixed
// with the customer's through Web Audio in a conference; data-leg-line (a number consulted or conferenced) → a
// call to it, mixed the same way once it answers; data-monitor-* (a supervisor on the call: Listen, Whisper, Barge)
// → the supervisor's board calls this page with the session's one-time token, which this page answers only when
// its window shows that token, and mixes for the mode (see `monitorMix`). It reports what each line did (ringing, answered, failed with
// its SIP code, ended by the far end, a transfer's verdict) to /softphone/events/.
(function () {
  var cfgEl = document.getElementById("softphone-config");
  if (!cfgEl || !window.JsSIP) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var _ = window.gettext || function (s) { return s; };  // the agent's language (Django's /jsi18n/ catalogue)
  var sessions = {};   // call reference → JsSIP session
  var started = {};    // call references this page dialled once (never dial one twice)
  var referred = {};   // transfer ids this page has asked the customer's phone to carry out
  var handing = {};    // call references being handed over to another agent's phone (kept until it is done)
  var incoming = [];   // calls ringing this phone (a customer handed over by another agent), not yet claimed
  var legs = {};       // second calls between agents ("consult-<id>": a consultation, then maybe a conference)
  var legsStarted = {}, legsRinging = {}, legsGone = {}, mixed = {};
  var monitorsRinging = {};  // a supervisor's board calling this page, by the token in its X-Ringback-Monitor
  var monitor = null;        // the monitoring call this page answered, and its Web Audio graph
  var watching = null, watched = {};  // on a supervisor's board: its call to an agent's page (tokens dialled once)
  var state = "connecting", detail = "";
  var MEDIA = { audio: true, video: false };
  var audio = new Audio();
  audio.autoplay = true;

  var LABELS = {
    connecting: _("Phone: connecting…"),
    registered: _("Phone: ready"),
    failed: _("Phone: not registered"),
    nomic: _("Phone: no microphone"),
  };
  function show() {
    var el = document.getElementById("softphone");
    if (!el) return;
    el.dataset.state = state;
    el.textContent = LABELS[state] + (detail ? " (" + detail + ")" : "");
    el.title = state === "nomic" ? _("Allow the microphone for this site, then reload the page.") : "";
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
    // A short registration: a tab that dies without unregistering is forgotten in two minutes at most (kamailio
    // also drops a contact as soon as its websocket is gone).
    register_expires: 120,
    session_timers: false,
  });
  ua.on("registered", function () { if (state !== "nomic") set("registered"); reconcile(); });
  ua.on("registrationFailed", function (e) { set("failed", e.cause); });
  ua.on("unregistered", function () { set("failed", "unregistered"); });
  ua.on("disconnected", function () { if (state !== "nomic") set("connecting"); });
  // A customer's phone calling this one: another agent transferred the customer here. It rings until this agent
  // accepts the transfer in Ringback (the call then shows here, and the session is answered), or gives up.
  ua.on("newRTCSession", function (e) {
    if (e.originator !== "remote") return;
    var s = e.session, leg = e.request.getHeader("X-Ringback-Leg"), token = e.request.getHeader("X-Ringback-Monitor");
    if (token) {  // a supervisor's board: answered only if this page's window shows the same token
      monitorsRinging[token] = s;
      var forget = function () { if (monitorsRinging[token] === s) delete monitorsRinging[token]; };
      s.on("ended", forget);
      s.on("failed", forget);
      setTimeout(function () { if (monitorsRinging[token] === s && !s.isEstablished() && !s.isEnded()) s.terminate({ status_code: 403 }); }, 15000);
      reconcile();
      return;
    }
    if (leg) {  // another agent's page calling about a consultation: answered once this page shows it
      legsRinging[leg] = s;
      s.on("ended", function () { delete legsRinging[leg]; });
      s.on("failed", function () { delete legsRinging[leg]; });
      reconcile();
      return;
    }
    if (e.request.hasHeader("Replaces")) {  // an attended transfer: the customer replaces this page's consultation
      incoming.unshift(s);
      reconcile();
      return;
    }
    incoming.push(s);
    var drop = function () { incoming = incoming.filter(function (x) { return x !== s; }); };
    s.on("ended", drop);
    s.on("failed", drop);
    setTimeout(function () { if (incoming.indexOf(s) >= 0 && !s.isEnded()) s.terminate({ status_code: 480 }); }, 45000);
    reconcile();
  });
  ua.start();
  window.ringbackSoftphone = {
    ua: ua, sessions: sessions, legs: legs, mixed: mixed, state: function () { return state; },
    monitor: function () { return monitor; }, watching: function () { return watching; },
  };

  // The microphone is asked for once, when the page opens, not in the middle of a customer's call.
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      stream.getTracks().forEach(function (t) { t.stop(); });
    }).catch(function (e) {
      var why = { NotFoundError: _("none found"), NotAllowedError: _("blocked"), NotReadableError: _("in use elsewhere") };
      set("nomic", e && (why[e.name] || e.name));
    });
  }

  function wire(ref, s) {
    sessions[ref] = s;
    var play = function (e) { audio.srcObject = e.streams[0]; };
    if (s.connection) s.connection.addEventListener("track", play);
    else s.on("peerconnection", function (e) { e.peerconnection.addEventListener("track", play); });
    s.on("ended", function (e) { if (e.originator === "remote") report(ref, "ended"); });
  }

  // A call this page placed for Ringback (a customer's, or a number consulted or conferenced): what the far end
  // did goes to Ringback. Failed locally means Ringback ended it itself (the page only followed); remotely, the
  // SIP code says why.
  function track(ref, s) {
    s.on("progress", function (e) {
      if (e.originator === "remote") report(ref, "ringing", e.response && e.response.status_code);
    });
    s.on("accepted", function () { report(ref, "answered", 200); });
    s.on("failed", function (e) {
      if (e.originator !== "local") report(ref, "failed", e.message && e.message.status_code);
    });
  }

  // A call transferred to this agent: the customer's phone is already calling this one (or soon will). The
  // caller is the customer's number (digits compared), else the one call ringing here.
  function digits(x) { return String(x || "").replace(/[^0-9]/g, ""); }
  function caller(list, number) {
    var s = list.filter(function (x) { return digits(x.remote_identity.uri.user) === digits(number); })[0];
    return s || (list.length === 1 ? list[0] : null);
  }
  function adopt(ref, number) {
    var s = caller(answered, number);  // answered from a transfer request, before the call showed here
    if (s) {
      answered = answered.filter(function (x) { return x !== s; });
      wire(ref, s);
      return;
    }
    s = caller(incoming, number);
    if (!s) return;
    incoming = incoming.filter(function (x) { return x !== s; });
    wire(ref, s);
    pickUp(s);
  }

  // A transfer request (another agent is transferring a customer here, on the softphone): Accept answers the call
  // ringing from the customer's phone (their page then reports the transfer done, and the call shows here);
  // Decline rejects it (603), and the other agent keeps the customer.
  var answered = [], verdicts = {};
  function settleRequests() {
    document.querySelectorAll("[data-transfer-offer]").forEach(function (box) {
      var verdict = verdicts[box.dataset.transferOffer];
      if (!verdict) return;
      box.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      var s = caller(incoming, box.dataset.transferCaller);
      if (!s) return;  // not ringing yet: done when it does
      incoming = incoming.filter(function (x) { return x !== s; });
      if (verdict === "answer") { answered.push(s); pickUp(s); } else { s.terminate({ status_code: 603 }); }
    });
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-transfer-answer], [data-transfer-decline]");
    var box = button && button.closest("[data-transfer-offer]");
    if (!box) return;
    verdicts[box.dataset.transferOffer] = button.hasAttribute("data-transfer-answer") ? "answer" : "decline";
    settleRequests();
  });

  // Instant Call Transfer to an agent: a blind REFER to the customer's phone, which calls theirs. This page's
  // session stays up until the REFER is settled either way, then hangs up (Ringback already moved the call).
  function handOver(ref, s, id, user, leg) {
    referred[id] = true;
    handing[ref] = true;
    if (leg) handing[leg] = true;
    var settle = function () {
      delete handing[ref];
      if (!s.isEnded()) s.terminate();
      if (leg) { delete handing[leg]; if (legs[leg] && !legs[leg].isEnded()) legs[leg].terminate(); }
    };
    var options = { eventHandlers: { requestFailed: settle, accepted: settle, failed: settle } };
    // After a consultation: attended (Replaces names the consultation's call), which the target's phone takes in
    // place of it; a far end that cannot calls the target afresh, and the target's page answers as for a blind one.
    if (leg && legs[leg] && legs[leg].isEstablished()) options.replaces = legs[leg];
    s.refer("sip:" + user + "@" + cfg.domain, options);
    setTimeout(settle, 60000);
  }

  // An outgoing call to `user` (a number or an agent's SIP user) in the SIP domain, with the header that names it.
  function place(user, header) {
    return ua.call("sip:" + user + "@" + cfg.domain, {
      mediaConstraints: MEDIA,
      extraHeaders: [header],
      pcConfig: pcConfig(),
    });
  }
  function pickUp(s) { s.answer({ mediaConstraints: MEDIA, pcConfig: pcConfig() }); }
  // TURN servers from Ringback (time-limited credentials); "relay" sends all media through them (locked-down networks).
  function pcConfig() { return { iceServers: cfg.ice_servers || [], iceTransportPolicy: cfg.ice_policy || "all" }; }

  // Start Consultation: once the other agent accepted, this page calls theirs (the customer is on hold). A number
  // consulted or conferenced (`line`: the leg is Ringback's reference of that call) is called at once, and its
  // answer, failure or hang-up is reported like a customer's call (kamailio reports it too, by the same header).
  function dialLeg(leg, user, line) {
    legsStarted[leg] = true;
    var s = place(user, (line ? "X-Ringback-Call: " : "X-Ringback-Leg: ") + leg);
    wireLeg(leg, s);
    if (line) {
      track(leg, s);
      s.on("ended", function (e) { if (e.originator === "remote") report(leg, "ended"); });
    }
  }

  function wireLeg(leg, s) {
    legs[leg] = s;
    var player = new Audio();
    player.autoplay = true;
    var play = function (e) { player.srcObject = e.streams[0]; };
    if (s.connection) s.connection.addEventListener("track", play);
    else s.on("peerconnection", function (e) { e.peerconnection.addEventListener("track", play); });
    s.on("ended", function () { player.srcObject = null; reconcile(); });  // unmix
    s.on("confirmed", function () { setTimeout(reconcile, 0); });  // a conference mixes once both calls are up
    s.on("replaces", function (e) {  // the customer's phone replaces this consultation (attended transfer)
      e.accept();
    });
  }

  // Instant Call Conference after a consultation, mixed here (no mixer in the stack): each party hears this
  // agent's microphone and the other party, through the Web Audio API.
  var mixer = null;
  function sender(s) {
    return s.connection.getSenders().filter(function (x) { return x.track && x.track.kind === "audio"; })[0];
  }
  function remote(s) {
    return s.connection.getReceivers().filter(function (x) { return x.track && x.track.kind === "audio"; })[0].track;
  }
  function mix(a, b, key) {
    mixer = mixer || new AudioContext();
    if (mixer.state === "suspended") mixer.resume();
    var mic = sender(a).track;
    mixed[key] = { a: a, b: b, mic: mic };
    [[a, b], [b, a]].forEach(function (pair) {
      var out = mixer.createMediaStreamDestination();
      mixer.createMediaStreamSource(new MediaStream([mic])).connect(out);
      mixer.createMediaStreamSource(new MediaStream([remote(pair[1])])).connect(out);
      sender(pair[0]).replaceTrack(out.stream.getAudioTracks()[0]);
    });
  }
  function unmix(key) {
    var m = mixed[key];
    delete mixed[key];
    [m.a, m.b].forEach(function (s) { if (!s.isEnded()) sender(s).replaceTrack(m.mic); });
  }

  // A supervisor on this agent's call, mixed here like a conference (nothing in the stack mixes). The supervisor
  // always hears the customer and this agent; what else each one hears is the mode's:
  //   to the supervisor: customer + agent's microphone                       (every mode)
  //   to the customer:   agent's microphone (+ the supervisor in Barge)
  //   agent's ears:      customer (+ the supervisor in Whisper and Barge)
  // Switching modes only moves two gains: the same SIP calls, never a new one.
  function monitorMix(m, customer) {
    mixer = mixer || new AudioContext();
    if (mixer.state === "suspended") mixer.resume();
    var mic = sender(m.s).track, fromSupervisor = new MediaStream([remote(m.s)]);
    m.customerTrack = sender(customer).track;  // given back when the monitoring ends
    m.customer = customer;
    m.sink = new Audio();  // a remote stream reaches Web Audio only while a media element plays it (Chromium)
    m.sink.muted = true;
    m.sink.srcObject = fromSupervisor;
    var supervisor = mixer.createMediaStreamSource(fromSupervisor);
    var toSupervisor = mixer.createMediaStreamDestination();
    mixer.createMediaStreamSource(new MediaStream([mic])).connect(toSupervisor);
    mixer.createMediaStreamSource(new MediaStream([remote(customer)])).connect(toSupervisor);
    var toCustomer = mixer.createMediaStreamDestination();
    mixer.createMediaStreamSource(new MediaStream([mic])).connect(toCustomer);
    m.barge = mixer.createGain();
    supervisor.connect(m.barge).connect(toCustomer);
    m.whisper = mixer.createGain();
    m.ears = mixer.createMediaStreamDestination();  // what this agent hears of the supervisor
    supervisor.connect(m.whisper).connect(m.ears);
    m.player = new Audio();
    m.player.autoplay = true;
    m.player.srcObject = m.ears.stream;
    sender(m.s).replaceTrack(toSupervisor.stream.getAudioTracks()[0]);
    sender(customer).replaceTrack(toCustomer.stream.getAudioTracks()[0]);
  }
  function monitorMode(m, mode) {
    m.mode = mode;
    m.barge.gain.value = mode === "barge" ? 1 : 0;
    m.whisper.gain.value = mode === "listen" ? 0 : 1;
  }
  function unmonitor() {
    var m = monitor;
    monitor = null;
    if (m.customer && !m.customer.isEnded()) sender(m.customer).replaceTrack(m.customerTrack);
    if (m.player) { m.player.srcObject = null; m.sink.srcObject = null; }
    if (!m.s.isEnded()) m.s.terminate();
  }
  function reconcileMonitor() {
    var el = document.querySelector("[data-monitor-token][data-call-ref]");
    var token = el && el.dataset.monitorToken, customer = el && sessions[el.dataset.callRef];
    if (monitor && (monitor.token !== token || monitor.s.isEnded())) unmonitor();
    if (!el) return;
    if (!monitor && monitorsRinging[token] && customer && customer.isEstablished()) {
      var s = monitorsRinging[token];
      delete monitorsRinging[token];
      if (s.remote_identity.uri.user !== el.dataset.monitorFrom) { s.terminate({ status_code: 403 }); return; }
      monitor = { token: token, s: s, mode: null };
      s.on("confirmed", function () { setTimeout(reconcile, 0); });
      s.on("ended", function () { setTimeout(reconcile, 0); });
      pickUp(s);
    }
    // window.ringbackNoMonitorMix is for tests only (nothing in Ringback sets it): the call is answered but not
    // mixed, to show that the monitoring tests fail without the mix (docs/monitoring.md).
    if (monitor && monitor.s.isEstablished() && customer && customer.isEstablished() && !window.ringbackNoMonitorMix) {
      if (!monitor.ears) monitorMix(monitor, customer);
      if (monitor.mode !== el.dataset.monitorMode) monitorMode(monitor, el.dataset.monitorMode);
    }
  }

  // On a supervisor's board: the monitoring panel names the agent's SIP user and the session's token; this page
  // calls theirs once with it, and its microphone is live only in Whisper and Barge.
  function reconcileWatch() {
    var el = document.querySelector("[data-monitor-to][data-monitor-token]");
    var token = el && el.dataset.monitorToken;
    if (watching && watching.token !== token) {
      if (!watching.s.isEnded()) watching.s.terminate();
      watching = null;
    }
    if (!el) return;
    if (!watching && !watched[token] && ua.isRegistered()) {
      watched[token] = true;
      var s = place(el.dataset.monitorTo, "X-Ringback-Monitor: " + token), w = { token: token, s: s };
      watching = w;
      var player = new Audio();
      player.autoplay = true;
      var play = function (e) { player.srcObject = e.streams[0]; };
      s.connection.addEventListener("track", play);
      // This call ended without this page hanging it up (the agent's page hung up or refused it, the network or
      // a browser went away): Ringback ends the session, then the panel re-reads and says so.
      var gone = function (e) {
        player.srcObject = null;
        if (watching === w) watching = null;
        var panel = document.getElementById("monitor");
        var refresh = function () { if (panel && window.htmx) window.htmx.trigger(panel, "refresh"); };
        var open = document.querySelector('[data-monitor-to][data-monitor-token="' + token + '"]');
        if ((e && e.originator === "local") || !open) { refresh(); return; }  // this page ended it, or it has ended
        var code = e && e.message && e.message.status_code;
        fetch("/board/monitor/line-gone/", {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrf() },
          body: new URLSearchParams({ token: token, code: code ? String(code) : "" }),
        }).then(refresh, refresh);
      };
      s.on("ended", gone);
      s.on("failed", gone);
      s.on("confirmed", function () { setTimeout(reconcile, 0); });
    }
    if (watching && watching.s.connection) {
      var out = sender(watching.s);
      if (out) out.track.enabled = el.dataset.monitorMode !== "listen";
    }
  }

  // A queue that announces recording: when the customer answers, they hear "This call may be recorded" (in their
  // language) before the agent speaks. The clip goes into the call in place of the microphone until it ends; the
  // agent hears it too, and knows when to speak.
  function announce(s, url) {
    var shown = function (on) {
      document.body.dataset.notice = on ? "playing" : "done";
      document.querySelectorAll("[data-notice-playing]").forEach(function (x) { x.hidden = !on; });
    };
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.arrayBuffer();
    }).then(function (bytes) {
      mixer = mixer || new AudioContext();
      if (mixer.state === "suspended") mixer.resume();
      return mixer.decodeAudioData(bytes);
    }).then(function (clip) {
      if (s.isEnded()) return;
      var out = sender(s), mic = out.track, into = mixer.createMediaStreamDestination();
      var source = mixer.createBufferSource();
      source.buffer = clip;
      source.connect(into);
      source.connect(mixer.destination);
      source.onended = function () {
        if (!s.isEnded() && out.track !== mic) out.replaceTrack(mic);
        shown(false);
      };
      out.replaceTrack(into.stream.getAudioTracks()[0]).then(function () { shown(true); source.start(); });
    }).catch(function () { shown(false); });
  }

  function dial(ref, number, ringSeconds, notice) {
    started[ref] = true;
    var s = place(number, "X-Ringback-Call: " + ref);
    wire(ref, s);
    track(ref, s);
    if (notice) s.on("accepted", function () { announce(s, notice); });
    // The queue's ring time: Ringback's own CANCEL, recorded as No answer (487 Request Terminated).
    if (ringSeconds > 0) {
      setTimeout(function () {
        if (!s.isEstablished() && !s.isEnded()) { report(ref, "failed", 487); s.terminate(); }
      }, ringSeconds * 1000);
    }
  }

  function reconcile() {
    settleRequests();
    document.querySelectorAll("[data-notice-playing]").forEach(function (x) { x.hidden = document.body.dataset.notice !== "playing"; });
    var shown = {};
    var legsShown = {};
    document.querySelectorAll("[data-handover-ref]").forEach(function (el) {
      var ref = el.dataset.handoverRef, s = sessions[ref], id = "handover-" + el.dataset.handoverId;
      shown[ref] = true;
      if (s && s.isEstablished() && !referred[id]) handOver(ref, s, id, el.dataset.handoverTo, el.dataset.handoverLeg);
    });
    document.querySelectorAll("[data-call-ref]").forEach(function (el) {
      var ref = el.dataset.callRef, want = el.dataset.callState, s = sessions[ref];
      shown[ref] = true;
      if ((want === "connected" || want === "on_hold") && !s && !started[ref]) {
        adopt(ref, el.dataset.dial);
      } else if (want === "dialing" && !s && !started[ref] && ua.isRegistered()) {
        dial(ref, el.dataset.dial, parseInt(el.dataset.ringSeconds || "0", 10), el.dataset.notice);
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
    // Consultations (after the calls: a conference mixes once the customer is off hold).
    document.querySelectorAll("[data-leg]").forEach(function (el) {
      var leg = el.dataset.leg, to = el.dataset.legTo;
      legsShown[leg] = true;
      delete legsGone[leg];
      if (!legs[leg] && to && !legsStarted[leg] && ua.isRegistered()) dialLeg(leg, to, el.hasAttribute("data-leg-line"));
      if (!legs[leg] && !to && legsRinging[leg]) {
        var s = legsRinging[leg];
        delete legsRinging[leg];
        wireLeg(leg, s);
        pickUp(s);
      }
      var box = el.closest("[data-interaction]");
      var call = box && box.querySelector("[data-call-ref]");
      var customer = call && sessions[call.dataset.callRef];
      if (el.hasAttribute("data-leg-mix") && !mixed[leg] && customer && customer.isEstablished() && legs[leg]
          && legs[leg].isEstablished() && !customer.isOnHold().local) mix(customer, legs[leg], leg);
    });
    reconcileMonitor();
    reconcileWatch();
    // A call the page no longer shows (its interaction is done or gone) must not stay up.
    Object.keys(sessions).forEach(function (ref) {
      if (!shown[ref] && !handing[ref] && !sessions[ref].isEnded()) sessions[ref].terminate();
    });
    // A consultation the page no longer shows ends: at once where this page called, a few seconds later where it
    // answered (the customer's phone may be replacing it: an attended transfer).
    Object.keys(mixed).forEach(function (leg) { if (!legsShown[leg] || mixed[leg].b.isEnded()) unmix(leg); });
    Object.keys(legs).forEach(function (leg) {
      if (legsShown[leg] || handing[leg] || legs[leg].isEnded()) return;
      if (legsStarted[leg]) { legs[leg].terminate(); return; }
      if (!legsGone[leg]) { legsGone[leg] = Date.now(); setTimeout(reconcile, 5100); return; }
      if (Date.now() - legsGone[leg] >= 5000) legs[leg].terminate();
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
    Object.keys(legs).forEach(function (leg) { if (!legs[leg].isEnded()) legs[leg].terminate(); });
    if (monitor && !monitor.s.isEnded()) monitor.s.terminate();
    if (watching && !watching.s.isEnded()) watching.s.terminate();
    ua.stop();
  });

  document.addEventListener("DOMContentLoaded", function () { show(); reconcile(); });
  document.addEventListener("htmx:afterSettle", function () { show(); reconcile(); });
  document.addEventListener("htmx:wsAfterMessage", function () { show(); reconcile(); });
})();
