"""The voice menu's state changes: a call to an entry number takes one of the voice application's lines, books (or
keeps, or cancels) a callback, and ends; and customer-first dialling's.

Owns: the voice sessions (a line per call, the call's arrival as its place in line, how each call ended), the
callbacks booked, kept, cancelled or moved from the menu, customer-first dialling (who to call next, the customer
on the line offered to agents, retries when Ringback's call did not reach them, the apology after the hold limit).

The menu itself (what is said, which key does what) is `callbacks.voice.menu`; the application that answers the
calls is `callbacks.voice.app`. This module is what they change in the database, one action each.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import calendars, intake_schema
from ..enums import (
    OPEN_CALLBACK_STATES,
    CallbackEvent,
    CallbackState,
    CallbackType,
    CallOutcome,
    Channel,
    DialMode,
    HistoryKind,
    Origin,
)
from ..errors import Invalid, Refused
from ..models import CallbackRequest, EntryNumber, Queue, VoiceOutcome, VoiceSession
from ..models.voice import VOICE_LANGUAGES, Direction
from ..phone import display_phone, normalize_phone
from ..routing import free_agents, waiting_callbacks
from ..telephony import caller_id
from .calls import retry_rule_for, retry_time
from .intake import cancel_callback, create_callback, locked_open_callback, move_callback
from .offers import route_on_commit, take_back_offer, withdraw_open_offer
from .transitions import action, record, transition

# A session still open after this long belongs to a call the application lost (a crash): its line is free again.
STALE_AFTER = timedelta(hours=2)


class AllLinesBusy(Refused):
    """Every line of the voice application has a call: the caller hears busy (486)."""


def voice_lines() -> list[str]:
    """The voice application's lines, each registered at the proxy as its own SIP user and taking one call."""
    return [f"ivr-{n}" for n in range(1, settings.RINGBACK_VOICE_LINES + 1)]


def caller_number(user: str) -> str:
    """The caller's number from the From user the proxy saw, in E.164; "" when it is none (anonymous, a SIP name)."""
    try:
        return normalize_phone(user)
    except Invalid:
        return ""


@action
def do_open_voice_session(*, dialled: str, caller: str, call_id: str) -> VoiceSession | None:
    """A call to `dialled` arrived at the proxy (which asks before it routes it): None when it is no active entry
    number; otherwise the session of this call (the same one when the proxy asks again), on a free line, stamped
    with this moment as its arrival. Raises AllLinesBusy when every line has a call."""
    now = timezone.now()
    try:
        number = normalize_phone(dialled)
    except Invalid:
        return None
    entry = EntryNumber.objects.select_related("queue").filter(number=number, active=True, queue__active=True).first()
    if entry is None:
        return None
    existing = VoiceSession.objects.filter(call_id=call_id).first()
    if existing is not None:
        return existing
    VoiceSession.objects.filter(ended_at__isnull=True, arrived_at__lt=now - STALE_AFTER).update(
        ended_at=now, outcome=VoiceOutcome.FAILED
    )
    session = _on_a_free_line(
        call_id=call_id[:200],
        entry=entry,
        queue=entry.queue,
        dialled=number,
        caller=caller_number(caller),
        language=entry.language,
        arrived_at=now,
    )
    if session is None:
        raise AllLinesBusy("Every line of the voice menu has a call.")
    return session


def _on_a_free_line(**fields) -> VoiceSession | None:
    """A new session on the first line with no call (None: every line has one)."""
    busy = set(VoiceSession.objects.filter(ended_at__isnull=True).values_list("line", flat=True))
    for line in voice_lines():
        if line in busy:
            continue
        try:
            with transaction.atomic():  # another call may take this line at the same moment: then the next one
                return VoiceSession.objects.create(line=line, **fields)
        except IntegrityError:
            continue
    return None


def open_session(line: str, call_id: str) -> VoiceSession | None:
    """The open session the proxy gave `line` for this call (None: the proxy did not send it, or it is over)."""
    return (
        VoiceSession.objects.select_related("queue", "queue__calendar")
        .filter(line=line, call_id=call_id, ended_at__isnull=True)
        .first()
    )


def open_callback_of(session: VoiceSession) -> CallbackRequest | None:
    """The caller's callback still open in the session's queue (they may keep it or cancel it)."""
    if not session.caller:
        return None
    return (
        CallbackRequest.objects.filter(queue=session.queue, phone_number=session.caller, state__in=OPEN_CALLBACK_STATES)
        .order_by("pk")
        .first()
    )


