"""The interaction windows: one per open interaction, each with its callback, its live call, its parties and
what the agent may do now. `interaction_windows(agent, ids)` reads them for the desk, or one alone for the push of
an interaction that opens (its reads compiled once per process)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from .. import callstate, configuration, messaging
from ..channels import spec
from ..enums import (
    OPEN_CONSULT_STATES,
    CallbackState,
    CallState,
    ConsultState,
    InteractionState,
    PartyState,
    RecordingPolicy,
)
from ..languages import supported
from ..models import Agent, Call, CallParty, Consultation, ContactEmail, Interaction
from ..phone import display_phone
from ..prepared import Prepared
from ..telephony import telephony
from .fields import HISTORY_LIMIT, CallbackView, callback_view, case_history


def _allowed(act: str) -> property:
    return property(lambda self: self.can(act))


@dataclass
class InteractionView:
    """One interaction window: the callback, its live call and what the agent may do now."""

    interaction: Interaction
    view: CallbackView
    history: list
    call: Any = None
    parties: list = field(default_factory=list)
    consult: Any = None
    dispositions: list = field(default_factory=list)
    emails: list = field(default_factory=list)
    customer_link: str | None = None
    called: bool = False
    line_links: dict = field(default_factory=dict)  # a number consulted or conferenced: its phone page (simulator)

    @property
    def preview(self) -> bool:
        """The window opens on a preview before any call (its channel's, `callbacks.channels`: Web Callback)."""
        return spec(self.interaction.channel).preview

    @property
    def other_channels(self) -> list[str]:
        """The contact's other numbers and e-mail addresses (the number being called is in the header already)."""
        cb = self.interaction.callback
        if not cb.contact_id:
            return []
        phones = [display_phone(p.number) for p in cb.contact.phones.all() if p.number != cb.phone_number]
        return phones + list(self.emails)

    @property
    def text_numbers(self) -> list[tuple[str, str]]:
        """(number, as shown) for each number the Party Action Menu offers to text: the callback's, then the contact's
        others; none when no SMS gateway is configured."""
        if not messaging.can_text():
            return []
        cb = self.interaction.callback
        numbers = [cb.phone_number] + ([p.number for p in cb.contact.phones.all()] if cb.contact_id else [])
        return [(n, display_phone(n)) for n in dict.fromkeys(n for n in numbers if n)]

    @property
    def in_preview(self) -> bool:
        """Web Callback shows the Interaction Preview until the agent clicks Call."""
        return self.preview and not self.called

    @property
    def title(self) -> str:
        if self.preview:
            return (
                gettext_noop("Web Callback Interaction Preview") if self.in_preview else gettext_noop("Web Callback Interaction")
            )
        return gettext_noop("Callback")

    @property
    def status(self) -> str:
        return callstate.status_of(self.call)

    @property
    def status_label(self) -> str:
        return callstate.STATUS_LABELS[self.status]

    def can(self, act: str) -> bool:
        return callstate.allowed(act, self.status)

    @property
    def can_call(self) -> bool:
        cb = self.interaction.callback
        return self.can("call") and cb.state == CallbackState.IN_PROGRESS and cb.attempts < cb.max_attempts

    # What the call's state allows now (`callstate`): the toolbar's buttons.
    can_end = _allowed("end")
    can_hold = _allowed("hold")
    can_resume = _allowed("resume")
    can_dtmf = _allowed("dtmf")
    can_transfer = _allowed("transfer")
    can_mark_done = _allowed("mark_done")

    # The call's recording (`Call.recording`, read with the call): the indicator, and Record / Pause / Resume.
    @property
    def recording(self) -> str:
        return self.call.recording if self.call is not None and self.can("record") else ""

    LIVE_CALL = (CallState.DIALING, CallState.CONNECTED, CallState.ON_HOLD)

    @property
    def recording_notice_url(self) -> str:
        """Where the softphone finds "This call may be recorded" in the customer's language, for a queue that
        announces it (played once, when the customer answers)."""
        cb = self.interaction.callback
        if not cb.queue.recording_notice or self.call is None or self.call.state not in self.LIVE_CALL:
            return ""
        # The customer's language, else the centre's (the languages Ringback speaks: the voice menu's too).
        return reverse("recording_notice", args=[supported(cb.language) or supported(settings.LANGUAGE_CODE) or "en"])

    @property
    def can_record(self) -> bool:
        queue = self.interaction.callback.queue
        return self.can("record") and not self.recording and queue.recording_policy == RecordingPolicy.AGENT

    @property
    def reschedule_min(self) -> str:
        return timezone.localtime(timezone.now(), self.view.callback.customer_zone).strftime("%Y-%m-%dT%H:%M")

    @property
    def party_name(self) -> str:
        return self.view.callback.customer_name or self.view.phone


def _open_windows(agent_id: int, ids: list[int] | None = None):
    rows = Interaction.objects.filter(agent_id=agent_id, state=InteractionState.OPEN)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return (
        rows.select_related("callback__queue", "callback__contact", "disposition")
        .prefetch_related("callback__contact__phones")
        .order_by("created_at")
    )


OPEN_WINDOWS = Prepared(_open_windows, agent_id="id")
WINDOWS = Prepared(_open_windows, agent_id="id", ids="ids")


def interaction_windows(agent: Agent, ids: list[int] | None = None) -> list[InteractionView]:
    """The agent's open interaction windows, oldest first: all of them, or those among `ids` (an interaction pushed
    alone when it opens). The preview fields and disposition codes come from the configuration every process keeps."""
    if ids is None:
        rows = OPEN_WINDOWS.run(agent_id=agent.pk)
    elif not ids:
        return []
    else:
        rows = WINDOWS.run(agent_id=agent.pk, ids=ids)
    if not rows:
        return []
    histories: dict[int, list] = {}
    for event in case_history([i.callback_id for i in rows]):
        histories.setdefault(event.callback_id, []).append(event)
    return _interaction_views(rows, agent.zone, configuration.preview_fields(), histories)


def _interaction_views(interactions, zone, configured, histories) -> list[InteractionView]:
    if not interactions:
        return []
    ids = [i.pk for i in interactions]
    every_call = list(
        Call.objects.filter(interaction_id__in=ids).select_related("monitoring__supervisor")
    )  # a few per window: the live one, and any before
    calls = {c.interaction_id: c for c in every_call if c.state != CallState.ENDED}
    called = {c.interaction_id for c in every_call}
    call_ids = [c.pk for c in calls.values()]
    parties: dict[int, list] = {}
    consults = {}
    if call_ids:
        for p in CallParty.objects.filter(call_id__in=call_ids, left_at__isnull=True).select_related("agent").order_by("pk"):
            parties.setdefault(p.call_id, []).append(p)
        consults = {
            c.call_id: c
            for c in Consultation.objects.filter(call_id__in=call_ids, state__in=OPEN_CONSULT_STATES).select_related("to_agent")
        }
    contact_ids = [i.callback.contact_id for i in interactions if i.callback.contact_id]
    emails: dict[int, list] = {}
    for e in ContactEmail.objects.filter(contact_id__in=contact_ids) if contact_ids else ():
        emails.setdefault(e.contact_id, []).append(e.address)
    line_refs = [c.line_ref for c in consults.values() if c.line_ref] + [
        p.line_ref for group in parties.values() for p in group if p.line_ref
    ]
    links = {ref: telephony().customer_link(call_ref=ref) for ref in line_refs}
    codes = configuration.disposition_codes()
    out = []
    for i in interactions:
        call = calls.get(i.pk)
        out.append(
            InteractionView(
                interaction=i,
                view=callback_view(i.callback, zone, configured),
                history=histories.get(i.callback_id, [])[:HISTORY_LIMIT],
                call=call,
                parties=parties.get(call.pk, []) if call else [],
                consult=consults.get(call.pk) if call else None,
                dispositions=[c for c in codes if c.queue_id in (None, i.callback.queue_id)],
                emails=emails.get(i.callback.contact_id, []),
                customer_link=telephony().customer_link(call_ref=call.switch_ref) if call else None,
                called=i.pk in called,
                line_links=_line_links(parties.get(call.pk, []), consults.get(call.pk), links) if call else {},
            )
        )
    return out


def _line_links(parties: list, consult, links: dict) -> dict:
    """The phone pages of the numbers a call's consultation and parties ring (simulator), by line reference."""
    refs = [p.line_ref for p in parties] + ([consult.line_ref] if consult else [])
    return {ref: links[ref] for ref in refs if ref and links.get(ref)}


def joined_calls(agent: Agent) -> list:
    """Calls another agent brought me into: an active consultation or a conference I accepted (with the callback's
    information and the customer's call, for the strip on my desk)."""
    consults = list(
        Consultation.objects.filter(to_agent=agent, state=ConsultState.ACTIVE).select_related(
            "from_agent", "call__callback__queue"
        )
    )
    parties = list(
        CallParty.objects.filter(agent=agent, state=PartyState.JOINED, left_at__isnull=True)
        .exclude(call__state=CallState.ENDED)
        .select_related("call__callback__queue", "call__interaction__agent")
    )
    return [("consult", c) for c in consults] + [("conference", p) for p in parties]
