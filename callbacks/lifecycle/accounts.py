"""Accounts: the roles and queues a user's identity provider gives them, applied at each single sign-on.

Owns: `do_apply_provider_roles`. The claims are read and checked by `callbacks.identity`; this module only writes
what they decided, in one transaction, and ends what a role taken away gave (as logout does).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group

from ..enums import HistoryKind, Role
from ..models import Agent, Queue, agent_of
from ..push import end_boards_on_commit
from .presence import end_session
from .transitions import action, record


@action
def do_apply_provider_roles(
    *, user_id: int, roles: frozenset[str], queues: list[str] | None, display_name: str
) -> AbstractBaseUser:
    """The user signed in through the identity provider: their Ringback roles become exactly `roles` (the provider's
    groups, mapped). The Agent role comes with an Agent profile (made on first need, kept when the role goes: history
    names it); the Admin role with staff status for Django admin (never superuser). `queues` (the queues claim's
    slugs; None when the provider sent none) become the Agent's queues and the queues the user supervises; without
    the claim they stay as an admin set them. A role taken away ends what it gave at once: without the Agent role the
    agent's channels are Logged Out, their offers go to someone else and their pages' sockets close, as at logout;
    without the Supervisor or Admin role their open boards close. Returns the user."""
    user = get_user_model()._default_manager.select_for_update().get(pk=user_id)
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in Role.values}
    held = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
    agent = agent_of(user)
    created = Role.AGENT in roles and agent is None
    if created:
        agent = Agent.objects.create(user=user, display_name=display_name or user.get_username())
    for name, group in groups.items():
        (user.groups.add if name in roles else user.groups.remove)(group)
    if user.is_staff != (Role.ADMIN in roles):
        user.is_staff = Role.ADMIN in roles
        user.save(update_fields=["is_staff"])
    if queues is not None:
        claimed = list(Queue.objects.filter(slug__in=queues))
        if agent is not None and Role.AGENT in roles:
            agent.queues.set(claimed)
        user.supervised_queues.set(claimed if Role.SUPERVISOR in roles else [])
    if agent is not None and Role.AGENT in held and Role.AGENT not in roles:
        end_session(agent, actor=user, why="lost the Agent role at the identity provider")
    if (held & {Role.SUPERVISOR, Role.ADMIN}) - roles:
        end_boards_on_commit(user.pk)  # their open boards close, and reload showing what they may see now
    if held != set(roles) or created:
        # The audit trail keeps who gained or lost a role through the provider, as it keeps admin's changes.
        now = ", ".join(r for r in Role.values if r in roles) or "none"
        record(
            HistoryKind.CONFIG,
            f"Single sign-on: {user.get_username()}'s roles are now {now}",
            agent=agent,
            actor=user,
            roles=sorted(roles),
            before=sorted(held),
            queues=queues,
        )
    return user
