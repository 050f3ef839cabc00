"""A recorded call's audio as Ringback keeps it, whichever switch made it: 8 kHz 16-bit samples per party, written as
a two-channel WAV (left: the customer, right: the agent) whose LIST/INFO chunk carries, in ICMT, the recording's
metadata as JSON (when it started, its channels, codec, and the stretches the agent paused). Two channels keep
each party separable (quality review, a dispute, what one side said); a mix can always be made from them, never
undone."""

from __future__ import annotations

import array
import json
import math
import struct
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

RATE = 8000  # G.711's clock, and the WAV's sample rate


class Party(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"


CHANNELS = (Party.CUSTOMER, Party.AGENT)  # the WAV's left and right


@dataclass
class Recording:
    """A call's recording: 8 kHz 16-bit samples per channel (customer, agent), from `started` (epoch seconds), and
    the stretches (seconds from the start) when it was paused."""

    started: float
    channels: dict[Party, array.array]  # signed 16-bit ('h')
    paused: list[tuple[float, float]] = field(default_factory=list)
    codecs: set[str] = field(default_factory=set)

    @property
    def duration(self) -> float:
        return max(len(c) for c in self.channels.values()) / RATE


# ---- WAV with its metadata -----------------------------------------------------------------------------------------


def _chunk(name: bytes, body: bytes) -> bytes:
    return name + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def write_wav(path: Path, recording: Recording, call: str = "") -> None:
    """A 2-channel 8 kHz 16-bit PCM WAV (left: customer, right: agent) whose LIST/INFO chunk carries, in ICMT, the
    recording's metadata as JSON: when it started, its channels, codec and paused stretches."""
    length = max(len(c) for c in recording.channels.values())
    frames = array.array("h", bytes(4 * length))
    for offset, party in enumerate(CHANNELS):  # interleaved: left, right, left, right …
        samples = recording.channels[party]
        frames[offset : 2 * len(samples) : 2] = samples
    if sys.byteorder == "big":
        frames.byteswap()  # WAV is little-endian
    comment = json.dumps(metadata_of(recording, call)).encode() + b"\0"
    info = _chunk(b"LIST", b"INFO" + _chunk(b"ICMT", comment) + _chunk(b"ISFT", b"Ringback\0"))
    fmt = _chunk(b"fmt ", struct.pack("<HHIIHH", 1, 2, RATE, RATE * 4, 4, 16))
    body = b"WAVE" + fmt + info + _chunk(b"data", frames.tobytes())
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def metadata_of(recording: Recording, call: str = "") -> dict:
    return {
        "call": call,
        "started": datetime.fromtimestamp(recording.started, UTC).isoformat(),
        "channels": [party.value for party in CHANNELS],
        "codec": sorted(recording.codecs),
        "paused": [list(stretch) for stretch in recording.paused],
    }


def read_wav_metadata(path: Path) -> dict:
    """The JSON metadata `write_wav` put in the WAV's LIST/INFO ICMT ({} if none)."""
    data = path.read_bytes()
    offset = 12
    while offset + 8 <= len(data):
        name, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        body = data[offset + 8 : offset + 8 + size]
        if name == b"LIST" and body[:4] == b"INFO":
            inner = 4
            while inner + 8 <= len(body):
                sub, sub_size = body[inner : inner + 4], struct.unpack("<I", body[inner + 4 : inner + 8])[0]
                if sub == b"ICMT":
                    return json.loads(body[inner + 8 : inner + 8 + sub_size].rstrip(b"\0"))
                inner += 8 + sub_size + sub_size % 2
        offset += 8 + size + size % 2
    return {}


def synthetic(seconds: float, paused: list, tones: tuple[int, int] = (440, 1000), started: float = 0.0) -> Recording:
    """A recording of tones (the customer's on the left, the agent's on the right), silent where it was paused: what
    the simulated switch "records", so the desk, playback and retention work without a phone line."""
    length = max(0, round(seconds * RATE))
    channels = {}
    for party, hz in zip(CHANNELS, tones, strict=True):
        step = 2 * math.pi * hz / RATE
        samples = array.array("h", (round(6000 * math.sin(step * n)) for n in range(length)))
        for begin, end in paused:
            a, b = max(0, round(begin * RATE)), min(length, round((end if end is not None else seconds) * RATE))
            if b > a:
                samples[a:b] = array.array("h", bytes(2 * (b - a)))
        channels[party] = samples
    return Recording(started, channels, [(b, e if e is not None else seconds) for b, e in paused], {"PCM"})
