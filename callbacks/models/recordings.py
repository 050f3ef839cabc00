"""Call recordings: one per recorded call, its audio on the recordings storage (settings.STORAGES["recordings"])."""

from __future__ import annotations

from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

from ..enums import RecordingState


class _RecordingsStorage(LazyObject):
    """settings.STORAGES["recordings"], looked up when first used (and again after the setting changes)."""

    def _setup(self):
        self._wrapped = storages["recordings"]


RECORDINGS = _RecordingsStorage()


def recordings_storage():
    return RECORDINGS


@receiver(setting_changed)
def _storages_changed(*, setting: str, **kwargs) -> None:
    if setting == "STORAGES":
        RECORDINGS._wrapped = empty


class CallRecording(models.Model):
    """A recorded call: both parties, two channels (customer left, agent right), with the stretches the agent paused
    (card numbers) silent in the audio and listed in `pauses` and in the file's own metadata. Deleted by retention
    (the row stays, without its audio, so the trail still says a recording existed)."""

    call = models.OneToOneField("callbacks.Call", on_delete=models.CASCADE, related_name="recording_of")
    callback = models.ForeignKey("callbacks.CallbackRequest", on_delete=models.CASCADE, related_name="recordings")
    agent = models.ForeignKey("callbacks.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=10, choices=RecordingState.choices, default=RecordingState.RECORDING)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # [[paused at, resumed at or null], …] as ISO times, as Ringback saw the agent's clicks.
    pauses = models.JSONField(default=list, blank=True)
    switch_state = models.JSONField(default=dict, blank=True, help_text="What the switch needs to go on (rtpengine's ports)")
    audio = models.FileField(storage=recordings_storage, blank=True, max_length=200)
    seconds = models.FloatField(null=True, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    problem = models.CharField(max_length=300, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["ended_at"], condition=models.Q(deleted_at__isnull=True), name="recording_kept")]

    def __str__(self) -> str:
        return f"Recording of {self.call.switch_ref} ({self.state})"
