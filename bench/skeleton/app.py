"""The skeleton's URLs, views, consumer and ASGI application (see `bench.cpu`)."""

from asgiref.sync import async_to_sync
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.asgi import get_asgi_application
from django.db import transaction
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

User = get_user_model()


@require_POST
def step(request, name: str) -> HttpResponse:
    """One trivial UPDATE, and a push to the user's group once it commits."""
    uid = request.user.pk
    with transaction.atomic():
        User.objects.filter(pk=uid).update(last_login=timezone.now())
        transaction.on_commit(
            lambda: async_to_sync(get_channel_layer().group_send)(f"u{uid}", {"type": "push", "step": name, "id": uid})
        )
    return HttpResponse(status=204)


urlpatterns = [path("<str:name>/", step)]


def render(message: dict) -> str:
    """One read by primary key, one small partial."""
    return render_to_string("card.html", {"user": User.objects.only("username").get(pk=message["id"]), "step": message["step"]})


def acknowledge(uid: int) -> None:
    User.objects.filter(pk=uid).update(last_login=timezone.now())


render_off_thread = database_sync_to_async(render, thread_sensitive=False)
acknowledge_off_thread = database_sync_to_async(acknowledge, thread_sensitive=False)


class Pushes(AsyncWebsocketConsumer):
    async def connect(self):
        self.uid = self.scope["user"].pk
        await self.channel_layer.group_add(f"u{self.uid}", self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(f"u{self.uid}", self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        await acknowledge_off_thread(self.uid)

    async def push(self, message):
        await self.send(text_data=await render_off_thread(message))


application = ProtocolTypeRouter(
    {"http": get_asgi_application(), "websocket": AuthMiddlewareStack(URLRouter([path("ws/", Pushes.as_asgi())]))}
)


def fixtures() -> str:
    """One user, logged in: the session's key."""
    user = User.objects.create_user("skeleton", password="skeleton-password-1")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session.create()
    return session.session_key
