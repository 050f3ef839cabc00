"""Monitoring: a supervisor on an agent's call — Listen, Whisper, Barge — from the live board.

Owns: `do_monitor` (the supervisor clicked Listen, Whisper or Barge on an agent's row: a monitoring session on that
agent's live call), `do_monitor_mode` (switching between the three: the same session, the same SIP call, only the
mix changes), `do_leave_monitoring` (Leave: the call goes on as it was), and `open_monitoring` (the supervisor's
session now, for their board). The call's end ends its session (`lines.stop_monitoring`), and so does the supervisor
going away: their board's call to the agent's page ending or failing (`do_monitoring_line_gone`, which that board
reports), their last board closing for longer than a grace (`do_board_gone` / `do_board_back`, from the board's
socket, then `do_end_unwatched_monitoring`, the clock's sweep), and their logout (`presence.do_log_out`).

Who may: a supervisor of the queue of the agent's call (403 otherwise). One supervisor on a call at a time, and a
supervisor on one call at a time (409, with who is on it), both also held by the database's constraints. Every
start, switch and end is a history row (the audit trail: who, whom, when, which mode). The switch is told as a
durable effect (`monitor` / `end_monitor`); with the browser softphone the agent's page mixes the audio, told by the
render of its window (the session's one-time token and mode), which each of these actions pushes.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext

from ..enums import ACTIVE_CALL_STATES, MONITORED_STATES, EffectKind, HistoryKind, MonitorEnd, MonitorMode
from ..errors import DomainError, Invalid, Refused
from ..models import Agent, Call, MonitoringSession, person_name, queues_for, require_supervisor
from . import effects
from .lines import locked_monitored_call, monitoring_changed, stop_monitoring
from .transitions import action, record


def parse_mode(mode: str) -> MonitorMode:
    if mode not in MonitorMode.values:
        raise Invalid(gettext("Choose Listen, Whisper or Barge."), field="mode")
    return MonitorMode(mode)


def open_monitoring(user: AbstractBaseUser) -> MonitoringSession | None:
    """The session `user` has open now, with the agent and the call's callback (one read)."""
    return (
        MonitoringSession.objects.filter(supervisor_id=user.pk, ended_at__isnull=True)
        .select_related("agent", "call__callback__queue")
        .first()
    )


def _locked_live_call(agent: Agent) -> Call:
    call = (
        Call.objects.select_for_update(of=("self",))
        .filter(interaction__agent=agent, state__in=[s.value for s in ACTIVE_CALL_STATES])
        .select_related("callback__queue")
        .first()
    )
    if call is None or call.state not in MONITORED_STATES:
        raise DomainError(gettext("%(agent)s has no call to listen to.") % {"agent": agent}, code="no_call")
    return call


def _check_queue(user: AbstractBaseUser, call: Call) -> None:
    if not queues_for(user).filter(pk=call.callback.queue_id).exists():
        raise Refused(gettext("You do not supervise the queue of this call."))


@action
def do_monitor(*, user: AbstractBaseUser, agent_id: int, mode: str = MonitorMode.LISTEN) -> MonitoringSession:
    """The supervisor clicked Listen (or Whisper, or Barge) on an agent's row. Refused to anyone but a supervisor
    of the queue of the agent's call (403), when the agent has no connected call, when another supervisor is on it,
    or when this supervisor is on another call (409)."""
    require_supervisor(user)
    mode = parse_mode(mode)
    agent = Agent.objects.filter(pk=agent_id).first()
    if agent is None:
        raise DomainError(gettext("That agent does not exist."), status=404, code="not_found")
    call = _locked_live_call(agent)
    _check_queue(user, call)
    if call.monitoring_id is not None:
        current = MonitoringSession.objects.select_related("supervisor").get(pk=call.monitoring_id)
        if current.supervisor_id != user.pk:
            raise DomainError(
                gettext("%(supervisor)s is already on this call.") % {"supervisor": person_name(current.supervisor)},
                code="monitored",
            )
        raise DomainError(gettext("You are already on this call."), code="unchanged")
    elsewhere = MonitoringSession.objects.filter(supervisor_id=user.pk, ended_at__isnull=True).select_related("agent").first()
    if elsewhere is not None:
        raise DomainError(gettext("Leave %(agent)s's call first.") % {"agent": elsewhere.agent}, code="monitoring_elsewhere")
    now = timezone.now()
    session = MonitoringSession.objects.create(
        call=call, agent=agent, supervisor=user, mode=mode, token=secrets.token_urlsafe(24), started_at=now
    )
    call.monitoring = session
    call.save(update_fields=["monitoring"])
    record(
        HistoryKind.MONITOR,
        f"Supervisor {person_name(user)} started monitoring {agent} ({mode.label})",
        callback=call.callback,
        agent=agent,
        actor=user,
        about=user,
        at=now,
        session=session.pk,
        mode=mode.value,
        change="start",
    )
    effects.switch_command(
        EffectKind.MONITOR, call_ref=call.switch_ref, now=now, callback=call.callback, supervisor=str(user.pk), mode=mode.value
    )
    monitoring_changed(call, agent.pk)
    return session


