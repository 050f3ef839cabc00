"""The agent websocket: authenticated, origin-checked, pushes rendered truth."""

import asyncio
import json
import re
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from callbacks.consumers import CLOSE_NOT_AN_AGENT, CLOSE_UNAUTHENTICATED, AgentConsumer
from callbacks.models import Offer
from callbacks.push import SKEW
from workspace.asgi import application

from .factories import make_callback, session_key_for, set_ready

pytestmark = pytest.mark.django_db(transaction=True)


def communicator_for(user, origin=b"http://127.0.0.1:8000"):
    app = AgentConsumer.as_asgi()
    comm = WebsocketCommunicator(app, "/ws/agent/", headers=[(b"origin", origin)])
    comm.scope["user"] = user
    return comm


async def test_anonymous_socket_is_closed_with_4401(queue):
    comm = communicator_for(AnonymousUser())
    connected, code = await comm.connect()
    assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)


async def test_non_agent_socket_is_closed_with_4403(queue):
    from django.contrib.auth import get_user_model

    user = await sync_to_async(get_user_model().objects.create_user)("outsider", password="x-123456789")
    connected, code = await communicator_for(user).connect()
    assert (connected, code) == (False, CLOSE_NOT_AN_AGENT)


async def test_foreign_origin_is_refused(alice):
    comm = WebsocketCommunicator(application, "/ws/agent/", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await comm.connect()
    assert not connected


async def test_connect_sends_the_current_state_then_pushes_new_offers(alice, queue):
    comm = communicator_for(alice.user)
    connected, _ = await comm.connect()
    assert connected
    first = await comm.receive_from(timeout=3)
    assert 'id="status"' in first and 'id="notifications"' in first
    await sync_to_async(set_ready)(alice)
    status_push = await comm.receive_from(timeout=3)
    assert "Ready" in status_push and 'id="status"' in status_push
    await sync_to_async(make_callback)(queue, customer_name="Camille Laurent")
    offer_push = await comm.receive_from(timeout=3)
    assert "Camille Laurent" in offer_push and ">Accept<" in offer_push and 'hx-swap-oob="true"' in offer_push
    await comm.disconnect()


async def test_reconnecting_socket_gets_the_truth_from_the_database(alice, queue):
    await sync_to_async(set_ready)(alice)
    await sync_to_async(make_callback)(queue, customer_name="Maya Patel")
    # The offer was made while no socket was open: a new connection shows it.
    comm = communicator_for(alice.user)
    await comm.connect()
    first = await comm.receive_from(timeout=3)
    assert "Maya Patel" in first and ">Accept<" in first
    await comm.disconnect()


async def test_the_page_acknowledges_an_offer_and_its_countdown_starts_then(alice, queue):
    comm = communicator_for(alice.user)
    await comm.connect()
    await comm.receive_from(timeout=3)
    await sync_to_async(set_ready)(alice)
    await comm.receive_from(timeout=3)
    callback = await sync_to_async(make_callback)(queue, customer_name="Camille Laurent")
    offer_push = await comm.receive_from(timeout=3)
    offer = await sync_to_async(Offer.objects.get)(callback=callback)
    assert f'name="ack" value="{offer.pk}"' in offer_push and 'data-timeout="30"' in offer_push
    stamp = re.search(r'name="shown" value="([^"]+)"', offer_push).group(1)  # when the card was rendered, signed
    await asyncio.sleep(0.3)  # the server reads the acknowledgement a moment later
    await comm.send_to(text_data=json.dumps({"ack": str(offer.pk), "shown": stamp, "HEADERS": {"HX-Request": "true"}}))
    assert await comm.receive_nothing(timeout=0.5)  # the page starts its own countdown: no render for it
    offer = await sync_to_async(Offer.objects.get)(pk=offer.pk)
    rendered_ms = int(stamp.split(":")[1])
    assert offer.delivered_at.timestamp() * 1000 == pytest.approx(rendered_ms, abs=1), "counted from the render"
    assert offer.deadline == offer.delivered_at + timedelta(seconds=30)
    await comm.send_to(text_data=json.dumps({"ack": str(offer.pk)}))  # a repeat changes nothing
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_an_agent_cannot_acknowledge_someone_elses_offer(alice, bob, queue):
    await sync_to_async(set_ready)(bob)
    callback = await sync_to_async(make_callback)(queue)
    offer = await sync_to_async(Offer.objects.get)(callback=callback)
    comm = communicator_for(alice.user)
    await comm.connect()
    await comm.receive_from(timeout=3)
    await comm.send_to(text_data=json.dumps({"ack": str(offer.pk)}))
    await comm.send_to(text_data="not json")  # asks for a resync, never a crash
    assert 'id="status"' in await comm.receive_from(timeout=3)
    assert (await sync_to_async(Offer.objects.get)(pk=offer.pk)).delivered_at is None
    await comm.disconnect()


def hello_communicator(user):
    comm = WebsocketCommunicator(AgentConsumer.as_asgi(), "/ws/agent/?hello=1", headers=[(b"origin", b"http://127.0.0.1:8000")])
    comm.scope["user"] = user
    return comm


async def test_a_page_that_says_hello_is_rendered_again_only_if_something_changed_since(alice, queue):
    await sync_to_async(set_ready)(alice)  # a change: recorded before its push
    stale = hello_communicator(alice.user)
    assert (await stale.connect())[0]
    assert await stale.receive_nothing(timeout=0.2)  # the page speaks first
    await stale.send_to(text_data=json.dumps({"hello": time.time() - 60}))  # shown since before the change
    frame = await stale.receive_from(timeout=3)
    assert 'id="status"' in frame and 'id="notifications"' in frame and 'id="synced"' in frame
    await stale.disconnect()

    current = hello_communicator(alice.user)
    assert (await current.connect())[0]
    await current.send_to(text_data=json.dumps({"hello": time.time() + SKEW + 1}))  # shown since after it
    frame = await current.receive_from(timeout=3)
    assert 'id="synced"' in frame and 'id="status"' not in frame  # only "you are in sync"
    await sync_to_async(make_callback)(queue, customer_name="Camille Laurent")  # pushes still arrive
    assert "Camille Laurent" in await current.receive_from(timeout=3)
    await current.disconnect()


async def test_a_hello_that_cannot_be_trusted_gets_a_full_render(alice, queue):
    for hello in ('{"hello": 0}', '{"hello": "soon"}', '{"hello": null, "x": 1}', '{"hello": NaN}', '{"hello": -1}'):
        comm = hello_communicator(alice.user)
        assert (await comm.connect())[0]
        await comm.send_to(text_data=hello)
        assert 'id="status"' in await comm.receive_from(timeout=3), hello
        await comm.disconnect()


def through_the_stack(cookie: str | None):
    headers = [(b"origin", b"http://127.0.0.1:8000")]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/ws/agent/", headers=headers)


async def test_the_session_cookie_logs_the_socket_in_and_a_stale_session_does_not(alice, queue):
    key = await sync_to_async(session_key_for)(alice.user)
    comm = through_the_stack(f"csrftoken=x; sessionid={key}")
    assert (await comm.connect())[0]
    assert 'id="status"' in await comm.receive_from(timeout=3)
    await comm.disconnect()

    for cookie in (None, "sessionid=not-a-session", "other=1"):
        assert await through_the_stack(cookie).connect() == (False, CLOSE_UNAUTHENTICATED), cookie

    def change_password():
        alice.user.set_password("a-new-long-password")
        alice.user.save()

    await sync_to_async(change_password)()  # every session of the old password ends, as on HTTP
    assert await through_the_stack(f"sessionid={key}").connect() == (False, CLOSE_UNAUTHENTICATED)
