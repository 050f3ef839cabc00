"""Reads: everything a page or a push needs, with its queries chosen once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import dateformat, formats, timezone, translation
from django.utils.translation import gettext, gettext_noop

from . import calendars, callstate, configuration, emailstate
from .enums import (
    ACTIVE_CALL_STATES,
    OPEN_CONSULT_STATES,
    SYSTEM_CLOSINGS,
    AgentStatus,
    CallbackState,
    CallState,
    Channel,
    ConsultState,
    EmailState,
    EmailStatus,
    FieldFormat,
    HistoryKind,
    InteractionState,
    Language,
    OfferOutcome,
    PartyState,
    PreviewSection,
)
from .errors import DomainError
from .models import (
    Agent,
    AgentChannelStatus,
    Call,
    CallbackRequest,
    CallParty,
    Consultation,
    Contact,
    ContactEmail,
    EmailInteraction,
    FavoriteTarget,
    HistoryEvent,
    Interaction,
    NotReadyReason,
    Offer,
    PreviewField,
    Queue,
    RoutingPoint,
    StandardResponse,
    agent_of,
    may_work,
)
from .phone import display_phone, normalize_phone
from .prepared import Prepared
from .telephony import sip, telephony

HISTORY_LIMIT = 50


def agent_for_user(user) -> Agent | None:
    """The user's agent profile while they hold the Agent role; None otherwise."""
    return agent_of(user) if may_work(user) else None


def format_value(value: Any, fmt: str, zone) -> str:
    if value is None or value == "":
        return "—"
    try:
        if fmt == FieldFormat.YES_NO:
            return gettext("Yes") if str(value).lower() in {"1", "true", "yes", "y"} else gettext("No")
        if fmt == FieldFormat.MONEY:
            return formats.number_format(Decimal(str(value)), 2, use_l10n=True, force_grouping=True)
        if fmt == FieldFormat.DATE:
            return formats.date_format(date.fromisoformat(str(value)), "j M Y")
        if fmt == FieldFormat.DATETIME:
            moment = datetime.fromisoformat(str(value))
            if timezone.is_aware(moment):
                moment = moment.astimezone(zone)
            return formats.date_format(moment, "D j M Y, H:i")
    except (ValueError, InvalidOperation):
        pass  # show what the customer gave rather than nothing
    return str(value)


@dataclass
class Row:
    label: str
    value: str


@dataclass
class CallbackView:
    """A callback as the agent sees it: times in both zones, configured fields (each value once, empty ones hidden)."""

    callback: CallbackRequest
    agent_zone: Any
    fields: dict[str, list[Row]] = field(default_factory=dict)
    shown_keys: set[str] = field(default_factory=set)

    @property
    def phone(self) -> str:
        return display_phone(self.callback.phone_number)

    @property
    def attached(self) -> list[Row]:
        """The rest of the IVR / web data: keys no configured field already shows, and only those with a value."""
        return [
            Row(str(k).replace("_", " ").capitalize(), str(v))
            for k, v in sorted(self.callback.data.items())
            if k not in self.shown_keys and v not in (None, "")
        ]


def window_sections(channel: str) -> list[str]:
    """The sections an interaction window shows, in page order (Case Information only on Web Callback)."""
    if channel == Channel.WEB_CALLBACK:
        return [PreviewSection.CASE_INFO, PreviewSection.CALLBACK_INFO]
    return [PreviewSection.CALLBACK_INFO]


def _fields_for(callback: CallbackRequest, configured: list[PreviewField], zone) -> tuple[dict[str, list[Row]], set[str]]:
    """Configured rows per section. A field with no value is left out; in the window, a key shows once, in the first
    section that names it (the notification is a region of its own and keeps its rows)."""
    out: dict[str, list[Row]] = {s.value: [] for s in PreviewSection}
    in_window = window_sections(callback.channel)
    shown: set[str] = set()
    for section in [PreviewSection.NOTIFICATION, *in_window]:
        for f in configured:
            if f.section != section or f.queue_id not in (None, callback.queue_id) or f.channel not in ("", callback.channel):
                continue
            value = callback.data.get(f.key)
            if value in (None, "") or (section in in_window and f.key in shown):
                continue
            if section in in_window:
                shown.add(f.key)
            out[section].append(Row(f.label, format_value(value, f.format, zone)))
    return out, shown


