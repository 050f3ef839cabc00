"""Presence: each agent's status per channel (Ready, Not Ready with a reason, After Call Work, Logged Out), login and logout.

Owns: `change_status` (the only writer of an agent's channel status; going
Ready starts the idle clock and routes the agent's queues), `mark_idle`
(an interaction ended), the agent's own status actions, and their workspace's language.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext

from .. import configuration
from ..enums import AgentStatus, Channel, HistoryKind, Language, MonitorEnd
from ..errors import Invalid
from ..models import Agent, AgentChannelStatus, NotReadyReason, agent_for_user, agent_of, channels_of
from ..push import Push, push_board_on_commit, push_on_commit
from .lines import end_monitoring_by
from .offers import route_agent_on_commit, withdraw_agent_offers
from .transitions import acting_agent, action, record

SETTABLE_STATUSES = (AgentStatus.READY, AgentStatus.NOT_READY, AgentStatus.AFTER_CALL_WORK)


def change_status(
    agent: Agent,
    channel: str,
    status: str,
    *,
    reason: NotReadyReason | None,
    actor: AbstractBaseUser | None,
    now: datetime,
    until: datetime | None = None,
) -> AgentChannelStatus:
    """Set one channel's status (recorded and pushed). Going Ready starts the idle clock and routes at once."""
    row, _ = AgentChannelStatus.objects.select_for_update().get_or_create(agent=agent, channel=channel, defaults={"since": now})
    if not row.enabled and status != AgentStatus.LOGGED_OUT:
        raise Invalid(gettext("That channel is not enabled for you."), field="channel")
    if row.status == status and row.reason_id == (reason.pk if reason else None) and row.until == until:
        return row
    row.status = status
    row.reason = reason if status == AgentStatus.NOT_READY else None
    row.since = now
    if status == AgentStatus.READY:
        row.idle_since = now
    # After Call Work with an admin-set timer ends by itself at `until` (see clock.do_end_after_call_work).
    row.until = until if status == AgentStatus.AFTER_CALL_WORK else None
    row.save()
    label = AgentStatus(status).label + (f" ({reason.name})" if row.reason else "")
    record(
        HistoryKind.STATUS, f"{Channel(channel).label}: {label}", agent=agent, actor=actor, at=now, channel=channel, status=status
    )
    push_on_commit(Push.STATUS_CHANGED, agent_ids=[agent.pk])
    push_board_on_commit(agents=True)
    if status == AgentStatus.READY:
        route_agent_on_commit(agent.pk, channel)
    return row


def mark_idle(agent: Agent, channel: str, now: datetime, *, status_needed: bool = True) -> str | None:
    """The agent's interaction on `channel` ended: they are idle from now. Returns their current status
    (read and locked only when the caller needs it: one statement otherwise)."""
    if not status_needed:
        AgentChannelStatus.objects.filter(agent=agent, channel=channel).update(idle_since=now)
        return None
    row = AgentChannelStatus.objects.select_for_update().filter(agent=agent, channel=channel).first()
    if row is None:
        return None
    row.idle_since = now
    row.save(update_fields=["idle_since"])
    return row.status


def status_of(agent: Agent, channel: str) -> str | None:
    return AgentChannelStatus.objects.filter(agent=agent, channel=channel).values_list("status", flat=True).first()


@action
def do_set_status(*, user: AbstractBaseUser, channel: str, status: str, reason_id: int | None = None) -> AgentChannelStatus:
    """The agent changed their status on one channel (Ready, Not Ready with a reason, After Call Work)."""
    agent = acting_agent(user)
    if channel not in Channel.values:  # (one the agent does not work is refused by change_status, on its locked row)
        raise Invalid(gettext("That channel is not enabled for you."), field="channel")
    if status not in SETTABLE_STATUSES:
        raise Invalid(gettext("Choose Ready, Not Ready or After Call Work."), field="status")
    reason = None
    if status == AgentStatus.NOT_READY and reason_id:
        reason = NotReadyReason.objects.filter(pk=reason_id, active=True, system="").first()
        if reason is None:
            raise Invalid(gettext("That Not Ready reason is not available."), field="reason")
    now = timezone.now()
    if status != AgentStatus.READY:
        # An agent who steps away hands a ringing callback to someone else at once.
        withdraw_agent_offers(agent, now, message=f"{agent} went {AgentStatus(status).label}", channel=channel)
    return change_status(agent, channel, status, reason=reason, actor=user, now=now)


