"""The skeleton desk's two tables (`bench.skeleton.desk`): who is Ready, and the callbacks offered to them."""

from django.conf import settings
from django.db import models


class Desk(models.Model):
    """An agent: Ready or not, busy or free, and since when free (the longest-idle agent is offered first)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE)
    ready = models.BooleanField(default=False)
    busy = models.BooleanField(default=False)
    idle_since = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["ready", "busy", "idle_since"])]

    def __str__(self) -> str:
        return f"desk {self.pk}"


class Call(models.Model):
    """A callback: waiting (no agent free), offered to an agent, accepted, or done."""

    phone_number = models.CharField(max_length=32)
    customer_name = models.CharField(max_length=100)
    agent = models.ForeignKey(Desk, null=True, on_delete=models.SET_NULL)
    state = models.CharField(max_length=10, default="waiting", db_index=True)
    acknowledged = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"call {self.pk} ({self.state})"
