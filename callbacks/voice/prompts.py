"""What the voice menu says, in each language Ringback speaks: clips generated once with espeak-ng (a Debian
package), and utterances built from them.

A clip is a word or a sentence (`CLIPS`), a number from 0 to 59 (times, minutes), a digit (a phone number read
back), a weekday, or a queue's name (spoken as written). Clips are WAV files, 8 kHz mono 16-bit (what baresip's
aufile plays into a PCMU call without resampling), in `RINGBACK_VOICE_DIR/clips/<language>/`, named by a hash of
their voice and text: a changed text is generated again, an unchanged one never.

An utterance is a list of parts ("wait_about", "n:12", "digits:+33612345678", "name:Billing", "day:0") played as
one file: the clips with a short pause between them, then silence long enough that the file never runs out while
the menu waits for a key (baresip ends a call whose aufile source runs out).
"""

from __future__ import annotations

import array
import hashlib
import subprocess
import wave
from datetime import datetime
from pathlib import Path

from django.conf import settings

RATE = 8000
GAP = int(RATE * 0.12)  # between two clips
VOICES = {"en": "en-gb", "fr": "fr", "es": "es"}
ESPEAK = "espeak-ng"

CLIPS: dict[str, dict[str, str]] = {
    "en": {
        "key_in": "Please key in your",
        "then_hash": "then press hash.",
        "invalid_value": "Sorry, that is not valid.",
        "returning_1": "This is",
        "returning_2": "returning your call.",
        "returning_options": "To be connected to an agent now, press 1. For another time, press 2.",
        "hold": "Thank you. Please hold: an agent will be with you in a moment.",
        "sorry_busy": "Sorry, all our agents are busy. We will call you back",
        "goodbye_short": "Goodbye.",
        "read_time": "We will call you back",
        "confirm_time": "To confirm, press 1. To hear the times again, press 2.",
        "thanks": "Thank you for calling",
        "wait_about": "The estimated wait for a callback is about",
        "minutes": "minutes.",
        "wait_short": "An agent can call you back in less than a minute.",
        "wait_long": "The estimated wait for a callback is more than an hour.",
        "menu_1": "To be called back at the number you are calling from, press 1.",
        "menu_1_unknown": "To be called back, press 1.",
        "menu_2": "To leave another number, press 2.",
        "menu_3": "To choose a time, press 3.",
        "menu_star": "To hear this again, press star.",
        "read_number": "We will call you back at",
        "confirm": "To confirm, press 1. To key another number, press 2.",
        "enter_number": "Please key in the number to call you back at, with its area code, then press hash.",
        "invalid": "Sorry, that is not a number we can call.",
        "booked": "Thank you. Your callback is booked. Goodbye.",
        "goodbye": "Thank you for calling. Goodbye.",
        "recording_notice": "This call may be recorded.",
        "not_understood": "Sorry, that key is not an option.",
        "closed": "We are closed now, and open again",
        "closed_menu": "You can still ask for a callback: we will call you once we are open.",
        "existing": "You already have a callback with us, due",
        "existing_keep": "To keep it, press 1. To cancel it, press 2.",
        "existing_busy": "An agent is already on your callback. Goodbye.",
        "kept": "Your callback is kept. Goodbye.",
        "cancelled": "Your callback is cancelled. Goodbye.",
        "for": "For",
        "press": "press",
        "no_slots": "Sorry, there is no free time to choose from.",
        "plus": "plus",
        "hours": "hours",
        "today": "today at",
        "tomorrow": "tomorrow at",
        "on": "on",
        "at": "at",
        "soon": "as soon as possible",
        "days": "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday",
    },
    "fr": {
        "key_in": "Veuillez saisir votre",
        "then_hash": "puis tapez dièse.",
        "invalid_value": "Désolé, ce n'est pas valide.",
        "returning_1": "Ici",
        "returning_2": "qui vous rappelle.",
        "returning_options": "Pour parler à un conseiller maintenant, tapez 1. Pour un autre moment, tapez 2.",
        "hold": "Merci. Veuillez patienter : un conseiller va vous répondre.",
        "sorry_busy": "Désolé, tous nos conseillers sont occupés. Nous vous rappellerons",
        "goodbye_short": "Au revoir.",
        "read_time": "Nous vous rappellerons",
        "confirm_time": "Pour confirmer, tapez 1. Pour réécouter les horaires, tapez 2.",
        "thanks": "Merci d'avoir appelé",
        "wait_about": "L'attente estimée avant d'être rappelé est d'environ",
        "minutes": "minutes.",
        "wait_short": "Un conseiller peut vous rappeler dans moins d'une minute.",
        "wait_long": "L'attente estimée avant d'être rappelé est de plus d'une heure.",
        "menu_1": "Pour être rappelé au numéro d'où vous appelez, tapez 1.",
        "menu_1_unknown": "Pour être rappelé, tapez 1.",
        "menu_2": "Pour laisser un autre numéro, tapez 2.",
        "menu_3": "Pour choisir un horaire, tapez 3.",
        "menu_star": "Pour réécouter, tapez étoile.",
        "read_number": "Nous vous rappellerons au",
        "confirm": "Pour confirmer, tapez 1. Pour saisir un autre numéro, tapez 2.",
        "enter_number": "Veuillez saisir le numéro auquel vous rappeler, avec son indicatif, puis tapez dièse.",
        "invalid": "Désolé, ce n'est pas un numéro que nous pouvons appeler.",
        "booked": "Merci. Votre rappel est enregistré. Au revoir.",
        "goodbye": "Merci de votre appel. Au revoir.",
        "recording_notice": "Cet appel peut être enregistré.",
        "not_understood": "Désolé, cette touche n'est pas proposée.",
        "closed": "Nous sommes fermés, et ouvrons à nouveau",
        "closed_menu": "Vous pouvez tout de même demander un rappel : nous vous appellerons dès l'ouverture.",
        "existing": "Vous avez déjà un rappel prévu",
        "existing_keep": "Pour le garder, tapez 1. Pour l'annuler, tapez 2.",
        "existing_busy": "Un conseiller s'occupe déjà de votre rappel. Au revoir.",
        "kept": "Votre rappel est conservé. Au revoir.",
        "cancelled": "Votre rappel est annulé. Au revoir.",
        "for": "Pour",
        "press": "tapez",
        "no_slots": "Désolé, aucun horaire n'est libre.",
        "plus": "plus",
        "hours": "heures",
        "today": "aujourd'hui à",
        "tomorrow": "demain à",
        "on": "",
        "at": "à",
        "soon": "dès que possible",
        "days": "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche",
    },
    "es": {
        "key_in": "Marque su",
        "then_hash": "y luego pulse almohadilla.",
        "invalid_value": "Lo sentimos, no es válido.",
        "returning_1": "Le llamamos de",
        "returning_2": "como nos pidió.",
        "returning_options": "Para hablar ahora con un agente, pulse 1. Para otro momento, pulse 2.",
        "hold": "Gracias. No cuelgue: un agente le atenderá enseguida.",
        "sorry_busy": "Lo sentimos, todos nuestros agentes están ocupados. Le llamaremos",
        "goodbye_short": "Adiós.",
        "read_time": "Le llamaremos",
        "confirm_time": "Para confirmar, pulse 1. Para volver a escuchar las horas, pulse 2.",
        "thanks": "Gracias por llamar a",
        "wait_about": "La espera estimada para que le llamemos es de unos",
        "minutes": "minutos.",
        "wait_short": "Un agente puede llamarle en menos de un minuto.",
        "wait_long": "La espera estimada para que le llamemos es de más de una hora.",
        "menu_1": "Para que le llamemos al número desde el que llama, pulse 1.",
        "menu_1_unknown": "Para que le llamemos, pulse 1.",
        "menu_2": "Para dejar otro número, pulse 2.",
        "menu_3": "Para elegir una hora, pulse 3.",
        "menu_star": "Para volver a escuchar, pulse asterisco.",
        "read_number": "Le llamaremos al",
        "confirm": "Para confirmar, pulse 1. Para marcar otro número, pulse 2.",
        "enter_number": "Marque el número al que llamarle, con su prefijo, y luego pulse almohadilla.",
        "invalid": "Lo sentimos, no es un número al que podamos llamar.",
        "booked": "Gracias. Su llamada queda registrada. Adiós.",
        "goodbye": "Gracias por su llamada. Adiós.",
        "recording_notice": "Esta llamada puede ser grabada.",
        "not_understood": "Lo sentimos, esa tecla no es una opción.",
        "closed": "Ahora estamos cerrados, y abrimos de nuevo",
        "closed_menu": "Puede pedir que le llamemos: lo haremos en cuanto abramos.",
        "existing": "Ya tiene una llamada pendiente con nosotros, prevista",
        "existing_keep": "Para mantenerla, pulse 1. Para cancelarla, pulse 2.",
        "existing_busy": "Un agente ya se ocupa de su llamada. Adiós.",
        "kept": "Su llamada se mantiene. Adiós.",
        "cancelled": "Su llamada queda cancelada. Adiós.",
        "for": "Para las",
        "press": "pulse",
        "no_slots": "Lo sentimos, no hay ninguna hora libre.",
        "plus": "más",
        "hours": "horas",
        "today": "hoy a las",
        "tomorrow": "mañana a las",
        "on": "el",
        "at": "a las",
        "soon": "lo antes posible",
        "days": "lunes|martes|miércoles|jueves|viernes|sábado|domingo",
    },
}
LANGUAGES = tuple(CLIPS)