def callback_view(callback: CallbackRequest, agent_zone, configured: list[PreviewField]) -> CallbackView:
    rows, shown = _fields_for(callback, configured, callback.customer_zone)
    return CallbackView(callback, agent_zone, rows, shown)


@dataclass
class ChannelState:
    channel: str
    label: str
    status: str
    status_label: str
    reason: str
    since: datetime | None


def channel_states(channels: list[str], rows: dict[str, AgentChannelStatus]) -> list[ChannelState]:
    """An agent's status on each of their channels, from their status rows by channel (reasons loaded); a channel
    without a row is Logged Out."""
    out = []
    for ch in channels:
        row = rows.get(ch)
        status = row.status if row else AgentStatus.LOGGED_OUT
        out.append(
            ChannelState(
                channel=ch,
                label=Channel(ch).label,
                status=status,
                status_label=AgentStatus(status).label,
                reason=row.reason.name if row and row.reason else "",
                since=row.since if row else None,
            )
        )
    return out


def engagement(agent) -> dict:
    """Annotations for an agent's status rows (`agent`: an Agent, or OuterRef("agent_id")): are they in another agent's
    call, a consultation or a conference, or asked into one (same statement)."""
    return {
        "in_consultation": Exists(Consultation.objects.filter(to_agent=agent, state=ConsultState.ACTIVE)),
        "in_conference": Exists(CallParty.objects.filter(agent=agent, state=PartyState.JOINED, left_at__isnull=True)),
        "asked_to_conference": Exists(CallParty.objects.filter(agent=agent, state=PartyState.RINGING, left_at__isnull=True)),
    }


def engaged_as(rows) -> str:
    """From status rows annotated with `engagement`: why the agent is busy whatever their status (else "")."""
    if any(r.in_conference for r in rows):
        return gettext_noop("in a conference")
    if any(r.in_consultation for r in rows):
        return gettext_noop("in a consultation")
    return ""


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
    def is_web(self) -> bool:
        return self.interaction.channel == Channel.WEB_CALLBACK

    @property
    def other_channels(self) -> list[str]:
        """The contact's other numbers and e-mail addresses (the number being called is in the header already)."""
        cb = self.interaction.callback
        if not cb.contact_id:
            return []
        phones = [display_phone(p.number) for p in cb.contact.phones.all() if p.number != cb.phone_number]
        return phones + list(self.emails)

    @property
    def in_preview(self) -> bool:
        """Web Callback shows the Interaction Preview until the agent clicks Call."""
        return self.is_web and not self.called

    @property
    def title(self) -> str:
        if self.is_web:
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

    @property
    def can_end(self) -> bool:
        return self.can("end")

    @property
    def can_hold(self) -> bool:
        return self.can("hold")

    @property
    def can_resume(self) -> bool:
        return self.can("resume")

    @property
    def can_dtmf(self) -> bool:
        return self.can("dtmf")

    @property
    def can_transfer(self) -> bool:
        return self.can("transfer")

    @property
    def can_mark_done(self) -> bool:
        return self.can("mark_done")

    @property
    def reschedule_min(self) -> str:
        return timezone.localtime(timezone.now(), self.view.callback.customer_zone).strftime("%Y-%m-%dT%H:%M")

    @property
    def party_name(self) -> str:
        return self.view.callback.customer_name or self.view.phone


@dataclass
class EmailWindow:
    """One e-mail interaction window: the draft or the sent e-mail, its status, and what the agent may do now."""

    email: EmailInteraction
    addresses: list[str]

    @property
    def status(self) -> EmailStatus:
        return self.email.status

    @property
    def status_label(self) -> str:
        return self.email.status_label

    @property
    def party_name(self) -> str:
        callback = self.email.callback
        contact = self.email.contact
        return (contact.full_name if contact else "") or callback.customer_name or display_phone(callback.phone_number)

    @property
    def to_choices(self) -> list[str]:
        """The contact's addresses, and the draft's own if the directory no longer lists it."""
        known = {a.lower() for a in self.addresses}
        return self.addresses + ([self.email.to] if self.email.to.lower() not in known else [])

    @property
    def can_send(self) -> bool:
        return emailstate.allowed("send", self.status)

    @property
    def can_done(self) -> bool:
        return emailstate.allowed("done", self.status)

    @property
    def attempts(self) -> int:
        return self.email.effect.attempts if self.email.effect_id else 0

    @property
    def problem(self) -> str:
        """Why the last try failed (the outbox's error), while it retries or once it gave up."""
        return self.email.effect.last_error if self.email.effect_id else ""


