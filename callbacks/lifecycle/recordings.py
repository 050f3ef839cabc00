"""Call recording, as each queue decides (never; always, from the customer's answer; or when the agent presses Record).

Owns: a call's recording from the desk's side — starting it (`begin`), the agent's Pause and Resume while a
customer reads out a card number (`pause`, `resume`: the paused stretches are kept here and in the audio's own
metadata, and the audio is silent there), stopping it when the call ends (`finish`), the `record` effect that brings
the switch to what the desk asked and stores the audio on the recordings storage (`sync_with_switch`, run by the
effects worker), each play or download in the callback's trail (`heard`), and deleting the audio of recordings
past their queue's retention (`expire`). `Call.recording` is what the call window shows (read with the call, no
other query); `CallRecording` is the recording itself.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from ..enums import EffectKind, HistoryKind, RecordingPolicy, RecordingState
from ..errors import DomainError
from ..models import Call, CallRecording, HistoryEvent, person_name
from ..models.retention import retention_days
from ..telephony import telephony
from . import effects
from .transitions import action, record

LIVE = (RecordingState.RECORDING, RecordingState.PAUSED)
EXPIRE_BATCH = 200


def _sync(recording: CallRecording, now: datetime) -> None:
    """Bring the switch to what the recording's state says, after commit (the effects worker, with retries)."""
    key = f"record:{recording.pk}:{recording.state}:{len(recording.pauses)}"
    effects.enqueue(EffectKind.RECORD, payload={"recording": recording.pk}, now=now, key=key, callback=recording.callback)


def begin(call: Call, now: datetime, *, actor: AbstractBaseUser | None = None) -> CallRecording:
    """Start recording the (locked) call: the queue records every call, or the agent pressed Record."""
    recording = CallRecording.objects.create(
        call=call, callback=call.interaction.callback, agent_id=call.interaction.agent_id, started_at=now
    )
    call.recording = RecordingState.RECORDING
    call.save(update_fields=["recording"])
    why = f"by {call.interaction.agent}" if actor is not None else "(the queue records its calls)"
    record(
        HistoryKind.RECORDING,
        f"Recording started {why}",
        callback=call.interaction.callback,
        actor=actor,
        at=now,
        recording=recording.pk,
    )
    _sync(recording, now)
    return recording


def answered(call: Call, now: datetime) -> None:
    """The customer answered: a queue that records every call starts now (before the agent says a word), and a queue
    that announces it has the customer told first (the softphone plays the notice into the call)."""
    queue = call.interaction.callback.queue
    if queue.recording_policy == RecordingPolicy.ALWAYS and not call.recording:
        begin(call, now)
    if queue.recording_notice:
        record(
            HistoryKind.RECORDING, "The customer is told: this call may be recorded", callback=call.interaction.callback, at=now
        )


def _live(call: Call) -> CallRecording:
    return CallRecording.objects.select_for_update().get(call=call)


def _set(call: Call, state: RecordingState, now: datetime, verb: str) -> None:
    """The agent paused or resumed the (locked) call's recording."""
    recording = _live(call)
    if state == RecordingState.PAUSED:
        recording.pauses = [*recording.pauses, [now.isoformat(), None]]
    else:
        _close_pause(recording, now)
    recording.state = call.recording = state
    recording.save(update_fields=["pauses", "state"])
    call.save(update_fields=["recording"])
    agent = call.interaction.agent
    record(HistoryKind.RECORDING, f"Recording {verb} by {agent}", callback=call.interaction.callback, agent=agent, at=now)
    _sync(recording, now)


def pause(call: Call, now: datetime) -> None:
    _set(call, RecordingState.PAUSED, now, "paused")


def resume(call: Call, now: datetime) -> None:
    _set(call, RecordingState.RECORDING, now, "resumed")


def _close_pause(recording: CallRecording, now: datetime) -> None:
    if recording.pauses and recording.pauses[-1][1] is None:
        recording.pauses = [*recording.pauses[:-1], [recording.pauses[-1][0], now.isoformat()]]


