from collections.abc import Mapping
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import CharField, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.utils.translation import gettext

from ..channels import ROUTED
from ..enums import AgentStatus, Channel, Language
from ..errors import DomainError, Refused
from .config import TIMEZONE_CHOICES, NotReadyReason, Queue, queues_for, require_supervisor


class Agent(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    display_name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, choices=TIMEZONE_CHOICES, default="Europe/Paris")
    queues = models.ManyToManyField(Queue, related_name="agents", blank=True)
    language = models.CharField(
        max_length=8, choices=Language.choices, blank=True, help_text="The workspace's language. Empty: the centre's own."
    )

    class Meta:
        ordering = ["display_name"]
        permissions = [
            ("work_callbacks", "Can work callbacks in the agent workspace (the Agent role)"),
            ("manage_agents", "Can set agents of supervised queues Not Ready or log them out"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def enabled_channels(self) -> list[str]:
        """The channels the agent works (one statement; `channels_of` when their status rows are in hand)."""
        return channels_of({row.channel: row for row in self.statuses.all()})


def channels_worked(enabled: Mapping[str, bool]) -> list[str]:
    """The channels an agent works, in the registry's order (`callbacks.channels`): every channel with a Ready state,
    unless the agent's status row on it says otherwise (`enabled`, by channel; a channel without a row is worked)."""
    return [c.key for c in ROUTED if enabled.get(c.key, True)]


def channels_of(rows: Mapping[str, "AgentChannelStatus"]) -> list[str]:
    """The channels an agent works, from their status rows by channel."""
    return channels_worked({channel: row.enabled for channel, row in rows.items()})


def may_work(user) -> bool:
    """Whether the user holds the Agent role. `callbacks.auth.AgentBackend` reads it with the user (`can_work`, no
    extra statement); a user loaded any other way asks Django's permission cache."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    known = getattr(user, "can_work", None)
    if known is not None:
        return bool(known) or user.is_superuser
    return user.has_perm("callbacks.work_callbacks")


def person_name(user) -> str:
    """A user as the trail and messages name them: their full name, else their username."""
    return user.get_full_name() or user.get_username()


def person_name_sql(path: str = ""):
    """`person_name` in SQL, for the user at `path` ("monitoring__supervisor__"): read in the statement that needs it."""
    full = Trim(Concat(f"{path}first_name", Value(" "), f"{path}last_name", output_field=CharField()))
    return Coalesce(NullIf(full, Value("")), f"{path}username", output_field=CharField())


def agents_for(user, perm: str = "callbacks.manage_agents"):
    """The agents of the queues `user` supervises with `perm`."""
    return Agent.objects.filter(queues__in=queues_for(user, perm)).distinct()


def get_agent_for_supervisor(user, agent_id: int, perm: str = "callbacks.manage_agents") -> Agent:
    """The agent, when they work in a queue `user` supervises; 404 or 403 otherwise."""
    require_supervisor(user, perm)
    agent = Agent.objects.select_related("user").filter(pk=agent_id).first()
    if agent is None:
        raise DomainError(gettext("That agent does not exist."), status=404, code="not_found")
    if not agents_for(user, perm).filter(pk=agent.pk).exists():
        raise Refused(gettext("This agent works in no queue you supervise."))
    return agent


def agent_for_user(user) -> Agent | None:
    """The user's agent profile while they hold the Agent role; None otherwise."""
    return agent_of(user) if may_work(user) else None


def agent_of(user) -> Agent | None:
    """The user's agent profile, or None. Loaded with the user by `callbacks.auth.AgentBackend`, otherwise
    fetched once and kept on the user object (Django caches a reverse one-to-one, a missing one too)."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.agent
    except Agent.DoesNotExist:
        return None


class AgentChannelStatus(models.Model):
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="statuses")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    status = models.CharField(max_length=20, choices=AgentStatus.choices, default=AgentStatus.LOGGED_OUT)
    reason = models.ForeignKey(NotReadyReason, null=True, blank=True, on_delete=models.PROTECT)
    since = models.DateTimeField()
    # After Call Work with an admin-set timer ends by itself at this time.
    until = models.DateTimeField(null=True, blank=True)
    # Idle since the agent's last interaction on this channel ended or since Ready, whichever is later:
    # routing offers work to the longest idle Ready agent first.
    idle_since = models.DateTimeField(null=True, blank=True)
    # The agent works this channel (admin → Agent → Channels). Not: their only status on it is Logged Out.
    enabled = models.BooleanField("works this channel", default=True)

    class Meta:
        ordering = ["agent", "channel"]
        constraints = [models.UniqueConstraint(fields=["agent", "channel"], name="one_status_per_agent_channel")]
        indexes = [
            models.Index(fields=["channel", "status", "idle_since"], name="status_longest_idle"),
            models.Index(fields=["status", "until"], name="status_timer"),
        ]
        verbose_name_plural = "agent channel statuses"

    def __str__(self) -> str:
        return f"{self.agent} {self.get_channel_display()}: {self.get_status_display()}"