def open_emails(agent: Agent) -> list[EmailWindow]:
    """The agent's e-mail windows on the desk, oldest first: one query, and one for the addresses when any is open."""
    rows = list(
        EmailInteraction.objects.filter(agent=agent, closed_at__isnull=True)
        .select_related("callback", "contact", "effect")
        .prefetch_related("contact__emails")
        .order_by("created_at", "id")
    )
    return [EmailWindow(e, [a.address for a in e.contact.emails.all()] if e.contact_id else []) for e in rows]


def email_window_for(agent: Agent, email_id: int) -> EmailWindow:
    """One of the agent's own e-mail windows; another agent's (or none) is a 404."""
    email = (
        EmailInteraction.objects.filter(pk=email_id, agent=agent)
        .select_related("callback__queue", "callback__contact", "contact", "effect")
        .prefetch_related("contact__emails")
        .first()
    )
    if email is None:
        raise DomainError(gettext("That e-mail does not exist."), status=404)
    return EmailWindow(email, [a.address for a in email.contact.emails.all()] if email.contact_id else [])


def contact_emails(contact_id: int, limit: int = 50) -> list[EmailInteraction]:
    """The e-mails sent to the contact, newest first, with who sent them and what the outbox did (one query)."""
    return list(
        EmailInteraction.objects.filter(contact_id=contact_id, state=EmailState.SENT)
        .select_related("agent", "callback", "effect")
        .order_by("-sent_at", "-id")[:limit]
    )


def newest_email_draft(agent: Agent, interaction_id: int) -> int | None:
    """The agent's newest open draft started from this call window: where its Responses insert into an e-mail."""
    return (
        EmailInteraction.objects.filter(agent=agent, interaction_id=interaction_id, state=EmailState.DRAFT)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )


HANDOVER_WINDOW = timedelta(seconds=60)  # how long the page may take to hand a customer over after a consultation


@dataclass(frozen=True)
class Handover:
    call_ref: str
    to_agent_id: int
    leg: str  # the consultation's call, which the REFER replaces (it also names the handover)


