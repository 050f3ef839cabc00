"""Server-side recording's media half (callbacks/telephony/sip/recording.py): rtpengine's pcap segments of a call
become one two-channel WAV, customer left and agent right, a pause silent and marked in the WAV's metadata. The
pcaps here are built as rtpengine's pcap method writes them (raw IPv4, a made-up UDP header from the sender to
rtpengine's own port, the decrypted RTP); tests/sip/test_recording.py records a real call."""

import socket
import struct
import wave

import pytest

from callbacks.telephony.audio import Party, read_wav_metadata
from callbacks.telephony.sip import recording

from .audio import RATE, sine, tone

CUSTOMER_PORT, AGENT_PORT = 10050, 10052  # rtpengine's ports that hear the customer and the agent
PORTS = {CUSTOMER_PORT: Party.CUSTOMER, AGENT_PORT: Party.AGENT}
T0 = 1_800_000_000.0


def rtp_packet(seq: int, timestamp: int, ssrc: int, payload: bytes, payload_type: int = 0, extension: bool = False) -> bytes:
    header = struct.pack("!BBHII", 0x90 if extension else 0x80, payload_type, seq & 0xFFFF, timestamp, ssrc)
    if extension:  # a one-word RFC 8285 extension, as browsers send (audio level)
        header += struct.pack("!HHI", 0xBEDE, 1, 0x10FF0000)
    return header + payload


def ip_udp(source_port: int, port: int, body: bytes) -> bytes:
    udp = struct.pack("!HHHH", source_port, port, 8 + len(body), 0) + body
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1")
    )
    return ip + udp


def write_pcap(path, frames: list[tuple[float, bytes]]) -> None:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW, as --recording-format=raw
    for time, frame in frames:
        seconds = int(time)
        out += struct.pack("<IIII", seconds, round((time - seconds) * 1e6), len(frame), len(frame)) + frame
    path.write_bytes(bytes(out))


def stream(frequency: float, ssrc: int, source_port: int, port: int, first: int, count: int, rtcp: bool = True):
    """`count` 20 ms PCMU packets of a tone from packet number `first` on (RTP timestamps and arrival times run on
    through a pause: the sender keeps talking, rtpengine just does not write)."""
    frames = []
    for n in range(first, first + count):
        audio = sine(frequency, 0.02, start=160 * n)
        payload = bytes(recording.encode_ulaw(s) for s in audio)
        extension = port == AGENT_PORT
        frames.append(
            (T0 + 0.02 * n, ip_udp(source_port, port, rtp_packet(n, 5000 + 160 * n, ssrc, payload, extension=extension)))
        )
    if rtcp:  # an RTCP sender report on the same port (rtcp-mux): not audio
        frames.append((T0 + 0.02 * first, ip_udp(source_port, port, struct.pack("!BBHI", 0x80, 200, 6, ssrc) + bytes(20))))
    return frames


def segment(folder, name: str, first: int, count: int, metadata: str) -> None:
    """One segment as rtpengine leaves it: pcaps/<call-id>-<random>.pcap and metadata/rtpengine-meta-….txt whose
    first line is the pcap's path and whose last is what Ringback passed as `metadata`."""
    (folder / "pcaps").mkdir(exist_ok=True)
    (folder / "metadata").mkdir(exist_ok=True)
    pcap = folder / "pcaps" / f"{name}.pcap"
    frames = stream(440, 0x1111, 40000, CUSTOMER_PORT, first, count) + stream(1000, 0x2222, 40002, AGENT_PORT, first, count)
    write_pcap(pcap, sorted(frames, key=lambda f: f[0]))
    (folder / "metadata" / f"rtpengine-meta-{name}.txt").write_text(
        f"{pcap}\n\n\nTimestamp terminated ms(first monologue): 0.000\n\ncall start time: 2027-01-15T10:00:00\n"
        f"call end time: 2027-01-15T10:00:02\n\n\n{metadata}\n"
    )


def channel(rec, party: Party, start: float, end: float) -> list[int]:
    return rec.channels[party][int(start * RATE) : int(end * RATE)]