def text_of(language: str, part: str) -> str:
    """The words of one clip: a catalogue key, "n:<0-59>", "d:<digit>", "day:<0-6>" or "name:<words>"."""
    kind, _, value = part.partition(":")
    if not value:
        return CLIPS[language][part]
    if kind in ("n", "d"):
        return str(int(value))
    if kind == "day":
        return CLIPS[language]["days"].split("|")[int(value)]
    if kind == "name":
        return value
    raise KeyError(part)


def expand(parts: list[str]) -> list[str]:
    """Parts as clips: "digits:+3361…" becomes "plus" and one clip per digit."""
    clips = []
    for part in parts:
        if part.startswith("digits:"):
            for c in part.removeprefix("digits:"):
                clips.append("plus" if c == "+" else f"d:{c}")
        elif part:
            clips.append(part)
    return clips


def folder() -> Path:
    return Path(settings.RINGBACK_VOICE_DIR)


def _resample(samples: array.array, rate: int) -> array.array:
    """To 8 kHz by linear interpolation after a 3-tap smoothing (speech for a telephone line, not music)."""
    if rate == RATE:
        return samples
    smooth = array.array("h", samples)
    for i in range(1, len(samples) - 1):
        smooth[i] = (samples[i - 1] + 2 * samples[i] + samples[i + 1]) // 4
    step = rate / RATE
    out = array.array("h")
    for i in range(int(len(smooth) / step)):
        x = i * step
        j = int(x)
        k = min(j + 1, len(smooth) - 1)
        out.append(int(smooth[j] + (smooth[k] - smooth[j]) * (x - j)))
    return out


