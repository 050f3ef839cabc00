"""The text conversation windows on the desk: the thread with a number, its draft and what it costs in texts."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_noop as _

from .. import messaging
from ..errors import DomainError
from ..models import Agent, TextInteraction, TextMessage
from ..models.texts import opted_out
from ..phone import display_phone

# The newest texts a window shows of its thread (oldest first); the contact's page has the whole history.
THREAD_LIMIT = 30

# What each text's status says in the thread (the model's labels are the admin's, untranslated).
STATUS_LABELS: dict[str, str] = {
    TextMessage.Status.QUEUED: _("Queued"),
    TextMessage.Status.SENT: _("Sent"),
    TextMessage.Status.DELIVERED: _("Delivered"),
    TextMessage.Status.FAILED: _("Not delivered"),
    TextMessage.Status.SUPPRESSED: _("Not sent: opted out"),
    TextMessage.Status.RECEIVED: _("Received"),
}


def count_label(body: str) -> str:
    """What the draft costs, as the compose box says it: "42 characters · 1 text" (counted as it will be sent, folded
    to the GSM alphabet where that only costs accents)."""
    sent = messaging.fit(body) if body else ""
    parts = messaging.segments(sent) if sent else 0
    characters = ngettext("%(count)s character", "%(count)s characters", len(sent)) % {"count": len(sent)}
    return f"{characters} · " + ngettext("%(count)s text", "%(count)s texts", parts) % {"count": parts}


@dataclass
class ThreadItem:
    text: TextMessage

    @property
    def outgoing(self) -> bool:
        return self.text.direction == TextMessage.Direction.OUT

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.text.status, self.text.status)


@dataclass
class TextWindow:
    """One text conversation window: the thread with the number, the draft, and whether the number opted out."""

    window: TextInteraction
    thread: list[ThreadItem] = field(default_factory=list)
    opted_out: bool = False

    @property
    def party_name(self) -> str:
        contact, callback = self.window.contact, self.window.callback
        return (contact.full_name if contact else "") or callback.customer_name or display_phone(self.window.number)

    @property
    def number(self) -> str:
        return display_phone(self.window.number)

    @property
    def count(self) -> str:
        return count_label(self.window.body)


def _threads(numbers: list[str]) -> dict[str, list[ThreadItem]]:
    """The newest texts to and from each number, oldest first (one query, however many windows)."""
    if not numbers:
        return {}
    newest = Window(RowNumber(), partition_by=F("number"), order_by=[F("created_at").desc(), F("id").desc()])
    rows = TextMessage.objects.filter(number__in=numbers).annotate(nth=newest).filter(nth__lte=THREAD_LIMIT)
    threads: dict[str, list[ThreadItem]] = {}
    for text in sorted(rows, key=lambda t: (t.created_at, t.pk)):
        threads.setdefault(text.number, []).append(ThreadItem(text))
    return threads


def _windows(rows: list[TextInteraction]) -> list[TextWindow]:
    numbers = sorted({w.number for w in rows})
    threads = _threads(numbers)
    stopped = opted_out(numbers) if numbers else set()
    return [TextWindow(w, threads.get(w.number, []), w.number in stopped) for w in rows]


def open_texts(agent: Agent) -> list[TextWindow]:
    """The agent's text conversations on the desk, oldest first: one query, and two more (the threads, the opt-outs)
    when any is open."""
    rows = list(
        TextInteraction.objects.filter(agent=agent, closed_at__isnull=True)
        .select_related("callback", "contact")
        .order_by("created_at", "id")
    )
    return _windows(rows)


def text_window_for(agent: Agent, text_id: int) -> TextWindow:
    """One of the agent's own text conversations; another agent's (or none) is a 404."""
    row = (
        TextInteraction.objects.filter(pk=text_id, agent=agent)
        .select_related("callback__queue", "callback__contact", "contact")
        .first()
    )
    if row is None:
        raise DomainError(gettext("That text conversation does not exist."), status=404)
    return _windows([row])[0]
