"""The audit trail is the history table: every lifecycle change writes a row (`lifecycle.transitions.record`), and
every change made in Django admin lands there too, by whom and when (from admin's own LogEntry)."""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db.models.signals import post_save

from .enums import HistoryKind
from .models import HistoryEvent

VERBS = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}


def from_admin(sender, instance: LogEntry, created: bool, raw: bool = False, **kwargs) -> None:
    if not created or raw:
        return
    model = instance.content_type.model_class() if instance.content_type_id else None
    label = model._meta.verbose_name if model else "object"
    change = instance.get_change_message()
    message = f"Admin: {label} “{instance.object_repr}” {VERBS.get(instance.action_flag, 'changed')}"
    HistoryEvent.objects.create(
        kind=HistoryKind.CONFIG,
        message=(message + (f": {change}" if change and instance.action_flag == CHANGE else ""))[:500],
        actor_id=instance.user_id,
        at=instance.action_time,
        data={
            "model": f"{instance.content_type.app_label}.{instance.content_type.model}" if instance.content_type_id else "",
            "object_id": str(instance.object_id or ""),
            "action": VERBS.get(instance.action_flag, "changed"),
        },
    )


def connect() -> None:
    post_save.connect(from_admin, sender=LogEntry, dispatch_uid="ringback-admin-audit")