def _locked(session_id: int) -> VoiceSession:
    return VoiceSession.objects.select_for_update().select_related("queue").get(pk=session_id)


def _call_text(session: VoiceSession) -> str:
    arrived = timezone.localtime(session.arrived_at)
    caller = display_phone(session.caller) if session.caller else "an unknown number"
    return f"Call from {caller} to {display_phone(session.dialled)} at {arrived:%H:%M:%S}"


@action
def do_book_from_voice(
    *, session_id: int, number: str, when: datetime | None = None, fields: dict[str, str] | None = None
) -> CallbackRequest:
    """The caller confirmed a callback in the menu: to `number`, now (its place in line is the moment the call
    arrived) or at `when` (a free slot), with the `fields` they keyed (`intake_schema.keypad_fields`). The request
    is the one definition every front uses, validated once. The history records the call; the session ends as
    booked. Raises Invalid as the intake does, naming the field at fault (a number the queue may never call, a slot
    taken meanwhile, a keyed value the definition refuses)."""
    session = _locked(session_id)
    keyed = {name: value for name, value in (fields or {}).items() if name in intake_schema.keypad_fields()}
    request = intake_schema.parse(
        queue=session.queue.slug,
        phone_number=number,
        channel=Channel.VOICE,
        origin=Origin.IVR,
        type=CallbackType.SCHEDULED if when else CallbackType.IMMEDIATE,
        desired_time=when,
        language=session.language,
        **keyed,
    )
    callback, created = create_callback(request=request, arrived_at=session.arrived_at)
    what = "callback booked in the voice menu" if created else "the open callback kept (a duplicate request)"
    record(HistoryKind.CALL, f"{_call_text(session)}: {what}", callback=callback, call=session.call_id)
    _end(session, VoiceOutcome.BOOKED)
    session.callback = callback
    session.save(update_fields=["callback"])
    return callback


@action
def do_cancel_from_voice(*, session_id: int) -> CallbackRequest | None:
    """The caller cancelled their open callback in the menu."""
    session = _locked(session_id)
    callback = open_callback_of(session)
    if callback is not None:
        callback = locked_open_callback(pk=callback.pk)  # refused once an agent works on it: the menu says so
        reason = f"{_call_text(session)}: cancelled by the caller in the voice menu"
        cancel_callback(callback, timezone.now(), actor=None, reason=reason, by_admin=False)
        session.callback = callback
        session.save(update_fields=["callback"])
    _end(session, VoiceOutcome.CANCELLED)
    return callback


def _end(session: VoiceSession, outcome: str) -> None:
    if session.ended_at is None and not session.outcome:
        session.outcome = outcome
        session.save(update_fields=["outcome"])


@action
def do_settle_voice(*, session_id: int, outcome: str) -> None:
    """The menu's verdict before the call ends (kept the open callback, no key, no valid number); the first
    verdict stays."""
    _end(_locked(session_id), outcome)


@action
def do_end_voice_session(*, line: str, call_id: str) -> VoiceSession | None:
    """The call ended: its line is free. A session with no verdict yet ends as "hung up before confirming", and
    nothing else is left behind."""
    session = VoiceSession.objects.select_for_update().filter(call_id=call_id, line=line, ended_at__isnull=True).first()
    if session is None:
        return None
    session.ended_at = timezone.now()
    session.outcome = session.outcome or VoiceOutcome.HUNG_UP
    session.save(update_fields=["ended_at", "outcome"])
    return session


@action
def do_free_voice_lines() -> int:
    """The application (re)started: no call it had is still with it."""
    return VoiceSession.objects.filter(ended_at__isnull=True).update(ended_at=timezone.now(), outcome=VoiceOutcome.FAILED)


# --- Customer-first dialling ----------------------------------------------------------------------------------------
# A due callback of a customer-first queue is not offered to an agent: the voice application calls the customer
# (`do_dial_next_customer`), asks "press 1 to be connected, 2 for another time", and a customer who presses 1 is
# offered to agents as "Customer on the line" (`do_customer_on_line`). Accept hands the customer to the agent's phone
# (`offers.do_accept_offer` sets `refer_to`; the application REFERs the customer there).

NEW_TIME_AFTER = timedelta(minutes=15)  # the earliest new time booked when no agent took the customer in time


def voice_language(code: str) -> str:
    return code if code in dict(VOICE_LANGUAGES) else "en"


