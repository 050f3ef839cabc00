"""Authentication that loads the agent profile and the Agent role with the user: one query per request, not three."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Exists, OuterRef, Q

from .prepared import Prepared


def work_permission_of(user_ref) -> Exists:
    """Whether the user holds `callbacks.work_callbacks`, directly or through a group (the Agent role)."""
    perms = Permission.objects.filter(content_type__app_label="callbacks", codename="work_callbacks")
    return Exists(perms.filter(Q(user=user_ref) | Q(group__user=user_ref)))


class AgentBackend(ModelBackend):
    """Django's model backend; the user of a session comes with its agent profile (`user.agent`) and whether they
    hold the Agent role (`user.can_work`, read by `models.may_work`)."""

    def get_user(self, user_id):
        try:
            user = SESSION_USER.first(user_id=int(user_id))
        except (TypeError, ValueError):
            return None
        return user if user is not None and self.user_can_authenticate(user) else None


# Every request of a signed-in user reads it: compiled once per process.
SESSION_USER = Prepared(
    lambda user_id: (
        get_user_model()
        ._default_manager.select_related("agent")
        .annotate(can_work=work_permission_of(OuterRef("pk")))
        .filter(pk=user_id)
        .order_by()[:1]
    ),
    user_id="id",
)
