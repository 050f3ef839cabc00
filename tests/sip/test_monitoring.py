"""Listen, Whisper, Barge over real SIP: the customer (a baresip line sounding 440 Hz, recording what it hears),
Alice's browser (its microphone a 1000 Hz tone) and Sam's board (its microphone 1600 Hz), each a Chromium of its own
(the fake microphone's file is per browser process). Alice's page mixes: what each party hears is measured by the
frequencies in it — in Sam's page and Alice's page with an AnalyserNode on what they receive, at the customer's
phone with a Goertzel filter over the WAV it recorded. One call goes Listen (first unmixed, then mixed) → Whisper →
Barge → Leave → Listen → Alice's End Call, with a screenshot of the board in each state.

RINGBACK_TEST_NO_MONITOR_MIX=1 keeps Alice's page from mixing for the whole run (`window.ringbackNoMonitorMix`,
read by the softphone and set only by tests): the test must then fail (docs/monitoring.md)."""

import array
import math
import os
import struct
import time
import wave

import pytest
from playwright.sync_api import expect

from callbacks import roles
from callbacks.enums import HistoryKind, MonitorEnd
from callbacks.models import HistoryEvent, MonitoringSession, Queue
from callbacks.telephony.sip import credentials

from ..browser.a11y import Axe
from ..browser.conftest import SHOTS
from ..browser.test_call_handling import status, toolbar
from ..test_monitoring import supervisor
from .conftest import CHROMIUM, SIP_ARGS, signed_in
from .test_softphone import RTP_BOTH_WAYS, call_customer, wait_js

pytestmark = [pytest.mark.django_db(transaction=True)]

CUSTOMER, AGENT, SUPERVISOR = 440, 1000, 1600
MIX_OFF = os.environ.get("RINGBACK_TEST_NO_MONITOR_MIX") == "1"
RATE = 48000


def tone_wav(path, frequency: int) -> str:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(
            b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * frequency * n / RATE))) for n in range(RATE * 2))
        )
    return str(path)


@pytest.fixture(scope="module")
def browsers(chromium, tmp_path_factory):
    """Alice's Chromium (1000 Hz microphone) and Sam's (1600 Hz)."""
    folder = tmp_path_factory.mktemp("tones")
    launched = {}
    for who, frequency in (("alice", AGENT), ("sam", SUPERVISOR)):
        wav = tone_wav(folder / f"{frequency}.wav", frequency)
        launched[who] = chromium.browser_type.launch(
            executable_path=CHROMIUM,
            args=[*SIP_ARGS, f"--use-file-for-fake-audio-capture={wav}", "--autoplay-policy=no-user-gesture-required"],
        )
    yield launched
    for browser in launched.values():
        browser.close()


# A page function: the level (dB over the spectrum's median) of each frequency in an audio track the page holds,
# in the telephone band, through an AnalyserNode kept per track (a second of listening is averaged over ten reads).
LEVELS = """async ([which]) => {
  const sp = window.ringbackSoftphone;
  const track = {
    heard: () => sp.watching().s.connection.getReceivers().find(r => r.track && r.track.kind === "audio").track,
    ears: () => sp.monitor().ears.stream.getAudioTracks()[0],
    customer: () => sp.monitor().customer.connection.getReceivers().find(r => r.track && r.track.kind === "audio").track,
  }[which]();
  window.__meters = window.__meters || {};
  let m = window.__meters[track.id];
  if (!m) {
    const ctx = new AudioContext();
    await ctx.resume();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 8192;
    analyser.smoothingTimeConstant = 0;
    ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    m = window.__meters[track.id] = { ctx, analyser };
  }
  const bins = new Float32Array(m.analyser.frequencyBinCount), sum = {};
  const freqs = [440, 1000, 1600];
  for (let i = 0; i < 10; i++) {
    await new Promise(r => setTimeout(r, 100));
    m.analyser.getFloatFrequencyData(bins);
    const hz = m.ctx.sampleRate / m.analyser.fftSize;  // the telephone band's median: the codec's noise floor
    const sorted = Array.from(bins.slice(Math.round(200 / hz), Math.round(3400 / hz))).filter(x => isFinite(x)).sort((a, b) => a - b);
    const floor = sorted[Math.floor(sorted.length / 2)] || -200;
    for (const f of freqs) {
      const k = Math.round(f / hz);
      const peak = Math.max(bins[k - 2], bins[k - 1], bins[k], bins[k + 1], bins[k + 2]);
      sum[f] = (sum[f] || 0) + (isFinite(peak) ? peak - floor : 0) / 10;
    }
  }
  return sum;
}"""
PRESENT, ABSENT = 25, 12  # dB over the median: a tone is there / is not


