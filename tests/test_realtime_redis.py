"""Scaled mode's websockets on channels-redis: idle sockets outlive both Redis timeouts, and a mass
disconnect neither runs out of connections nor leaves group memberships behind."""

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest
import redis
import websockets
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections

from callbacks import lifecycle
from callbacks.enums import AgentStatus, Channel
from callbacks.models import Agent

from .factories import database_url, session_key_for
from .servers import daphne, free_port, stop

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="channels-redis runs in scaled mode only")

SOCKET_TIMEOUT = 7  # longer than channels-redis's 5 s blocking read, short enough to hold idle past it in a test
SOCKETS = 150  # more than redis-py's default pool cap of 100


@pytest.fixture
def server(transactional_db):
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        RINGBACK_DISPATCHER="external",
        RINGBACK_REDIS_SOCKET_TIMEOUT=str(SOCKET_TIMEOUT),
        DB_POOL_SIZE="20",
    )
    proc = daphne(port, env, f"redis-test-server-{port}.log")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, ROOT / "var" / f"redis-test-server-{port}.log"
    stop(proc)


def log_in(user) -> None:
    try:
        lifecycle.do_log_in(user=user)
    finally:
        connections.close_all()  # this runs on a helper thread: leave no connection open


def go_ready(user) -> None:
    try:
        lifecycle.do_set_status(user=user, channel=Channel.VOICE, status=AgentStatus.READY)
    finally:
        connections.close_all()


def test_idle_sockets_outlive_both_timeouts_and_a_mass_close_leaves_nothing_behind(server):
    port, log_path = server
    user = get_user_model().objects.create_user("idle", password="x-long-password")
    agent = Agent.objects.create(user=user, display_name="Idle")
    cookie = f"sessionid={session_key_for(user)}"
    url = f"ws://127.0.0.1:{port}/ws/agent/"
    headers = {"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"}

    async def scenario():
        sockets = []
        for _ in range(SOCKETS):
            ws = await websockets.connect(url, additional_headers=headers, open_timeout=30, ping_interval=None)
            await asyncio.wait_for(ws.recv(), 30)  # the first full render
            sockets.append(ws)
        await asyncio.sleep(SOCKET_TIMEOUT + 4)  # idle past the 5 s blocking read and the socket timeout
        closed = [ws.close_code for ws in sockets if ws.close_code is not None]
        assert closed == [], f"idle sockets were closed: {closed[:5]}"
        await asyncio.to_thread(log_in, user)  # a push to every socket of the agent
        frames = await asyncio.gather(*[asyncio.wait_for(ws.recv(), 30) for ws in sockets])
        assert all('id="status"' in frame for frame in frames)
        # Everyone leaves at once while another push is still rendering for them: a send to a socket
        # that closed meanwhile must neither crash the consumer nor keep its group membership. (Logging out
        # would not do: its message closes the sockets without a render, status change and all.)
        await asyncio.to_thread(go_ready, user)
        await asyncio.wait_for(sockets[0].recv(), 30)  # the renders have begun; most are still running
        await asyncio.gather(*[ws.close() for ws in sockets])

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    group_key = f"{settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']}:group:agent.{agent.pk}"
    client.delete(group_key)  # an earlier run with the same prefix and agent id must not count
    asyncio.run(scenario())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and client.zcard(group_key):
        time.sleep(0.1)
    assert client.zcard(group_key) == 0, "group memberships were left behind"
    server_log = log_path.read_text()
    assert "Too many connections" not in server_log
    assert "Timeout reading" not in server_log
    assert "Exception inside application" not in server_log
