"""Configuration that admins change rarely, read once per process and forgotten when anyone changes it.

Every push and page used to read the active preview fields, Not Ready reasons, disposition codes and the agent's
own profile again: statements for Django to compile per render, for rows that change a few times a year. Here each list is read on first use and
kept with the configuration's version. Saving or deleting such a row (admin, a shell, a fixture) bumps the
version where every process sees it: the shared cache (Redis) in the scaled set-up, a file in the var directory
in the embedded one (its several processes, such as a test and its server, share no memory cache). A process
compares versions on each use (one Redis GET, or one stat), so a change shows on the next render anywhere.

The signals below only forget cached reads: no business rule lives in them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from .models import Agent, DispositionCode, NotReadyReason, PreviewField

VERSION_KEY = "rb:config:version"
_lock = threading.Lock()
_kept: dict[str, tuple[object, object]] = {}  # name -> (version it was read at, value)


def _shared() -> bool:
    return bool(getattr(settings, "REDIS_URL", ""))


def _version_file():
    return settings.VAR_DIR / "config-version"


def version() -> object:
    """The configuration's current version, as every process sees it."""
    if _shared():
        return cache.get(VERSION_KEY)
    try:
        return _version_file().stat().st_mtime_ns
    except FileNotFoundError:
        return None


def changed() -> None:
    """Configuration changed: every process reads it again on next use."""
    with _lock:
        _kept.clear()
    if _shared():
        cache.set(VERSION_KEY, time.time_ns(), timeout=None)
    else:
        path = _version_file()
        path.touch()
        stamp = time.time_ns()
        os.utime(path, ns=(stamp, stamp))  # a new version even within the file system's time resolution


def kept[T](name: str, read: Callable[[], T]) -> T:
    """`read()` once per configuration version in this process."""
    now = version()
    with _lock:
        hit = _kept.get(name)
    if hit is not None and hit[0] == now:
        return hit[1]  # type: ignore[return-value]
    value = read()
    with _lock:
        _kept[name] = (now, value)
    return value


def preview_fields() -> list[PreviewField]:
    """The active preview and case-information fields, in display order."""
    return kept("preview_fields", lambda: list(PreviewField.objects.filter(active=True).order_by("section", "order", "label")))


def not_ready_reasons() -> list[NotReadyReason]:
    """The Not Ready reasons an agent may choose (the system's own are set by Ringback only)."""
    return kept("not_ready_reasons", lambda: list(NotReadyReason.objects.filter(active=True, system="")))


def disposition_codes() -> list[DispositionCode]:
    """The active disposition codes of every queue, in display order (a window keeps its queue's and the shared ones)."""
    return kept("disposition_codes", lambda: list(DispositionCode.objects.filter(active=True).order_by("order", "label")))


def agent_profile(agent_id: int) -> Agent:
    """An agent's profile (name, time zone, channels, language) as their pushes render it: read once per process
    and version, not once per push. Raises Agent.DoesNotExist for an agent deleted meanwhile."""
    return kept(f"agent:{agent_id}", lambda: Agent.objects.get(pk=agent_id))


def changed_on_commit() -> None:
    """Configuration is changing in this transaction: forget it once the change is visible (forgetting earlier would
    let a render read the old rows again and keep them under the new version)."""
    transaction.on_commit(changed)


def _forget(sender, **kwargs) -> None:
    changed_on_commit()


for _model in (PreviewField, NotReadyReason, DispositionCode, Agent):
    post_save.connect(_forget, sender=_model, dispatch_uid=f"configuration-{_model.__name__}-save")
    post_delete.connect(_forget, sender=_model, dispatch_uid=f"configuration-{_model.__name__}-delete")