def clip_path(language: str, part: str) -> Path:
    """The clip's file, generated with espeak-ng when it does not exist yet."""
    text = text_of(language, part)
    key = hashlib.sha256(f"{VOICES[language]}\n{text}".encode()).hexdigest()[:16]
    path = folder() / "clips" / language / f"{key}.wav"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = subprocess.run(
            [ESPEAK, "-v", VOICES[language], "-s", "150", "--stdout", text], check=True, capture_output=True, timeout=30
        ).stdout
        source = path.with_suffix(".src.wav")
        source.write_bytes(raw)
        with wave.open(str(source)) as w:
            rate, frames = w.getframerate(), w.readframes(w.getnframes())
        source.unlink()
        _write(path, _resample(array.array("h", frames), rate))
    return path


def _write(path: Path, samples: array.array) -> None:
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())
    tmp.replace(path)  # whole or not at all: a reader never plays half a file


def _samples(path: Path) -> array.array:
    with wave.open(str(path)) as w:
        return array.array("h", w.readframes(w.getnframes()))


def utterance(language: str, parts: list[str], *, silence: float) -> tuple[Path, float]:
    """One file saying `parts`, then `silence` seconds of silence; and how long the words take (seconds)."""
    clips = expand(parts)
    key = hashlib.sha256(repr((language, clips, silence)).encode()).hexdigest()[:20]
    path = folder() / "said" / f"{key}.wav"
    words = array.array("h")
    for clip in clips:
        words.extend(_samples(clip_path(language, clip)))
        words.extend(array.array("h", bytes(2 * GAP)))
    spoken = len(words) / RATE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, words + array.array("h", bytes(2 * int(RATE * silence))))
    return path, spoken


def prepare(languages: tuple[str, ...] = LANGUAGES) -> int:
    """Generate every fixed clip (the set-up step; the application also generates a missing one when it needs
    it). Returns how many clips there are."""
    count = 0
    for language in languages:
        parts = [k for k in CLIPS[language] if k != "days"]
        parts += [f"n:{n}" for n in range(60)] + [f"d:{n}" for n in range(10)] + [f"day:{n}" for n in range(7)]
        for part in parts:
            clip_path(language, part)
            count += 1
    return count


def time_parts(language: str, when: datetime, now: datetime) -> list[str]:
    """A local time as parts: "today at 14 hours 30", "tomorrow at …", "on Friday at …"."""
    days = (when.date() - now.date()).days
    clock = [f"n:{when.hour}", "hours"] + ([f"n:{when.minute}"] if when.minute else [])
    if days == 0:
        return ["today", *clock]
    if days == 1:
        return ["tomorrow", *clock]
    return [p for p in ("on" if CLIPS[language]["on"] else "", f"day:{when.weekday()}", "at") if p] + clock