class Workspace:
    """The agent's workspace as a read model per region, each part loaded on first use with its own bounded queries.

    A push or an answer that renders one region touches only that region's
    parts: the status bar reads the agent's statuses and the Not Ready
    reasons; the notifications read offers, consultation requests and
    personal callbacks; the interaction windows read the open interactions
    and what hangs off them.
    """

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.zone = agent.zone
        self.softphone = sip.enabled()  # the status bar shows the browser softphone's registration

    # --- status ----------------------------------------------------------------
    @cached_property
    def _status_rows(self) -> list[AgentChannelStatus]:
        """The agent's status rows, each also saying whether they are in another agent's call (same statement)."""
        return list(
            AgentChannelStatus.objects.filter(agent=self.agent).select_related("reason").annotate(**engagement(self.agent))
        )

    @cached_property
    def channels(self) -> list[ChannelState]:
        return channel_states(self.agent.enabled_channels(), {s.channel: s for s in self._status_rows})

    @property
    def engaged(self) -> str:
        """Why the agent is busy whatever their channel status: in a conference or a consultation (else "")."""
        return engaged_as(self._status_rows)

    @property
    def languages(self) -> list[tuple[str, str, bool]]:
        """The workspace's languages, the agent's own marked."""
        mine = translation.get_language() or "en"
        return [(code, name, code == mine) for code, name in Language.choices]

    @cached_property
    def reasons(self) -> list[NotReadyReason]:
        return configuration.not_ready_reasons()

    @property
    def any_ready(self) -> bool:
        return any(c.status == AgentStatus.READY for c in self.channels)

    # --- notifications -----------------------------------------------------------
    @cached_property
    def configured(self) -> list[PreviewField]:
        return configuration.preview_fields()

    @cached_property
    def offers(self) -> list[tuple[Offer, CallbackView]]:
        rows = list(
            Offer.objects.filter(agent=self.agent, outcome=OfferOutcome.OPEN)
            .select_related("callback__queue")
            .order_by("created_at")
        )
        return [(o, callback_view(o.callback, self.zone, self.configured)) for o in rows]

    @cached_property
    def consult_requests(self) -> list:
        return list(
            Consultation.objects.filter(to_agent=self.agent, state=ConsultState.REQUESTED).select_related(
                "from_agent", "call__callback"
            )
        )

    @cached_property
    def conference_requests(self) -> list[tuple[CallParty, datetime]]:
        """Instant Call Conference requests waiting on this agent's Accept or Decline, with when each lapses (an agent
        with no status row is logged out, and a logged-out agent is never asked)."""
        if not any(r.asked_to_conference for r in self._status_rows):
            return []  # the usual case costs no statement: the status rows say whether to look
        wait = timedelta(seconds=settings.RINGBACK_CONFERENCE_REQUEST_SECONDS)
        rows = CallParty.objects.filter(agent=self.agent, state=PartyState.RINGING, left_at__isnull=True).select_related(
            "call__interaction__agent", "call__callback__queue"
        )
        return [(p, p.asked_at + wait) for p in rows]

    @cached_property
    def transfer_requests(self) -> list[Call]:
        """Calls another agent is transferring to this one on the softphone: ringing here until answered."""
        if not self.softphone:
            return []
        return list(
            Call.objects.filter(transfer_key=f"agent:{self.agent.pk}", state__in=ACTIVE_CALL_STATES)
            .exclude(transfer_id="")
            .select_related("interaction__agent", "callback")
        )

    @cached_property
    def endings(self) -> list:
        return _recent_endings(self.agent)

    @cached_property
    def _personal(self) -> dict[str, list]:
        return _personal(self.agent)

    @property
    def mine(self) -> list:
        return self._personal["mine"]

    @property
    def reminders(self) -> list:
        return self._personal["reminders"]

    # --- interaction windows -----------------------------------------------------
    @cached_property
    def handovers(self) -> list[Handover]:
        """Calls this agent just transferred to another after a consultation, which the softphone still has to
        hand over: a REFER of the customer's phone to theirs, replacing the consultation's call. None with another
        adapter (an Instant Call Transfer on the softphone is asked of the line instead: `transfer_requests`)."""
        if not self.softphone:
            return []
        consults = Consultation.objects.filter(  # a number consulted is asked of the line as a blind transfer
            from_agent=self.agent,
            to_agent__isnull=False,
            state=ConsultState.TRANSFERRED,
            ended_at__gte=timezone.now() - HANDOVER_WINDOW,
            call__state__in=ACTIVE_CALL_STATES,
        )
        return [Handover(c.call.switch_ref, c.to_agent_id, leg=f"consult-{c.pk}") for c in consults.select_related("call")]

    @cached_property
    def interactions(self) -> list[InteractionView]:
        return interaction_windows(self.agent)

    # --- e-mail windows -------------------------------------------------------------
    @cached_property
    def emails(self) -> list[EmailWindow]:
        return open_emails(self.agent)

    @cached_property
    def joined(self) -> list:
        """Consultations and conferences I was brought into."""
        if not any(r.in_consultation or r.in_conference for r in self._status_rows):
            return []  # the usual case costs no statement: the status rows say whether to look
        return _joined(self.agent)


def workspace_context_for(agent: Agent) -> Workspace:
    """The agent's workspace; each region's parts load when that region renders (bounded, whatever the queue sizes)."""
    return Workspace(agent)


NOTICE_FOR = timedelta(minutes=2)


def _recent_endings(agent: Agent) -> list:
    """Interactions the system closed (automatic retry, attempts exhausted), while their notice still holds: for two
    minutes at most, and only until the agent's next interaction opens (the next call is another situation)."""
    now = timezone.now()
    later = Interaction.objects.filter(agent=agent, created_at__gt=OuterRef("ended_at"))
    rows = list(
        Interaction.objects.filter(agent=agent, state=InteractionState.DONE, ended_at__gte=now - NOTICE_FOR)
        .filter(closing_reason__in=SYSTEM_CLOSINGS)
        .exclude(Exists(later))
        .select_related("callback")
        .order_by("-ended_at")[:3]
    )
    for row in rows:
        row.notice_expires = row.ended_at + NOTICE_FOR
    return rows