def _locked_session(user: AbstractBaseUser, session_id: int) -> MonitoringSession:
    require_supervisor(user)
    session = (
        MonitoringSession.objects.select_for_update(of=("self",))
        .select_related("agent", "call__callback__queue")
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        raise DomainError(gettext("That monitoring session does not exist."), status=404, code="not_found")
    if session.supervisor_id != user.pk:
        raise Refused(gettext("Another supervisor is on this call."))
    if session.ended_at is not None:
        raise DomainError(gettext("This monitoring session has ended."), code="ended")
    return session


@action
def do_monitor_mode(*, user: AbstractBaseUser, session_id: int, mode: str) -> MonitoringSession:
    """The supervisor switched between Listen, Whisper and Barge: the same call, another mix. Refused on someone
    else's session (403), an ended one or the mode it is already in (409)."""
    mode = parse_mode(mode)
    session = _locked_session(user, session_id)
    _check_queue(user, session.call)
    if session.mode == mode:
        raise DomainError(gettext("Already in %(mode)s.") % {"mode": mode.label}, code="unchanged")
    now = timezone.now()
    before, session.mode = session.mode, mode
    session.save(update_fields=["mode"])
    record(
        HistoryKind.MONITOR,
        f"Supervisor {person_name(user)} switched from {MonitorMode(before).label} to {mode.label} on {session.agent}",
        callback=session.call.callback,
        agent=session.agent,
        actor=user,
        about=user,
        at=now,
        session=session.pk,
        mode=mode.value,
        before=before,
        change="mode",
    )
    effects.switch_command(
        EffectKind.MONITOR,
        call_ref=session.call.switch_ref,
        now=now,
        callback=session.call.callback,
        supervisor=str(user.pk),
        mode=mode.value,
    )
    monitoring_changed(session.call, session.agent_id)
    return session


@action
def do_leave_monitoring(*, user: AbstractBaseUser, session_id: int) -> MonitoringSession:
    """The supervisor clicked Leave: their call to the agent's page ends, the customer's call goes on as it was."""
    return _end(user, session_id, MonitorEnd.LEFT, actor=user)


def _end(user: AbstractBaseUser, session_id: int, reason: MonitorEnd, **data) -> MonitoringSession:
    """End the supervisor's session (checked and locked, then its call locked); the session as it ended."""
    session = _locked_session(user, session_id)
    stop_monitoring(locked_monitored_call(session.call_id), timezone.now(), reason, **data)
    session.refresh_from_db()
    return session


@action
def do_monitoring_line_gone(*, user: AbstractBaseUser, token: str, code: int | None = None) -> MonitoringSession:
    """The supervisor's board reports that its call to the agent's page (the session with `token`) ended from the
    far end or failed (`code`: the SIP status, if any): the agent's page hung up or refused, their browser or the
    network went away. Without that call the supervisor hears nothing, so the session ends (the audit row says
    why). Refused for a token that is not this supervisor's open session (404), or a session already ended (409)."""
    require_supervisor(user)
    found = MonitoringSession.objects.filter(token=token, supervisor_id=user.pk).values_list("pk", flat=True).first()
    if not token or found is None:
        raise DomainError(gettext("That monitoring session does not exist."), status=404, code="not_found")
    return _end(user, found, MonitorEnd.LINE_ENDED, code=code)


@action
def do_board_gone(*, user_id: int, now: datetime | None = None) -> bool:
    """The supervisor's last open board closed (its socket went: the tab closed, the network or the server went
    away). Their open session, if any, is marked; the clock ends it if no board comes back within the grace."""
    return bool(
        MonitoringSession.objects.filter(supervisor_id=user_id, ended_at__isnull=True, board_left_at__isnull=True).update(
            board_left_at=now or timezone.now()
        )
    )


@action
def do_board_back(*, user_id: int) -> bool:
    """A board of the supervisor's is open again (a reload, a reconnect): their session is no longer marked."""
    return bool(
        MonitoringSession.objects.filter(supervisor_id=user_id, ended_at__isnull=True, board_left_at__isnull=False).update(
            board_left_at=None
        )
    )


@action
def do_end_unwatched_monitoring(*, now: datetime | None = None) -> int:
    """The clock: sessions whose supervisor has had no board open for RINGBACK_MONITOR_BOARD_GRACE_SECONDS end (the
    supervisor is gone; the session would otherwise last until the call ends, refusing other supervisors, with the
    agent still told they are monitored). Returns how many ended."""
    now = now or timezone.now()
    before = now - timedelta(seconds=settings.RINGBACK_MONITOR_BOARD_GRACE_SECONDS)
    gone = list(
        MonitoringSession.objects.filter(ended_at__isnull=True, board_left_at__lte=before).values_list("pk", "call_id")[:200]
    )
    ended = 0
    for session_id, call_id in gone:
        call = locked_monitored_call(call_id)
        still = MonitoringSession.objects.select_for_update().filter(
            pk=session_id, ended_at__isnull=True, board_left_at__lte=before
        )
        if call.monitoring_id == session_id and still.exists():  # no board came back meanwhile (the call is locked)
            stop_monitoring(call, now, MonitorEnd.BOARD_CLOSED)
            ended += 1
    return ended