@action
def do_set_language(*, user: AbstractBaseUser, language: str) -> Agent:
    """The agent chose their workspace's language (empty: the centre's own)."""
    agent = acting_agent(user)
    if language and language not in Language.values:
        raise Invalid(gettext("That language is not available."), field="language")
    Agent.objects.filter(pk=agent.pk).update(language=language)
    configuration.changed_on_commit()  # the profile every process keeps for the agent's pushes (an update sends no signal)
    agent.language = language
    return agent


@action
def do_log_in(*, user: AbstractBaseUser) -> None:
    """The agent logged in: logged-out channels become Not Ready, never Ready by surprise. A user whose Agent role
    was taken away (their profile stays) is no agent: their channels stay Logged Out."""
    agent = agent_for_user(user)
    if agent is None:
        return
    now = timezone.now()
    rows = {row.channel: row for row in AgentChannelStatus.objects.filter(agent=agent)}
    for channel in channels_of(rows):
        row = rows.get(channel)
        if row is None or row.status == AgentStatus.LOGGED_OUT:
            change_status(agent, channel, AgentStatus.NOT_READY, reason=None, actor=user, now=now)


@action
def do_set_channels_worked(*, agent_id: int, channels: list[str], actor: AbstractBaseUser | None) -> list[str]:
    """An admin chose which channels the agent works (admin → Agent → Channels worked): a status row per channel
    says so. On a channel they no longer work they are Logged Out at once, and what rings for them there goes to
    someone else. The channels worked, in the registry's order."""
    agent = Agent.objects.select_for_update().get(pk=agent_id)
    unknown = set(channels) - set(Channel.values)
    if unknown:
        raise Invalid(gettext("Unknown channel: %(names)s.") % {"names": ", ".join(sorted(unknown))}, field="channels")
    now = timezone.now()
    for channel in Channel.values:
        works = channel in channels
        row, _ = AgentChannelStatus.objects.select_for_update().get_or_create(
            agent=agent, channel=channel, defaults={"since": now, "enabled": works}
        )
        if row.enabled == works:
            continue
        if not works:
            withdraw_agent_offers(agent, now, message=f"{agent} no longer works {Channel(channel).label}", channel=channel)
            change_status(agent, channel, AgentStatus.LOGGED_OUT, reason=None, actor=actor, now=now)
        AgentChannelStatus.objects.filter(pk=row.pk).update(enabled=works)
        push_on_commit(Push.STATUS_CHANGED, agent_ids=[agent.pk])
        push_board_on_commit(agents=True)
    return [c for c in Channel.values if c in channels]


@action
def do_log_out(*, user: AbstractBaseUser, actor: AbstractBaseUser | None = None, why: str = "logged out") -> None:
    """The agent logged out (or was deactivated): every channel is Logged Out, ringing offers go to someone else,
    and their open pages' sockets close at once. A supervisor's monitoring session ends (their board's call to the
    agent's page goes with their page)."""
    end_monitoring_by(user.pk, timezone.now(), MonitorEnd.LOGGED_OUT, actor=actor or user)
    agent = agent_of(user)
    if agent is not None:
        end_session(agent, actor=actor or user, why=why)


def end_session(agent: Agent, *, actor: AbstractBaseUser | None, why: str) -> None:
    """Every channel Logged Out, the agent's offers to someone else, their pages' sockets closed (after commit)."""
    now = timezone.now()
    withdraw_agent_offers(agent, now, message=f"{agent} {why}")
    for channel in Channel.values:
        change_status(agent, channel, AgentStatus.LOGGED_OUT, reason=None, actor=actor, now=now)
    push_on_commit(Push.SESSION_ENDED, agent_ids=[agent.pk])