def _personal(agent: Agent) -> dict[str, list]:
    mine = list(
        CallbackRequest.objects.filter(
            owner=agent, state__in=[CallbackState.SCHEDULED, CallbackState.QUEUED, CallbackState.OFFERED]
        )
        .select_related("queue")
        .order_by("desired_time")[:20]
    )
    return {"mine": mine, "reminders": [c for c in mine if c.reminded_at and c.state != CallbackState.OFFERED]}


def contact_search(q: str, limit: int = 50):
    """Contacts by name, number or e-mail."""
    q = (q or "").strip()
    contacts = Contact.objects.prefetch_related("phones", "emails").order_by("last_name", "first_name", "pk")
    if q:
        digits = "".join(ch for ch in q if ch.isdigit())
        cond = Q(first_name__icontains=q) | Q(last_name__icontains=q) | Q(emails__address__icontains=q)
        parts = q.split()
        if len(parts) >= 2:
            cond |= Q(first_name__icontains=parts[0]) & Q(last_name__icontains=" ".join(parts[1:]))
        if len(digits) >= 3:
            cond |= Q(phones__number__contains=digits)
        contacts = contacts.filter(cond).distinct()
    return list(contacts[:limit])


def case_history(callback_ids: list[int]):
    """The newest events of the callbacks (the interaction windows' Case History): index history_callback_at."""
    return (
        HistoryEvent.objects.filter(callback_id__in=callback_ids)
        .select_related("agent")
        .order_by("-at", "-id")[: HISTORY_LIMIT * len(callback_ids)]
    )


def contact_history_parts(contact_id: int, limit: int = 200):
    """The newest ids of the contact's own events, and of the events of the contact's callbacks: two
    indexed lookups (contact_id; history_callback_at). One query with OR across both makes PostgreSQL
    scan the whole history (130 ms at 1,000,000 rows)."""
    own = HistoryEvent.objects.filter(contact_id=contact_id).order_by("-at", "-id").values_list("id", flat=True)[:limit]
    their_callbacks = CallbackRequest.objects.filter(contact_id=contact_id).values("id")
    of_callbacks = (
        HistoryEvent.objects.filter(callback_id__in=their_callbacks).order_by("-at", "-id").values_list("id", flat=True)[:limit]
    )
    return own, of_callbacks


def contact_history(contact: Contact, limit: int = 200) -> list:
    """Everything that happened to the contact and their callbacks, newest first."""
    own, of_callbacks = contact_history_parts(contact.pk, limit)
    ids = set(own) | set(of_callbacks)
    return list(HistoryEvent.objects.filter(id__in=ids).select_related("callback", "agent").order_by("-at", "-id")[:limit])


def recent_targets(agent_id: int):
    """Where the agent transferred, conferenced or consulted lately (the Team Communicator's Recent)."""
    return (
        HistoryEvent.objects.filter(
            agent_id=agent_id,
            kind__in=[HistoryKind.TRANSFER, HistoryKind.CONFERENCE, HistoryKind.CONSULT],
            data__has_key="target",
        )
        .order_by("-at")
        .values_list("data", flat=True)[:30]
    )


def response_values(callback: CallbackRequest, agent: Agent) -> dict[str, str]:
    contact = callback.contact
    first, _, last = (callback.customer_name or "").partition(" ")
    return {
        "first_name": (contact.first_name if contact else "") or first,
        "last_name": (contact.last_name if contact else "") or last,
        "customer_name": callback.customer_name or (contact.full_name if contact else ""),
        "agent_name": agent.display_name,
        "reference": callback.reference,
        "phone": display_phone(callback.phone_number),
        "queue": callback.queue.name,
    }


def response_search(q: str, values: dict[str, str] | None = None, limit: int = 20) -> list[tuple[Any, str]]:
    rows = StandardResponse.objects.filter(active=True).select_related("category")
    q = (q or "").strip()
    if q:
        rows = rows.filter(Q(title__icontains=q) | Q(body__icontains=q) | Q(category__name__icontains=q))
    return [(r, r.render(values or {})) for r in rows[:limit]]


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
    every_call = list(Call.objects.filter(interaction_id__in=ids))  # a few per window: the live one, and any before
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


