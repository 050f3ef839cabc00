"""How every action writes: the durable transaction, the history row, and the one callback transition helper.

Owns: `action` (each action runs in its own durable transaction), `record`
(one append-only history row), `transition` (every change of a callback's
state, checked against `callbacks/callbackstate.py`), and the look-ups that
lock what an acting agent may touch (`acting_agent`, `locked_interaction_for`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from .. import callbackstate
from ..enums import CallbackEvent, CloseReason, HistoryKind, InteractionState
from ..errors import DomainError, Refused
from ..models import Agent, CallbackRequest, Contact, HistoryEvent, Interaction, agent_of, may_work
from ..prepared import Prepared
from ..push import ENTITY_EVENTS, ENTITY_KIND, Push, push_board_on_commit, push_on_commit


def action(fn):
    """Run the action in a durable transaction: actions never nest."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with transaction.atomic(durable=True):
            return fn(*args, **kwargs)

    return wrapper


def record(
    kind: HistoryKind,
    message: str,
    *,
    callback: CallbackRequest | None = None,
    contact: Contact | None = None,
    agent: Agent | None = None,
    actor: AbstractBaseUser | None = None,
    about: AbstractBaseUser | None = None,
    at: datetime | None = None,
    **data: Any,
) -> HistoryEvent:
    """Append one history row: what happened, to which callback or contact, by whom (`actor`), and about which
    user besides the agent (`about`: a monitoring session's supervisor)."""
    return HistoryEvent.objects.create(
        callback=callback,
        contact_id=callback.contact_id if callback else (contact.pk if contact else None),
        agent=agent,
        actor=actor if actor is not None and actor.is_authenticated else None,
        about=about,
        kind=kind,
        message=message[:500],
        data=data,
        at=at or timezone.now(),
    )


def transition(
    callback: CallbackRequest,
    event: CallbackEvent,
    *,
    now: datetime,
    message: str,
    agent: Agent | None = None,
    actor: AbstractBaseUser | None = None,
    notify: Iterable[int] = (),
    fields: Iterable[str] = (),
    close_reason: CloseReason | None = None,
    offer_entity: int | None = None,
    interaction_entity: int | None = None,
    **data: Any,
) -> HistoryEvent:
    """Move `callback` (locked by the caller, or new and unsaved) along `event`.

    Refused (DomainError) when the lifecycle table has no such edge. Saves the
    state with the other `fields` the caller changed, records the table's
    history kind, and pushes the table's events to the `notify` agents (an
    offer event naming `offer_entity`, an interaction event naming
    `interaction_entity`: their page renders that card or window alone, see
    `desk_push`).
    """
    rule = callbackstate.TRANSITIONS[event]
    new = callback.pk is None
    before = None if new else callback.state
    callback.state = callbackstate.target_of(event, before)
    if rule.closes:
        callback.closed_at = now
        callback.close_reason = close_reason or rule.closes
    if new:
        callback.save()
    else:
        extra = {"closed_at", "close_reason"} if rule.closes else set()
        callback.save(update_fields=["state", "updated_at", *extra, *fields])
    row = record(rule.records, message, callback=callback, agent=agent, actor=actor, at=now, state=callback.state, **data)
    for agent_id in notify:
        for push in rule.pushes:
            named = {"offer": offer_entity, "interaction": interaction_entity}.get(ENTITY_KIND.get(push, ""))
            narrow, entity = desk_push(push, callback, agent_id, named)
            push_on_commit(narrow, agent_ids=[agent_id], entity=entity)
    push_board_on_commit([callback.queue_id])
    return row


# The narrow events, and what each becomes on the desk of the agent who owns the callback (My callbacks lists it).
WHOLE_DESK = {Push.INTERACTION_OPENED: Push.INTERACTION_CHANGED, Push.INTERACTION_CLOSED: Push.INTERACTION_CHANGED}


def desk_push(push: Push, callback: CallbackRequest, agent_id: int, entity: int | None = None) -> tuple[Push, int | None]:
    """The event (and the offer or interaction it names) that `push` about `callback` is on `agent_id`'s desk:
    narrow, unless the callback is theirs, whose state My callbacks shows too."""
    if callback.owner_id == agent_id:
        return WHOLE_DESK.get(push, push), None
    return push, entity if push in ENTITY_EVENTS else None


def acting_agent(user: AbstractBaseUser) -> Agent:
    """The agent profile of the user acting; refused for anyone else."""
    agent = agent_of(user)
    if agent is None or not may_work(user):
        raise Refused(gettext("Only agents can do this."))
    return agent


LOCKED_INTERACTION = Prepared.locked_row(Interaction, "callback__queue", "agent")  # every action on a window reads it so


def locked_own(rows: QuerySet, user: AbstractBaseUser, pk: int, *, missing: str):
    """The user's own row among an agent's `rows` (an e-mail, a text conversation), locked with its `agent`.
    Another agent's is a 404 saying `missing`, as if it did not exist."""
    row = rows.select_for_update(of=("self",)).select_related("agent").filter(pk=pk).first()
    if row is None or row.agent.user_id != user.pk:
        raise DomainError(missing, status=404)
    return row


def locked_interaction_for(user: AbstractBaseUser, interaction_id: int) -> Interaction:
    """The user's own open interaction, locked; 404, 403 or 409 otherwise."""
    interaction = LOCKED_INTERACTION.first(pk=interaction_id)
    if interaction is None:
        raise DomainError(gettext("That interaction does not exist."), status=404)
    if interaction.agent.user_id != user.pk:
        raise Refused(gettext("This interaction belongs to another agent."))
    if interaction.state != InteractionState.OPEN:
        raise DomainError(gettext("This interaction is already done."))
    return interaction
