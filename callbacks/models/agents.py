from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models

from ..enums import AgentStatus, Channel
from .config import TIMEZONE_CHOICES, NotReadyReason, Queue


class Agent(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    display_name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, choices=TIMEZONE_CHOICES, default="Europe/Paris")
    queues = models.ManyToManyField(Queue, related_name="agents", blank=True)
    voice_enabled = models.BooleanField(default=True)
    web_callback_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def enabled_channels(self) -> list[str]:
        channels = []
        if self.voice_enabled:
            channels.append(Channel.VOICE)
        if self.web_callback_enabled:
            channels.append(Channel.WEB_CALLBACK)
        return channels


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
