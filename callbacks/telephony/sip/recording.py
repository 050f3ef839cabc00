"""Server-side call recording, taken where the media is trustworthy: in rtpengine, which every call of the browser
softphone passes through (docs/recording.md says what was tried and why this).

Two halves:
- **Control.** Ringback tells rtpengine itself, over its control protocol (ng: bencode over UDP, a cookie per
  request), to start and stop recording a call named by its SIP Call-ID (kamailio is a proxy, so the Call-ID
  rtpengine knows is the one both ends and kamailio's reports carry). rtpengine 10.5 has no `pause recording`
  (it came in 11.3): a pause is `stop recording` (rtpengine closes that segment: its pcap and its metadata file)
  and a resume is `start recording` (a new segment). Each segment's metadata file ends with the text Ringback
  passed as `metadata` (rtpengine keeps the last one given for the call).
- **Conversion.** rtpengine's pcap method (userspace, `--recording-method=pcap`) writes every RTP packet it
  receives, after SRTP decryption, with a made-up IP/UDP header (from the sender to rtpengine's own port). The
  segments of a call become one two-channel WAV (customer left, agent right), 8 kHz 16-bit, G.711 decoded here
  (Python 3.13 has no audioop), each packet laid at its RTP timestamp: a pause, or lost packets, are silence,
  never squeezed out. The paused stretches go into the WAV's LIST/INFO chunk (ICMT, as JSON).
"""

from __future__ import annotations

import array
import json
import secrets
import socket
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

from ..audio import CHANNELS, RATE, Party, Recording, write_wav

TIMEOUT = 2.0
MARK = "ringback"  # the key of Ringback's own metadata, in rtpengine's metadata file


class RecordingError(RuntimeError):
    """rtpengine refused a recording command, or a recording cannot be converted."""


# ---- ng protocol: bencode over UDP -------------------------------------------------------------------------------


def bencode(value) -> bytes:
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, str):
        return bencode(value.encode())
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, list | tuple):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes):
    """Decode one bencoded value (byte strings come back as str when they are UTF-8)."""
    value, end = _bdecode(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes after a bencoded value")
    return value


def _bdecode(data: bytes, i: int):
    kind = data[i : i + 1]
    if kind == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1 : end]), end + 1
    if kind in (b"l", b"d"):
        items, i = [], i + 1
        while data[i : i + 1] != b"e":
            item, i = _bdecode(data, i)
            items.append(item)
        if kind == b"l":
            return items, i + 1
        return dict(zip(items[::2], items[1::2], strict=True)), i + 1
    colon = data.index(b":", i)
    start = colon + 1
    end = start + int(data[i:colon])
    raw = data[start:end]
    try:
        return raw.decode(), end
    except UnicodeDecodeError:
        return raw, end


def ng(command: str, timeout: float = TIMEOUT, **params) -> dict:
    """One ng request to rtpengine (`command` plus `params`, underscores as dashes) and its answer; raises
    RecordingError when rtpengine answers an error, OSError (a timeout) when it does not answer."""
    cookie = secrets.token_hex(6).encode()
    message = {"command": command} | {k.replace("_", "-"): v for k, v in params.items() if v is not None}
    host, port = settings.RINGBACK_RTPENGINE_HOST, settings.RINGBACK_RTPENGINE_PORT
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((host, port))
        sock.send(cookie + b" " + bencode(message))
        while True:
            answer = sock.recv(65536)
            got, _, body = answer.partition(b" ")
            if got == cookie:  # an answer to an earlier request that timed out is not this one's
                break
    reply = bdecode(body)
    if reply.get("result") == "error":
        raise RecordingError(f"rtpengine: {command}: {reply.get('error-reason', 'error')}")
    return reply


# ---- control: start, pause, resume, stop --------------------------------------------------------------------------


def parties(call_id: str) -> dict[int, Party]:
    """Which of rtpengine's own ports hears whom in this call: the browser's side (the agent) is the one that
    speaks DTLS-SRTP (UDP/TLS/RTP/SAVPF), the other side is the customer's phone (plain RTP). A recorded packet's
    destination is the port that received it."""
    answer = ng("query", call_id=call_id)
    ports: dict[int, Party] = {}
    for tag in answer.get("tags", {}).values():
        for media in tag.get("medias", []):
            party = Party.AGENT if "SAVP" in media.get("protocol", "") else Party.CUSTOMER
            for stream in media.get("streams", []):
                if stream.get("local port"):
                    ports[int(stream["local port"])] = party
    if set(ports.values()) != set(CHANNELS):
        raise RecordingError(f"rtpengine does not know both parties of {call_id}: {ports}")
    return ports


def _metadata(call_ref: str, ports: dict[int, Party], **more) -> str:
    # One line of JSON: rtpengine writes it at the end of the segment's metadata file.
    return json.dumps({MARK: call_ref, "ports": {str(p): party.value for p, party in ports.items()}, **more})


