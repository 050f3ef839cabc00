"""Server-side recording of a real call (docs/recording.md): the agent's browser (a 1000 Hz microphone) calls a
baresip customer (a 440 Hz tone) through kamailio and rtpengine; Ringback has rtpengine record the call, pauses it
for a second (a card number), resumes, and the call ends. rtpengine's pcap segments become a two-channel WAV: the
customer's tone on the left, the agent's on the right, the pause silent and marked in the file's metadata."""

import array
import time
import wave
from pathlib import Path

import pytest
from playwright.sync_api import expect

from callbacks.models import Call
from callbacks.telephony.sip import credentials, recording
from callbacks.telephony.sip.recording import Party

from ..audio import RATE, sine, tone
from ..browser.test_call_handling import status
from .conftest import CHROMIUM, SIP_ARGS
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


def finished_segments(folder: Path, call_id: str, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while len(recording.segments(folder, call_id)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(recording.segments(folder, call_id))} finished segments of {call_id}, not {count}")
        time.sleep(0.1)


def test_a_recorded_call_holds_both_parties_and_its_pause_is_silent_and_marked(
    server, sip, floor, agent_page, humming_chromium, tmp_path
):
    number = "+33612000071"
    line = sip.line(number, credentials(number), answer_mode="auto")
    page = agent_page("alice", browser=humming_chromium)
    call_customer(page, server, floor, number)
    expect(status(page)).to_have_text("Connected")
    call_id = line.wait_for("CALL_ESTABLISHED")["id"]  # kamailio proxies: the Call-ID rtpengine knows the call by
    wait_js(page, RTP_BOTH_WAYS)
    ref = Call.objects.get().switch_ref

    ports = recording.start(call_id, ref)
    assert set(ports.values()) == set(Party)  # rtpengine's ports that hear each side: the SAVPF one is the browser
    a_second_of_talk(page)
    recording.pause(call_id, ref, ports)  # the customer reads out a card number
    a_second_of_talk(page)
    recording.resume(call_id, ref, ports)
    a_second_of_talk(page)
    line.command("hangup")
    expect(status(page)).to_have_text("Ready to Call")
    recording.stop(call_id, ref, ports)  # rtpengine still knows the call (its delete delay) or closed it itself
    folder = sip.workdir / "recordings"
    finished_segments(folder, call_id, 2)

    wav = tmp_path / "call.wav"
    rec = recording.convert(folder, call_id, wav)

    assert rec.codecs == {"PCMU"}  # what the browser and a G.711-only phone agree on
    [(paused, resumed)] = rec.paused
    assert resumed - paused >= 0.8, rec.paused
    talking = [(0.1, paused - 0.1), (resumed + 0.1, rec.duration - 0.1)]
    for start, end in talking:
        customer = rec.channels[Party.CUSTOMER][int(start * RATE) : int(end * RATE)]
        agent = rec.channels[Party.AGENT][int(start * RATE) : int(end * RATE)]
        energies = {
            "customer": (tone(customer, CUSTOMER_TONE), tone(customer, AGENT_TONE)),
            "agent": (tone(agent, AGENT_TONE), tone(agent, CUSTOMER_TONE)),
        }
        print(f"{start:.2f}–{end:.2f} s: (own tone, other tone) {energies}")
        for own, other in energies.values():
            # Chromium's noise suppression turns a steady tone down (about 4800 to 1200 within two seconds).
            assert own > 300 and own > 10 * other, energies
    for party in Party:  # the card number: not a sample of it
        assert not any(rec.channels[party][int((paused + 0.04) * RATE) : int((resumed - 0.04) * RATE)]), party
    meta = recording.read_wav_metadata(wav)
    assert meta["call"] == ref and meta["channels"] == ["customer", "agent"]
    assert meta["paused"] == [[paused, resumed]]