def levels(page, which: str) -> dict[int, float]:
    return {int(k): round(v, 1) for k, v in page.evaluate(LEVELS, [which]).items()}


def wait_levels(page, which: str, want: set[int], without: set[int], timeout: float = 15) -> dict[int, float]:
    """Wait until `want` frequencies are in the track and `without` are not; the last levels measured."""
    deadline = time.monotonic() + timeout
    while True:
        got = levels(page, which)
        if all(got[f] >= PRESENT for f in want) and all(got[f] < ABSENT for f in without):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{which}: wanted {want} without {without}, measured {got}")


def goertzel(samples, rate: int, frequency: float) -> float:
    """The power of one frequency in `samples` (the Goertzel filter), normalised by their length."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coefficient * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - coefficient * s1 * s2) / len(samples) ** 2


def heard_by_customer(line, spans: dict[str, tuple[float, float]]) -> dict[str, dict[int, float]]:
    """For each span (seconds from the recording's start), the ratio (dB) of each tone's power to the quietest
    of the three, from the WAV the customer's phone recorded."""
    files = sorted(line.heard.glob("*-dec.wav"))
    with wave.open(str(files[-1])) as heard:
        rate, channels = heard.getframerate(), heard.getnchannels()
        samples = array.array("h", heard.readframes(heard.getnframes()))[::channels]
    out = {}
    for name, (start, end) in spans.items():
        chunk = samples[int(start * rate) : int(end * rate)]
        power = {f: goertzel(chunk, rate, f) + 1e-9 for f in (CUSTOMER, AGENT, SUPERVISOR, 1300)}
        floor = power.pop(1300)  # no party sounds 1300 Hz: the noise floor
        out[name] = {f: round(10 * math.log10(p / floor), 1) for f, p in power.items()}
    return out


# Page functions: count the monitoring INVITEs reaching Alice's page, and the re-INVITEs within the monitoring call
# (on either side); the call's dialog (JsSIP's id: Call-ID and tags).
COUNT_INVITES = """() => window.ringbackSoftphone.ua.on("newRTCSession", e => {
  if (e.originator === "remote" && e.request.getHeader("X-Ringback-Monitor")) window.__monitorInvites = (window.__monitorInvites || 0) + 1;
})"""
COUNT_REINVITES = """([which]) => {
  const s = window.ringbackSoftphone[which]().s;
  window.__reinvites = 0;
  s.on("reinvite", () => { window.__reinvites += 1; });
  s.on("update", () => { window.__reinvites += 1; });
  return s.id;
}"""


def board_login(browser, server, axe, username: str):
    context, page = signed_in(browser, server, axe, username)
    page.goto("/board/")
    expect(page.locator("#softphone")).to_have_attribute("data-state", "registered")
    return context, page


def snap(page, name: str) -> None:
    Axe.now(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=False)


def test_listen_whisper_barge_leave_mixed_in_the_agents_page(server, sip, floor, agent_page, browsers, axe):
    roles.ensure_roles()
    supervisor("sam", Queue.objects.get(slug="billing"))
    number = "+33612000041"
    line = sip.line(number, credentials(number), answer_mode="auto", record=True)
    alice = agent_page("alice", browsers["alice"])
    call_customer(alice, server, floor, number)
    expect(status(alice)).to_have_text("Connected")
    established = line.wait_for("CALL_ESTABLISHED")
    began = time.monotonic()
    wait_js(alice, RTP_BOTH_WAYS)
    context, board = board_login(browsers["sam"], server, axe, "sam")
    alice.evaluate(COUNT_INVITES)
    alice.evaluate("() => { window.ringbackNoMonitorMix = true; }")  # first unmixed: what the test sees without the mix
    spans = {}

    # Listen: Sam hears the customer and Alice; neither hears Sam.
    row = board.get_by_test_id(f"agent-{Queue.objects.get(slug='billing').agents.get().pk}")
    row.get_by_role("button", name="Listen to Alice").click()
    panel = board.get_by_role("region", name="On Alice's call")
    expect(panel.get_by_role("button", name="Listen")).to_have_attribute("aria-pressed", "true")
    wait_js(board, "() => { const w = window.ringbackSoftphone.watching(); return w && w.s.isEstablished(); }")
    wait_js(alice, "() => { const m = window.ringbackSoftphone.monitor(); return m && m.s.isEstablished(); }")
    dialogs = {"sam": board.evaluate(COUNT_REINVITES, ["watching"]), "alice": alice.evaluate(COUNT_REINVITES, ["monitor"])}
    # Unmixed, Alice's page sends Sam only her microphone: the measure tells the difference.
    measured = {"unmixed": {"sam hears": wait_levels(board, "heard", {AGENT}, {CUSTOMER, SUPERVISOR})}}
    if not MIX_OFF:
        alice.evaluate("() => { window.ringbackNoMonitorMix = false; document.dispatchEvent(new Event('htmx:afterSettle')); }")
    t0 = time.monotonic()
    measured["listen"] = {"sam hears": wait_levels(board, "heard", {CUSTOMER, AGENT}, {SUPERVISOR})}
    wait_js(alice, "() => { const m = window.ringbackSoftphone.monitor(); return m && m.ears && m.mode === 'listen'; }")
    expect(alice.get_by_test_id("monitored")).to_have_text("Monitored by Sam (Listen)")
    measured["listen"]["alice hears of sam"] = wait_levels(alice, "ears", set(), {SUPERVISOR})
    snap(board, "board-monitor-listen.png")
    spans["listen"] = (t0 - began, time.monotonic() - began)

    # Whisper: Alice hears Sam; the customer does not.
    panel.get_by_role("button", name="Whisper").click()
    expect(panel.get_by_role("button", name="Whisper")).to_have_attribute("aria-pressed", "true")
    expect(alice.get_by_test_id("monitored")).to_have_text("Monitored by Sam (Whisper)")
    measured["whisper"] = {"alice hears of sam": wait_levels(alice, "ears", {SUPERVISOR}, set())}
    t0 = time.monotonic()
    measured["whisper"]["sam hears"] = wait_levels(board, "heard", {CUSTOMER, AGENT}, {SUPERVISOR})
    snap(board, "board-monitor-whisper.png")
    spans["whisper"] = (t0 - began, time.monotonic() - began)

    # Barge: all three hear each other.
    panel.get_by_role("button", name="Barge").click()
    expect(panel.get_by_role("button", name="Barge")).to_have_attribute("aria-pressed", "true")
    expect(alice.get_by_test_id("monitored")).to_have_text("Monitored by Sam (Barge)")
    wait_js(alice, "() => window.ringbackSoftphone.monitor().mode === 'barge'")
    t0 = time.monotonic() + 0.5  # the customer's side: from half a second after the switch
    measured["barge"] = {
        "sam hears": wait_levels(board, "heard", {CUSTOMER, AGENT}, {SUPERVISOR}),
        "alice hears of sam": wait_levels(alice, "ears", {SUPERVISOR}, set()),
        "alice hears the customer": wait_levels(alice, "customer", {CUSTOMER}, {SUPERVISOR}),
    }
    # The same SIP call throughout, both ends: one INVITE, no re-INVITE, the same dialog.
    assert board.evaluate("() => window.ringbackSoftphone.watching().s.id") == dialogs["sam"]
    assert alice.evaluate("() => window.ringbackSoftphone.monitor().s.id") == dialogs["alice"]
    assert board.evaluate("() => window.__reinvites") == 0 and alice.evaluate("() => window.__reinvites") == 0
    assert alice.evaluate("() => window.__monitorInvites") == 1
    board.wait_for_timeout(1500)  # the customer's phone records what it hears: long enough to measure
    snap(board, "board-monitor-barge.png")
    spans["barge"] = (t0 - began, time.monotonic() - began)

    # Leave: Sam's call ends, the customer's goes on with Alice, who is heard alone again.
    session = MonitoringSession.objects.get()
    panel.get_by_role("button", name="Leave").click()
    expect(board.locator("#monitor")).to_be_hidden()
    wait_js(alice, "() => window.ringbackSoftphone.monitor() === null")
    # The customer's side: from 1.5 s after (the recording's clock trails the test's when the machine is loaded).
    t0 = time.monotonic() + 1.5
    expect(alice.get_by_test_id("monitored")).to_have_count(0)
    snap(board, "board-monitor-left.png")
    session.refresh_from_db()
    assert session.end_reason == MonitorEnd.LEFT
    expect(status(alice)).to_have_text("Connected")
    assert not line.seen("CALL_CLOSED"), "the customer is still with Alice"
    wait_js(alice, RTP_BOTH_WAYS)
    board.wait_for_timeout(max(0, 1500 - (time.monotonic() - t0) * 1000))  # 1.5 s of the customer's recording
    spans["left"] = (t0 - began, time.monotonic() - began)

    # Listen again, then Alice presses End Call: the monitoring ends with the call, Sam's line and panel go.
    row.get_by_role("button", name="Listen to Alice").click()
    expect(panel.get_by_role("button", name="Listen")).to_have_attribute("aria-pressed", "true")
    wait_js(board, "() => { const w = window.ringbackSoftphone.watching(); return w && w.s.isEstablished(); }")
    again = MonitoringSession.objects.get(ended_at__isnull=True)
    toolbar(alice).get_by_role("button", name="End Call").click()
    expect(board.locator("#monitor")).to_be_hidden()
    wait_js(board, "() => window.ringbackSoftphone.watching() === null")
    line.wait_for("CALL_CLOSED")
    again.refresh_from_db()
    assert again.end_reason == MonitorEnd.CALL_ENDED
    end = HistoryEvent.objects.filter(kind=HistoryKind.MONITOR, data__session=again.pk, data__change="end").get()
    assert (end.actor, end.about.username, end.data["reason"]) == (None, "sam", "call_ended")

    heard = heard_by_customer(line, spans)
    print("measured in the pages (dB over the median):", measured)
    print("heard by the customer (dB over the floor):", heard, "spans:", spans, "call:", established["id"])
    for mode in ("listen", "whisper"):
        assert heard[mode][AGENT] > 40 and heard[mode][SUPERVISOR] < 20, (mode, heard[mode])
    assert heard["barge"][AGENT] > 40 and heard["barge"][SUPERVISOR] > 40, heard["barge"]
    assert heard["left"][AGENT] > 40 and heard["left"][SUPERVISOR] < 20, heard["left"]
    changes = list(HistoryEvent.objects.filter(kind=HistoryKind.MONITOR).order_by("id").values_list("data", flat=True))
    assert [(c["change"], c["mode"]) for c in changes] == [
        ("start", "listen"),
        ("mode", "whisper"),
        ("mode", "barge"),
        ("end", "barge"),
        ("start", "listen"),
        ("end", "listen"),
    ]
    context.close()