def start(call_id: str, call_ref: str, from_tag: str | None = None) -> dict[int, Party]:
    """Start recording `call_id` (rtpengine 10.5 always records the whole call: `from_tag` is only passed on).
    Returns the ports→party map that the segments' metadata carries."""
    ports = parties(call_id)
    ng("start recording", call_id=call_id, from_tag=from_tag, metadata=_metadata(call_ref, ports))
    return ports


def pause(call_id: str, call_ref: str, ports: dict[int, Party]) -> datetime:
    """Close the current segment (PCI: nothing of what follows is written); when it was paused."""
    at = datetime.now(UTC)
    ng("stop recording", call_id=call_id, metadata=_metadata(call_ref, ports, paused_at=at.isoformat()))
    return at


def resume(call_id: str, call_ref: str, ports: dict[int, Party]) -> datetime:
    """Open a new segment; when it was resumed."""
    at = datetime.now(UTC)
    ng("start recording", call_id=call_id, metadata=_metadata(call_ref, ports, resumed_at=at.isoformat()))
    return at


def stop(call_id: str, call_ref: str, ports: dict[int, Party]) -> bool:
    """Close the last segment. False when rtpengine no longer knows the call: it closed the segment itself when
    the call went."""
    try:
        ng("stop recording", call_id=call_id, metadata=_metadata(call_ref, ports, stopped=True))
    except RecordingError as error:
        if "Unknown call-id" in str(error):
            return False
        raise
    return True


# ---- the spool: rtpengine's segments of a call ---------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One finished segment: rtpengine moved its metadata file into metadata/ when it closed the pcap."""

    pcap: Path
    metadata: dict  # Ringback's line (empty if rtpengine's file has none)
    file: Path | None = None  # rtpengine's metadata file


def segments(recording_dir: Path, call_id: str) -> list[Segment]:
    """The call's finished segments in `recording_dir`. A pcap still being written has no metadata file yet, and
    is left out."""
    found = []
    prefix = quote(call_id, safe="") + "-"  # rtpengine names a segment's pcap after the URI-escaped Call-ID
    for meta in sorted((recording_dir / "metadata").glob("rtpengine-meta-*.txt")):
        text = meta.read_text(errors="replace")
        pcap = Path(text.split("\n", 1)[0].strip())  # the metadata file's first line
        if not pcap.name.startswith(prefix):
            continue
        ours = {}
        for line in reversed(text.splitlines()):
            if line.startswith("{") and f'"{MARK}"' in line:
                ours = json.loads(line)
                break
        found.append(Segment(pcap, ours, meta))
    return found


def discard(recording_dir: Path, call_id: str) -> int:
    """Remove the call's finished segments from the spool (decrypted audio: it stays no longer than it takes to
    store the recording); how many."""
    found = segments(recording_dir, call_id)
    for segment in found:
        segment.pcap.unlink(missing_ok=True)
        if segment.file is not None:
            segment.file.unlink(missing_ok=True)
    return len(found)


# ---- pcap → packets -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Packet:
    time: float  # when rtpengine received it (pcap time, seconds since the epoch)
    source: tuple[str, int]
    port: int  # rtpengine's port that received it
    payload_type: int
    ssrc: int
    timestamp: int
    payload: bytes


LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4 = 1, 101, 228


