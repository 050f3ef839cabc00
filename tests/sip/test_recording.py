"""Server-side recording of a real call (docs/recording.md): the agent's browser (a 1000 Hz microphone) calls a
baresip customer (a 440 Hz tone) through kamailio and rtpengine; Ringback has rtpengine record the call, pauses it
for a second (a card number), resumes, and the call ends. rtpengine's pcap segments become a two-channel WAV: the
customer's tone on the left, the agent's on the right, the pause silent and marked in the file's metadata."""

import array
import wave
from pathlib import Path

import pytest
from playwright.sync_api import expect

from callbacks.enums import RecordingPolicy, RecordingState
from callbacks.models import Call, CallRecording, Queue
from callbacks.telephony.audio import Party, read_wav_metadata
from callbacks.telephony.sip import credentials, recording
from callbacks.voice import prompts

from ..audio import RATE, rms, sine, tone
from ..browser.test_call_handling import status
from .conftest import CHROMIUM, SIP_ARGS
from .test_attacks import _wait_for
from .test_softphone import RTP_BOTH_WAYS, call_customer, wait_js

pytestmark = [pytest.mark.django_db(transaction=True)]

CUSTOMER_TONE, AGENT_TONE = 440, 1000  # baresip's ausine; the agent's fake microphone
PACKETS = 50  # 20 ms each: a second of audio between each step

SENT_AND_RECEIVED = """async () => {
  const s = Object.values(window.ringbackSoftphone.sessions)[0];
  let sent = 0, received = 0;
  (await s.connection.getStats()).forEach(r => {
    if (r.type === "outbound-rtp" && r.kind === "audio") sent = r.packetsSent;
    if (r.type === "inbound-rtp" && r.kind === "audio") received = r.packetsReceived;
  });
  return [sent, received];
}"""


@pytest.fixture(scope="module")
def humming_chromium(chromium, tmp_path_factory):
    """Agents whose microphone is a steady tone (Chromium loops the file)."""
    hum = tmp_path_factory.mktemp("audio") / "hum.wav"
    with wave.open(str(hum), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(array.array("h", sine(AGENT_TONE, 1.0, amplitude=12000, rate=48000)).tobytes())
    browser = chromium.browser_type.launch(executable_path=CHROMIUM, args=[*SIP_ARGS, f"--use-file-for-fake-audio-capture={hum}"])
    yield browser
    browser.close()


def a_second_of_talk(page) -> None:
    """Wait until another second of audio went each way (the browser's own counters)."""
    sent, received = page.evaluate(SENT_AND_RECEIVED)
    wait_js(
        page,
        f"async () => {{ const [s, r] = await ({SENT_AND_RECEIVED})(); return s >= {sent + PACKETS} && r >= {received + PACKETS}; }}",
    )


def test_a_recorded_call_holds_both_parties_and_its_pause_is_silent_and_marked(
    server, sip, floor, agent_page, humming_chromium, recording_folders
):
    """Billing records every call: from the customer's answer, rtpengine records; Alice pauses while a card number is
    read out and resumes; the customer hangs up, and Ringback stores the call as one two-channel WAV."""
    Queue.objects.filter(slug="billing").update(recording_policy=RecordingPolicy.ALWAYS)
    number = "+33612000071"
    line = sip.line(number, credentials(number), answer_mode="auto")
    page = agent_page("alice", browser=humming_chromium)
    call_customer(page, server, floor, number)
    expect(status(page)).to_have_text("Connected")
    expect(page.get_by_test_id("recording")).to_have_text("Recording")
    wait_js(page, RTP_BOTH_WAYS)
    _wait_for(lambda: CallRecording.objects.filter(switch_state__applied="recording").exists(), timeout=15)
    a_second_of_talk(page)
    page.get_by_role("button", name="Pause recording").click()  # the customer reads out a card number
    expect(page.get_by_test_id("recording")).to_have_text("Recording paused")
    _wait_for(lambda: CallRecording.objects.filter(switch_state__applied="paused").exists(), timeout=15)
    a_second_of_talk(page)
    page.get_by_role("button", name="Resume recording").click()
    _wait_for(lambda: CallRecording.objects.filter(switch_state__applied="recording").exists(), timeout=15)
    a_second_of_talk(page)
    line.command("hangup")
    expect(status(page)).to_have_text("Ready to Call")
    stored = stored_recording()
    wav = Path(recording_folders["RINGBACK_RECORDINGS_DIR"]) / stored.audio.name
    spool = Path(recording_folders["RINGBACK_RTPENGINE_RECORDING_DIR"])
    assert not recording.segments(spool, stored.switch_state["call_id"]), "the spool keeps no decrypted audio"

    channels = read_channels(wav)
    meta = read_wav_metadata(wav)
    assert meta["call"] == Call.objects.get().switch_ref and meta["channels"] == ["customer", "agent"]
    assert meta["codec"] == ["PCMU"]  # what the browser and a G.711-only phone agree on
    [(paused, resumed)] = meta["paused"]
    assert resumed - paused >= 0.8, meta["paused"]
    duration = len(channels[Party.CUSTOMER]) / RATE
    talking = [(0.1, paused - 0.1), (resumed + 0.1, duration - 0.1)]
    for start, end in talking:
        customer = channels[Party.CUSTOMER][int(start * RATE) : int(end * RATE)]
        agent = channels[Party.AGENT][int(start * RATE) : int(end * RATE)]
        energies = {
            "customer": (tone(customer, CUSTOMER_TONE), tone(customer, AGENT_TONE)),
            "agent": (tone(agent, AGENT_TONE), tone(agent, CUSTOMER_TONE)),
        }
        print(f"{start:.2f}–{end:.2f} s: (own tone, other tone) {energies}")
        for own, other in energies.values():
            # Chromium's noise suppression turns a steady tone down (about 4800 to 1200 within two seconds).
            assert own > 300 and own > 10 * other, energies
    for party in Party:  # the card number: not a sample of it
        assert not any(channels[party][int((paused + 0.04) * RATE) : int((resumed - 0.04) * RATE)]), party
    messages = list(stored.callback.history.filter(kind="recording").order_by("id").values_list("message", flat=True))
    assert messages[:3] == [
        "Recording started (the queue records its calls)",
        "Recording paused by Alice",
        "Recording resumed by Alice",
    ]


def stored_recording() -> CallRecording:
    """The call's recording, once the server's task worker stored it."""
    _wait_for(lambda: CallRecording.objects.filter(state__in=["ready", "failed"]).exists(), timeout=30)
    stored = CallRecording.objects.get()
    assert stored.state == RecordingState.READY, stored.problem
    return stored


def read_channels(path: Path) -> dict:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, RATE)
        frames = array.array("h", w.readframes(w.getnframes()))
    return {Party.CUSTOMER: frames[0::2], Party.AGENT: frames[1::2]}


