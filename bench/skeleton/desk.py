"""The skeleton desk: the least any Django + Channels design can do for Ringback's lifecycle under load.

Served on its own (`bench.skeleton.asgi`) with the same parts as Ringback's scaled set-up (PostgreSQL through a
pool, Redis for the channel layer, the cache and the sessions, two Daphne processes) and driven by the same
clients (`bench.latency`, `bench.connect`), it answers the same URLs with the same markers:

- the intake API (`POST /api/v1/callbacks`, a bearer token) stores a callback and offers it, in the same request,
  to the Ready agent free the longest (one locking read, one INSERT, one UPDATE), and pushes the offer;
- the socket's first frame renders the agent's desk (one read); an acknowledgement is one UPDATE; a hello is
  answered "in sync" without a read;
- Accept is one UPDATE and pushes the window; Mark Done is one UPDATE, then either the oldest waiting callback
  (one locking read, one UPDATE) or the agent freed (one UPDATE), and pushes the window's removal;
- each push renders a small partial from one read by primary key (the removal reads nothing).

No queues, skills, schedules, history, presence, versions or policies: whatever Ringback spends above this under
the same load is what its features cost; what this spends is what Django, Channels, Daphne, PostgreSQL and Redis
cost on this machine.
"""

from __future__ import annotations

import json

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import Call, Desk


def _push(uid: int, kind: str, call_id: int) -> None:
    transaction.on_commit(
        lambda: async_to_sync(get_channel_layer().group_send)(f"u{uid}", {"type": "push", "kind": kind, "id": call_id})
    )


@csrf_exempt
@require_POST
def intake(request) -> HttpResponse:
    if not constant_time_compare(request.headers.get("Authorization", ""), f"Bearer {settings.SKELETON_TOKEN}"):
        return JsonResponse({"error": "unknown token"}, status=401)
    try:
        body = json.loads(request.body)
        phone, name = str(body["phone_number"])[:32], str(body["customer_name"])[:100]
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "phone_number and customer_name are required"}, status=400)
    with transaction.atomic():
        free = Desk.objects.select_for_update(skip_locked=True).filter(ready=True, busy=False)
        desk = free.order_by("idle_since").only("pk").first()
        call = Call.objects.create(phone_number=phone, customer_name=name, agent=desk, state="offered" if desk else "waiting")
        if desk is not None:
            Desk.objects.filter(pk=desk.pk).update(busy=True)
            _push(desk.pk, "offer", call.pk)
    return JsonResponse({"id": call.pk}, status=201)


@require_POST
def status(request) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponse(status=403)
    ready = request.POST.get("status") == "ready"
    Desk.objects.filter(pk=request.user.pk).update(ready=ready, idle_since=timezone.now())
    return HttpResponse(status=204)


@require_POST
def accept(request, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponse(status=403)
    with transaction.atomic():
        if not Call.objects.filter(pk=pk, agent_id=request.user.pk, state="offered").update(state="accepted"):
            return HttpResponse(status=409)
        _push(request.user.pk, "window", pk)
    return HttpResponse(status=204)


@require_POST
def done(request, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponse(status=403)
    uid = request.user.pk
    with transaction.atomic():
        if not Call.objects.filter(pk=pk, agent_id=uid, state="accepted").update(state="done"):
            return HttpResponse(status=409)
        waiting = Call.objects.select_for_update(skip_locked=True).filter(state="waiting").order_by("pk").only("pk").first()
        if waiting is not None:
            Call.objects.filter(pk=waiting.pk).update(agent_id=uid, state="offered")
            _push(uid, "offer", waiting.pk)
        else:
            Desk.objects.filter(pk=uid).update(busy=False, idle_since=timezone.now())
        _push(uid, "closed", pk)
    return HttpResponse(status=204)


def _render(message: dict) -> str:
    if message["kind"] == "closed":
        return f'<section id="i{message["id"]}" hx-swap-oob="delete"></section>'
    call = Call.objects.only("customer_name").get(pk=message["id"])
    return render_to_string("offer.html" if message["kind"] == "offer" else "window.html", {"call": call})


def _first(uid: int) -> str:
    return render_to_string("desk.html", {"desk": Desk.objects.only("ready").get(pk=uid)})


def _acknowledge(uid: int, call_id) -> None:
    try:
        Call.objects.filter(pk=int(call_id), agent_id=uid).update(acknowledged=True)
    except (TypeError, ValueError, OverflowError):
        pass


render_push = database_sync_to_async(_render, thread_sensitive=False)
first_render = database_sync_to_async(_first, thread_sensitive=False)
acknowledge = database_sync_to_async(_acknowledge, thread_sensitive=False)


class DeskSocket(AsyncWebsocketConsumer):
    """The agent's socket: the desk's first render (or "in sync" to a hello), acknowledgements, and the pushes."""

    uid = None

    async def connect(self):
        if not self.scope["user"].is_authenticated:
            await self.close()
            return
        self.uid = self.scope["user"].pk
        await self.channel_layer.group_add(f"u{self.uid}", self.channel_name)
        await self.accept()
        if b"hello=1" not in self.scope["query_string"]:
            await self.send(text_data=await first_render(self.uid))

    async def disconnect(self, code):
        if self.uid is not None:
            await self.channel_layer.group_discard(f"u{self.uid}", self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(message, dict) and "ack" in message:
            await acknowledge(self.uid, message["ack"])
        elif isinstance(message, dict) and "hello" in message:
            await self.send(text_data='{"in_sync": true}')

    async def push(self, message):
        await self.send(text_data=await render_push(message))