@action
def do_dial_next_customer() -> VoiceSession | None:
    """The next customer a customer-first queue calls, on a free line: only while the queue is open and has more
    Ready agents with nothing to do than customers Ringback is already calling or holding. The call is an attempt
    of the callback's, in its history. None: nobody to call now."""
    now = timezone.now()
    for queue in Queue.objects.filter(active=True, dial_mode=DialMode.CUSTOMER_FIRST).select_related("calendar"):
        if not calendars.is_open(calendars.spec_for(queue), now):
            continue
        calling = VoiceSession.objects.filter(direction=Direction.OUT, ended_at__isnull=True)
        if calling.filter(queue=queue).count() >= free_agents(queue.pk, Channel.VOICE, lock=False).count():
            continue
        callback = (
            waiting_callbacks(queue.pk, Channel.VOICE, now=now, to_dial_first=True)
            .exclude(pk__in=calling.values("callback_id"))
            .first()
        )
        if callback is None:
            continue
        session = _on_a_free_line(
            call_id=f"out-{secrets.token_hex(8)}",
            queue=queue,
            dialled=callback.phone_number,
            language=voice_language(callback.language),
            arrived_at=now,
            direction=Direction.OUT,
            callback=callback,
        )
        if session is None:
            return None  # every line has a call
        callback.attempts += 1
        callback.save(update_fields=["attempts", "updated_at"])
        number, name = caller_id(queue.caller_id, queue.caller_id_name)
        shown = f"{name} <{display_phone(number)}>" if name else display_phone(number)
        record(
            HistoryKind.CALL,
            f"Calling the customer first, as {shown} (attempt {callback.attempts} of {callback.max_attempts})",
            callback=callback,
            at=now,
            call=session.call_id,
        )
        return session
    return None


def _locked_out(session_id: int) -> tuple[VoiceSession, CallbackRequest]:
    session = _locked(session_id)
    return session, CallbackRequest.objects.select_for_update().select_related("queue").get(pk=session.callback_id)


@action
def do_customer_answered(*, session_id: int) -> None:
    session, callback = _locked_out(session_id)
    session.answered_at = timezone.now()
    session.save(update_fields=["answered_at"])
    record(HistoryKind.CALL, "The customer answered Ringback's call", callback=callback, call=session.call_id)


@action
def do_customer_on_line(*, session_id: int) -> bool:
    """The customer pressed 1: offered to agents as "Customer on the line". False when the callback is no longer
    waiting (cancelled meanwhile)."""
    session, callback = _locked_out(session_id)
    if callback.state != CallbackState.QUEUED:
        return False
    callback.on_line_since = timezone.now()
    callback.save(update_fields=["on_line_since", "updated_at"])
    record(HistoryKind.CALL, "Customer on the line: pressed 1, waiting for an agent", callback=callback, call=session.call_id)
    route_on_commit(callback.queue_id, callback.channel)
    return True


@action
def do_customer_dialled_in(*, session_id: int) -> bool:
    """A customer told to call in (GMS's USERORIGINATED) called the entry number from their number: their callback
    joins the session and is offered to agents as "Customer on the line". False when they have no such callback
    waiting (the menu goes on as for any caller)."""
    session = _locked(session_id)
    callback = dial_in_callback_of(session, lock=True)
    if callback is None:
        return False
    session.callback = callback
    session.save(update_fields=["callback"])
    callback.on_line_since = timezone.now()
    callback.save(update_fields=["on_line_since", "updated_at"])
    record(
        HistoryKind.CALL,
        f"{_call_text(session)}: called in as asked, waiting for an agent",
        callback=callback,
        call=session.call_id,
    )
    route_on_commit(callback.queue_id, callback.channel)
    return True


def dial_in_callback_of(session: VoiceSession, *, lock: bool = False) -> CallbackRequest | None:
    """The caller's callback in the session's queue that waits for them to call in."""
    if not session.caller:
        return None
    rows = CallbackRequest.objects.select_for_update() if lock else CallbackRequest.objects
    return (
        rows.filter(queue=session.queue, phone_number=session.caller, state=CallbackState.QUEUED, customer_dials_in=True)
        .order_by("pk")
        .first()
    )