def test_a_queue_that_announces_recording_has_the_customer_hear_it_before_the_agent(
    server, sip, floor, agent_page, humming_chromium, recording_folders
):
    """Billing records and announces it: when the customer answers, the agent's page plays "This call may be
    recorded" into the call in place of the microphone, then the agent's voice follows. The recording of the customer's
    side of the line (what rtpengine received from the agent's browser) holds the words first, the agent's tone after."""
    Queue.objects.filter(slug="billing").update(recording_policy=RecordingPolicy.ALWAYS, recording_notice=True)
    clip = prompts.clip_path("en", "recording_notice")
    with wave.open(str(clip)) as w:
        spoken = w.getnframes() / w.getframerate()
    number = "+33612000072"
    line = sip.line(number, credentials(number), answer_mode="auto")
    page = agent_page("alice", browser=humming_chromium)
    call_customer(page, server, floor, number)
    expect(status(page)).to_have_text("Connected")
    wait_js(page, "() => document.body.dataset.notice === 'done'", timeout=spoken + 15)
    a_second_of_talk(page)
    line.command("hangup")
    expect(status(page)).to_have_text("Ready to Call")
    stored = stored_recording()
    agent = read_channels(Path(recording_folders["RINGBACK_RECORDINGS_DIR"]) / stored.audio.name)[Party.AGENT]
    words = agent[int(0.2 * RATE) : int((spoken - 0.3) * RATE)]
    after = agent[int((spoken + 0.5) * RATE) :]
    print(f"notice: rms {rms(words):.0f}, {AGENT_TONE} Hz {tone(words, AGENT_TONE):.0f}; after: {tone(after, AGENT_TONE):.0f}")
    assert rms(words) > 300 and tone(words, AGENT_TONE) < 0.1 * rms(words), "words, not the agent's microphone"
    assert tone(after, AGENT_TONE) > 300, "then the agent"
    assert "The customer is told: this call may be recorded" in stored.callback.history.values_list("message", flat=True)