def finish(call: Call, now: datetime) -> None:
    """The (locked) call ended: its recording stops, and is stored once the switch has the audio ready."""
    if not call.recording:
        return
    recording = _live(call)
    _close_pause(recording, now)
    recording.state, recording.ended_at = RecordingState.STORING, now
    recording.save(update_fields=["pauses", "state", "ended_at"])
    call.recording = ""
    call.save(update_fields=["recording"])
    record(HistoryKind.RECORDING, "Recording stopped: the call ended", callback=call.interaction.callback, at=now)
    _sync(recording, now)


def _paused_seconds(recording: CallRecording, until: datetime) -> list[tuple[float, float]]:
    start = recording.started_at
    stretches = []
    for began, ended in recording.pauses:
        a = (datetime.fromisoformat(began) - start).total_seconds()
        b = ((datetime.fromisoformat(ended) if ended else until) - start).total_seconds()
        stretches.append((round(a, 3), round(b, 3)))
    return stretches


def sync_with_switch(recording_id: int) -> None:
    """The `record` effect: tell the switch what it has not been told yet (start, pause, resume), in order, and once
    the call ended, take the audio it made onto the recordings storage. Raises (and the effect tries again) while the
    switch cannot; the recording row is locked throughout, so two of these never interleave."""
    with transaction.atomic():
        recording = CallRecording.objects.select_for_update().select_related("call", "callback").filter(pk=recording_id).first()
        if recording is None or recording.state not in (*LIVE, RecordingState.STORING):
            return
        switch, ref = telephony(), recording.call.switch_ref
        state = dict(recording.switch_state)
        applied = state.get("applied", "")
        # A failure rolls this back: the next try starts from what was saved (a start told twice is harmless).
        if not applied:
            state = switch.start_recording(call_ref=ref, state=state) | {"applied": RecordingState.RECORDING}
        if recording.state == RecordingState.PAUSED and state["applied"] == RecordingState.RECORDING:
            state = switch.pause_recording(call_ref=ref, state=state) | {"applied": RecordingState.PAUSED}
        elif recording.state == RecordingState.RECORDING and state["applied"] == RecordingState.PAUSED:
            state = switch.resume_recording(call_ref=ref, state=state) | {"applied": RecordingState.RECORDING}
        recording.switch_state = state
        recording.save(update_fields=["switch_state"])
        if recording.state == RecordingState.STORING:
            _store(recording, switch)


def _store(recording: CallRecording, switch) -> None:
    ended = recording.ended_at or timezone.now()
    with tempfile.TemporaryDirectory(prefix="ringback-recording-") as folder:
        wav = Path(folder) / "call.wav"
        made = switch.stop_recording(
            call_ref=recording.call.switch_ref,
            state=recording.switch_state,
            into=wav,
            paused=_paused_seconds(recording, ended),
            seconds=(ended - recording.started_at).total_seconds(),
        )
        digest = hashlib.sha256(wav.read_bytes()).hexdigest()
        name = f"{recording.started_at:%Y/%m/%d}/{recording.callback.reference}-{recording.pk}.wav"
        with wav.open("rb") as audio:
            recording.audio.save(name, File(audio), save=False)
    recording.size, recording.sha256 = recording.audio.size, digest
    recording.seconds = round(float(made.get("seconds", 0.0)), 2)
    recording.state = RecordingState.READY
    recording.save(update_fields=["audio", "size", "sha256", "seconds", "state"])
    minutes, seconds = divmod(round(recording.seconds), 60)
    paused = len(recording.pauses)
    pauses = "" if not paused else f", {paused} paused stretch" + ("es" if paused > 1 else "")
    record(
        HistoryKind.RECORDING,
        f"Recording stored ({minutes}:{seconds:02d}{pauses})",
        callback=recording.callback,
        recording=recording.pk,
    )


def failed(recording_id: int, error: str, now: datetime) -> None:
    """The switch never took the recording (the effect gave up): the trail says so."""
    recording = CallRecording.objects.select_for_update().filter(pk=recording_id).first()
    if recording is None or recording.state in (RecordingState.READY, RecordingState.DELETED):
        return
    recording.state, recording.problem = RecordingState.FAILED, error[:300]
    recording.save(update_fields=["state", "problem"])
    record(HistoryKind.RECORDING, f"Recording failed: {error[:200]}", callback=recording.callback, at=now)