@action
def do_customer_left_line(*, session_id: int) -> None:
    """A customer who called in hung up before an agent took them: their callback stops ringing agents and waits
    for them to call again (until its window ends)."""
    session, callback = _locked_out(session_id)
    _end(session, VoiceOutcome.LEFT)
    if callback.state not in (CallbackState.QUEUED, CallbackState.OFFERED) or callback.on_line_since is None:
        return
    callback.on_line_since = None
    callback.save(update_fields=["on_line_since", "updated_at"])
    until = f" until {timezone.localtime(callback.window_end):%H:%M}" if callback.window_end else ""
    said = f"The customer hung up before an agent took them; they may call in again{until}"
    if callback.state == CallbackState.OFFERED:
        take_back_offer(callback, timezone.now(), message=said)  # the ringing offer ends; back in line, unoffered
    else:
        record(HistoryKind.CALL, said, callback=callback, call=session.call_id)


@action
def do_customer_unreached(*, session_id: int, outcome: str) -> CallbackRequest:
    """Ringback's call did not reach the customer (busy, no answer, no key: an answering machine presses none,
    failed), or the customer hung up before an agent took them: the queue's retry rules apply (the delay of the
    rule for that outcome; "ask the agent" has no agent here, so it retries after its delay too), until the
    attempts are used."""
    now = timezone.now()
    session, callback = _locked_out(session_id)
    _end(
        session,
        {CallOutcome.BUSY: VoiceOutcome.BUSY, CallOutcome.FAILED: VoiceOutcome.FAILED}.get(outcome, VoiceOutcome.NO_ANSWER),
    )
    if callback.state not in (CallbackState.QUEUED, CallbackState.OFFERED):
        return callback  # an agent has it, or it closed meanwhile
    rung = withdraw_open_offer(callback, now)
    callback.on_line_since = None
    label = CallOutcome(outcome).label
    rule = retry_rule_for(callback.queue_id, outcome)
    exhausted = callback.attempts >= callback.max_attempts
    when = None if exhausted else retry_time(callback, rule, now)
    if exhausted or when is None:
        callback.outcome = f"Attempts exhausted: {label.lower()}" if exhausted else f"{label}; no open time left for a retry"
        transition(
            callback, CallbackEvent.DIAL_FAIL, now=now, message=callback.outcome, notify=rung, fields=["outcome", "on_line_since"]
        )
        return callback
    callback.desired_time, callback.enqueued_at = when, None
    at = timezone.localtime(when).strftime("%a %d %b %H:%M")
    transition(
        callback,
        CallbackEvent.DIAL_RETRY,
        now=now,
        message=f"{label} (Ringback called first): automatic retry at {at}, attempt {callback.attempts + 1} of {callback.max_attempts}",
        notify=rung,
        fields=["desired_time", "enqueued_at", "on_line_since"],
        retry_at=when.isoformat(),
    )
    return callback


def _move(session: VoiceSession, callback: CallbackRequest, when: datetime, now: datetime, by: str) -> None:
    callback.on_line_since = None
    callback.customer_dials_in = False  # from now on Ringback calls them
    callback.save(update_fields=["on_line_since", "customer_dials_in"])
    move_callback(callback, when, now, actor=None, by=by)


@action
def do_move_from_voice(*, session_id: int, when: datetime) -> CallbackRequest:
    """The customer pressed 2 on Ringback's call and chose a free slot. Raises Invalid when it is taken meanwhile."""
    session, callback = _locked_out(session_id)
    callback = locked_open_callback(pk=callback.pk)
    _move(session, callback, when, timezone.now(), by="the customer on Ringback's call")
    _end(session, VoiceOutcome.MOVED)
    return callback


@action
def do_customer_hold_expired(*, session_id: int) -> datetime | None:
    """No agent took the customer within the queue's hold limit: the customer hears an apology, and a new time is
    booked (the first free slot from a quarter of an hour on). None when an agent took them meanwhile."""
    now = timezone.now()
    session, callback = _locked_out(session_id)
    if session.refer_to or callback.state not in (CallbackState.QUEUED, CallbackState.OFFERED):
        return None
    callback = locked_open_callback(pk=callback.pk)
    free = calendars.free_slots(callback.queue, now + NEW_TIME_AFTER, now + timedelta(days=14), excluding=callback.pk, limit=200)
    when = free[0].start if free else now + NEW_TIME_AFTER
    _move(session, callback, when, now, by=f"Ringback: no agent within {callback.queue.customer_hold_seconds} s")
    _end(session, VoiceOutcome.APOLOGISED)
    return when


@action
def do_customer_handed_over(*, session_id: int) -> None:
    """The customer's phone took the REFER towards the agent: the voice line is done with them."""
    _end(_locked(session_id), VoiceOutcome.CONNECTED)