def read_pcap(path: Path) -> Iterator[Packet]:
    """The RTP packets (version 2, any payload type) of a pcap rtpengine wrote (raw or eth format; IPv4 or IPv6)."""
    data = path.read_bytes()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise RecordingError(f"{path} is not a pcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    offset = 24
    while offset + 16 <= len(data):
        seconds, fraction, captured, _ = struct.unpack(endian + "IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        if linktype == LINKTYPE_ETHERNET:
            frame = frame[14:]
        elif linktype not in (LINKTYPE_RAW, LINKTYPE_IPV4):
            raise RecordingError(f"{path}: link type {linktype} is not one rtpengine writes")
        packet = _rtp(frame, seconds + fraction / (1e9 if nano else 1e6))
        if packet:
            yield packet


def _rtp(ip: bytes, time: float) -> Packet | None:
    if not ip:
        return None
    version = ip[0] >> 4
    if version == 4:
        header = (ip[0] & 0x0F) * 4
        if ip[9] != 17:
            return None
        source = socket.inet_ntop(socket.AF_INET, ip[12:16])
    elif version == 6:
        header = 40
        if ip[6] != 17:
            return None
        source = socket.inet_ntop(socket.AF_INET6, ip[8:24])
    else:
        return None
    source_port, port = struct.unpack("!HH", ip[header : header + 4])
    rtp = ip[header + 8 :]
    if len(rtp) < 12 or rtp[0] >> 6 != 2:
        return None
    payload_type = rtp[1] & 0x7F
    if 64 <= payload_type <= 95:  # RTCP (multiplexed with RTP): no audio
        return None
    csrcs = rtp[0] & 0x0F
    start = 12 + 4 * csrcs
    if rtp[0] & 0x10:  # a header extension (the browser's, e.g. audio level)
        if len(rtp) < start + 4:
            return None
        start += 4 + 4 * struct.unpack("!H", rtp[start + 2 : start + 4])[0]
    end = len(rtp)
    if rtp[0] & 0x20 and end > start:  # padding
        end -= rtp[-1]
    timestamp, ssrc = struct.unpack("!II", rtp[4:12])
    return Packet(time, (source, source_port), port, payload_type, ssrc, timestamp, rtp[start:end])


# ---- G.711 ---------------------------------------------------------------------------------------------------------


def _ulaw(byte: int) -> int:
    byte = ~byte & 0xFF
    magnitude = (((byte & 0x0F) << 3) + 0x84) << ((byte & 0x70) >> 4)
    return 0x84 - magnitude if byte & 0x80 else magnitude - 0x84


def _alaw(byte: int) -> int:
    byte ^= 0x55
    exponent = (byte & 0x70) >> 4
    mantissa = byte & 0x0F
    magnitude = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if byte & 0x80 else -magnitude


ULAW = tuple(_ulaw(b) for b in range(256))  # PCMU, static payload type 0
ALAW = tuple(_alaw(b) for b in range(256))  # PCMA, static payload type 8
DECODERS = {0: ULAW, 8: ALAW}


def encode_ulaw(sample: int) -> int:
    """A 16-bit sample as a μ-law byte (for tests that build a recording)."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


# ---- packets → a two-channel timeline -------------------------------------------------------------------------------


CODEC_NAMES = {0: "PCMU", 8: "PCMA"}
JUMP = RATE // 2  # timestamps moving 0.5 s more (or less) than the arrivals between two packets: a jump, not jitter


def assemble(parts: Iterable[tuple[list[Packet], dict[int, Party]]]) -> Recording:
    """The segments' packets (each with its ports→party map) on one timeline. Each RTP stream (party, SSRC) is
    placed from its first packet's arrival, and every later packet by its RTP timestamp from the one before; the
    paused stretches are the gaps between one segment's last packet and the next one's first."""
    parts = sorted(((packets, ports) for packets, ports in parts if packets), key=lambda part: min(p.time for p in part[0]))
    if not parts:
        raise RecordingError("nothing was recorded")
    started = min(p.time for packets, _ in parts for p in packets)
    channels = {party: array.array("h") for party in CHANNELS}
    anchors: dict[tuple[Party, int], tuple[int, int, int]] = {}  # (party, SSRC) → its last packet's place, timestamp, arrival
    codecs: set[str] = set()
    paused = []
    previous_end = None
    for packets, ports in parts:
        first, last = min(p.time for p in packets), max(p.time for p in packets)
        if previous_end is not None:
            paused.append((round(previous_end - started, 3), round(first - started, 3)))
        previous_end = last + 0.02  # the last packet's 20 ms of audio
        for packet in packets:
            party = ports.get(packet.port)
            decoder = DECODERS.get(packet.payload_type)
            if party is None or decoder is None:  # telephone-event, comfort noise, another codec: not audio here
                continue
            codecs.add(CODEC_NAMES[packet.payload_type])
            key = (party, packet.ssrc)
            arrival = round((packet.time - started) * RATE)
            position = arrival
            if key in anchors:
                before, timestamp, arrived = anchors[key]
                moved = _delta(timestamp, packet.timestamp)
                # A sudden jump of the sender's clock (RTP allows one after a silence) starts again where the packet
                # arrived; a slow drift between its clock and rtpengine's is left alone (the timestamps are right).
                if abs(moved - (arrival - arrived)) <= JUMP:
                    position = before + moved
            anchors[key] = (position, packet.timestamp, arrival)
            if position < 0:
                continue
            channel = channels[party]
            audio = array.array("h", (decoder[b] for b in packet.payload))
            if len(channel) < position + len(audio):
                channel.frombytes(bytes(2 * (position + len(audio) - len(channel))))  # silence up to here
            channel[position : position + len(audio)] = audio
    return Recording(started, channels, paused, codecs)


def _delta(before: int, after: int) -> int:
    """Samples from one RTP timestamp to another, through the 32-bit wrap (negative for a reordered packet)."""
    delta = (after - before) & 0xFFFFFFFF
    return delta - 0x100000000 if delta >= 0x80000000 else delta


def convert(recording_dir: Path, call_id: str, wav: Path) -> Recording:
    """The call's finished segments in rtpengine's spool as one two-channel WAV (customer left, agent right), its
    pauses in the WAV's metadata."""
    found = segments(recording_dir, call_id)
    if not found:
        raise RecordingError(f"no finished recording of {call_id} in {recording_dir}")
    parts = []
    for segment in found:
        ports = {int(port): Party(party) for port, party in segment.metadata.get("ports", {}).items()}
        parts.append((list(read_pcap(segment.pcap)), ports))
    recording = assemble(parts)
    write_wav(wav, recording, call=found[0].metadata.get(MARK, ""))
    return recording