def _joined(agent: Agent) -> list:
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


def team_search(agent: Agent, q: str, limit: int = 6) -> dict[str, list]:
    """Team Communicator: agents (with live status), queues, routing points and contacts matching q."""
    q = (q or "").strip()
    out: dict[str, list] = {"agents": [], "queues": [], "routing_points": [], "contacts": [], "favorites": [], "recent": []}
    if not q:
        out["favorites"] = list(FavoriteTarget.objects.filter(agent=agent))
        seen: set[str] = set()
        for data in recent_targets(agent.pk):
            key = data.get("target")
            if key and key not in seen:
                seen.add(key)
                out["recent"].append(key)
            if len(out["recent"]) >= 5:
                break
        return out
    statuses = {
        s.agent_id: s
        for s in AgentChannelStatus.objects.filter(channel=Channel.VOICE, agent__display_name__icontains=q).select_related(
            "reason"
        )
    }
    for a in Agent.objects.filter(display_name__icontains=q).exclude(pk=agent.pk)[:limit]:
        row = statuses.get(a.pk)
        out["agents"].append((a, AgentStatus(row.status).label if row else "Logged Out"))
    out["queues"] = list(Queue.objects.filter(active=True, name__icontains=q)[:limit])
    out["routing_points"] = list(
        RoutingPoint.objects.filter(active=True).filter(Q(name__icontains=q) | Q(number__icontains=q))[:limit]
    )
    out["contacts"] = contact_search(q, limit=limit)
    out["numbers"] = []
    if sum(ch.isdigit() for ch in q) >= 6:
        try:
            out["numbers"] = [normalize_phone(q)]  # a typed number is a target too
        except DomainError:
            pass
    return out


@dataclass(frozen=True)
class SlotDay:
    label: str
    slots: list[tuple[str, str, int]]  # (ISO instant, time shown in the customer's zone, room left)


def reschedule_slots(agent: Agent, interaction_id: int, now: datetime, *, days: int = 7, limit: int = 96) -> list[SlotDay]:
    """Free slots of the agent's open interaction's queue for the next days, shown in the customer's zone and
    limited to the customer's availability window. 404 for another agent's interaction."""
    interaction = (
        Interaction.objects.select_related("callback__queue")
        .filter(pk=interaction_id, agent=agent, state=InteractionState.OPEN)
        .first()
    )
    if interaction is None:
        raise DomainError(gettext("That interaction is not open on your desk."), status=404)
    callback = interaction.callback
    start = max(now, callback.window_start) if callback.window_start else now
    end = min(now + timedelta(days=days), callback.window_end) if callback.window_end else now + timedelta(days=days)
    return free_slot_days(callback.queue, start, end, callback.customer_zone, excluding=callback.pk, limit=limit)


def free_slot_days(
    queue: Queue,
    start: datetime,
    end: datetime,
    zone,
    *,
    excluding: int | None = None,
    limit: int = 500,
    day_format: str = "D d M",
) -> list[SlotDay]:
    """Free slots between start and end, grouped by day in `zone` (the customer's): what both pickers show. Days are
    labelled with a Django date format, in the active language."""
    grouped: dict[date, list[tuple[str, str, int]]] = {}
    for slot in calendars.free_slots(queue, start, end, excluding=excluding, limit=limit):
        local = slot.start.astimezone(zone)
        grouped.setdefault(local.date(), []).append((slot.start.isoformat(), f"{local:%H:%M}", slot.remaining))
    return [SlotDay(dateformat.format(day, day_format), rows) for day, rows in grouped.items()]


# Average handling time assumed until a queue has finished interactions to measure.
DEFAULT_HANDLE_SECONDS = 300


@dataclass(frozen=True)
class Position:
    """Where a callback stands: its place in line (1 = next) while it waits, and the estimated wait."""

    state: str
    position: int | None
    ewt_seconds: int | None
    agents: int


