from django.conf import settings
from django.db import models


class Claims(models.Model):
    """What the provider says about a user besides who they are: their groups, and their queues (null: no claim)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="claims")
    groups = models.JSONField(default=list)
    queues = models.JSONField(null=True)

    def __str__(self) -> str:
        return f"claims of {self.user}"
