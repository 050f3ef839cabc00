"""The three roles, as Django groups carrying permissions, kept in shape after every migrate.

- **Agent**: works callbacks in the workspace (`callbacks.work_callbacks`). Making someone an agent (an Agent
  profile) puts them in this group; taking them out of it stops their work at the next request.
- **Supervisor**: the live board, the work list and its bulk actions, forcing agents Not Ready or out, and the
  reports, for the queues that name them as supervisors (`Queue.supervisors`).
- **Admin**: everything a Supervisor can, on every queue (`callbacks.all_queues`), plus configuration in Django
  admin (every model permission of Ringback, users and groups, and users' second-factor devices). Admin users also need "staff status" to open admin.

The permission checks themselves are getters next to the models (`queues_for`, `get_callback_for_supervisor`,
`get_agent_for_supervisor`, `may_work`). Permissions added to a group by hand are kept; missing ones are added back.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_migrate, post_save

from . import lifecycle
from .enums import Role
from .models import Agent

AGENT, SUPERVISOR, ADMIN = Role.AGENT.value, Role.SUPERVISOR.value, Role.ADMIN.value

SUPERVISOR_PERMISSIONS = ("supervise", "manage_callbacks", "manage_agents")


def role_permissions() -> dict[str, Q]:
    ringback = Q(content_type__app_label="callbacks")
    return {
        AGENT: ringback & Q(codename="work_callbacks"),
        SUPERVISOR: ringback & Q(codename__in=SUPERVISOR_PERMISSIONS),
        # Users and groups, and the users' second factors (an admin resets the app of someone who lost their phone).
        ADMIN: (ringback & ~Q(codename="work_callbacks")) | Q(content_type__app_label__in=["auth", "otp_totp", "otp_static"]),
    }


def ensure_roles(**kwargs) -> None:
    """Create the three groups and give them their permissions (idempotent; after every migrate)."""
    for name, perms in role_permissions().items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(perms))


def join_agent_role(sender, instance: Agent, created: bool, raw: bool = False, **kwargs) -> None:
    """A new Agent profile puts its user in the Agent group."""
    if created and not raw:
        group, _ = Group.objects.get_or_create(name=AGENT)
        if not group.permissions.exists():
            ensure_roles()
        instance.user.groups.add(group)


def deactivated(sender, instance, created: bool, raw: bool = False, update_fields=None, **kwargs) -> None:
    """A user made inactive (in admin) is logged out at once: offers move on, their pages' sockets close."""
    if created or raw or instance.is_active or not Agent.objects.filter(user_id=instance.pk).exists():
        return
    transaction.on_commit(lambda: lifecycle.do_log_out(user=instance, why="was deactivated"))


def connect(app_config) -> None:
    post_migrate.connect(ensure_roles, sender=app_config, dispatch_uid="ringback-roles")
    post_save.connect(join_agent_role, sender=Agent, dispatch_uid="ringback-agent-role")
    post_save.connect(deactivated, sender=get_user_model(), dispatch_uid="ringback-deactivated")
