"""Measuring recorded audio in tests: how loud a stretch is, and how much of it is one tone (Goertzel)."""

import math

RATE = 8000


def rms(samples) -> float:
    """Loudness of 16-bit samples (0: silence)."""
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


def tone(samples, frequency: float, rate: int = RATE) -> float:
    """The amplitude of `frequency` in `samples` (Goertzel): a full-scale sine of that frequency gives about its
    amplitude, other tones and silence give about 0."""
    if not samples:
        return 0.0
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    power = previous * previous + before * before - coefficient * previous * before
    return 2 * math.sqrt(max(power, 0.0)) / len(samples)


def sine(frequency: float, seconds: float, amplitude: int = 8000, rate: int = RATE, start: int = 0) -> list[int]:
    return [round(amplitude * math.sin(2 * math.pi * frequency * (start + i) / rate)) for i in range(int(seconds * rate))]
