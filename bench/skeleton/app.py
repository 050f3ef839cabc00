"""The skeleton's URLs, views, consumer and ASGI application (see `bench.cpu`)."""

from asgiref.sync import async_to_sync
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer
from channels.layers import get_channel_layer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.asgi import get_asgi_application
from django.db import transaction
from django.http import HttpResponse, HttpResponseNotAllowed
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import desk

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


async def step_async(request, name: str) -> HttpResponse:
    """The same step as an async view: the user and the UPDATE through the async ORM, the push awaited."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    uid = (await request.auser()).pk
    await User.objects.filter(pk=uid).aupdate(last_login=timezone.now())
    await get_channel_layer().group_send(f"u{uid}", {"type": "push", "step": name, "id": uid})
    return HttpResponse(status=204)


class OneThreadMiddleware:
    """Last and sync only, as Ringback's: the whole chain and the view run in one thread per request."""

    sync_capable, async_capable = True, False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


urlpatterns = [
    path("api/v1/callbacks", desk.intake),
    path("status/", desk.status),
    path("offers/<int:pk>/accept/", desk.accept),
    path("interactions/<int:pk>/done/", desk.done),
    path("<str:name>/", step_async if settings.FORM == "async" else step),
]


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


class PushesAsync(Pushes):
    """The read through the async ORM, the render on the event loop."""

    async def receive(self, text_data=None, bytes_data=None):
        await User.objects.filter(pk=self.uid).aupdate(last_login=timezone.now())

    async def push(self, message):
        user = await User.objects.only("username").aget(pk=message["id"])
        await self.send(text_data=render_to_string("card.html", {"user": user, "step": message["step"]}))


class PushesSync(WebsocketConsumer):
    """A synchronous consumer: channels runs each event in a thread."""

    def connect(self):
        self.uid = self.scope["user"].pk
        async_to_sync(self.channel_layer.group_add)(f"u{self.uid}", self.channel_name)
        self.accept()

    def disconnect(self, code):
        async_to_sync(self.channel_layer.group_discard)(f"u{self.uid}", self.channel_name)

    def receive(self, text_data=None, bytes_data=None):
        acknowledge(self.uid)

    def push(self, message):
        self.send(text_data=render(message))


CONSUMER = {"async": PushesAsync, "sync-consumer": PushesSync}.get(settings.FORM, Pushes)
application = ProtocolTypeRouter(
    {
        "http": get_asgi_application(),
        "websocket": AuthMiddlewareStack(
            URLRouter([path("ws/", CONSUMER.as_asgi()), path("ws/agent/", desk.DeskSocket.as_asgi())])
        ),
    }
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