def queue_position(callback: CallbackRequest, now: datetime) -> Position:
    """Place in line by the routing order (priority, immediate first, then time in line); the estimated wait is
    the rounds of the queue's staffed agents ahead of it times its recent average handling time, and never before
    the queue opens. A scheduled callback waits until its time."""
    staffed = (
        AgentChannelStatus.objects.filter(channel=callback.channel, agent__queues=callback.queue_id)
        .exclude(status=AgentStatus.LOGGED_OUT)
        .count()
    )
    if callback.state == CallbackState.SCHEDULED:
        wait = max(0, int(((callback.desired_time or now) - now).total_seconds()))
        return Position(callback.state, None, wait, staffed)
    if callback.state != CallbackState.QUEUED:
        return Position(callback.state, None, 0 if callback.state == CallbackState.OFFERED else None, staffed)
    same = CallbackRequest.objects.filter(queue_id=callback.queue_id, channel=callback.channel, state=CallbackState.QUEUED)
    enqueued = callback.enqueued_at or callback.created_at
    ahead = same.filter(
        Q(priority__gt=callback.priority)
        | Q(priority=callback.priority, type_rank__lt=callback.type_rank)
        | Q(priority=callback.priority, type_rank=callback.type_rank, enqueued_at__lt=enqueued)
        | Q(priority=callback.priority, type_rank=callback.type_rank, enqueued_at=enqueued, pk__lt=callback.pk)
    ).count()
    recent = list(
        Interaction.objects.filter(callback__queue_id=callback.queue_id, state=InteractionState.DONE, ended_at__isnull=False)
        .order_by("-ended_at")
        .values_list("created_at", "ended_at")[:50]
    )
    handle = sum((end - start).total_seconds() for start, end in recent) / len(recent) if recent else DEFAULT_HANDLE_SECONDS
    rounds = ahead // max(staffed, 1) + (1 if staffed == 0 else 0)
    wait = int(rounds * handle)
    opens = calendars.next_open(calendars.spec_for(callback.queue), now)
    if opens is not None:
        wait = max(wait, int((opens - now).total_seconds()))
    return Position(callback.state, ahead + 1, wait, staffed)


# The report's columns, and the value each one is read from.
REPORT_FIELDS = [
    ("reference", "reference"),
    ("queue", "queue__slug"),
    *[(name, name) for name in ("channel", "type", "origin", "state", "close_reason", "outcome", "phone_number")],
    *[(name, name) for name in ("customer_name", "created_at", "desired_time", "closed_at", "attempts")],
    ("offers", "offer_count"),
    ("calls", "call_count"),
    ("last_agent", "last_agent"),
    ("disposition", "disposition"),
]
REPORT_COLUMNS = [column for column, _ in REPORT_FIELDS]


def _count_per_callback(rows, path: str) -> Subquery:
    """How many rows point (through `path`) to the outer callback: a correlated COUNT."""
    return Subquery(rows.filter(**{path: OuterRef("pk")}).order_by().values(path).annotate(n=Count("id")).values("n")[:1])


def callbacks_report(
    *, start: datetime | None = None, end: datetime | None = None, queue_ids: list[int] | None = None, agent_id: int | None = None
):
    """One row per callback created in [start, end), with what links its attempts: how many offers and calls it
    had, the last agent who worked it and their disposition. Values only, for streaming."""
    last = Interaction.objects.filter(callback=OuterRef("pk")).order_by("-created_at")
    rows = CallbackRequest.objects.all()
    if start is not None:
        rows = rows.filter(created_at__gte=start)
    if end is not None:
        rows = rows.filter(created_at__lt=end)
    if queue_ids is not None:
        rows = rows.filter(queue_id__in=queue_ids)
    if agent_id is not None:  # the callbacks this agent worked (any of their interactions)
        rows = rows.filter(Exists(Interaction.objects.filter(callback=OuterRef("pk"), agent_id=agent_id)))
    return (
        rows.order_by("created_at", "id")
        .annotate(
            offer_count=_count_per_callback(Offer.objects, "callback"),
            call_count=_count_per_callback(Call.objects, "interaction__callback"),
            last_agent=Subquery(last.values("agent__display_name")[:1]),
            disposition=Subquery(last.values("disposition__label")[:1]),
        )
        .values_list(*[field for _, field in REPORT_FIELDS])
    )
