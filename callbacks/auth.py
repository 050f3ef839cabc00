"""Authentication that loads the agent profile with the user: one query per request instead of two."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class AgentBackend(ModelBackend):
    """Django's model backend; the user of a session comes with its agent profile (`user.agent`)."""

    def get_user(self, user_id):
        user = get_user_model()._default_manager.select_related("agent").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