def heard(recording: CallRecording, user: AbstractBaseUser, how: str) -> None:
    """A supervisor or admin played or downloaded the recording: the trail says who, which, when."""
    record(
        HistoryKind.RECORDING,
        f"Recording {how} by {person_name(user)}",
        callback=recording.callback,
        actor=user,
        recording=recording.pk,
        access=how,
    )


def delete_audio(recording: CallRecording, now: datetime) -> bool:
    """Delete the (locked) recording's audio from the recordings storage; the row stays, marked deleted, so the trail
    still says a recording existed. False when it was already deleted. Retention and a person's erasure both use it."""
    if recording.deleted_at is not None:
        return False
    if recording.audio:
        recording.audio.delete(save=False)
    recording.state, recording.deleted_at, recording.audio = RecordingState.DELETED, now, ""
    recording.save(update_fields=["state", "deleted_at", "audio"])
    return True


def expire(now: datetime) -> int:
    """Delete the audio of recordings older than their queue's retention (Retention policies: the queue's own, else
    the global, else 90 days; at most a batch a run); each deletion is in the trail. The row stays, without its audio: the trail still says a recording existed. A queue's retention
    applies as it is now, to recordings made before it changed too."""
    done = 0
    queues = list(CallRecording.objects.filter(deleted_at__isnull=True).values_list("callback__queue", flat=True).distinct())
    for queue_id, days in retention_days(queues).items():
        kept = days["recordings"]
        cutoff = now - timedelta(days=kept)
        due = CallRecording.objects.filter(callback__queue_id=queue_id, ended_at__lte=cutoff, deleted_at__isnull=True)
        for recording_id in due.exclude(state__in=LIVE).order_by("ended_at").values_list("pk", flat=True)[: EXPIRE_BATCH - done]:
            with transaction.atomic():
                recording = CallRecording.objects.select_for_update().select_related("callback").get(pk=recording_id)
                if not delete_audio(recording, now):
                    continue
                record(
                    HistoryKind.RECORDING,
                    f"Recording deleted: kept {kept} days (the queue's retention)",
                    callback=recording.callback,
                    at=now,
                    recording=recording.pk,
                )
                done += 1
        if done >= EXPIRE_BATCH:
            break
    return done


def _perform(effect) -> None:
    sync_with_switch(effect.payload["recording"])


def _given_up(effect, error: str, now: datetime) -> None:
    failed(effect.payload["recording"], error, now)


effects.HANDLERS[EffectKind.RECORD] = _perform
effects.GIVEN_UP[EffectKind.RECORD] = _given_up


@action
def do_open_recording(*, user: AbstractBaseUser, recording: CallRecording, how: str, seeking: bool = False) -> CallRecording:
    """A supervisor of the queue or an admin plays ("played") or downloads ("downloaded") the recording: refused
    when it has no audio (not stored yet, failed, or deleted); recorded in the trail either way it is opened.

    `seeking`: the player asks for a later part of the file (a seek, or a resumed download). That is the same
    listening as the opening it follows, and is not written again when this user opened it so within the last
    `SEEK_WINDOW`; asked for without such an opening, it is recorded like one."""
    if recording.state != RecordingState.READY or not recording.audio:
        raise DomainError(gettext("This recording has no audio: it is not stored yet, it failed, or it was deleted."), status=404)
    if not (seeking and _opened_lately(recording, user, how)):
        heard(recording, user, how)
    return recording


SEEK_WINDOW = timedelta(hours=1)


def _opened_lately(recording: CallRecording, user: AbstractBaseUser, how: str) -> bool:
    return HistoryEvent.objects.filter(
        callback_id=recording.callback_id,
        kind=HistoryKind.RECORDING,
        actor=user,
        data__recording=recording.pk,
        data__access=how,
        at__gte=timezone.now() - SEEK_WINDOW,
    ).exists()