def test_g711_decodes_as_the_standard_tables_say():
    assert (recording.ULAW[0xFF], recording.ULAW[0x7F], recording.ULAW[0x00], recording.ULAW[0x80]) == (0, 0, -32124, 32124)
    assert (recording.ALAW[0xD5], recording.ALAW[0x55], recording.ALAW[0xAA], recording.ALAW[0x2A]) == (8, -8, 32256, -32256)
    for sample in (-30000, -1000, -20, 0, 20, 1000, 30000):
        assert abs(recording.ULAW[recording.encode_ulaw(sample)] - sample) <= max(8, abs(sample) // 16)


def test_bencode_speaks_rtpengines_control_protocol():
    assert recording.bencode({"command": "ping"}) == b"d7:command4:pinge"
    message = {"command": "start recording", "call-id": "a@b", "metadata": '{"x": 1}'}
    assert recording.bdecode(recording.bencode(message)) == message
    assert recording.bdecode(b"d6:result2:ok4:tagsd1:ad5:portsli10050eeeee") == {
        "result": "ok",
        "tags": {"a": {"ports": [10050]}},
    }


def test_a_paused_call_is_two_channels_with_each_party_on_its_own_and_the_pause_silent_and_marked(tmp_path):
    call_id = "3c2a@agent.invalid"
    meta = '{"ringback": "call-7", "ports": {"10050": "customer", "10052": "agent"}}'
    segment(tmp_path, "3c2a%40agent.invalid-aaaa", first=0, count=50, metadata=meta)  # 0–1 s
    segment(tmp_path, "3c2a%40agent.invalid-bbbb", first=100, count=50, metadata=meta)  # paused 1–2 s, then 2–3 s
    segment(tmp_path, "someone-else-cccc", first=0, count=10, metadata=meta)
    wav = tmp_path / "call-7.wav"

    rec = recording.convert(tmp_path, call_id, wav)

    assert rec.duration == pytest.approx(3.0, abs=0.03)
    assert rec.codecs == {"PCMU"}
    assert rec.paused == [(1.0, 2.0)]
    for start, end in ((0.1, 0.9), (2.1, 2.9)):  # talking: each party on its own channel, and only there
        customer, agent = channel(rec, Party.CUSTOMER, start, end), channel(rec, Party.AGENT, start, end)
        assert tone(customer, 440) > 7000 and tone(customer, 1000) < 200
        assert tone(agent, 1000) > 7000 and tone(agent, 440) < 200
    for party in Party:  # the pause: nothing at all
        assert not any(channel(rec, party, 1.0, 2.0))
    meta = read_wav_metadata(wav)
    assert meta["call"] == "call-7" and meta["channels"] == ["customer", "agent"] and meta["paused"] == [[1.0, 2.0]]
    with wave.open(str(wav)) as w:  # an ordinary WAV to any player, the LIST chunk skipped
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, 8000, 2)
        assert w.getnframes() == len(rec.channels[Party.CUSTOMER])


def test_lost_packets_are_silence_in_place_not_squeezed_out(tmp_path):
    frames = stream(440, 1, 40000, CUSTOMER_PORT, 0, 50, rtcp=False) + stream(1000, 2, 40002, AGENT_PORT, 0, 50, rtcp=False)
    frames = [f for i, f in enumerate(frames) if i not in range(20, 30)]  # the customer's 0.4–0.6 s never arrived
    write_pcap(tmp_path / "lossy.pcap", frames)
    rec = recording.assemble([(list(recording.read_pcap(tmp_path / "lossy.pcap")), PORTS)])
    assert rec.paused == []
    assert not any(channel(rec, Party.CUSTOMER, 0.4, 0.6))
    assert tone(channel(rec, Party.CUSTOMER, 0.6, 1.0), 440) > 7000
    assert tone(channel(rec, Party.AGENT, 0.4, 0.6), 1000) > 7000


def test_no_finished_segment_is_an_error_not_an_empty_file(tmp_path):
    (tmp_path / "metadata").mkdir()
    with pytest.raises(recording.RecordingError, match="no finished recording of x@y"):
        recording.convert(tmp_path, "x@y", tmp_path / "x.wav")


def later(frame: bytes, seconds: int) -> bytes:
    """An RTP packet (behind its 28-byte IPv4/UDP header) whose timestamp is `seconds` further on."""
    (timestamp,) = struct.unpack("!I", frame[32:36])
    return frame[:32] + struct.pack("!I", (timestamp + RATE * seconds) & 0xFFFFFFFF) + frame[36:]


def test_a_sender_whose_timestamps_jump_is_placed_where_its_packets_arrived(tmp_path):
    """RTP lets a sender's timestamps jump (after a silence, a re-INVITE): laid out by timestamp alone, the rest of
    its audio would land ten minutes away; it starts again where it arrived."""
    customer = stream(440, 1, 40000, CUSTOMER_PORT, 0, 50, rtcp=False)
    customer = customer[:25] + [(time, later(frame, 600)) for time, frame in customer[25:]]
    write_pcap(tmp_path / "jump.pcap", customer + stream(1000, 2, 40002, AGENT_PORT, 0, 50, rtcp=False))
    rec = recording.assemble([(list(recording.read_pcap(tmp_path / "jump.pcap")), PORTS)])
    assert rec.duration == pytest.approx(1.0, abs=0.03)
    assert tone(channel(rec, Party.CUSTOMER, 0.55, 0.95), 440) > 7000
